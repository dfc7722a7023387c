/**
 * Which Azure RBAC actions a run needs, and which of them the deploying identity lacks. Pure: the
 * actions are a function of the planned steps (and of what a run does before its plan: register a
 * provider, take the lock), matched against the identity's permissions as Azure lists them
 * (`Microsoft.Authorization/permissions`: per role, `actions` less `notActions`, `*` wildcards,
 * case-insensitive, the way ARM itself evaluates a role definition).
 *
 * Action names are those of "Azure resource provider operations": a write of a resource is
 * `<type>/write`, its removal `<type>/delete`, a POST operation `<type>/<operation>/action`. Where
 * Azure also checks the resource a write links to (linked access checks: a subnet an environment
 * or server joins, the VNet a DNS zone links, the user-assigned identity an app runs as), that
 * action is needed too, on the linked resource.
 */
import type { PermissionSet, ResourceAddress } from '../azure/port.js'
import type { ResourceKind } from './specs.js'
import type { Step } from './steps.js'

export interface NeededAction {
  /** e.g. `Microsoft.App/containerApps/write` */
  action: string
  /** The resource id it is needed on, e.g. `/subscriptions/…/resourceGroups/rg`. */
  scope: string
  /** What in the run needs it, for a person: `to create the container app x`. */
  why: string
}

/** The ARM resource type of each kind (the prefix of its actions). */
export const ARM_TYPES: Record<ResourceKind, string> = {
  resourceGroup: 'Microsoft.Resources/subscriptions/resourceGroups',
  virtualNetwork: 'Microsoft.Network/virtualNetworks',
  subnet: 'Microsoft.Network/virtualNetworks/subnets',
  privateDnsZone: 'Microsoft.Network/privateDnsZones',
  privateDnsLink: 'Microsoft.Network/privateDnsZones/virtualNetworkLinks',
  logAnalytics: 'Microsoft.OperationalInsights/workspaces',
  storageAccount: 'Microsoft.Storage/storageAccounts',
  blobContainer: 'Microsoft.Storage/storageAccounts/blobServices/containers',
  postgresServer: 'Microsoft.DBforPostgreSQL/flexibleServers',
  postgresDatabase: 'Microsoft.DBforPostgreSQL/flexibleServers/databases',
  managedEnvironment: 'Microsoft.App/managedEnvironments',
  containerApp: 'Microsoft.App/containerApps',
  job: 'Microsoft.App/jobs',
  identity: 'Microsoft.ManagedIdentity/userAssignedIdentities',
  roleAssignment: 'Microsoft.Authorization/roleAssignments'
}

const LABELS: Record<ResourceKind, string> = {
  resourceGroup: 'the resource group',
  virtualNetwork: 'the virtual network',
  subnet: 'the subnet',
  privateDnsZone: 'the private DNS zone',
  privateDnsLink: "the private DNS zone's link to the virtual network",
  logAnalytics: 'the Log Analytics workspace',
  storageAccount: 'the storage account',
  blobContainer: 'the blob container',
  postgresServer: 'the PostgreSQL server',
  postgresDatabase: 'the database',
  managedEnvironment: 'the Container Apps environment',
  containerApp: 'the container app',
  job: 'the Container Apps job',
  identity: "the app's managed identity",
  roleAssignment: 'the role assignment'
}

export const ROLE_ASSIGNMENT_WRITE = 'Microsoft.Authorization/roleAssignments/write'
export const STORAGE_LIST_KEYS = 'Microsoft.Storage/storageAccounts/listKeys/action'
export const STORAGE_REGENERATE_KEY = 'Microsoft.Storage/storageAccounts/regeneratekey/action'
const WORKSPACE_SHARED_KEYS = 'Microsoft.OperationalInsights/workspaces/sharedKeys/action'
const SUBNET_JOIN = 'Microsoft.Network/virtualNetworks/subnets/join/action'
const VNET_JOIN = 'Microsoft.Network/virtualNetworks/join/action'
const IDENTITY_ASSIGN = 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action'

