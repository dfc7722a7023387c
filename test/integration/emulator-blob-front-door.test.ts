/**
 * The blob data plane of the local Azure at an account's real endpoint: a real `@azure/storage-blob`
 * client in its own process, given only the ready line's environment, talks to
 * `https://<account>.blob.core.windows.net` with the key `listKeys` hands out (SharedKey), takes
 * and loses leases with the service's status and error codes, and meets a regenerated key as Azure
 * does: the old value refused at once, the new one only after its propagation while.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { accountKeys, startWithBlobAccount } from '../helpers/blobAccount.js'
import type { Emulator } from '../helpers/emulator.js'
import { blobOps, type BlobOp, type BlobResult } from '../helpers/blobOps.js'
import type { SdkClients } from '../helpers/sdk.js'

const LOCATION = 'westeurope'
const RG = 'rg-blob'
const ACCOUNT = 'stfrontdoor1'
const TIME_SCALE = 0.002
/** A regenerated key's while, fixed here (realistic seconds): 1500 s × 0.002 = 3 s. */
const KEY_WHILE_S = 1500

describe('blob front door: an account at its real endpoint', () => {
  let emu: Emulator
  let c: SdkClients
  let key1 = ''
  let key2 = ''

  const withKey = (key: string, ops: BlobOp[]): Promise<BlobResult[]> =>
    blobOps(emu.env, ACCOUNT, { kind: 'key', key }, ops)

  beforeAll(async () => {
    ;({ emu, c } = await startWithBlobAccount(
      { timeScale: TIME_SCALE, propagation: { storageKey: KEY_WHILE_S } },
      {
        location: LOCATION,
        resourceGroup: RG,
        account: ACCOUNT,
        container: 'locks',
        accountProperties: { minimumTlsVersion: 'TLS1_2' },
        containerProperties: { publicAccess: 'None' }
      }
    ))
    ;({ key1, key2 } = await accountKeys(c, RG, ACCOUNT))
  }, 60_000)

  afterAll(async () => {
    await emu?.stop()
  })

  it('answers the account endpoint through the proxy: containers, blobs, the ARM-made container', async () => {
    const results = await withKey(key1, [
      { op: 'containerExists', container: 'locks' },
      { op: 'createContainer', container: 'data' },
      { op: 'upload', container: 'data', blob: 'a/b.txt', text: 'hello' },
      { op: 'download', container: 'data', blob: 'a/b.txt' },
      { op: 'list', container: 'data' },
      { op: 'createContainer', container: 'data' }
    ])
    expect(results.slice(0, 5)).toEqual([
      { ok: true, value: true },
      { ok: true, value: null },
      { ok: true, value: null },
      { ok: true, value: 'hello' },
      { ok: true, value: ['a/b.txt'] }
    ])
    expect(results[5]).toMatchObject({ ok: false, status: 409, code: 'ContainerAlreadyExists' })
    // The second key works as well as the first.
    expect(await withKey(key2, [{ op: 'download', container: 'data', blob: 'a/b.txt' }])).toEqual([
      { ok: true, value: 'hello' }
    ])
    const info = await emu.runtimeInfo()
    expect(info.blob?.frontDoor).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
  }, 60_000)

  it('a wrong key is refused with AuthenticationFailed in Azure words', async () => {
    const wrong = Buffer.alloc(64, 7).toString('base64')
    const [r] = await withKey(wrong, [{ op: 'containerExists', container: 'locks' }])
    expect(r).toMatchObject({ ok: false, status: 403, code: 'AuthenticationFailed' })
    const [put] = await withKey(wrong, [{ op: 'upload', container: 'locks', blob: 'x', text: 'x' }])
    expect(put).toMatchObject({ ok: false, status: 403, code: 'AuthenticationFailed' })
    expect((put as { message: string }).message).toBe(
      'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.'
    )
  }, 60_000)

  it('an account that does not exist does not resolve', async () => {
    const [r] = await blobOps(emu.env, 'stnosuchaccount9', { kind: 'key', key: key1 }, [
      { op: 'containerExists', container: 'locks' }
    ])
    // The proxy cannot resolve the name: 502 from the proxy, never an answer from a service.
    expect(r).toMatchObject({ ok: false, status: 502 })
  }, 60_000)

  it('leases: acquire 201, second holder 409, writes need the lease, renew, release, break', async () => {
    const holder = randomUUID()
    const other = randomUUID()
    const results = await withKey(key1, [
      { op: 'acquireLease', container: 'locks', blob: 'missing', duration: 15 },
      { op: 'upload', container: 'locks', blob: 'deploy.lock', text: '' },
      { op: 'acquireLease', container: 'locks', blob: 'deploy.lock', duration: 15, proposedLeaseId: holder },
      { op: 'acquireLease', container: 'locks', blob: 'deploy.lock', duration: 15, proposedLeaseId: other },
      // The holder asking again with its own id keeps the lease.
      { op: 'acquireLease', container: 'locks', blob: 'deploy.lock', duration: 15, proposedLeaseId: holder },
      { op: 'upload', container: 'locks', blob: 'deploy.lock', text: 'who' },
      { op: 'upload', container: 'locks', blob: 'deploy.lock', text: 'who', leaseId: holder },
      { op: 'renewLease', container: 'locks', blob: 'deploy.lock', leaseId: other },
      { op: 'renewLease', container: 'locks', blob: 'deploy.lock', leaseId: holder },
      { op: 'properties', container: 'locks', blob: 'deploy.lock' },
      { op: 'releaseLease', container: 'locks', blob: 'deploy.lock', leaseId: holder },
      { op: 'acquireLease', container: 'locks', blob: 'deploy.lock', duration: 10 },
      { op: 'releaseLease', container: 'locks', blob: 'deploy.lock', leaseId: holder },
      { op: 'acquireLease', container: 'locks', blob: 'deploy.lock', duration: -1, proposedLeaseId: other },
      { op: 'breakLease', container: 'locks', blob: 'deploy.lock', breakPeriod: 0 },
      { op: 'properties', container: 'locks', blob: 'deploy.lock' },
      { op: 'acquireLease', container: 'locks', blob: 'deploy.lock', duration: 60, proposedLeaseId: holder },
      { op: 'releaseLease', container: 'locks', blob: 'deploy.lock', leaseId: holder }
    ])
    const codes = results.map((r) => (r.ok ? 'ok' : `${r.status} ${r.code}`))
    expect(codes).toEqual([
      '404 BlobNotFound',
      'ok',
      'ok',
      '409 LeaseAlreadyPresent',
      'ok',
      '412 LeaseIdMissing',
      'ok',
      '409 LeaseIdMismatchWithLeaseOperation',
      'ok',
      'ok',
      'ok',
      // 15–60 s or infinite (REST "Lease Blob").
      '400 InvalidHeaderValue',
      // Releasing a released lease (reference/next-capabilities.md §5, as Azurite answers it).
      '409 LeaseIdMismatchWithLeaseOperation',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok'
    ])
    expect(results[2]).toEqual({ ok: true, value: holder })
    expect(results[9]).toEqual({
      ok: true,
      value: { leaseState: 'leased', leaseStatus: 'locked', leaseDuration: 'fixed' }
    })
    expect(results[14]).toEqual({ ok: true, value: 0 })
    expect(results[15]).toMatchObject({ ok: true, value: { leaseState: 'broken', leaseStatus: 'unlocked' } })
  }, 60_000)

  it('listKeys and regenerateKey answer both keys with their creation times', async () => {
    const before = await c.st.storageAccounts.getProperties(RG, ACCOUNT)
    expect(before.keyCreationTime?.key1).toBeInstanceOf(Date)
    expect(before.keyCreationTime?.key2).toBeInstanceOf(Date)
    const listed = (await c.st.storageAccounts.listKeys(RG, ACCOUNT)).keys ?? []
    expect(listed.map((k) => [k.keyName, k.permissions])).toEqual([
      ['key1', 'FULL'],
      ['key2', 'FULL']
    ])
    expect(listed.every((k) => k.creationTime instanceof Date)).toBe(true)
  })

  it('a regenerated key: the old value fails at once, the new one only after its while', async () => {
    const oldKey1 = key1
    const regenerated = await c.st.storageAccounts.regenerateKey(RG, ACCOUNT, { keyName: 'key1' })
    const started = Date.now()
    const k = regenerated.keys ?? []
    expect(k.map((x) => x.keyName)).toEqual(['key1', 'key2'])
    const newKey1 = k[0]!.value!
    expect(newKey1).not.toBe(oldKey1)
    expect(k[1]!.value).toBe(key2)
    const after = await c.st.storageAccounts.getProperties(RG, ACCOUNT)
    expect(after.keyCreationTime!.key1!.getTime()).toBe(k[0]!.creationTime!.getTime())
    expect(after.keyCreationTime!.key1!.getTime()).toBeGreaterThan(after.keyCreationTime!.key2!.getTime())

    const probe = { op: 'containerExists', container: 'locks' } as const
    const [old, fresh, other] = await Promise.all([
      withKey(oldKey1, [probe]),
      withKey(newKey1, [probe]),
      withKey(key2, [probe])
    ])
    expect(old[0]).toMatchObject({ ok: false, status: 403, code: 'AuthenticationFailed' })
    // Still within the while: the new value is refused as a wrong key is.
    expect(Date.now() - started).toBeLessThan(KEY_WHILE_S * 1000 * TIME_SCALE)
    expect(fresh[0]).toMatchObject({ ok: false, status: 403, code: 'AuthenticationFailed' })
    expect(other[0]).toEqual({ ok: true, value: true })

    // Poll (no sleep) until the new key works; never before its while has passed.
    const deadline = Date.now() + 30_000
    let accepted: BlobResult | undefined
    while (Date.now() < deadline) {
      ;[accepted] = await withKey(newKey1, [probe])
      if (accepted?.ok) break
    }
    expect(accepted).toEqual({ ok: true, value: true })
    expect(Date.now() - started).toBeGreaterThanOrEqual(KEY_WHILE_S * 1000 * TIME_SCALE)
    key1 = newKey1
  }, 60_000)
})
