/**
 * The action end to end against the local Azure: the bundled `dist/index.js`, run as the runner runs
 * it, through the real `@azure/arm-*` clients, against the emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { isWrite, startEmulator, type Emulator } from '../helpers/emulator.js'
import { fastLro, sdkClients } from '../helpers/sdk.js'
import { SECRETS_DIGEST_ENV } from '../../src/stack/rollout.js'

const STACK = 'itest'
const ADMIN_PASSWORD = 'itest-admin-password-1'
let emulator: Emulator

/** Every secret value the local Azure holds: anything under a `secrets` object, keys and passwords. */
function secretsIn(state: unknown): string[] {
  const found = new Set<string>()
  const walk = (v: unknown, secret: boolean): void => {
    if (typeof v === 'string') {
      if (secret && v.length >= 12) found.add(v)
    } else if (Array.isArray(v)) {
      for (const x of v) walk(x, secret)
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        walk(
          x,
          secret ||
            /^(secrets|administratorLoginPassword|primarySharedKey|secondarySharedKey|sharedKey)$/.test(k)
        )
      }
    }
  }
  walk(state, false)
  return [...found]
}

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    command: 'deploy',
    'stack-name': STACK,
    location: 'westeurope',
    'admin-password': ADMIN_PASSWORD,
    ...extra
  }
}

async function run(
  extra: Record<string, string> = {}
): Promise<{ run: ActionRun; writes: string[]; requests: number }> {
  const before = (await emulator.requests()).length
  const result = await runAction(inputs(extra), emulator.env)
  const log = (await emulator.requests()).slice(before)
  return {
    run: result,
    writes: log.filter(isWrite).map((r) => `${r.method} ${r.path}`),
    requests: log.length
  }
}

function expectSuccess(r: ActionRun): void {
  if (r.exitCode !== 0)
    throw new Error(`action failed (${r.exitCode}):\n${errorsOf(r)}\n${r.stdout.slice(-3000)}`)
}

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: 0.002 })
}, 120_000)

afterAll(async () => {
  await emulator?.stop()
})

