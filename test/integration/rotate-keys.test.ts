/**
 * Storage key rotation and the stack lock on the local Azure (stand-in runtime: its server writes
 * artifacts to the account through the blob front door with the key it started with, as MLflow
 * does). A client uploads artifacts throughout a rotation; a rotation killed after each of its
 * steps is finished by a rerun, and at no moment does the serving revision hold a dead key; runs
 * that change the stack queue on a lease in the stack's storage account.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob'
import { deriveNames } from '../../src/config/naming.js'
import { LOCK_BLOB, LOCK_CONTAINER } from '../../src/azure/blobData.js'
import { keyHeldBy } from '../../src/stack/storageKeys.js'
import { revisionFromArm } from '../../src/azure/containerApps.js'
import { errorsOf, runAction, startAction, type ActionRun, type StartedAction } from '../helpers/action.js'
import { isWrite, startEmulator, type Emulator, type RequestRecord } from '../helpers/emulator.js'
import { send, whilePolling } from '../helpers/ingress.js'
import { sdkClients, until, type SdkClients } from '../helpers/sdk.js'

const STACK = 'rotor'
const ADMIN = { username: 'admin', password: 'rotor-admin-password-1' }
let emulator: Emulator
let c: SdkClients
let names: ReturnType<typeof deriveNames>
const base: Record<string, string> = {
  command: 'rotate-keys',
  'stack-name': STACK,
  location: 'westeurope',
  'admin-password': ADMIN.password,
  'image-tag': 'v3.17.2'
}

function expectSuccess(r: ActionRun): void {
  if (r.exitCode !== 0)
    throw new Error(`action failed (${r.exitCode}):\n${errorsOf(r)}\n${r.stdout.slice(-4000)}`)
}

const keys = async () => {
  const { keys: k } = await c.st.storageAccounts.listKeys(names.resourceGroup, names.storageAccount)
  return {
    key1: k!.find((x) => x.keyName === 'key1')!.value!,
    key2: k!.find((x) => x.keyName === 'key2')!.value!
  }
}

const app = () => c.aca.containerApps.get(names.resourceGroup, names.containerApp)

async function fqdn(): Promise<string> {
  return (await app()).configuration!.ingress!.fqdn!
}

/** The revision with the traffic, and the key it holds (undefined: a dead or unknown key). */
async function serving(): Promise<{ name: string; key?: 'key1' | 'key2' }> {
  for await (const r of c.aca.containerAppsRevisions.listRevisions(names.resourceGroup, names.containerApp)) {
    if ((r.trafficWeight ?? 0) === 100) {
      const key = keyHeldBy(await keys(), revisionFromArm(r).container)
      return { name: r.name!, ...(key ? { key } : {}) }
    }
  }
  throw new Error('no revision has all traffic')
}

/** Uploads one artifact through the app, as a user's client would. */
async function upload(n: string): Promise<number> {
  const info = await emulator.runtimeInfo()
  const r = await send(
    emulator,
    info.ingress,
    await fqdn(),
    `/api/2.0/mlflow-artifacts/artifacts/check/${n}.txt`,
    {
      method: 'PUT',
      body: Buffer.from(`artifact ${n}`),
      auth: ADMIN
    }
  )
  return r.status
}

function blobWith(key: string): BlobServiceClient {
  return new BlobServiceClient(
    `${emulatorBlob}/${names.storageAccount}`,
    new StorageSharedKeyCredential(names.storageAccount, key)
  )
}
let emulatorBlob = ''

const writesIn = (log: RequestRecord[]) => log.filter(isWrite)
const regenerates = (log: RequestRecord[]) => log.filter((q) => /\/regenerateKey$/i.test(q.path))

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: 0.002 })
  c = sdkClients(emulator)
  names = deriveNames({ stackName: STACK, subscriptionId: emulator.subscriptionId })
  const r = await runAction({ ...base, command: 'deploy' }, emulator.env)
  expectSuccess(r)
  emulatorBlob = (await emulator.runtimeInfo()).blob!.endpoint
}, 180_000)

afterAll(async () => {
  await emulator?.stop()
})

describe('the stack lock', () => {
  it('a cold deploy creates the storage account before anything else and leaves the lock released', async () => {
    const log = await emulator.requests()
    const puts = writesIn(log).filter((q) => q.method === 'PUT')
    const account = puts.findIndex((q) => /\/storageAccounts\/[^/]+$/i.test(q.path))
    const others = puts.filter(
      (q, i) =>
        i > 0 && !/\/resourceGroups\/[^/]+$/i.test(q.path) && !/\/storageAccounts\/[^/]+$/i.test(q.path)
    )
    expect(account).toBeGreaterThanOrEqual(0)
    expect(puts.indexOf(others[0]!)).toBeGreaterThan(account)
    const props = await blobWith((await keys()).key1)
      .getContainerClient(LOCK_CONTAINER)
      .getBlobClient(LOCK_BLOB)
      .getProperties()
    expect(props.leaseState).toBe('available')
    expect(props.metadata?.['command']).toBe('deploy')
  }, 60_000)

  it('plan takes no lock', async () => {
    const before = await blobWith((await keys()).key1)
      .getContainerClient(LOCK_CONTAINER)
      .getBlobClient(LOCK_BLOB)
      .getProperties()
    const r = await runAction({ ...base, command: 'plan' }, emulator.env)
    expectSuccess(r)
    const after = await blobWith((await keys()).key1)
      .getContainerClient(LOCK_CONTAINER)
      .getBlobClient(LOCK_BLOB)
      .getProperties()
    expect(after.etag).toBe(before.etag)
    expect(after.lastModified).toEqual(before.lastModified)
  }, 60_000)
})

