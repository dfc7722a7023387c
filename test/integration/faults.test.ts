/**
 * Deploy under seeded faults (throttling, 5xx, operation-in-progress conflicts, failed long-running
 * operations, dropped connections) converges to the same stack as a deploy without faults.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { deriveNames } from '../../src/config/naming.js'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { isWrite, startEmulator, type Emulator } from '../helpers/emulator.js'

export const FAULTS = '429=0.1,503=0.05,500=0.03,409=0.05,lro-fail=0.02,reset=0.02'
const inputs = {
  command: 'deploy',
  'stack-name': 'faulty',
  location: 'westeurope',
  'admin-password': 'faulty-admin-password'
}

let calm: Emulator
let stormy: Emulator

function expectSuccess(r: ActionRun): void {
  if (r.exitCode !== 0)
    throw new Error(`action failed (${r.exitCode}):\n${errorsOf(r)}\n${r.stdout.slice(-4000)}`)
}

/**
 * The stack as ARM describes it, with what differs between two subscriptions taken out: the
 * subscription id, and the suffix global names derive from it.
 */
async function resourceIds(e: Emulator): Promise<string[]> {
  const suffix = deriveNames({ stackName: 'faulty', subscriptionId: e.subscriptionId }).storageAccount.slice(
    -6
  )
  const log = await e.requests()
  const ids = new Set(
    log
      .filter((r) => r.method === 'PUT' && r.status >= 200 && r.status < 300)
      .map((r) =>
        r.path.toLowerCase().replace(e.subscriptionId.toLowerCase(), 'SUB').replaceAll(suffix, 'HASH')
      )
  )
  return [...ids].sort()
}

beforeAll(async () => {
  ;[calm, stormy] = await Promise.all([
    startEmulator({ timeScale: 0.002 }),
    startEmulator({ timeScale: 0.002, faults: FAULTS, seed: 7 })
  ])
}, 120_000)

afterAll(async () => {
  await Promise.all([calm?.stop(), stormy?.stop()])
})

describe('deploy under seeded faults', () => {
  it('converges to the same stack as without faults, and a rerun writes nothing', async () => {
    const [a, b] = await Promise.all([runAction(inputs, calm.env), runAction(inputs, stormy.env)])
    expectSuccess(a)
    expectSuccess(b)
    const faults = (await stormy.requests()).filter((r) => [0, 409, 429, 500, 503].includes(r.status))
    expect(faults.length).toBeGreaterThan(3)

    expect(await resourceIds(stormy)).toEqual(await resourceIds(calm))
    expect(b.outputs['app-name']).toBe(a.outputs['app-name'])

    // Both stacks now plan to nothing: every field the action manages is where it should be.
    const [planA, planB] = await Promise.all([
      runAction({ ...inputs, command: 'plan' }, calm.env),
      runAction({ ...inputs, command: 'plan' }, stormy.env)
    ])
    expectSuccess(planA)
    expectSuccess(planB)
    expect(planA.outputs.changes).toBe('0')
    expect(planB.outputs.changes).toBe('0')
  }, 600_000)

  it('logs each fault it survived without leaking anything secret', async () => {
    const before = (await stormy.requests()).length
    const again = await runAction(inputs, stormy.env)
    expectSuccess(again)
    const writes = (await stormy.requests()).slice(before).filter(isWrite)
    expect(writes).toEqual([])
  }, 600_000)
})