export function subscriptionScope(subscriptionId: string): string {
  return `/subscriptions/${subscriptionId}`
}

export function resourceGroupScope(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`
}

/** The resource id of a stack resource (what its actions are checked on). */
export function resourceIdOf(subscriptionId: string, kind: ResourceKind, address: ResourceAddress): string {
  const group = resourceGroupScope(subscriptionId, address.resourceGroup)
  const at = (path: string) => `${group}/providers/${path}`
  const parent = address.parent ?? ''
  switch (kind) {
    case 'resourceGroup':
      return group
    case 'subnet':
      return at(`Microsoft.Network/virtualNetworks/${parent}/subnets/${address.name}`)
    case 'privateDnsLink':
      return at(`Microsoft.Network/privateDnsZones/${parent}/virtualNetworkLinks/${address.name}`)
    case 'blobContainer':
      return at(`Microsoft.Storage/storageAccounts/${parent}/blobServices/default/containers/${address.name}`)
    case 'postgresDatabase':
      return at(`Microsoft.DBforPostgreSQL/flexibleServers/${parent}/databases/${address.name}`)
    case 'roleAssignment':
      // `parent` is the account, or `<account>/blobServices/default/containers/<c>`.
      return at(
        `Microsoft.Storage/storageAccounts/${parent}/providers/${ARM_TYPES.roleAssignment}/${address.name}`
      )
    default:
      return at(`${ARM_TYPES[kind]}/${address.name}`)
  }
}

/** A role definition's action pattern (`*` anywhere) against one action, case-insensitively. */
export function actionMatches(pattern: string, action: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${source}$`, 'i').test(action)
}

/** Whether one of the identity's roles grants `action` (and does not take it away again). */
export function holds(permissions: readonly PermissionSet[], action: string): boolean {
  return permissions.some(
    (p) =>
      p.actions.some((a) => actionMatches(a, action)) && !p.notActions.some((n) => actionMatches(n, action))
  )
}

/** The needed actions the identity lacks, each action and scope once (their reasons joined). */
export function missingActions(
  needed: readonly NeededAction[],
  permissions: readonly PermissionSet[]
): NeededAction[] {
  const out = new Map<string, NeededAction>()
  for (const n of needed) {
    if (holds(permissions, n.action)) continue
    const key = `${n.action.toLowerCase()} ${n.scope.toLowerCase()}`
    const seen = out.get(key)
    if (!seen) out.set(key, { ...n })
    else if (!seen.why.split('; ').includes(n.why)) seen.why = `${seen.why}; ${n.why}`
  }
  return [...out.values()]
}

/** Registering a resource provider: an action on the subscription. */
export function neededToRegister(subscriptionId: string, namespaces: readonly string[]): NeededAction[] {
  return namespaces.map((ns) => ({
    action: `${ns}/register/action`,
    scope: subscriptionScope(subscriptionId),
    why: `to register the resource provider ${ns}, which the subscription has not registered`
  }))
}

/** Taking the stack's lock: a blob in the account, reached with the account's keys. */
export function neededToLock(subscriptionId: string, account: ResourceAddress): NeededAction[] {
  return [
    {
      action: STORAGE_LIST_KEYS,
      scope: resourceIdOf(subscriptionId, 'storageAccount', account),
      why: "to read the storage account's keys (the stack's lock is a blob in it)"
    }
  ]
}

/** Removing resources, e.g. destroy's: `<type>/delete` on each. */
export function neededToDelete(
  subscriptionId: string,
  resources: readonly { kind: ResourceKind; address: ResourceAddress }[]
): NeededAction[] {
  return resources.map(({ kind, address }) => ({
    action: `${ARM_TYPES[kind]}/delete`,
    scope: resourceIdOf(subscriptionId, kind, address),
    why:
      kind === 'resourceGroup'
        ? `to delete the resource group ${address.name} with everything in it`
        : `to delete ${LABELS[kind]} ${address.name}`
  }))
}

