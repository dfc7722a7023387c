/**
 * Runs that meet trouble in Azure: faults are retried by exactly one layer (so the attempts per
 * operation stay bounded), a permanent failure is never retried, a cancelled run's operations are
 * waited for by the next run instead of fought with, and a resource whose create failed is reported
 * with Azure's reason.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { errorsOf, runAction, startAction } from '../helpers/action.js'
import { isWrite, startEmulator, type Emulator, type RequestRecord } from '../helpers/emulator.js'
import { until } from '../helpers/sdk.js'

const inputs = (stack: string): Record<string, string> => ({
  command: 'deploy',
  'stack-name': stack,
  location: 'westeurope',
  'admin-password': `${stack}-admin-password`
})

const started: Emulator[] = []
async function emulatorWith(options: Parameters<typeof startEmulator>[0]): Promise<Emulator> {
  const e = await startEmulator(options)
  started.push(e)
  return e
}
afterAll(async () => {
  await Promise.all(started.map((e) => e.stop()))
})

/** HTTP attempts per operation: requests with the same method and path, in one run. */
function attempts(log: RequestRecord[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const r of log) {
    const key = `${r.method} ${r.path.toLowerCase()}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

describe('one retry layer', () => {
  it('a request that keeps failing with 500 is sent 7 times (the SDK pipeline’s 6 retries), not multiplied', async () => {
    const e = await emulatorWith({ timeScale: 0.002, faults: '500=1', seed: 1 })
    const r = await runAction({ ...inputs('storm'), command: 'plan' }, e.env)
    expect(r.exitCode).not.toBe(0)
    expect(errorsOf(r)).toMatch(/InternalServerError/)
    const counts = [...attempts(await e.requests()).values()]
    expect(counts.length).toBeGreaterThan(0)
    expect(Math.max(...counts)).toBe(7)
  }, 120_000)

  it('a write that keeps answering 409 "busy" is retried by the action alone, a bounded number of times', async () => {
    const e = await emulatorWith({ timeScale: 0.002, faults: '409=1', seed: 1 })
    const r = await runAction(inputs('busy'), e.env)
    expect(r.exitCode).not.toBe(0)
    expect(errorsOf(r)).toMatch(/OperationInProgress/)
    const log = await e.requests()
    const puts = [...attempts(log).entries()].filter(([k]) => k.startsWith('PUT '))
    expect(puts).toHaveLength(1)
    expect(puts[0]![1]).toBe(6)
    expect(r.stdout).toMatch(
      /Retrying put resourceGroup rg-busy\/rg-busy \(attempt 2\) after: OperationInProgress/
    )
  }, 120_000)

  it('a PostgreSQL create that fails for a permanent reason is sent once and reported with Azure’s reason', async () => {
    const e = await emulatorWith({
      timeScale: 0.002,
      failOperations: {
        'postgresServers.put': 'LocationIsOfferRestricted',
        'managedEnvironments.put': 'ManagedEnvironmentCapacityExhausted'
      }
    })
    const r = await runAction(inputs('denied'), e.env)
    expect(r.exitCode).not.toBe(0)
    expect(errorsOf(r)).toMatch(/postgresServer: .*LocationIsOfferRestricted/)
    expect(errorsOf(r)).toMatch(/managedEnvironment: .*ManagedEnvironmentCapacityExhausted/)
    const serverPuts = (await e.requests()).filter(
      (q) => q.method === 'PUT' && /\/flexibleServers\/[^/]+$/i.test(q.path)
    )
    expect(serverPuts).toHaveLength(1)

    // The next plan shows the environment the failed create left behind, with the service's words.
    const plan = await runAction({ ...inputs('denied'), command: 'plan' }, e.env)
    expect(plan.exitCode).toBe(0)
    expect(plan.summary).toMatch(
      /\| managedEnvironment \| `denied-env` \| 🟡 update \| provisioningState Failed → Succeeded \(.*ManagedEnvironmentCapacityExhausted.*\) \|/
    )
  }, 120_000)
})

describe('a run cancelled mid-deploy', () => {
  it('leaves Azure working; the rerun waits for the running operations, never fights them, and converges', async () => {
    // Real durations at 1/10: the PostgreSQL create takes 42 s, longer than the 30 s lease the
    // killed run leaves on the stack's lock, so the rerun first waits out the lock, then the server.
    const e = await emulatorWith({ timeScale: 0.1 })
    const first = startAction(inputs('cancel'), e.env)
    await until(
      'the PostgreSQL create to be accepted',
      () => e.requests(),
      (log) =>
        log.some((q) => q.method === 'PUT' && /\/flexibleServers\/[^/]+$/i.test(q.path) && q.status === 202),
      60_000
    )
    first.kill()
    await first.done
    const before = (await e.requests()).length

    const rerun = await runAction(inputs('cancel'), e.env)
    if (rerun.exitCode !== 0)
      throw new Error(`rerun failed:\n${errorsOf(rerun)}\n${rerun.stdout.slice(-3000)}`)
    expect(rerun.stdout).toMatch(/Stack cancel is locked by .*\(command deploy, since .*\): waiting/)
    expect(rerun.stdout).toMatch(
      /postgresServer cancel-pg-\w+ is Provisioning \(an operation still running in Azure/
    )
    // Not one write that Azure had to refuse: no 409 "busy", no 4xx at all.
    const log = (await e.requests()).slice(before)
    expect(log.filter((q) => isWrite(q) && q.status >= 400)).toEqual([])
    expect(log.filter((q) => q.status === 409)).toEqual([])
  }, 300_000)
})