describe('deploy against the local Azure', () => {
  it('creates the whole stack on a cold subscription and outputs the MLflow URL', async () => {
    const { run: r, writes } = await run()
    expectSuccess(r)
    expect(r.outputs['tracking-uri']).toMatch(/^https:\/\/itest-mlflow\.[a-z0-9.-]+\.azurecontainerapps\.io$/)
    expect(r.outputs['app-name']).toBe('itest-mlflow')
    expect(r.outputs['resource-group']).toBe('rg-itest')
    expect(r.outputs.revision).toMatch(/^itest-mlflow--[a-z0-9-]+$/)
    expect(r.outputs.changes).toBe('15')
    for (const type of [
      'resourcegroups/rg-itest',
      'virtualNetworks/itest-vnet',
      'virtualNetworks/itest-vnet/subnets/aca',
      'virtualNetworks/itest-vnet/subnets/db',
      'privateDnsZones/',
      'virtualNetworkLinks/itest-vnet-link',
      'workspaces/itest-logs',
      'storageAccounts/',
      'containers/mlflow-artifacts',
      'flexibleServers/itest-pg-',
      'databases/mlflow',
      'databases/mlflow_auth',
      'managedEnvironments/itest-env',
      'containerApps/itest-mlflow'
    ]) {
      expect(writes.some((w) => w.toLowerCase().includes(type.toLowerCase()))).toBe(true)
    }
    expect(r.summary).toContain('| resource | name | action | changes |')
    expect(r.summary).toContain('```mermaid')
    expect(r.stdout).toMatch(/::group::new revision itest-mlflow--v3-17-2-[a-z0-9]+: done in [\d.]+s/)
  }, 300_000)

  it('a second deploy with the same inputs sends zero writes', async () => {
    const { run: r, writes, requests } = await run()
    expectSuccess(r)
    expect(writes).toEqual([])
    expect(requests).toBeGreaterThan(0)
    expect(r.outputs.changes).toBe('0')
    expect(r.summary).toContain('No changes')
  }, 300_000)

  it('a migration job written before it carried its secrets digest is rewritten once, then left alone', async () => {
    // What an earlier release left: the job's container without the digest of its secrets.
    const { aca } = sdkClients(emulator)
    const job = await aca.jobs.get('rg-itest', 'itest-migrate')
    const container = job.template!.containers![0]!
    expect(container.env?.some((e) => e.name === SECRETS_DIGEST_ENV)).toBe(true)
    await aca.jobs.beginUpdateAndWait(
      'rg-itest',
      'itest-migrate',
      {
        properties: {
          template: {
            containers: [{ ...container, env: container.env!.filter((e) => e.name !== SECRETS_DIGEST_ENV) }]
          }
        }
      },
      fastLro
    )
    const first = await run()
    expectSuccess(first.run)
    expect(first.writes).toEqual([
      expect.stringMatching(
        /^PUT \/subscriptions\/[^/]+\/resourceGroups\/rg-itest\/providers\/Microsoft\.App\/jobs\/itest-migrate$/i
      )
    ])
    const second = await run()
    expectSuccess(second.run)
    expect(second.writes).toEqual([])
  }, 300_000)

  it('a changed replica count updates only the container app', async () => {
    const { run: r, writes } = await run({ replicas: '2' })
    expectSuccess(r)
    expect(r.outputs.changes).toBe('1')
    expect(writes.length).toBeGreaterThan(0)
    // Scale is part of the template: a new revision, then the old one is deactivated.
    for (const w of writes)
      expect(w).toMatch(/\/containerApps\/itest-mlflow(\/revisions\/[^/]+\/deactivate)?$/i)
    expect(r.summary).toMatch(
      /\| containerApp \| `itest-mlflow` \| 🟡 update \| minReplicas 1 → 2; maxReplicas 1 → 2 — new revision itest-mlflow--\S+: template changed: minReplicas, maxReplicas \|/
    )
  }, 300_000)

  it('plan shows a pending change and writes nothing', async () => {
    const { run: r, writes } = await run({ command: 'plan', replicas: '3' })
    expectSuccess(r)
    expect(writes).toEqual([])
    expect(r.outputs.changes).toBe('1')
    expect(r.summary).toContain('MLflow stack plan')
    expect(r.summary).toContain(
      '| containerApp | `itest-mlflow` | 🟡 update | minReplicas 2 → 3; maxReplicas 2 → 3 — new revision'
    )
  }, 300_000)

  it('never lets a secret reach a log, an output or the summary', async () => {
    const secrets = secretsIn(await emulator.state())
    expect(secrets.length).toBeGreaterThan(3)
    const { run: r } = await run({ command: 'plan' })
    for (const secret of secrets) expect(r.everything).not.toContain(secret)
    // What the action reads (keys, shared key, app secrets) is registered with the runner first.
    const read = secrets.filter((s) => r.masked.includes(s))
    expect(read.length).toBeGreaterThanOrEqual(4)
  }, 300_000)

  const badInputs: [string, Record<string, string>, RegExp][] = [
    [
      'bad stack name',
      { 'stack-name': 'Bad_Name' },
      /Input 'stack-name' has value 'Bad_Name': must be 3 to 24/
    ],
    [
      'zero replicas',
      { replicas: '0' },
      /Input 'replicas' has value '0': must be a whole number from 1 to 30/
    ],
    [
      'unknown ingress',
      { ingress: 'public' },
      /Input 'ingress' has value 'public': must be one of 'external', 'internal'/
    ],
    [
      'image without -full',
      { 'image-tag': 'v2.15.1' },
      /Input 'image-tag' has value 'v2.15.1': must be v3.9.0 or later/
    ],
    [
      'bad storage name',
      { 'storage-account-name': 'UPPER' },
      /Input 'storage-account-name' has value 'UPPER'/
    ]
  ]
  it.each(badInputs)(
    'refuses %s with a clear message and no request at all',
    async (_label, extra, message) => {
      const { run: r, requests } = await run(extra)
      expect(r.exitCode).not.toBe(0)
      expect(errorsOf(r)).toMatch(message)
      expect(requests).toBe(0)
    },
    60_000
  )

  it('destroy removes the stack, and a second destroy writes nothing', async () => {
    const first = await run({ command: 'destroy' })
    expectSuccess(first.run)
    expect(first.writes).toEqual([
      expect.stringMatching(/^DELETE \/subscriptions\/[^/]+\/resourcegroups\/rg-itest$/i)
    ])
    const state = JSON.stringify(await emulator.state())
    expect(state).not.toContain('itest-mlflow')
    const second = await run({ command: 'destroy' })
    expectSuccess(second.run)
    expect(second.writes).toEqual([])
    expect(second.run.outputs.changes).toBe('0')
  }, 300_000)
})