/**
 * What executing these steps needs. `app` is where the container app lives (its revisions, its
 * job and its account follow from the steps themselves).
 */
export function neededForSteps(
  steps: readonly Step[],
  ctx: {
    subscriptionId: string
    app: ResourceAddress
    job: ResourceAddress
    storageAccount: ResourceAddress
  }
): NeededAction[] {
  const sub = ctx.subscriptionId
  const id = (kind: ResourceKind, address: ResourceAddress) => resourceIdOf(sub, kind, address)
  const appId = id('containerApp', ctx.app)
  const accountId = id('storageAccount', ctx.storageAccount)
  const appWrite = (why: string): NeededAction => ({
    action: `${ARM_TYPES.containerApp}/write`,
    scope: appId,
    why
  })
  const revisionId = (revision: string) => `${appId}/revisions/${revision}`
  const needed: NeededAction[] = []
  for (const step of steps) {
    switch (step.kind) {
      case 'put': {
        const { kind, address } = step.resource
        const verb = step.entry.action === 'create' ? 'create' : 'update'
        needed.push({
          action: `${ARM_TYPES[kind]}/write`,
          scope: id(kind, address),
          why:
            kind === 'roleAssignment'
              ? "to grant the app's identity its blob data role, Storage Blob Data Contributor"
              : `to ${verb} ${LABELS[kind]} ${address.name}`
        })
        needed.push(...linkedTo(step, id))
        break
      }
      case 'patchApp':
        needed.push(appWrite(`to change the configuration of the container app ${ctx.app.name} in place`))
        if (step.app.identityId) needed.push(assignIdentity(step.app.identityId, ctx.app.name))
        break
      case 'createRevision':
        needed.push(
          appWrite(
            step.create
              ? `to create the container app ${ctx.app.name} with its first revision ${step.revision}`
              : `to create the new revision ${step.revision} of the container app ${ctx.app.name}`
          )
        )
        if (step.app.identityId) needed.push(assignIdentity(step.app.identityId, ctx.app.name))
        break
      case 'migrate':
        needed.push({
          action: `${ARM_TYPES.job}/start/action`,
          scope: id('job', ctx.job),
          why: `to run the job ${ctx.job.name} that migrates the database`
        })
        break
      case 'activate':
        needed.push({
          action: `${ARM_TYPES.containerApp}/revisions/activate/action`,
          scope: revisionId(step.revision),
          why: `to activate the revision ${step.revision}`
        })
        break
      case 'gate':
        break
      case 'shiftTraffic':
        needed.push(appWrite(`to move the traffic to the revision ${step.revision}`))
        break
      case 'deactivate':
        needed.push({
          action: `${ARM_TYPES.containerApp}/revisions/deactivate/action`,
          scope: revisionId(step.revision),
          why: `to deactivate the revision ${step.revision} once it no longer serves`
        })
        break
      case 'regenerateKey':
        needed.push({
          action: STORAGE_REGENERATE_KEY,
          scope: accountId,
          why: `to regenerate the storage key ${step.keyName} the new revision moves to`
        })
        break
      case 'retireKey':
        needed.push(
          {
            action: STORAGE_REGENERATE_KEY,
            scope: accountId,
            why: `to regenerate the retired storage key ${step.keyName}`
          },
          appWrite("to record on the container app's tags that the rotation is finished")
        )
        break
      case 'disableSharedKey':
        needed.push({
          action: `${ARM_TYPES.storageAccount}/write`,
          scope: accountId,
          why: "to turn the storage account's shared-key access off"
        })
        break
      case 'detachIdentity':
        needed.push(appWrite('to take the managed identity off the container app'))
        break
    }
  }
  return needed
}

