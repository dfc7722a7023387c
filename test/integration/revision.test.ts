/**
 * Deploy is done only when the new revision runs: a revision that cannot start fails the step with
 * the service's reason, traffic stays on the healthy revision, and a corrected rerun converges.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { errorsOf, runAction } from '../helpers/action.js'
import { startEmulator, type Emulator } from '../helpers/emulator.js'

let emulator: Emulator
const inputs = {
  command: 'deploy',
  'stack-name': 'roll',
  location: 'westeurope',
  'admin-password': 'roll-admin-password'
}

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: 0.002 })
}, 120_000)
afterAll(async () => {
  await emulator?.stop()
})

describe('revision health gate', () => {
  it('fails with the reason when the new revision cannot start, keeping the old one serving', async () => {
    const first = await runAction({ ...inputs, 'image-tag': 'v3.17.0' }, emulator.env)
    if (first.exitCode !== 0) throw new Error(errorsOf(first))
    const healthy = first.outputs.revision!

    const broken = await runAction({ ...inputs, 'image-tag': 'v3.99.0' }, emulator.env)
    expect(broken.exitCode).not.toBe(0)
    expect(errorsOf(broken)).toMatch(
      /Revision roll-mlflow--\S+ \(ghcr\.io\/mlflow\/mlflow:v3\.99\.0-full\) failed to start: .*v3\.99\.0-full/
    )

    const plan = await runAction({ ...inputs, command: 'plan', 'image-tag': 'v3.17.0' }, emulator.env)
    expect(plan.exitCode).toBe(0)
    expect(plan.outputs.revision).toBe(healthy)

    const fixed = await runAction({ ...inputs, 'image-tag': 'v3.18.0' }, emulator.env)
    if (fixed.exitCode !== 0) throw new Error(errorsOf(fixed))
    expect(fixed.outputs.revision).not.toBe(healthy)
  }, 300_000)
})
