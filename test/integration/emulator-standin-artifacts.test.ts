/**
 * The stand-in server (the light `mlflow server`) keeps artifacts for real: MLflow's proxied
 * artifact routes write and read the blob container of its `--artifacts-destination`, at the
 * account's real endpoint, with the key the app's secret gave it at start, as MLflow does. A good
 * key works; a rotated-away key gives MLflow's 500 (the storage error in the replica's log); a new
 * key that has not propagated gives 500 too, until it has.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { accountKeys, startWithBlobAccount } from '../helpers/blobAccount.js'
import type { Emulator } from '../helpers/emulator.js'
import { blobOps } from '../helpers/blobOps.js'
import { fastLro, restartRevisionAndWait, until, type SdkClients } from '../helpers/sdk.js'

const LOCATION = 'westeurope'
const RG = 'rg-art'
const ACCOUNT = 'startifacts1'
const APP = 'mlflow-art'
const TIME_SCALE = 0.002
/** 5000 s × 0.002 = 10 s: long enough to restart a revision inside it. */
const KEY_WHILE_S = 5000

describe('stand-in artifacts in the storage account', () => {
  let emu: Emulator
  let c: SdkClients
  let key1 = ''

  const appUrl = async (): Promise<string> => {
    const info = await emu.runtimeInfo()
    const entry = Object.values(info.apps).find((a) => a.app === APP)
    if (!entry) throw new Error('app not running')
    return entry.url
  }
  const artifact = async (method: string, path: string, body?: string) => {
    const res = await fetch(`${await appUrl()}/api/2.0/mlflow-artifacts/artifacts/${path}`, {
      method,
      ...(body !== undefined ? { body } : {})
    })
    return { status: res.status, text: await res.text() }
  }
  const replicaLog = (): string => {
    const dir = join(emu.stateDir, 'logs')
    return readdirSync(dir)
      .filter((f) => f.startsWith(`${APP}--`))
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n')
  }

  beforeAll(async () => {
    ;({ emu, c } = await startWithBlobAccount(
      { timeScale: TIME_SCALE, propagation: { storageKey: KEY_WHILE_S } },
      { location: LOCATION, resourceGroup: RG, account: ACCOUNT, container: 'mlflow' }
    ))
    ;({ key1 } = await accountKeys(c, RG, ACCOUNT))
    const env = await c.aca.managedEnvironments.createOrUpdate(RG, 'env-art', { location: LOCATION }, fastLro)
    await c.aca.containerApps.createOrUpdate(
      RG,
      APP,
      {
        location: LOCATION,
        environmentId: env.id,
        configuration: {
          secrets: [{ name: 'storage-key', value: key1 }],
          ingress: { external: true, targetPort: 5000 }
        },
        template: {
          containers: [
            {
              name: 'mlflow',
              image: 'ghcr.io/mlflow/mlflow:v3.17.2-full',
              command: ['/bin/bash', '-c'],
              args: [
                `exec mlflow server --host 0.0.0.0 --port 5000 --artifacts-destination wasbs://mlflow@${ACCOUNT}.blob.core.windows.net/artifacts`
              ],
              env: [{ name: 'AZURE_STORAGE_ACCESS_KEY', secretRef: 'storage-key' }]
            }
          ],
          scale: { minReplicas: 1, maxReplicas: 1 }
        }
      },
      fastLro
    )
    await until(
      'the app to run',
      () => appUrl().catch(() => ''),
      (u) => u !== '',
      30_000
    )
  }, 60_000)

  afterAll(async () => {
    await emu?.stop()
  })

  it('uploads, lists, downloads and deletes artifacts as blobs under the destination prefix', async () => {
    expect(await artifact('PUT', '1/run/artifacts/model/weights.txt', 'w=1')).toEqual({
      status: 200,
      text: '{}'
    })
    expect(await artifact('PUT', '1/run/artifacts/notes.txt', 'hello')).toEqual({ status: 200, text: '{}' })
    expect(await artifact('GET', '1/run/artifacts/notes.txt')).toEqual({ status: 200, text: 'hello' })
    const listed = await fetch(
      `${await appUrl()}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent('1/run/artifacts')}`
    )
    expect(await listed.json()).toEqual({
      files: [
        { path: '1/run/artifacts/model', is_dir: true },
        { path: '1/run/artifacts/notes.txt', is_dir: false, file_size: 5 }
      ]
    })
    const missing = await artifact('GET', '1/run/artifacts/nothing.txt')
    expect(missing.status).toBe(404)
    expect(JSON.parse(missing.text)).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' })

    // They are real blobs in the account, under the destination's prefix.
    const [names] = await blobOps(emu.env, ACCOUNT, { kind: 'key', key: key1 }, [
      { op: 'list', container: 'mlflow' }
    ])
    expect(names).toEqual({
      ok: true,
      value: ['artifacts/1/run/artifacts/model/weights.txt', 'artifacts/1/run/artifacts/notes.txt']
    })
    expect(await artifact('DELETE', '1/run/artifacts/model')).toEqual({ status: 200, text: '{}' })
    expect((await artifact('GET', '1/run/artifacts/model/weights.txt')).status).toBe(404)
  }, 60_000)

  it('a rotated-away key gives 500; a new key gives 500 until it has propagated', async () => {
    const regenerated = await c.st.storageAccounts.regenerateKey(RG, ACCOUNT, { keyName: 'key1' })
    const rotatedAt = Date.now()
    const newKey = regenerated.keys![0]!.value!

    // The running server still holds the old key: MLflow's 500, the storage error in its log.
    const dead = await artifact('PUT', '2/a.txt', 'a')
    expect(dead.status).toBe(500)
    expect(dead.text).toContain('Internal Server Error')
    await until(
      'the storage error in the log',
      async () => replicaLog(),
      (l) => l.includes('AuthenticationFailed')
    )

    // The new key goes into the secret; the server sees it only after a restart.
    const app = await c.aca.containerApps.get(RG, APP)
    await c.aca.containerApps.update(
      RG,
      APP,
      {
        location: LOCATION,
        configuration: { ...app.configuration, secrets: [{ name: 'storage-key', value: newKey }] }
      },
      fastLro
    )
    await restartRevisionAndWait(c.aca, RG, APP, app.latestRevisionName!, 30_000)
    expect(Date.now() - rotatedAt).toBeLessThan(KEY_WHILE_S * 1000 * TIME_SCALE)
    expect((await artifact('PUT', '2/a.txt', 'a')).status).toBe(500)

    const ok = await until(
      'the new key to propagate',
      () => artifact('PUT', '2/a.txt', 'a'),
      (r) => r.status === 200,
      30_000
    )
    expect(ok).toEqual({ status: 200, text: '{}' })
    expect(Date.now() - rotatedAt).toBeGreaterThanOrEqual(KEY_WHILE_S * 1000 * TIME_SCALE)
    expect(await artifact('GET', '2/a.txt')).toEqual({ status: 200, text: 'a' })
  }, 90_000)
})
