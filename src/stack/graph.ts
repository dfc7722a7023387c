/**
 * The shape of a stack independent of its settings: each resource (by its key in the stack), its
 * kind, where it lives and what it needs first. Deploy walks it forward; destroy walks it backward.
 * A kind may appear more than once (the MLflow database and the auth user database).
 */
import type { StackNames } from '../config/naming.js'
import type { Observed, ResourceAddress } from '../azure/port.js'
import type { ResourceKind } from './specs.js'

export const STACK = {
  resourceGroup: { kind: 'resourceGroup', dependsOn: [] },
  virtualNetwork: { kind: 'virtualNetwork', dependsOn: ['resourceGroup'] },
  // The network RP runs one operation per VNet at a time (a second subnet write gets 409
  // AnotherOperationInProgress), so the subnets are written one after the other. The database's
  // goes first: it is on the way to the PostgreSQL server, the longest operation of a cold deploy.
  dbSubnet: { kind: 'subnet', dependsOn: ['virtualNetwork'] },
  acaSubnet: { kind: 'subnet', dependsOn: ['virtualNetwork', 'dbSubnet'] },
  privateDnsZone: { kind: 'privateDnsZone', dependsOn: ['resourceGroup'] },
  privateDnsLink: { kind: 'privateDnsLink', dependsOn: ['privateDnsZone', 'virtualNetwork'] },
  logAnalytics: { kind: 'logAnalytics', dependsOn: ['resourceGroup'] },
  storageAccount: { kind: 'storageAccount', dependsOn: ['resourceGroup'] },
  // Keyless mode only: the app's identity and its data role on the account.
  identity: { kind: 'identity', dependsOn: ['resourceGroup'] },
  // A PR environment's role applies to its own container, which must exist first.
  blobRole: { kind: 'roleAssignment', dependsOn: ['identity', 'storageAccount', 'blobContainer'] },
  blobContainer: { kind: 'blobContainer', dependsOn: ['storageAccount'] },
  postgresServer: { kind: 'postgresServer', dependsOn: ['dbSubnet', 'privateDnsLink'] },
  postgresDatabase: { kind: 'postgresDatabase', dependsOn: ['postgresServer'] },
  authDatabase: { kind: 'postgresDatabase', dependsOn: ['postgresServer'] },
  managedEnvironment: { kind: 'managedEnvironment', dependsOn: ['acaSubnet', 'logAnalytics'] },
  // The job is only written here (its secrets are URIs, not connections): it needs its environment
  // alone, so a cold deploy writes it while the PostgreSQL server is still being made. Its start,
  // the `migrate` step, waits for the databases.
  migrationJob: { kind: 'job', dependsOn: ['managedEnvironment'] },
  containerApp: {
    kind: 'containerApp',
    dependsOn: [
      'managedEnvironment',
      'postgresDatabase',
      'authDatabase',
      'blobContainer',
      'identity',
      'blobRole'
    ]
  }
} as const satisfies Record<string, { kind: ResourceKind; dependsOn: readonly string[] }>

export type StackKey = keyof typeof STACK
export type KindOf<P extends StackKey> = (typeof STACK)[P]['kind']

export const STACK_KEYS = Object.keys(STACK) as StackKey[]

/** Resources only keyless mode has: an access-key stack neither reads nor writes them. */
export const KEYLESS_KEYS: readonly StackKey[] = ['identity', 'blobRole']

/** The resources a stack in this storage mode consists of. */
export function stackKeysFor(storageAuth: 'access-key' | 'managed-identity'): StackKey[] {
  return storageAuth === 'managed-identity' ? STACK_KEYS : STACK_KEYS.filter((k) => !KEYLESS_KEYS.includes(k))
}

/** What Azure holds of a stack, by key; a missing key means the resource does not exist. */
export type ActualState = { [P in StackKey]?: Observed<KindOf<P>> }

export function stackAddresses(names: StackNames): Record<StackKey, ResourceAddress> {
  const rg = names.resourceGroup
  const at = (name: string, parent?: string): ResourceAddress => ({ resourceGroup: rg, name, parent })
  return {
    resourceGroup: at(rg),
    virtualNetwork: at(names.virtualNetwork),
    dbSubnet: at(names.dbSubnet, names.virtualNetwork),
    acaSubnet: at(names.acaSubnet, names.virtualNetwork),
    privateDnsZone: at(names.privateDnsZone),
    privateDnsLink: at(names.privateDnsLink, names.privateDnsZone),
    logAnalytics: at(names.logAnalytics),
    storageAccount: at(names.storageAccount),
    identity: at(names.identity),
    // Scoped to the account: the parent is the account, the name a GUID derived from the grant.
    blobRole: at(names.blobRole, names.blobRoleScope ?? names.storageAccount),
    blobContainer: at(names.blobContainer, names.storageAccount),
    postgresServer: at(names.postgresServer),
    postgresDatabase: at(names.postgresDatabase, names.postgresServer),
    authDatabase: at(names.authDatabase, names.postgresServer),
    managedEnvironment: at(names.managedEnvironment),
    migrationJob: at(names.migrationJob),
    containerApp: at(names.containerApp)
  }
}

/** Keys that depend on `key`: they must be gone before it can be deleted. */
export function dependents(key: StackKey): StackKey[] {
  return STACK_KEYS.filter((k) => (STACK[k].dependsOn as readonly string[]).includes(key))
}

/**
 * The members of `within` that must be gone before `key` can be deleted, looking through keys that
 * are not in `within` (a subnet removed together with its VNet still orders the environment first).
 */
export function dependentsWithin(key: StackKey, within: readonly StackKey[]): StackKey[] {
  const found = new Set<StackKey>()
  const visit = (k: StackKey): void => {
    for (const d of dependents(k)) {
      if (within.includes(d)) found.add(d)
      else visit(d)
    }
  }
  visit(key)
  return [...found]
}
