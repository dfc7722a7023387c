import { describe, expect, it } from '@jest/globals'
import type { DeployConfig } from '../../src/config/inputs.js'
import { deployConfig, TEST_SUBSCRIPTION } from '../helpers/config.js'
import { coldDeploySteps } from '../../src/stack/coldPlan.js'
import { stackAddresses } from '../../src/stack/graph.js'
import {
  actionMatches,
  describeMissing,
  holds,
  missingActions,
  neededForSteps,
  neededToDelete,
  neededToRegister,
  resourceIdOf
} from '../../src/stack/permissions.js'
import type { Step } from '../../src/stack/steps.js'

const SUB = TEST_SUBSCRIPTION

const config = (extra: Record<string, string> = {}): DeployConfig =>
  deployConfig({ 'admin-password': 'a-long-enough-password', ...extra })

/** The steps of a first deploy of `config`'s stack (downgrades refused, as by default). */
const coldSteps = (c: DeployConfig): Step[] => coldDeploySteps({ ...c, allowDowngrade: false })

function neededFor(c: DeployConfig, steps: Step[]) {
  const a = stackAddresses(c.names)
  return neededForSteps(steps, {
    subscriptionId: SUB,
    app: a.containerApp,
    job: a.migrationJob,
    storageAccount: a.storageAccount
  })
}

/** Contributor's definition (built-in role b24988ac-6180-42a0-ab88-20f7382dd24c). */
const CONTRIBUTOR = {
  actions: ['*'],
  notActions: [
    'Microsoft.Authorization/*/Delete',
    'Microsoft.Authorization/*/Write',
    'Microsoft.Authorization/elevateAccess/Action',
    'Microsoft.Blueprint/blueprintAssignments/write',
    'Microsoft.Blueprint/blueprintAssignments/delete',
    'Microsoft.Compute/galleries/share/action',
    'Microsoft.Purview/consents/write',
    'Microsoft.Purview/consents/delete'
  ]
}
/** User Access Administrator's. */
const USER_ACCESS_ADMINISTRATOR = {
  actions: ['*/read', 'Microsoft.Authorization/*', 'Microsoft.Support/*'],
  notActions: []
}

describe('actionMatches', () => {
  it('matches whole actions, case-insensitively, with * anywhere', () => {
    expect(actionMatches('Microsoft.App/containerApps/write', 'microsoft.app/CONTAINERAPPS/write')).toBe(true)
    expect(actionMatches('*', 'Microsoft.App/containerApps/write')).toBe(true)
    expect(actionMatches('Microsoft.App/*', 'Microsoft.App/containerApps/revisions/deactivate/action')).toBe(
      true
    )
    expect(actionMatches('*/read', 'Microsoft.Storage/storageAccounts/read')).toBe(true)
    expect(actionMatches('*/read', 'Microsoft.Storage/storageAccounts/write')).toBe(false)
    expect(
      actionMatches('Microsoft.Authorization/*/Write', 'Microsoft.Authorization/roleAssignments/write')
    ).toBe(true)
    expect(actionMatches('Microsoft.App/containerApps/w', 'Microsoft.App/containerApps/write')).toBe(false)
    expect(actionMatches('Microsoft.App/containerApps/write', 'Microsoft.App/containerApps/writeX')).toBe(
      false
    )
    // A dot is a dot, not any character.
    expect(actionMatches('Microsoft.App/x', 'MicrosoftXApp/x')).toBe(false)
  })
})

describe('holds', () => {
  it("takes a role's notActions away from that role only", () => {
    expect(holds([CONTRIBUTOR], 'Microsoft.App/containerApps/write')).toBe(true)
    expect(holds([CONTRIBUTOR], 'Microsoft.Authorization/roleAssignments/write')).toBe(false)
    expect(
      holds([CONTRIBUTOR, USER_ACCESS_ADMINISTRATOR], 'Microsoft.Authorization/roleAssignments/write')
    ).toBe(true)
    expect(holds([USER_ACCESS_ADMINISTRATOR], 'Microsoft.App/containerApps/write')).toBe(false)
    expect(holds([], 'Microsoft.App/containerApps/read')).toBe(false)
  })
})

