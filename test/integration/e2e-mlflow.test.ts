/**
 * The main job end to end against the local Azure with the real runtime: deploy, then smoke-test
 * the MLflow server that answers at the app's URL, backed by a real PostgreSQL and Azurite. Then
 * the stack is broken on purpose and the smoke test must say where.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { ContainerAppsAPIClient } from '@azure/arm-appcontainers'
import { StorageManagementClient } from '@azure/arm-storage'
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { deriveNames } from '../../src/config/naming.js'
import { pollUntil } from '../../src/util/poll.js'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { startEmulator, type Emulator } from '../helpers/emulator.js'
import { runtimeInfo as info, send as sendTo } from '../helpers/ingress.js'

const STACK = 'e2e'
const ADMIN_PASSWORD = 'e2e-admin-password-1'
const base = {
  'stack-name': STACK,
  location: 'westeurope',
  'image-tag': 'v3.17.2',
  'admin-password': ADMIN_PASSWORD
}

let emulator: Emulator
let ca: string
const runtimeInfo = () => info(emulator)
const send = (url: string, host: string, path: string, method = 'GET', body?: Buffer) =>
  sendTo(emulator, url, host, path, { method, body, auth: { username: 'admin', password: ADMIN_PASSWORD } })
const runs: ActionRun[] = []

async function action(inputs: Record<string, string>): Promise<ActionRun> {
  const r = await runAction({ ...base, ...inputs }, emulator.env)
  runs.push(r)
  return r
}

function expectSuccess(r: ActionRun): void {
  if (r.exitCode !== 0)
    throw new Error(`action failed (${r.exitCode}):\n${errorsOf(r)}\n${r.stdout.slice(-4000)}`)
}

const credential = () => ({
  getToken: async () => ({
    token: emulator.env.AZURE_ACCESS_TOKEN!,
    expiresOnTimestamp: Date.now() + 3_600_000
  })
})
const armOptions = () => ({ endpoint: emulator.endpoint, tlsOptions: { ca } })
const names = () => deriveNames({ stackName: STACK, subscriptionId: emulator.subscriptionId })

async function appSecrets(): Promise<Record<string, string>> {
  const apps = new ContainerAppsAPIClient(credential(), emulator.subscriptionId, armOptions())
  const { value } = await apps.containerApps.listSecrets(names().resourceGroup, names().containerApp)
  return Object.fromEntries(value.map((s) => [s.name!, s.value!]))
}

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: 0.002, runtime: 'mlflow' })
  ca = readFileSync(emulator.caCertPath, 'utf8')
}, 120_000)

afterAll(async () => {
  await emulator?.stop()
})

describe('deploy and smoke-test a real MLflow on the local Azure', () => {
  let fqdn = ''

  it('deploys a stack whose MLflow answers at the tracking URI', async () => {
    const r = await action({ command: 'deploy' })
    expectSuccess(r)
    fqdn = new URL(r.outputs['tracking-uri']!).hostname
    const info = await runtimeInfo()
    expect(info.apps[fqdn]).toBeDefined()
    const health = await send(info.ingress, fqdn, '/health')
    expect(health).toMatchObject({ status: 200, text: 'OK' })
  }, 900_000)

  it('smoke-test passes: mlflow demo and the REST round trip', async () => {
    const r = await action({ command: 'smoke-test' })
    expectSuccess(r)
    expect(r.outputs['smoke-result']).toBe('passed')
    expect(r.outputs['tracking-uri']).toBe(`https://${fqdn}`)
    expect(r.summary).toMatch(/\| mlflow demo \| ✅ passed/)
    expect(r.summary).toMatch(/\| REST round trip \| ✅ passed/)

    const info = await runtimeInfo()
    const demo = await send(
      info.ingress,
      fqdn,
      '/api/2.0/mlflow/experiments/get-by-name?experiment_name=MLflow%20Demo'
    )
    expect(demo.status).toBe(200)
  }, 900_000)

  it('keeps runs in PostgreSQL and artifacts in Azurite', async () => {
    const info = await runtimeInfo()
    const uri = new URL((await appSecrets())['backend-store-uri']!)
    const server = info.postgres[names().postgresServer]!
    const client = new pg.Client({
      host: server.host,
      port: server.port,
      user: decodeURIComponent(uri.username),
      password: decodeURIComponent(uri.password),
      database: 'mlflow',
      ssl: { ca, rejectUnauthorized: false }
    })
    await client.connect()
    try {
      const experiments = await client.query(
        "select experiment_id from experiments where name = 'MLflow Demo'"
      )
      expect(experiments.rowCount).toBe(1)
      const rows = await client.query('select count(*)::int as n from runs')
      expect(rows.rows[0].n).toBeGreaterThan(0)
    } finally {
      await client.end()
    }

    // An artifact uploaded through the server lands as a blob in the stack's container.
    const storage = new StorageManagementClient(credential(), emulator.subscriptionId, armOptions())
    const { keys } = await storage.storageAccounts.listKeys(names().resourceGroup, names().storageAccount)
    const account = names().storageAccount
    const blobs = new BlobServiceClient(
      `${info.blob!.endpoint}/${account}`,
      new StorageSharedKeyCredential(account, keys![0]!.value!)
    ).getContainerClient(names().blobContainer)
    const created = await send(
      info.ingress,
      fqdn,
      '/api/2.0/mlflow/experiments/create',
      'POST',
      Buffer.from(JSON.stringify({ name: 'blob-check' }))
    )
    const experimentId = (JSON.parse(created.text) as { experiment_id: string }).experiment_id
    const put = await send(
      info.ingress,
      fqdn,
      `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/probe.txt`,
      'PUT',
      Buffer.from('hello blob')
    )
    expect(put.status).toBe(200)
    const found: string[] = []
    for await (const b of blobs.listBlobsFlat()) found.push(b.name)
    expect(found).toContain(`${experimentId}/probe.txt`)
    // mlflow demo's trace data went there too.
    expect(found.length).toBeGreaterThan(1)
  }, 300_000)

  it('keeps the security middleware on: a foreign Host is refused, the app FQDN is served', async () => {
    const info = await runtimeInfo()
    const local = info.apps[fqdn]!.url
    const foreign = await send(local, 'evil.example.com', '/api/2.0/mlflow/experiments/search?max_results=1')
    expect(foreign.status).toBe(403)
    expect(foreign.text).toContain('Invalid Host header')
    const own = await send(local, fqdn, '/api/2.0/mlflow/experiments/search?max_results=1')
    expect(own.status).toBe(200)
  }, 120_000)

  it('a wrong storage key makes smoke-test fail at the artifact step', async () => {
    const apps = new ContainerAppsAPIClient(credential(), emulator.subscriptionId, armOptions())
    const rg = names().resourceGroup
    const app = names().containerApp
    const secrets = await appSecrets()
    const wrongKey = Buffer.from('not the storage account key, but long enough to look like one').toString(
      'base64'
    )
    await apps.containerApps.update(
      rg,
      app,
      {
        location: 'westeurope',
        configuration: {
          // Merge patch replaces arrays whole: send every secret, with only the key changed.
          secrets: Object.entries({ ...secrets, 'storage-access-key': wrongKey }).map(([name, value]) => ({
            name,
            value
          }))
        }
      },
      { updateIntervalInMs: 50 }
    )
    // As on Azure, running revisions see a changed secret only after a restart.
    const current = await apps.containerApps.get(rg, app)
    const revision = current.latestReadyRevisionName!
    await apps.containerAppsRevisions.restartRevision(rg, app, revision)
    await pollUntil(
      async () => {
        const r = await apps.containerAppsRevisions.getRevision(rg, app, revision)
        return r.runningState === 'Running' && r.healthState === 'Healthy'
          ? { done: true, value: undefined }
          : { done: false, status: `${r.runningState}/${r.healthState}` }
      },
      { intervalMs: 200, timeoutMs: 300_000, what: 'the restarted revision' }
    )

    const r = await action({ command: 'smoke-test', 'mlflow-demo': 'false' })
    expect(r.exitCode).not.toBe(0)
    expect(r.outputs['smoke-result']).toBe('failed')
    expect(errorsOf(r)).toMatch(
      /step 'REST round trip': artifact upload returned 500.*check the storage key/s
    )
    expect(r.everything).not.toContain(wrongKey)
  }, 600_000)

  it('no secret value appears in any log, output or summary of these runs', async () => {
    const storage = new StorageManagementClient(credential(), emulator.subscriptionId, armOptions())
    const { keys } = await storage.storageAccounts.listKeys(names().resourceGroup, names().storageAccount)
    const secrets = [...Object.values(await appSecrets()), ...keys!.map((k) => k.value!)]
    const password = decodeURIComponent(new URL((await appSecrets())['backend-store-uri']!).password)
    secrets.push(password)
    expect(runs.length).toBeGreaterThanOrEqual(3)
    for (const r of runs) for (const s of secrets) expect(r.everything).not.toContain(s)
  }, 60_000)
})
