/**
 * A deploying identity that lacks permissions the run needs (the local Azure's `--deny-actions`):
 * the action refuses before its first write and names each missing action, its scope and the step
 * that needs it. A write ARM refused with 403 `AuthorizationFailed` changed nothing; it is the only
 * kind of write request allowed here, and only where nothing could have told the action in advance
 * (a provider's registration before the resource group exists).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AuthorizationManagementClient } from '@azure/arm-authorization'
import { readFileSync } from 'node:fs'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { isWrite, startEmulator, type Emulator, type RequestRecord } from '../helpers/emulator.js'
import { sdkClients } from '../helpers/sdk.js'

const inputs = { location: 'westeurope', 'admin-password': 'perm-admin-password-1', 'image-tag': 'v3.17.2' }

/** Writes that reached a resource provider: every write request but those ARM refused with 403. */
const carriedOut = (log: RequestRecord[]): RequestRecord[] =>
  log.filter(isWrite).filter((r) => r.status !== 403)

async function during(emulator: Emulator, run: () => Promise<ActionRun>) {
  const before = (await emulator.requests()).length
  const r = await run()
  const log = (await emulator.requests()).slice(before)
  return { r, log, error: errorsOf(r) }
}

function expectFailure(r: ActionRun): void {
  if (r.exitCode === 0) throw new Error(`the action succeeded:\n${r.stdout.slice(-3000)}`)
}

describe('an unregistered provider the deploying identity may not register', () => {
  let emulator: Emulator
  beforeAll(async () => {
    emulator = await startEmulator({
      timeScale: 0.002,
      unregistered: ['Microsoft.App'],
      denyActions: ['Microsoft.App/register/action']
    })
  }, 120_000)
  afterAll(async () => {
    await emulator?.stop()
  })

  it("the SDK reads the deploying identity's permissions on a group; a missing group is 404", async () => {
    const authorization = new AuthorizationManagementClient(
      { getToken: async () => ({ token: emulator.token, expiresOnTimestamp: Date.now() + 3_600_000 }) },
      emulator.subscriptionId,
      { endpoint: emulator.endpoint, tlsOptions: { ca: readFileSync(emulator.caCertPath, 'utf8') } }
    )
    const { rm } = sdkClients(emulator)
    await rm.resourceGroups.createOrUpdate('perm-read', { location: 'westeurope' })
    const permissions = []
    for await (const p of authorization.permissions.listForResourceGroup('perm-read')) permissions.push(p)
    expect(permissions).toEqual([
      { actions: ['*'], notActions: ['Microsoft.App/register/action'], dataActions: [], notDataActions: [] }
    ])
    const missing = await (async () => {
      for await (const p of authorization.permissions.listForResourceGroup('perm-nowhere')) return p
    })().catch((e: unknown) => e as { statusCode?: number; code?: string })
    expect(missing).toMatchObject({ statusCode: 404, code: 'ResourceGroupNotFound' })
  }, 120_000)

  it('a cold deploy fails naming the provider, the permission and the fix, and writes nothing', async () => {
    const { r, log, error } = await during(emulator, () =>
      runAction({ ...inputs, 'stack-name': 'permcold', command: 'deploy' }, emulator.env)
    )
    expectFailure(r)
    expect(error).toMatch(/Microsoft\.App\b/)
    expect(error).toContain('Microsoft.App/register/action')
    expect(error).toContain(`/subscriptions/${emulator.subscriptionId}`)
    expect(error).toContain('az provider register --namespace Microsoft.App')
    expect(carriedOut(log)).toEqual([])
    // Without a resource group there is no permission to read: the registration itself is refused.
    expect(log.filter(isWrite).map((w) => `${w.method} ${w.path} ${w.status}`)).toEqual([
      `POST /subscriptions/${emulator.subscriptionId}/providers/Microsoft.App/register 403`
    ])
  }, 120_000)

  it('in a resource group that exists, it is refused before the registration is even tried', async () => {
    const { rm } = sdkClients(emulator)
    await rm.resourceGroups.createOrUpdate('team-perm', { location: 'westeurope' })
    const { r, log, error } = await during(emulator, () =>
      runAction(
        { ...inputs, 'stack-name': 'permteam', 'resource-group': 'team-perm', command: 'deploy' },
        emulator.env
      )
    )
    expectFailure(r)
    expect(error).toContain('Microsoft.App/register/action')
    expect(error).toContain('az provider register --namespace Microsoft.App')
    expect(log.filter(isWrite)).toEqual([])
  }, 120_000)

  it('a resource-group input naming a group that does not exist fails naming the input', async () => {
    const { r, log, error } = await during(emulator, () =>
      runAction(
        { ...inputs, 'stack-name': 'permteam', 'resource-group': 'no-such-group', command: 'deploy' },
        emulator.env
      )
    )
    expectFailure(r)
    expect(error).toMatch(/resource-group.*no-such-group/)
    expect(log.filter(isWrite)).toEqual([])
  }, 120_000)
})

