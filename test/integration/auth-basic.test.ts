/**
 * Basic authentication on the real runtime: anonymous calls are refused, the admin can smoke-test,
 * users live in PostgreSQL (so they survive a restart), and a changed admin-password input takes
 * effect on the next deploy. No password reaches a log, an output, a summary or the command line.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { ContainerAppsAPIClient } from '@azure/arm-appcontainers'
import { deriveNames } from '../../src/config/naming.js'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { startEmulator, type Emulator } from '../helpers/emulator.js'
import { restartRevisionAndWait, sdkClients } from '../helpers/sdk.js'
import { runtimeInfo, send } from '../helpers/ingress.js'

const STACK = 'authn'
const FIRST_PASSWORD = 'first-admin-password-1'
const SECOND_PASSWORD = 'second-admin-password-2'
const ALICE = { username: 'alice', password: 'alice-password-123' }

let emulator: Emulator
let fqdn = ''
const runs: ActionRun[] = []

async function action(inputs: Record<string, string>): Promise<ActionRun> {
  const r = await runAction({ 'stack-name': STACK, location: 'westeurope', ...inputs }, emulator.env)
  runs.push(r)
  if (r.exitCode !== 0)
    throw new Error(`action failed (${r.exitCode}):\n${errorsOf(r)}\n${r.stdout.slice(-4000)}`)
  return r
}

async function api(
  path: string,
  auth?: { username: string; password: string },
  method = 'GET',
  body?: unknown
) {
  const info = await runtimeInfo(emulator)
  return send(emulator, info.ingress, fqdn, path, {
    method,
    auth,
    body: body === undefined ? undefined : JSON.stringify(body)
  })
}

const admin = (password: string) => ({ username: 'admin', password })
const SEARCH = '/api/2.0/mlflow/experiments/search?max_results=1'

function appsClient(): ContainerAppsAPIClient {
  return sdkClients(emulator).aca
}

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: 0.002, runtime: 'mlflow' })
}, 120_000)
afterAll(async () => {
  await emulator?.stop()
})

describe('basic authentication', () => {
  it('deploys with auth basic by default and refuses anonymous API calls', async () => {
    const r = await action({ command: 'deploy', 'admin-password': FIRST_PASSWORD })
    fqdn = new URL(r.outputs['tracking-uri']!).hostname
    expect((await api(SEARCH)).status).toBe(401)
    expect((await api(SEARCH, admin('wrong-password-123'))).status).toBe(401)
    expect((await api(SEARCH, admin(FIRST_PASSWORD))).status).toBe(200)
  }, 900_000)

  it('the admin can run the smoke test, which also checks anonymous calls are refused', async () => {
    const r = await action({ command: 'smoke-test', 'admin-password': FIRST_PASSWORD })
    expect(r.outputs['smoke-result']).toBe('passed')
    expect(r.summary).toMatch(
      /\| authentication \| ✅ passed \| [\d.]+ s \| anonymous API request refused \(401\) \|/
    )
    expect(r.summary).toMatch(/\| mlflow demo \| ✅ passed/)
  }, 900_000)

  it('a user created through the auth API survives a restart of the revision', async () => {
    const created = await api('/api/2.0/mlflow/users/create', admin(FIRST_PASSWORD), 'POST', ALICE)
    expect(created.status).toBe(200)
    expect((await api(SEARCH, ALICE)).status).toBe(200)

    const apps = appsClient()
    const names = deriveNames({ stackName: STACK, subscriptionId: emulator.subscriptionId })
    const app = await apps.containerApps.get(names.resourceGroup, names.containerApp)
    const revision = app.latestReadyRevisionName!
    await restartRevisionAndWait(apps, names.resourceGroup, names.containerApp, revision)
    expect((await api(SEARCH, ALICE)).status).toBe(200)
    expect((await api(SEARCH, { ...ALICE, password: 'not-alices-password' })).status).toBe(401)
  }, 600_000)

  it('a changed admin-password input replaces the admin password on the next deploy', async () => {
    const r = await action({ command: 'deploy', 'admin-password': SECOND_PASSWORD })
    expect(r.outputs.changes).toBe('1')
    // The new secret reaches the server through a new, gated revision, not a restart.
    expect(r.outputs['previous-revision']).toBeTruthy()
    expect(r.outputs.revision).not.toBe(r.outputs['previous-revision'])
    expect(r.outputs.migrated).toBe('false')
    expect((await api(SEARCH, admin(FIRST_PASSWORD))).status).toBe(401)
    expect((await api(SEARCH, admin(SECOND_PASSWORD))).status).toBe(200)
    // The users are still there.
    expect((await api(SEARCH, ALICE)).status).toBe(200)
  }, 900_000)

  it('no password appears in a log, output, summary, or the app definition', async () => {
    const names = deriveNames({ stackName: STACK, subscriptionId: emulator.subscriptionId })
    const app = await appsClient().containerApps.get(names.resourceGroup, names.containerApp)
    const definition = JSON.stringify(app.template)
    const { value } = await appsClient().containerApps.listSecrets(names.resourceGroup, names.containerApp)
    const secrets = [FIRST_PASSWORD, SECOND_PASSWORD, ...value.map((s) => s.value!)]
    for (const secret of secrets) {
      expect(definition).not.toContain(secret)
      for (const r of runs) expect(r.everything).not.toContain(secret)
    }
    // Each run registered the admin password it was given before printing anything.
    for (const r of runs)
      expect(r.masked.some((m) => m === FIRST_PASSWORD || m === SECOND_PASSWORD)).toBe(true)
  }, 120_000)
})
