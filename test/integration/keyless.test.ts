/**
 * Keyless storage (`storage-auth: managed-identity`) on the local Azure, stand-in runtime: its
 * server reads and writes artifacts the way MLflow's DefaultAzureCredential path does (a token
 * from the replica's identity endpoint, honoured only once the identity's data role has reached
 * the data plane). The account refuses shared keys; a switch to keys and back fails no upload.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { deriveNames } from '../../src/config/naming.js'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { blobOps } from '../helpers/blobOps.js'
import { isWrite, startEmulator, type Emulator } from '../helpers/emulator.js'
import { grantDeployerBlobData } from '../helpers/identityClients.js'
import { whilePolling } from '../helpers/ingress.js'
import { sdkClients, type SdkClients } from '../helpers/sdk.js'

const STACK = 'nokey'
const ADMIN = { username: 'admin', password: 'nokey-admin-password-1' }
let emulator: Emulator
let c: SdkClients
let names: ReturnType<typeof deriveNames>
const base: Record<string, string> = {
  command: 'deploy',
  'stack-name': STACK,
  location: 'westeurope',
  'admin-password': ADMIN.password,
  'image-tag': 'v3.17.2',
  'storage-auth': 'managed-identity'
}

function expectSuccess(r: ActionRun): void {
  if (r.exitCode !== 0)
    throw new Error(`action failed (${r.exitCode}):\n${errorsOf(r)}\n${r.stdout.slice(-4000)}`)
}

const app = () => c.aca.containerApps.get(names.resourceGroup, names.containerApp)
const account = () => c.st.storageAccounts.getProperties(names.resourceGroup, names.storageAccount)

/** A shared-key request to the account's real endpoint, as any key holder would send it. */
async function withKey(): Promise<{ ok: boolean; code?: string }> {
  const { keys } = await c.st.storageAccounts.listKeys(names.resourceGroup, names.storageAccount)
  const [r] = await blobOps(emulator.env, names.storageAccount, { kind: 'key', key: keys![0]!.value! }, [
    { op: 'containerExists', container: names.blobContainer }
  ])
  return r!.ok ? { ok: true } : { ok: false, code: r!.code }
}

/** Artifact uploads through the app, one after the other, while `work` runs. */
async function uploading(work: () => Promise<ActionRun>) {
  const fqdn = (await app()).configuration!.ingress!.fqdn!
  return whilePolling(emulator, fqdn, '', work, {
    auth: ADMIN,
    maxMs: 300_000,
    request: (n) => ({
      method: 'PUT',
      path: `/api/2.0/mlflow-artifacts/artifacts/switch/${randomUUID()}-${n}.txt`,
      body: Buffer.from(`upload ${n}`)
    })
  })
}

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: 0.002 })
  c = sdkClients(emulator)
  names = deriveNames({ stackName: STACK, subscriptionId: emulator.subscriptionId })
  await grantDeployerBlobData(emulator)
}, 120_000)

afterAll(async () => {
  await emulator?.stop()
})

describe('keyless storage', () => {
  it('deploys with an identity and a data role, no key on the app, shared keys refused', async () => {
    const r = await runAction(base, emulator.env)
    expectSuccess(r)
    expect(r.outputs['active-key']).toBe('none')
    expect((await account()).allowSharedKeyAccess).toBe(false)
    const a = await app()
    expect(Object.keys(a.identity?.userAssignedIdentities ?? {})).toHaveLength(1)
    expect((a.configuration?.secrets ?? []).map((s) => s.name)).not.toContain('storage-access-key')
    const env = a.template!.containers![0]!.env!.map((e) => e.name)
    expect(env).toContain('AZURE_CLIENT_ID')
    expect(env).not.toContain('AZURE_STORAGE_ACCESS_KEY')
    expect(await withKey()).toEqual({ ok: false, code: 'KeyBasedAuthenticationNotPermitted' })
    // The gate wrote an artifact through the new revision (its detail column says what it did,
    // the label only what it would do): the identity's role works.
    expect(r.summary).toMatch(
      /\| gate \|[^\n]*\| done \|[^\n]*\| https:\/\/[^|\n]*, artifact write and read \|/
    )
  }, 300_000)

  it('rotate-keys has nothing to rotate, and writes nothing', async () => {
    const start = (await emulator.requests()).length
    const r = await runAction({ ...base, command: 'rotate-keys' }, emulator.env)
    expectSuccess(r)
    expect(r.outputs['active-key']).toBe('none')
    expect(r.stdout).toMatch(/nothing to rotate/)
    expect((await emulator.requests()).slice(start).filter(isWrite)).toEqual([])
  }, 120_000)

  it('a rerun writes nothing', async () => {
    const start = (await emulator.requests()).length
    const r = await runAction(base, emulator.env)
    expectSuccess(r)
    expect(r.outputs.changes).toBe('0')
    expect((await emulator.requests()).slice(start).filter(isWrite)).toEqual([])
  }, 120_000)

  it('switches to keys with no failed upload: shared keys on first, the identity off last', async () => {
    const {
      result: r,
      sent,
      failed
    } = await uploading(() => runAction({ ...base, 'storage-auth': 'access-key' }, emulator.env))
    expectSuccess(r)
    process.stderr.write(`[keyless] ${sent} artifact uploads during the switch, ${failed.length} failed\n`)
    expect(failed).toEqual([])
    expect(sent).toBeGreaterThan(3)
    expect(r.outputs['active-key']).toBe('key1')
    expect((await account()).allowSharedKeyAccess).toBe(true)
    const a = await app()
    expect(a.identity?.type ?? 'None').toBe('None')
    expect((a.configuration?.secrets ?? []).map((s) => s.name)).toContain('storage-access-key')
    expect(await withKey()).toEqual({ ok: true })
    const again = await runAction({ ...base, 'storage-auth': 'access-key' }, emulator.env)
    expectSuccess(again)
    expect(again.outputs.changes).toBe('0')
  }, 300_000)

  it('and back to keyless with no failed upload: shared keys off only after the traffic moved', async () => {
    const start = (await emulator.requests()).length
    const { result: r, sent, failed } = await uploading(() => runAction(base, emulator.env))
    expectSuccess(r)
    process.stderr.write(`[keyless] ${sent} artifact uploads during the switch, ${failed.length} failed\n`)
    expect(failed).toEqual([])
    expect(sent).toBeGreaterThan(3)
    expect(r.outputs['active-key']).toBe('none')
    expect(await withKey()).toEqual({ ok: false, code: 'KeyBasedAuthenticationNotPermitted' })
    const log = (await emulator.requests()).slice(start)
    const at = (re: RegExp) => log.findIndex((q) => isWrite(q) && re.test(`${q.method} ${q.path}`))
    const traffic = at(/^PATCH .*\/containerApps\/nokey-mlflow$/i)
    const sharedOff = at(/^PATCH .*\/storageAccounts\/[^/]+$/i)
    expect(traffic).toBeGreaterThan(0)
    expect(sharedOff).toBeGreaterThan(traffic)
  }, 300_000)
})