describe('two first deploys at once', () => {
  it('queue on the lock: one creates the stack, the other finds it; one database password', async () => {
    const twins = { ...base, command: 'deploy', 'stack-name': 'twins' }
    const start = (await emulator.requests()).length
    const [a, b] = await Promise.all([runAction(twins, emulator.env), runAction(twins, emulator.env)])
    expectSuccess(a)
    expectSuccess(b)
    const waited = [a, b].filter((r) => /Stack twins is locked by .*\(command deploy/.test(r.stdout))
    expect(waited).toHaveLength(1)
    const log = (await emulator.requests()).slice(start)
    // The server was created once, with one password; the second run wrote nothing to it.
    const serverWrites = log.filter((q) => isWrite(q) && /\/flexibleServers\/[^/]+$/i.test(q.path))
    expect(serverWrites).toHaveLength(1)
  }, 300_000)
})

describe('rotate-keys', () => {
  it('moves the server to the other key with no failed upload, then the old key stops working', async () => {
    const before = await keys()
    const was = await serving()
    expect(was.key).toBe('key1')
    const start = (await emulator.requests()).length
    const {
      result: r,
      sent,
      failed
    } = await whilePolling(emulator, await fqdn(), '', () => runAction(base, emulator.env), {
      auth: ADMIN,
      maxMs: 300_000,
      request: (n) => ({
        method: 'PUT',
        path: `/api/2.0/mlflow-artifacts/artifacts/during/${n}.txt`,
        body: Buffer.from(`upload ${n}`)
      })
    })
    expectSuccess(r)
    process.stderr.write(
      `[rotate-keys] ${sent} artifact uploads during the rotation, ${failed.length} failed\n`
    )
    expect(failed).toEqual([])
    expect(sent).toBeGreaterThan(5)
    expect(r.outputs['active-key']).toBe('key2')
    expect(r.outputs.revision).not.toBe(was.name)
    expect(r.outputs['previous-revision']).toBe(was.name)
    const after = await keys()
    expect(after.key2).not.toBe(before.key2)
    expect(after.key1).not.toBe(before.key1)
    expect(await serving()).toEqual({ name: r.outputs.revision, key: 'key2' })
    // Both old values are dead; the app still writes.
    await expect(blobWith(before.key1).getProperties()).rejects.toMatchObject({ statusCode: 403 })
    await expect(blobWith(before.key2).getProperties()).rejects.toMatchObject({ statusCode: 403 })
    expect(await upload('after-rotation')).toBe(200)
    // key2 first, the traffic moved, and only then key1.
    const log = (await emulator.requests()).slice(start)
    const at = (re: RegExp, from = 0) =>
      log.findIndex((q, i) => i >= from && isWrite(q) && re.test(`${q.method} ${q.path}`))
    const firstRegen = at(/^POST .*\/regenerateKey$/i)
    const put = at(/^PUT .*\/containerApps\/rotor-mlflow$/i)
    const traffic = at(/^PATCH .*\/containerApps\/rotor-mlflow$/i)
    const deactivate = at(/^POST .*\/revisions\/[^/]+\/deactivate$/i)
    const secondRegen = at(/^POST .*\/regenerateKey$/i, firstRegen + 1)
    expect([firstRegen, put, traffic, deactivate, secondRegen].every((i) => i >= 0)).toBe(true)
    expect(firstRegen).toBeLessThan(put)
    expect(put).toBeLessThan(traffic)
    expect(traffic).toBeLessThan(deactivate)
    expect(deactivate).toBeLessThan(secondRegen)
    expect(regenerates(log)).toHaveLength(2)
    expect(r.summary).toMatch(/Storage key in use: `key2`.*last rotated 20\d\d-/)
    for (const value of [...Object.values(before), ...Object.values(after)])
      expect(r.everything).not.toContain(value)
  }, 300_000)

  it('the next rotation goes back to key1', async () => {
    const r = await runAction(base, emulator.env)
    expectSuccess(r)
    expect(r.outputs['active-key']).toBe('key1')
    expect((await serving()).key).toBe('key1')
  }, 300_000)

  it('a deploy keeps the key the app holds (it never undoes a rotation)', async () => {
    const start = (await emulator.requests()).length
    const r = await runAction({ ...base, command: 'deploy' }, emulator.env)
    expectSuccess(r)
    expect(r.outputs['active-key']).toBe('key1')
    expect(r.outputs.changes).toBe('0')
    expect(writesIn((await emulator.requests()).slice(start))).toEqual([])
  }, 120_000)

  it('refuses other changes riding along, before any write', async () => {
    const start = (await emulator.requests()).length
    const r = await runAction({ ...base, replicas: '2' }, emulator.env)
    expect(r.exitCode).not.toBe(0)
    expect(errorsOf(r)).toMatch(
      /rotate-keys changes only the storage key, but the inputs also differ from the stack: .*minReplicas/
    )
    expect(writesIn((await emulator.requests()).slice(start))).toEqual([])
  }, 120_000)

  // Each kill point is the request that ends a step; the killed run leaves its lease, which the
  // rerun waits out (at most the lease's 30 s): that is the dead-holder case of the lock as well.
  const killPoints: [string, RegExp][] = [
    ['the first regenerate', /^POST .*\/regenerateKey$/i],
    ['the new revision is written', /^PUT .*\/containerApps\/rotor-mlflow$/i],
    ['the traffic moved', /^PATCH .*\/containerApps\/rotor-mlflow$/i],
    ['the old revision is deactivated', /^POST .*\/revisions\/[^/]+\/deactivate$/i]
  ]
  it.each(killPoints)(
    'killed right after %s, a rerun finishes the rotation; the serving revision never holds a dead key',
    async (_what, point) => {
      const before = await serving()
      const keysAtStart = await keys()
      const start = (await emulator.requests()).length
      const run: StartedAction = startAction(base, emulator.env)
      await until(
        'the kill point',
        async () => (await emulator.requests()).slice(start),
        (log) => log.some((q) => q.status > 0 && q.status < 300 && point.test(`${q.method} ${q.path}`)),
        120_000
      )
      run.kill()
      await run.done
      const mid = await serving()
      expect(mid.key).toBeDefined()
      expect(await upload(`killed-${before.name}`)).toBe(200)

      const rerun = await runAction({ ...base, 'lock-timeout': '120' }, emulator.env)
      expectSuccess(rerun)
      const end = await serving()
      expect(end.key).toBeDefined()
      expect(end.key).toBe(rerun.outputs['active-key'])
      expect(await upload(`rerun-${end.name}`)).toBe(200)
      // Whatever the killed run got done (a fast stand-in may even finish before the kill lands),
      // the value that served before it is dead now and nothing is left to retire.
      expect((await keys())[before.key!]).not.toBe(keysAtStart[before.key!])
      expect((await app()).tags?.['mlflow-storage-key-to-retire']).toBe('none')
    },
    300_000
  )

  it('a deploy started during a rotation waits for the lock, then goes on; nothing interleaves', async () => {
    const start = (await emulator.requests()).length
    const rotation = startAction(base, emulator.env)
    await until(
      'the rotation to begin writing',
      async () => (await emulator.requests()).slice(start),
      (log) => regenerates(log).length > 0,
      120_000
    )
    const deploy = await runAction(
      { ...base, command: 'deploy', tags: 'team=lock-test', 'lock-timeout': '300' },
      emulator.env
    )
    const rotated = await rotation.done
    expectSuccess(rotated)
    expectSuccess(deploy)
    expect(deploy.stdout).toMatch(/Stack rotor is locked by .*\(command rotate-keys, since /)
    const log = (await emulator.requests()).slice(start)
    const lastOfRotation = log.map((q) => isWrite(q) && /\/regenerateKey$/i.test(q.path)).lastIndexOf(true)
    const firstOfDeploy = log.findIndex(
      (q) => isWrite(q) && /^(PUT|PATCH)$/.test(q.method) && /\/resourceGroups\/[^/]+$/i.test(q.path)
    )
    expect(lastOfRotation).toBeGreaterThan(0)
    expect(firstOfDeploy).toBeGreaterThan(lastOfRotation)
    base['tags'] = 'team=lock-test'
  }, 300_000)

  it('a run that cannot get the lock in time fails naming the holder, and changes nothing', async () => {
    // Another workflow run holds the lease, as the action's own lock records itself.
    const lock = blobWith((await keys()).key1)
      .getContainerClient(LOCK_CONTAINER)
      .getBlobClient(LOCK_BLOB)
    const lease = lock.getBlobLeaseClient()
    await lease.acquireLease(60)
    const since = new Date().toISOString()
    await lock.setMetadata(
      { holder: 'https://github.com/acme/ml/actions/runs/42', command: 'deploy', since },
      { conditions: { leaseId: lease.leaseId } }
    )
    const mark = (await emulator.requests()).length
    const blocked = await runAction({ ...base, command: 'rollback', 'lock-timeout': '2' }, emulator.env)
    await lease.releaseLease()
    expect(blocked.exitCode).not.toBe(0)
    expect(errorsOf(blocked)).toContain(
      `Stack rotor is locked by https://github.com/acme/ml/actions/runs/42 (command deploy, since ${since}); waited`
    )
    expect(errorsOf(blocked)).toMatch(/lock-timeout/)
    expect((await emulator.requests()).slice(mark).filter(isWrite)).toEqual([])
  }, 120_000)
})
