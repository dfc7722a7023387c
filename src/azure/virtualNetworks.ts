/**
 * The virtual network without its subnets (they are converged as child resources in
 * `subnets.ts`). A PUT of a VNet replaces its subnet list, so the action only PUTs a VNet that does
 * not exist yet; an existing one is only ever retagged (PATCH), which leaves its subnets alone.
 */
import type { VirtualNetwork } from '@azure/arm-network'
import type { VirtualNetworkSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import { fromArm as subnetFromArm } from './subnets.js'
import {
  deleteIgnoringNotFound,
  getOrUndefined,
  lro,
  normalizeLocation,
  normalizeTags,
  tagsForArm
} from './common.js'
import type { Observed, ResourceAddress, ResourceHandler } from './port.js'

export function toArm(spec: VirtualNetworkSpec): VirtualNetwork {
  return {
    location: spec.location,
    tags: tagsForArm(spec.tags),
    addressSpace: { addressPrefixes: [...spec.addressPrefixes] }
  }
}

export function fromArm(vnet: VirtualNetwork, address?: ResourceAddress): Observed<'virtualNetwork'> {
  return {
    kind: 'virtualNetwork',
    id: vnet.id ?? '',
    name: vnet.name ?? address?.name ?? '',
    provisioningState: vnet.provisioningState,
    spec: {
      location: normalizeLocation(vnet.location),
      tags: normalizeTags(vnet.tags),
      addressPrefixes: [...(vnet.addressSpace?.addressPrefixes ?? [])]
    },
    outputs: {}
  }
}

/** The ARM id of a subnet of a VNet (for `infrastructureSubnetId` / `delegatedSubnetResourceId`). */
export function subnetId(vnetId: string, subnetName: string): string {
  return `${vnetId}/subnets/${subnetName}`
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/**
 * The VNet and its subnets from one GET: a VNet's answer carries its subnets whole
 * (`properties.subnets[]`, the same `Subnet` model a subnet's own GET answers), so reading the
 * stack needs no GET per subnet.
 */
export async function readVirtualNetwork(
  clients: AzureClients,
  address: ResourceAddress
): Promise<{ network?: Observed<'virtualNetwork'>; subnets: Observed<'subnet'>[] }> {
  const vnet = await getOrUndefined(() =>
    clients.network.virtualNetworks.get(address.resourceGroup, address.name)
  )
  if (!vnet) return { subnets: [] }
  return {
    network: fromArm(vnet, address),
    subnets: (vnet.subnets ?? []).map((s) => subnetFromArm(s))
  }
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
      const current = await getOrUndefined(() => ops.get(address.resourceGroup, address.name))
      if (!current) {
        const vnet = await ops.createOrUpdate(
          address.resourceGroup,
          address.name,
          toArm(spec),
          lro(clients.pollIntervalMs)
        )
        return fromArm(vnet, address)
      }
      const observed = fromArm(current, address)
      // The plan refuses any other change to an existing VNet (it would need its subnets rewritten).
      if (
        observed.spec.location !== spec.location ||
        !sameList(observed.spec.addressPrefixes, spec.addressPrefixes)
      ) {
        throw new Error(
          `internal error: virtual network ${address.name} can only be retagged in place, not moved or re-addressed`
        )
      }
      return fromArm(
        await ops.updateTags(address.resourceGroup, address.name, { tags: tagsForArm(spec.tags) }),
        address
      )
    },
    async delete(address) {
      await deleteIgnoringNotFound(() =>
        ops.delete(address.resourceGroup, address.name, lro(clients.pollIntervalMs))
      )
    }
  }
}
