/** Resource groups (`@azure/arm-resources`). */
import type { ResourceGroup } from '@azure/arm-resources'
import type { ResourceGroupSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import {
  deleteIgnoringNotFound,
  getOrUndefined,
  lro,
  normalizeLocation,
  normalizeTags,
  tagsForArm
} from './common.js'
import type { Observed, ResourceAddress, ResourceHandler } from './port.js'

export function toArm(spec: ResourceGroupSpec): ResourceGroup {
  return { location: spec.location, tags: tagsForArm(spec.tags) }
}

export function fromArm(rg: ResourceGroup, address?: ResourceAddress): Observed<'resourceGroup'> {
  const tags = normalizeTags(rg.tags)
  return {
    kind: 'resourceGroup',
    id: rg.id ?? '',
    name: rg.name ?? address?.name ?? '',
    provisioningState: rg.properties?.provisioningState,
    spec: { location: normalizeLocation(rg.location), tags },
    outputs: { tags: { ...tags } }
  }
}

export function resourceGroupHandler(clients: AzureClients): ResourceHandler<'resourceGroup'> {
  const ops = clients.resources.resourceGroups
  return {
    kind: 'resourceGroup',
    async get(address) {
      const rg = await getOrUndefined(() => ops.get(rgName(address)))
      return rg && fromArm(rg, address)
    },
    async put(address, spec) {
      return fromArm(await ops.createOrUpdate(rgName(address), toArm(spec)), address)
    },
    async delete(address) {
      await deleteIgnoringNotFound(() => ops.delete(rgName(address), lro(clients.pollIntervalMs)))
    }
  }
}

/** A resource group's own name: `address.name` (the group is its own `resourceGroup`). */
function rgName(address: ResourceAddress): string {
  return address.name || address.resourceGroup
}
