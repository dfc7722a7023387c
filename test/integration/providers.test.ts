/** The classic first-run failure: resource providers the subscription has never registered. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { errorsOf, runAction } from '../helpers/action.js'
import { isWrite, startEmulator, type Emulator } from '../helpers/emulator.js'

let emulator: Emulator
const inputs = { 'stack-name': 'fresh', location: 'westeurope', 'admin-password': 'fresh-admin-password' }

beforeAll(async () => {
  emulator = await startEmulator({
    timeScale: 0.002,
    unregistered: ['Microsoft.App', 'Microsoft.DBforPostgreSQL']
  })
}, 120_000)
afterAll(async () => {
  await emulator?.stop()
})

describe('resource providers', () => {
  it('plan names the unregistered providers and writes nothing', async () => {
    const r = await runAction({ ...inputs, command: 'plan' }, emulator.env)
    expect(r.exitCode).toBe(0)
    expect(r.summary).toContain('Microsoft.App (to register)')
    expect(r.summary).toContain('Microsoft.DBforPostgreSQL (to register)')
    expect((await emulator.requests()).filter(isWrite)).toEqual([])
  }, 120_000)

  it('deploy registers them first and then succeeds', async () => {
    const r = await runAction({ ...inputs, command: 'deploy' }, emulator.env)
    if (r.exitCode !== 0) throw new Error(errorsOf(r))
    const writes = (await emulator.requests()).filter(isWrite).map((w) => w.path)
    const registrations = writes.filter((p) => /\/providers\/[^/]+\/register$/i.test(p))
    expect(registrations.map((p) => p.split('/')[4]).sort()).toEqual([
      'Microsoft.App',
      'Microsoft.DBforPostgreSQL'
    ])
    // Registration happens before any resource is written.
    expect(writes.findIndex((p) => /\/register$/i.test(p))).toBe(0)
    expect(r.stdout).toContain('Resource provider Microsoft.App: registered now')
  }, 300_000)
})
