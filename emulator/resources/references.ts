/**
 * Who uses what across resource kinds: the service refuses to delete a subnet an environment or a
 * server sits in, and an environment refuses a subnet another environment already owns.
 */
import type { EmulatorContext } from '../context.js'
import { idKey } from '../ids.js'
import { stringAt } from '../json.js'

export const ENVIRONMENT_TYPE = 'Microsoft.App/managedEnvironments'
export const POSTGRES_SERVER_TYPE = 'Microsoft.DBforPostgreSQL/flexibleServers'

/** Ids of the environments and servers placed in `subnetId`. */
export function subnetUsers(ctx: EmulatorContext, subnetId: string): string[] {
  const key = idKey(subnetId)
  const users: string[] = []
  for (const env of ctx.store.byType(ENVIRONMENT_TYPE)) {
    const s = stringAt(env.body, 'properties', 'vnetConfiguration', 'infrastructureSubnetId')
    if (s && idKey(s) === key) users.push(env.id)
  }
  for (const server of ctx.store.byType(POSTGRES_SERVER_TYPE)) {
    const s = stringAt(server.body, 'properties', 'network', 'delegatedSubnetResourceId')
    if (s && idKey(s) === key) users.push(server.id)
  }
  return users
}

/**
 * Storage accounts and postgres servers have global DNS names: a name is taken when `--taken-names`
 * says someone else owns it or when another resource group or subscription of this emulator uses it.
 */
export function globallyTaken(ctx: EmulatorContext, type: string, name: string, ownId: string): boolean {
  const lower = name.toLowerCase()
  if (ctx.config.takenNames.some((n) => n.toLowerCase() === lower)) return true
  return ctx.store
    .byType(type)
    .some((r) => idKey(r.id) !== idKey(ownId) && (stringAt(r.body, 'name') ?? '').toLowerCase() === lower)
}
