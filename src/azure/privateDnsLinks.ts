/** The private DNS zone's link to the VNet (`address.parent` = zone name). */
import type { VirtualNetworkLink } from '@azure/arm-privatedns'
import type { PrivateDnsLinkSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import {
  deleteIgnoringNotFound,
  getOrUndefined,
  lro,
  normalizeTags,
  requireParent,
  tagsForArm
} from './common.js'
import type { Observed, ResourceAddress, ResourceHandler } from './port.js'
import { GLOBAL_LOCATION } from './privateDnsZones.js'

export function toArm(spec: PrivateDnsLinkSpec): VirtualNetworkLink {
  return {
    location: GLOBAL_LOCATION,
    tags: tagsForArm(spec.tags),
    virtualNetwork: { id: spec.virtualNetworkId },
    registrationEnabled: spec.registrationEnabled
  }
}

/** The zone name from a link id `.../privateDnsZones/<zone>/virtualNetworkLinks/<link>`. */
function zoneFromId(id: string | undefined): string | undefined {
  const m = id ? /\/privateDnsZones\/([^/]+)\/virtualNetworkLinks\//i.exec(id) : null
  return m?.[1]
}

export function fromArm(
  link: VirtualNetworkLink,
  extras: { zoneName?: string; address?: ResourceAddress } = {}
): Observed<'privateDnsLink'> {
  return {
    kind: 'privateDnsLink',
    id: link.id ?? '',
    name: link.name ?? extras.address?.name ?? '',
    provisioningState: link.provisioningState,
    spec: {
      zoneName: extras.zoneName ?? extras.address?.parent ?? zoneFromId(link.id) ?? '',
      virtualNetworkId: link.virtualNetwork?.id ?? '',
      registrationEnabled: link.registrationEnabled ?? false,
      tags: normalizeTags(link.tags)
    },
    outputs: {}
  }
}

export function privateDnsLinkHandler(clients: AzureClients): ResourceHandler<'privateDnsLink'> {
  const ops = clients.privateDns.virtualNetworkLinks
  return {
    kind: 'privateDnsLink',
    async get(address) {
      const zone = requireParent(address, 'private DNS link')
      const link = await getOrUndefined(() => ops.get(address.resourceGroup, zone, address.name))
      return link && fromArm(link, { zoneName: zone, address })
    },
    async put(address, spec) {
      const zone = address.parent ?? spec.zoneName
      const link = await ops.createOrUpdate(
        address.resourceGroup,
        zone,
        address.name,
        toArm(spec),
        lro(clients.pollIntervalMs)
      )
      return fromArm(link, { zoneName: zone, address })
    },
    async delete(address) {
      const zone = requireParent(address, 'private DNS link')
      await deleteIgnoringNotFound(() =>
        ops.delete(address.resourceGroup, zone, address.name, lro(clients.pollIntervalMs))
      )
    }
  }
}
