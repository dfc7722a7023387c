/**
 * A resource group the user brings is used as it is: never retagged, and destroy deletes only the
 * stack's resources, in reverse dependency order, and leaves the group and anything else in it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { ResourceManagementClient } from '@azure/arm-resources'
import { StorageManagementClient } from '@azure/arm-storage'
import { readFileSync } from 'node:fs'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { isWrite, startEmulator, type Emulator } from '../helpers/emulator.js'

let emulator: Emulator
const inputs = {
  'stack-name': 'guest',
  location: 'westeurope',
  'resource-group': 'team-shared',
  'admin-password': 'guest-admin-password'
}

function expectSuccess(r: ActionRun): void {
  if (r.exitCode !== 0) throw new Error(`action failed (${r.exitCode}):\n${errorsOf(r)}`)
}

function clientOptions() {
  return {
    endpoint: emulator.endpoint,
    tlsOptions: { ca: readFileSync(emulator.caCertPath, 'utf8') }
  }
}
const credential = () => ({
  getToken: async () => ({
    token: emulator.env.AZURE_ACCESS_TOKEN!,
    expiresOnTimestamp: Date.now() + 3_600_000
  })
})

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: 0.002 })
  const arm = new ResourceManagementClient(credential(), emulator.subscriptionId, clientOptions())
  await arm.resourceGroups.createOrUpdate('team-shared', { location: 'westeurope', tags: { owner: 'team' } })
  // Something of the team's own that must survive the stack's destroy.
  const storage = new StorageManagementClient(credential(), emulator.subscriptionId, clientOptions())
  await storage.storageAccounts.create(
    'team-shared',
    'teamownstore1',
    { location: 'westeurope', sku: { name: 'Standard_LRS' }, kind: 'StorageV2' },
    { updateIntervalInMs: 20 }
  )
}, 120_000)
afterAll(async () => {
  await emulator?.stop()
})

describe('a user-given resource group', () => {
  it('deploy uses it without writing to it', async () => {
    const before = (await emulator.requests()).length
    const r = await runAction({ ...inputs, command: 'deploy' }, emulator.env)
    expectSuccess(r)
    const writes = (await emulator.requests()).slice(before).filter(isWrite)
    expect(writes.some((w) => /\/resourcegroups\/team-shared$/i.test(w.path))).toBe(false)
    expect(r.outputs['resource-group']).toBe('team-shared')
  }, 300_000)

  it('destroy deletes the stack in reverse dependency order and keeps the group and its other contents', async () => {
    // A PR environment stands on the stack: destroy removes it first, its role included.
    expectSuccess(await runAction({ ...inputs, command: 'pr-up', 'pr-number': '5' }, emulator.env))
    const before = (await emulator.requests()).length
    const r = await runAction({ ...inputs, command: 'destroy' }, emulator.env)
    expectSuccess(r)
    const deletes = (await emulator.requests())
      .slice(before)
      .filter((q) => q.method === 'DELETE')
      .map((q) => q.path)
    const at = (pattern: RegExp) => deletes.findIndex((p) => pattern.test(p))
    expect(deletes.some((p) => /\/resourcegroups\/team-shared$/i.test(p))).toBe(false)
    expect(at(/containerApps\/guest-mlflow$/i)).toBeGreaterThanOrEqual(0)
    expect(at(/containerApps\/guest-mlflow$/i)).toBeLessThan(at(/managedEnvironments\/guest-env$/i))
    expect(at(/databases\/mlflow$/i)).toBeLessThan(at(/flexibleServers\/guest-pg-[^/]+$/i))
    expect(at(/flexibleServers\/guest-pg-[^/]+$/i)).toBeLessThan(at(/virtualNetworks\/guest-vnet$/i))
    expect(at(/managedEnvironments\/guest-env$/i)).toBeLessThan(at(/virtualNetworks\/guest-vnet$/i))
    expect(at(/virtualNetworkLinks\/guest-vnet-link$/i)).toBeLessThan(at(/privateDnsZones\/[^/]+$/i))
    expect(at(/jobs\/guest-migrate$/i)).toBeGreaterThanOrEqual(0)
    expect(at(/jobs\/guest-migrate$/i)).toBeLessThan(at(/managedEnvironments\/guest-env$/i))
    expect(at(/containerApps\/guest-pr5$/i)).toBeGreaterThanOrEqual(0)
    expect(at(/containerApps\/guest-pr5$/i)).toBeLessThan(at(/managedEnvironments\/guest-env$/i))
    expect(at(/databases\/mlflow_pr_5$/i)).toBeLessThan(at(/flexibleServers\/guest-pg-[^/]+$/i))
    // The stack's 14 resources, and the PR environment's 5 parts (key mode) and its role.
    expect(r.outputs.changes).toBe('20')

    const state = JSON.stringify(await emulator.state())
    expect(state).toContain('teamownstore1')
    expect(state.toLowerCase()).toContain('/resourcegroups/team-shared')
    expect(state).not.toContain('guest-mlflow')
    expect(state).not.toContain('guest-pr5')
  }, 300_000)
})
