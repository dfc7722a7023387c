/**
 * Role assignments (`@azure/arm-authorization`, 2022-04-01), at the scope of a storage account or
 * of one of its blob containers (`address.parent` = `<account>[/blobServices/default/containers/<c>]`). Azure refuses to change an assignment (400 RoleAssignmentUpdateNotPermitted), so a put
 * whose grant differs from the one that exists (an identity re-created with a new principal)
 * deletes the old assignment first.
 */
import type { RoleAssignment } from '@azure/arm-authorization'
import type { RoleAssignmentSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import { deleteIgnoringNotFound, getOrUndefined, requireParent } from './common.js'
import type { Observed, ResourceAddress, ResourceHandler } from './port.js'

function scopeOf(clients: AzureClients, address: ResourceAddress): string {
  const account = requireParent(address, 'role assignment')
  // The SDK puts the scope in the path as given (no leading slash, not encoded).
  return `subscriptions/${clients.subscriptionId}/resourceGroups/${address.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${account}`
}

export function fromArm(ra: RoleAssignment, address?: ResourceAddress): Observed<'roleAssignment'> {
  return {
    kind: 'roleAssignment',
    id: ra.id ?? '',
    name: ra.name ?? address?.name ?? '',
    spec: {
      scope: (ra.scope ?? '').replace(/^\/+/, ''),
      roleDefinitionId: ra.roleDefinitionId ?? '',
      principalId: ra.principalId ?? '',
      principalType: 'ServicePrincipal'
    },
    outputs: {}
  }
}

export function roleAssignmentHandler(clients: AzureClients): ResourceHandler<'roleAssignment'> {
  const ops = clients.authorization.roleAssignments
  const same = (a: RoleAssignmentSpec, b: RoleAssignmentSpec) =>
    a.principalId.toLowerCase() === b.principalId.toLowerCase() &&
    a.roleDefinitionId.toLowerCase() === b.roleDefinitionId.toLowerCase()
  return {
    kind: 'roleAssignment',
    async get(address) {
      const found = await getOrUndefined(() => ops.get(scopeOf(clients, address), address.name))
      return found && fromArm(found, address)
    },
    async put(address, spec) {
      const scope = scopeOf(clients, address)
      const existing = await getOrUndefined(() => ops.get(scope, address.name))
      if (existing) {
        const observed = fromArm(existing, address)
        if (same(observed.spec, spec)) return observed
        await ops.delete(scope, address.name)
      }
      const created = await ops.create(scope, address.name, {
        roleDefinitionId: spec.roleDefinitionId,
        principalId: spec.principalId,
        principalType: spec.principalType
      })
      return fromArm(created, address)
    },
    async delete(address) {
      await deleteIgnoringNotFound(() => ops.delete(scopeOf(clients, address), address.name))
    }
  }
}
