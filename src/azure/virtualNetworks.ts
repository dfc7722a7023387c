/**
 * The virtual network with its subnets inline in the VNet PUT; each subnet has one delegation, named
 * after the subnet (`Microsoft.App/environments`, `Microsoft.DBforPostgreSQL/flexibleServers`).
 */
import type { Subnet, VirtualNetwork } from '@azure/arm-network'
import type { SubnetSpec, VirtualNetworkSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import { deleteIgnoringNotFound, getOrUndefined, lro, normalizeTags, tagsForArm } from './common.js'
import type { Observed, ResourceAddress, ResourceHandler } from './port.js'

export function toArm(spec: VirtualNetworkSpec): VirtualNetwork {
  return {
    location: spec.location,
    tags: tagsForArm(spec.tags),
    addressSpace: { addressPrefixes: [...spec.addressPrefixes] },
    subnets: spec.subnets.map((s): Subnet => ({
      name: s.name,
      addressPrefix: s.addressPrefix,
      delegations: s.delegation ? [{ name: s.name, serviceName: s.delegation }] : []
    }))
  }
}

function subnetFromArm(s: Subnet): SubnetSpec {
  return {
    name: s.name ?? '',
    // The service answers `addressPrefixes` instead when a subnet has several.
    addressPrefix: s.addressPrefix ?? s.addressPrefixes?.[0] ?? '',
    delegation: s.delegations?.[0]?.serviceName ?? ''
  }
}

export function fromArm(vnet: VirtualNetwork, address?: ResourceAddress): Observed<'virtualNetwork'> {
  return {
    kind: 'virtualNetwork',
    id: vnet.id ?? '',
    name: vnet.name ?? address?.name ?? '',
    provisioningState: vnet.provisioningState,
    spec: {
      location: vnet.location ?? '',
      tags: normalizeTags(vnet.tags),
      addressPrefixes: [...(vnet.addressSpace?.addressPrefixes ?? [])],
      subnets: (vnet.subnets ?? []).map(subnetFromArm)
    },
    outputs: {}
  }
}

/** The ARM id of a subnet of a VNet (for `infrastructureSubnetId` / `delegatedSubnetResourceId`). */
export function subnetId(vnetId: string, subnetName: string): string {
  return `${vnetId}/subnets/${subnetName}`
}

export function virtualNetworkHandler(clients: AzureClients): ResourceHandler<'virtualNetwork'> {
  const ops = clients.network.virtualNetworks
  return {
    kind: 'virtualNetwork',
    async get(address) {
      const vnet = await getOrUndefined(() => ops.get(address.resourceGroup, address.name))
      return vnet && fromArm(vnet, address)
    },
    async put(address, spec) {
      const vnet = await ops.createOrUpdate(
        address.resourceGroup,
        address.name,
        toArm(spec),
        lro(clients.pollIntervalMs)
      )
      return fromArm(vnet, address)
    },
    async delete(address) {
      await deleteIgnoringNotFound(() =>
        ops.delete(address.resourceGroup, address.name, lro(clients.pollIntervalMs))
      )
    }
  }
}
