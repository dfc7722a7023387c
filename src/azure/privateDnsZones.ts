/** Private DNS zone (`<server>.private.postgres.database.azure.com`); location is always `global`. */
import type { PrivateZone } from '@azure/arm-privatedns'
import type { PrivateDnsZoneSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import { deleteIgnoringNotFound, getOrUndefined, lro, normalizeTags, tagsForArm } from './common.js'
import type { Observed, ResourceAddress, ResourceHandler } from './port.js'

export const GLOBAL_LOCATION = 'global'

export function toArm(spec: PrivateDnsZoneSpec): PrivateZone {
  return { location: GLOBAL_LOCATION, tags: tagsForArm(spec.tags) }
}

export function fromArm(zone: PrivateZone, address?: ResourceAddress): Observed<'privateDnsZone'> {
  return {
    kind: 'privateDnsZone',
    id: zone.id ?? '',
    name: zone.name ?? address?.name ?? '',
    provisioningState: zone.provisioningState,
    spec: { tags: normalizeTags(zone.tags) },
    outputs: {}
  }
}

export function privateDnsZoneHandler(clients: AzureClients): ResourceHandler<'privateDnsZone'> {
  const ops = clients.privateDns.privateZones
  return {
    kind: 'privateDnsZone',
    async get(address) {
      const zone = await getOrUndefined(() => ops.get(address.resourceGroup, address.name))
      return zone && fromArm(zone, address)
    },
    async put(address, spec) {
      const zone = await ops.createOrUpdate(
        address.resourceGroup,
        address.name,
        toArm(spec),
        lro(clients.pollIntervalMs)
      )
      return fromArm(zone, address)
    },
    async delete(address) {
      await deleteIgnoringNotFound(() =>
        ops.delete(address.resourceGroup, address.name, lro(clients.pollIntervalMs))
      )
    }
  }
}