describe('an existing stack and a deploying identity that lost permissions', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'arm-emulator-perm-'))
  const stack = { ...inputs, 'stack-name': 'perm', command: 'deploy' }
  let emulator: Emulator | undefined

  /** The same local Azure (state, port) again, with these actions denied. */
  async function denying(denyActions: string[]): Promise<Emulator> {
    await emulator?.stop()
    emulator = await startEmulator({ stateDir, timeScale: 0.002, denyActions })
    return emulator
  }

  beforeAll(async () => {
    const e = await denying([])
    const r = await runAction(stack, e.env)
    if (r.exitCode !== 0) throw new Error(`deploy failed:\n${errorsOf(r)}`)
  }, 300_000)
  afterAll(async () => {
    await emulator?.stop()
    rmSync(stateDir, { recursive: true, force: true })
  })

  it('a change that needs Microsoft.App/containerApps/write is refused before any write', async () => {
    const e = await denying(['Microsoft.App/containerApps/write'])
    const { r, log, error } = await during(e, () => runAction({ ...stack, replicas: '2' }, e.env))
    expectFailure(r)
    expect(error).toContain('Microsoft.App/containerApps/write')
    expect(error).toContain(
      `/subscriptions/${e.subscriptionId}/resourceGroups/rg-perm/providers/Microsoft.App/containerApps/perm-mlflow`
    )
    expect(log.filter(isWrite)).toEqual([])
    // A deploy that changes nothing needs no write, and still succeeds.
    const same = await runAction(stack, e.env)
    if (same.exitCode !== 0) throw new Error(errorsOf(same))
  }, 300_000)

  it('keyless storage without Microsoft.Authorization/roleAssignments/write is refused before any write', async () => {
    const e = await denying(['Microsoft.Authorization/roleAssignments/write'])
    const { r, log, error } = await during(e, () =>
      runAction({ ...stack, 'storage-auth': 'managed-identity' }, e.env)
    )
    expectFailure(r)
    expect(error).toContain('Microsoft.Authorization/roleAssignments/write')
    expect(error).toMatch(/blob data role/)
    expect(error).toMatch(/User Access Administrator|Owner/)
    expect(log.filter(isWrite)).toEqual([])
  }, 300_000)

  it('when its permissions cannot be read, it warns, goes on, and names what Azure refused', async () => {
    const e = await denying(['Microsoft.Authorization/permissions/read', 'Microsoft.App/containerApps/write'])
    const { r, log, error } = await during(e, () => runAction({ ...stack, replicas: '3' }, e.env))
    expectFailure(r)
    expect(r.stdout).toMatch(/::warning::.*permissions/i)
    expect(error).toContain('Microsoft.App/containerApps/write')
    expect(error).toContain('/providers/Microsoft.App/containerApps/perm-mlflow')
    expect(carriedOut(log)).toEqual([])
  }, 300_000)
})
