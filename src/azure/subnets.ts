/**
 * A subnet of the stack's VNet, converged through the subnets API. An update reads the subnet and
 * writes it back with only the address prefix and delegation changed, so an NSG, a route table or
 * service endpoints that Azure Policy or a person attached stay where they are.
 */
import type { Delegation, Subnet } from '@azure/arm-network'
import type { SubnetSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import { deleteIgnoringNotFound, getOrUndefined, lro, requireParent } from './common.js'
import type { Observed, ResourceAddress, ResourceHandler } from './port.js'

function delegationsFor(spec: SubnetSpec, name: string, current: Delegation[] | undefined): Delegation[] {
  if (!spec.delegation) return []
  const kept = current?.find((d) => d.serviceName?.toLowerCase() === spec.delegation.toLowerCase())
  return [kept ? { name: kept.name, serviceName: kept.serviceName } : { name, serviceName: spec.delegation }]
}

/** The body of a subnet PUT: the current subnet (if any) with the managed fields set. */
export function toArm(spec: SubnetSpec, name: string, current?: Subnet): Subnet {
  const base: Subnet = current ? { ...current } : {}
  // Read-only or derived fields of a GET are dropped by the SDK's serializer; the prefix list is
  // not, and would contradict `addressPrefix`.
  delete base.addressPrefixes
  return {
    ...base,
    addressPrefix: spec.addressPrefix,
    delegations: delegationsFor(spec, name, current?.delegations)
  }
}

export function fromArm(subnet: Subnet, address?: ResourceAddress): Observed<'subnet'> {
  return {
    kind: 'subnet',
    id: subnet.id ?? '',
    name: subnet.name ?? address?.name ?? '',
    provisioningState: subnet.provisioningState,
    spec: {
      // The service answers `addressPrefixes` instead when a subnet has several.
      addressPrefix: subnet.addressPrefix ?? subnet.addressPrefixes?.[0] ?? '',
      delegation: subnet.delegations?.[0]?.serviceName ?? ''
    },
    outputs: {}
  }
}

export function subnetHandler(clients: AzureClients): ResourceHandler<'subnet'> {
  const ops = clients.network.subnets
  const read = (address: ResourceAddress): Promise<Subnet | undefined> =>
    getOrUndefined(() => ops.get(address.resourceGroup, requireParent(address, 'subnet'), address.name))
  return {
    kind: 'subnet',
    async get(address) {
      const subnet = await read(address)
      return subnet && fromArm(subnet, address)
    },
    async put(address, spec) {
      const current = await read(address)
      const subnet = await ops.createOrUpdate(
        address.resourceGroup,
        requireParent(address, 'subnet'),
        address.name,
        toArm(spec, address.name, current),
        lro(clients.pollIntervalMs)
      )
      return fromArm(subnet, address)
    },
    async delete(address) {
      await deleteIgnoringNotFound(() =>
        ops.delete(
          address.resourceGroup,
          requireParent(address, 'subnet'),
          address.name,
          lro(clients.pollIntervalMs)
        )
      )
    }
  }
}