describe('neededForSteps', () => {
  it('a first deploy writes every kind of the stack and runs the migration job', () => {
    const c = config()
    const needed = neededFor(c, coldSteps(c))
    const actions = new Set(needed.map((n) => n.action))
    for (const a of [
      'Microsoft.Resources/subscriptions/resourceGroups/write',
      'Microsoft.Network/virtualNetworks/write',
      'Microsoft.Network/virtualNetworks/subnets/write',
      'Microsoft.Network/virtualNetworks/subnets/join/action',
      'Microsoft.Network/privateDnsZones/write',
      'Microsoft.Network/privateDnsZones/virtualNetworkLinks/write',
      'Microsoft.Network/virtualNetworks/join/action',
      'Microsoft.OperationalInsights/workspaces/write',
      'Microsoft.OperationalInsights/workspaces/sharedKeys/action',
      'Microsoft.Storage/storageAccounts/write',
      'Microsoft.Storage/storageAccounts/listKeys/action',
      'Microsoft.Storage/storageAccounts/blobServices/containers/write',
      'Microsoft.DBforPostgreSQL/flexibleServers/write',
      'Microsoft.DBforPostgreSQL/flexibleServers/databases/write',
      'Microsoft.App/managedEnvironments/write',
      'Microsoft.App/jobs/write',
      'Microsoft.App/jobs/start/action',
      'Microsoft.App/containerApps/write'
    ])
      expect(actions).toContain(a)
    // Keys mode: no identity, no role.
    expect(actions).not.toContain('Microsoft.Authorization/roleAssignments/write')
    expect(actions).not.toContain('Microsoft.ManagedIdentity/userAssignedIdentities/write')
    const app = needed.find((n) => n.action === 'Microsoft.App/containerApps/write')!
    expect(app.scope).toBe(
      `/subscriptions/${SUB}/resourceGroups/rg-team-a/providers/Microsoft.App/containerApps/team-a-mlflow`
    )
    expect(app.why).toMatch(/^to create the container app team-a-mlflow with its first revision/)
  })

  it('keyless adds the identity, its assignment to the app and its role on the account', () => {
    const c = config({ 'storage-auth': 'managed-identity' })
    const needed = neededFor(c, coldSteps(c))
    const role = needed.find((n) => n.action === 'Microsoft.Authorization/roleAssignments/write')!
    expect(role.why).toMatch(/blob data role/)
    expect(role.scope).toMatch(
      new RegExp(
        `^/subscriptions/${SUB}/resourceGroups/rg-team-a/providers/Microsoft.Storage/storageAccounts/[a-z0-9]+/providers/Microsoft.Authorization/roleAssignments/[0-9a-f-]{36}$`
      )
    )
    expect(needed.map((n) => n.action)).toEqual(
      expect.arrayContaining([
        'Microsoft.ManagedIdentity/userAssignedIdentities/write',
        'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action'
      ])
    )
    // Contributor lacks exactly the role assignment.
    expect(missingActions(needed, [CONTRIBUTOR]).map((m) => m.action)).toEqual([
      'Microsoft.Authorization/roleAssignments/write'
    ])
  })

  it('a rollout of a new revision activates nothing but moves traffic and deactivates the old one', () => {
    const a = stackAddresses(config().names)
    const steps: Step[] = [
      {
        key: 'gate',
        kind: 'gate',
        revision: 'team-a-mlflow--new',
        version: { major: 3, minor: 17, patch: 2 },
        dependsOn: []
      },
      {
        key: 'traffic',
        kind: 'shiftTraffic',
        revision: 'team-a-mlflow--new',
        from: 'team-a-mlflow--old',
        traffic: [],
        tags: {},
        dependsOn: []
      },
      { key: 'deactivate', kind: 'deactivate', revision: 'team-a-mlflow--old', dependsOn: [] },
      { key: 'regenerateKey', kind: 'regenerateKey', keyName: 'key2', dependsOn: [] }
    ]
    const needed = neededForSteps(steps, {
      subscriptionId: SUB,
      app: a.containerApp,
      job: a.migrationJob,
      storageAccount: a.storageAccount
    })
    expect(needed.map((n) => n.action)).toEqual([
      'Microsoft.App/containerApps/write',
      'Microsoft.App/containerApps/revisions/deactivate/action',
      'Microsoft.Storage/storageAccounts/regeneratekey/action'
    ])
    expect(needed[1]!.scope).toBe(
      `${resourceIdOf(SUB, 'containerApp', a.containerApp)}/revisions/team-a-mlflow--old`
    )
  })
})

describe('missingActions and describeMissing', () => {
  it('names each missing action once with its scope, what needs it and the fix', () => {
    const c = config()
    const needed = [
      ...neededToRegister(SUB, ['Microsoft.App']),
      ...neededFor(c, coldSteps(c)),
      ...neededToDelete(SUB, [{ kind: 'resourceGroup', address: stackAddresses(c.names).resourceGroup }])
    ]
    const missing = missingActions(needed, [
      { actions: ['*'], notActions: ['microsoft.app/register/action', 'Microsoft.App/containerApps/*'] }
    ])
    expect(missing.map((m) => m.action)).toEqual([
      'Microsoft.App/register/action',
      'Microsoft.App/containerApps/write'
    ])
    const text = describeMissing('Deploy refused before any change was made', missing)
    expect(text).toContain(
      `- Microsoft.App/register/action on /subscriptions/${SUB} (needed to register the resource provider Microsoft.App`
    )
    expect(text).toContain('az provider register --namespace Microsoft.App')
    expect(text).toContain('Contributor on the resource group')
    const one = describeMissing('Deploy refused before any change was made', missing.slice(1))
    expect(one.split('\n')[0]).toBe(
      `Deploy refused before any change was made: the deploying identity lacks Microsoft.App/containerApps/write on ` +
        `/subscriptions/${SUB}/resourceGroups/rg-team-a/providers/Microsoft.App/containerApps/team-a-mlflow ` +
        '(needed to create the container app team-a-mlflow with its first revision ' +
        `${missing[1]!.why.split('first revision ')[1]}).`
    )
  })

  it('holds nothing back when every action is granted', () => {
    const c = config({ 'storage-auth': 'managed-identity' })
    expect(missingActions(neededFor(c, coldSteps(c)), [{ actions: ['*'], notActions: [] }])).toEqual([])
  })
})
