/** User-assigned managed identities (`@azure/arm-msi`): synchronous create, no LRO (spec 2024-11-30). */
import type { Identity } from '@azure/arm-msi'
import type { IdentitySpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import {
  deleteIgnoringNotFound,
  getOrUndefined,
  normalizeLocation,
  normalizeTags,
  tagsForArm
} from './common.js'
import type { Observed, ResourceAddress, ResourceHandler } from './port.js'

export function toArm(spec: IdentitySpec): Identity {
  return { location: spec.location, tags: tagsForArm(spec.tags) }
}

export function fromArm(identity: Identity, address?: ResourceAddress): Observed<'identity'> {
  return {
    kind: 'identity',
    id: identity.id ?? '',
    name: identity.name ?? address?.name ?? '',
    spec: { location: normalizeLocation(identity.location), tags: normalizeTags(identity.tags) },
    outputs: { clientId: identity.clientId ?? '', principalId: identity.principalId ?? '' }
  }
}

export function identityHandler(clients: AzureClients): ResourceHandler<'identity'> {
  const ops = clients.identities.userAssignedIdentities
  return {
    kind: 'identity',
    async get(address) {
      const found = await getOrUndefined(() => ops.get(address.resourceGroup, address.name))
      return found && fromArm(found, address)
    },
    async put(address, spec) {
      return fromArm(await ops.createOrUpdate(address.resourceGroup, address.name, toArm(spec)), address)
    },
    async delete(address) {
      await deleteIgnoringNotFound(() => ops.delete(address.resourceGroup, address.name))
    }
  }
}
