/**
 * The signed-in identity's permissions in a resource group (`@azure/arm-authorization`
 * `permissions.listForResourceGroup`, api-version 2022-04-01): one entry per role it holds at the
 * group or above it. Any principal may read its own permissions; a 403 is left to the caller.
 */
import type { AzureClients } from './clients.js'
import type { PermissionSet } from './port.js'

export async function listPermissions(
  clients: AzureClients,
  resourceGroup: string
): Promise<PermissionSet[]> {
  const out: PermissionSet[] = []
  for await (const p of clients.authorization.permissions.listForResourceGroup(resourceGroup)) {
    out.push({ actions: p.actions ?? [], notActions: p.notActions ?? [] })
  }
  return out
}