/** What a put also needs on the resources it reads or links to. */
function linkedTo(
  step: Extract<Step, { kind: 'put' }>,
  id: (kind: ResourceKind, address: ResourceAddress) => string
): NeededAction[] {
  const r = step.resource
  const name = r.address.name
  switch (r.kind) {
    case 'storageAccount':
      // The account's keys are read right after it is written (the app's secret, the lock).
      return step.entry.action === 'create'
        ? [
            {
              action: STORAGE_LIST_KEYS,
              scope: id('storageAccount', r.address),
              why: "to read the new storage account's keys"
            }
          ]
        : []
    case 'logAnalytics':
      return [
        {
          action: WORKSPACE_SHARED_KEYS,
          scope: id('logAnalytics', r.address),
          why: 'to read the key the Container Apps environment sends its logs with'
        }
      ]
    case 'managedEnvironment':
      return [
        {
          action: SUBNET_JOIN,
          scope: r.spec.infrastructureSubnetId,
          why: `to put the Container Apps environment ${name} into its subnet`
        }
      ]
    case 'postgresServer':
      return [
        {
          action: SUBNET_JOIN,
          scope: r.spec.delegatedSubnetId,
          why: `to put the PostgreSQL server ${name} into its subnet`
        }
      ]
    case 'privateDnsLink':
      return [
        {
          action: VNET_JOIN,
          scope: r.spec.virtualNetworkId,
          why: 'to link the private DNS zone to the virtual network'
        }
      ]
    default:
      return []
  }
}

function assignIdentity(identityId: string, app: string): NeededAction {
  return {
    action: IDENTITY_ASSIGN,
    scope: identityId,
    why: `to run the container app ${app} as its managed identity`
  }
}

/** Who can give an identity this action: the smallest built-in roles that have it. */
export function permissionFix(action: string): string {
  const a = action.toLowerCase()
  if (/\/register\/action$/.test(a)) {
    const ns = action.slice(0, action.length - '/register/action'.length)
    return `ask a subscription owner to run: az provider register --namespace ${ns} (or give the identity a role with ${action} on the subscription, e.g. Contributor)`
  }
  if (a.endsWith('/read')) return 'give it Reader on the resource group (or any role with this action)'
  if (a === 'microsoft.resources/subscriptions/resourcegroups/write')
    return (
      'give it Contributor on the resource group, or on the subscription when the group is yet to be created ' +
      '(or have someone create the group and name it in the resource-group input)'
    )
  if (a.startsWith('microsoft.authorization/roleassignments/'))
    return 'give it Owner, User Access Administrator or Role Based Access Control Administrator on the storage account or its resource group (Contributor cannot assign roles)'
  if (a.startsWith('microsoft.authorization/'))
    return 'give it Owner or User Access Administrator on the resource group'
  return 'give it Contributor on the resource group (or a custom role with this action), and check that no deny assignment or custom role excludes it'
}

/**
 * The refusal: every missing action with its scope and what needs it, then how to fix it.
 * `lead` says who refuses, e.g. `Deploy refused before any change was made`.
 */
export function describeMissing(lead: string, missing: readonly NeededAction[]): string {
  if (missing.length === 1) {
    const m = missing[0]!
    return (
      `${lead}: the deploying identity lacks ${m.action} on ${m.scope} (needed ${m.why}).\n` +
      `To fix, ${permissionFix(m.action)}. Then run again.`
    )
  }
  const byFix = new Map<string, string[]>()
  for (const m of missing) {
    const fix = permissionFix(m.action)
    byFix.set(fix, [...new Set([...(byFix.get(fix) ?? []), m.action])])
  }
  return (
    `${lead}: the deploying identity lacks ${missing.length} permissions this run needs ` +
    `(${[...new Set(missing.map((m) => m.action))].join(', ')}):\n` +
    missing.map((m) => `- ${m.action} on ${m.scope} (needed ${m.why})`).join('\n') +
    '\nTo fix:\n' +
    [...byFix].map(([fix, actions]) => `- for ${actions.join(', ')}: ${fix}`).join('\n') +
    '\nThen run again.'
  )
}
