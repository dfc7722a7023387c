/**
 * The main job end to end against the local Azure with the real runtime, on one stack: deploy
 * MLflow 3.15.2, log data, bump through releases whose schemas differ (3.15.2 → 3.16.0 refuses to
 * start until `mlflow db upgrade` ran; 3.16.1 → 3.17.2 migrates itself at start) while a client
 * polls — zero failed requests, the migration job ran once per bump, the data is still there —
 * then smoke-test (the one `mlflow demo` of the suite), change a secret without downtime, fail a
 * migration on purpose, and break the stack to see the smoke test say where.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { ContainerAppsAPIClient } from '@azure/arm-appcontainers'
import { StorageManagementClient } from '@azure/arm-storage'
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { deriveNames } from '../../src/config/naming.js'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { startEmulator, type Emulator } from '../helpers/emulator.js'
import { restartRevisionAndWait } from '../helpers/sdk.js'
import { runtimeInfo as info, send as sendTo, whilePolling } from '../helpers/ingress.js'

const STACK = 'e2e'
const ADMIN_PASSWORD = 'e2e-admin-password-1'
const base: Record<string, string> = {
  'stack-name': STACK,
  location: 'westeurope',
  'image-tag': 'v3.15.2',
  'admin-password': ADMIN_PASSWORD
}

let emulator: Emulator
let ca: string
const runtimeInfo = () => info(emulator)
const admin = () => ({ username: 'admin', password: base['admin-password']! })
const send = (url: string, host: string, path: string, method = 'GET', body?: Buffer) =>
  sendTo(emulator, url, host, path, { method, body, auth: admin() })
const SEARCH = '/api/2.0/mlflow/experiments/search?max_results=1'
const runs: ActionRun[] = []
/** Secret values of resources a test removed again (PR environments): scanned for at the end too. */
const removedSecrets: string[] = []

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

  let logged: { experiment: string; run: string } | undefined

  /** An experiment with a run: a parameter, a metric history and an artifact. */
  async function logData(): Promise<{ experiment: string; run: string }> {
    const info = await runtimeInfo()
    const json = async (path: string, body: unknown) => {
      const r = await send(info.ingress, fqdn, path, 'POST', Buffer.from(JSON.stringify(body)))
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`)
      return JSON.parse(r.text) as Record<string, unknown>
    }
    const experiment = (await json('/api/2.0/mlflow/experiments/create', { name: 'before-the-bumps' }))[
      'experiment_id'
    ] as string
    const run = (
      (await json('/api/2.0/mlflow/runs/create', { experiment_id: experiment }))['run'] as {
        info: { run_id: string }
      }
    ).info.run_id
    await json('/api/2.0/mlflow/runs/log-parameter', { run_id: run, key: 'lr', value: '0.01' })
    for (const step of [0, 1, 2])
      await json('/api/2.0/mlflow/runs/log-metric', {
        run_id: run,
        key: 'loss',
        value: 1 / (step + 1),
        timestamp: 1_700_000_000_000 + step,
        step
      })
    const put = await send(
      info.ingress,
      fqdn,
      `/api/2.0/mlflow-artifacts/artifacts/${experiment}/${run}/artifacts/model.txt`,
      'PUT',
      Buffer.from('weights of 3.15.2')
    )
    expect(put.status).toBe(200)
    return { experiment, run }
  }

  /** What was logged before the bumps reads back through the server that runs now. */
  async function expectDataReadable(): Promise<void> {
    const info = await runtimeInfo()
    const { experiment, run } = logged!
    const exp = await send(
      info.ingress,
      fqdn,
      '/api/2.0/mlflow/experiments/get-by-name?experiment_name=before-the-bumps'
    )
    expect(JSON.parse(exp.text).experiment.experiment_id).toBe(experiment)
    const got = JSON.parse((await send(info.ingress, fqdn, `/api/2.0/mlflow/runs/get?run_id=${run}`)).text)
    expect(got.run.data.params).toEqual([{ key: 'lr', value: '0.01' }])
    const history = JSON.parse(
      (await send(info.ingress, fqdn, `/api/2.0/mlflow/metrics/get-history?run_id=${run}&metric_key=loss`))
        .text
    )
    expect(history.metrics.map((m: { value: number }) => m.value)).toEqual([1, 0.5, 1 / 3])
    const artifact = await send(
      info.ingress,
      fqdn,
      `/api/2.0/mlflow-artifacts/artifacts/${experiment}/${run}/artifacts/model.txt`
    )
    expect(artifact).toMatchObject({ status: 200, text: 'weights of 3.15.2' })
  }

  it('deploys MLflow 3.15.2, migrating the empty database first, and answers at the tracking URI', async () => {
    const r = await action({ command: 'deploy' })
    expectSuccess(r)
    expect(r.outputs.migrated).toBe('true')
    expect(r.outputs.revision).toMatch(/^e2e-mlflow--v3-15-2-/)
    fqdn = new URL(r.outputs['tracking-uri']!).hostname
    const info = await runtimeInfo()
    expect(info.apps[fqdn]).toBeDefined()
    const health = await send(info.ingress, fqdn, '/health')
    expect(health).toMatchObject({ status: 200, text: 'OK' })
    logged = await logData()
  }, 900_000)

  it.each([
    ['v3.16.0', 'refuses to start on the old schema: the job must migrate first'],
    ['v3.16.1', 'a patch release: the job runs, nothing to migrate'],
    ['v3.17.2', 'migrates itself at start: the job runs first, so replicas never race it']
  ])(
    'bumps to %s (%s) with zero failed requests; the job ran once; the data is readable',
    async (tag) => {
      const starts = async () =>
        (await emulator.requests()).filter(
          (q) => q.method === 'POST' && /\/jobs\/e2e-migrate\/start$/i.test(q.path)
        ).length
      const before = await starts()
      const {
        result: r,
        failed,
        sent
      } = await whilePolling(emulator, fqdn, SEARCH, () => action({ command: 'deploy', 'image-tag': tag }), {
        auth: admin()
      })
      expectSuccess(r)
      expect(failed).toEqual([])
      expect(sent).toBeGreaterThan(3)
      expect(await starts()).toBe(before + 1)
      expect(r.outputs.migrated).toBe('true')
      expect(r.outputs.revision).toMatch(new RegExp(`^e2e-mlflow--${tag.replace(/\./g, '-')}-`))
      expect(r.outputs['previous-revision']).toMatch(/^e2e-mlflow--v3-1[56]-\d+-/)
      const version = await send((await runtimeInfo()).ingress, fqdn, '/version')
      expect(version.text.trim()).toBe(tag.slice(1))
      await expectDataReadable()
      base['image-tag'] = tag
    },
    1_200_000
  )

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

  it('a new admin password rolls out as a new revision with zero failed requests', async () => {
    const next = 'e2e-admin-password-2'
    const old = admin()
    const { result: r, failed } = await whilePolling(
      emulator,
      fqdn,
      '/health',
      () => action({ command: 'deploy', 'admin-password': next }),
      {}
    )
    expectSuccess(r)
    expect(failed).toEqual([])
    expect(r.outputs.migrated).toBe('false')
    base['admin-password'] = next
    const info = await runtimeInfo()
    expect((await send(info.ingress, fqdn, SEARCH)).status).toBe(200)
    const stale = await sendTo(emulator, info.ingress, fqdn, SEARCH, { auth: old })
    expect(stale.status).toBe(401)
  }, 900_000)

  /** A client that logs runs and their artifacts, one request after the other, while `work` runs. */
  async function logging(work: () => Promise<ActionRun>) {
    const { experiment } = logged!
    const info = await runtimeInfo()
    const created = await send(
      info.ingress,
      fqdn,
      '/api/2.0/mlflow/runs/create',
      'POST',
      Buffer.from(JSON.stringify({ experiment_id: experiment }))
    )
    const run = (JSON.parse(created.text) as { run: { info: { run_id: string } } }).run.info.run_id
    return whilePolling(emulator, fqdn, '', work, {
      auth: admin(),
      maxMs: 600_000,
      request: (n) =>
        n % 2 === 0
          ? {
              method: 'POST',
              path: '/api/2.0/mlflow/runs/create',
              body: Buffer.from(JSON.stringify({ experiment_id: experiment })),
              contentType: 'application/json'
            }
          : {
              method: 'PUT',
              path: `/api/2.0/mlflow-artifacts/artifacts/${experiment}/${run}/artifacts/during-${n}.txt`,
              body: Buffer.from(`artifact ${n}`)
            }
    })
  }

  it('rotate-keys while a client logs runs and artifacts: zero failures, the old key dead, smoke-test passes', async () => {
    const storage = new StorageManagementClient(credential(), emulator.subscriptionId, armOptions())
    const list = async () =>
      (await storage.storageAccounts.listKeys(names().resourceGroup, names().storageAccount)).keys!.map(
        (k) => k.value!
      )
    const before = await list()
    const { result: r, sent, failed } = await logging(() => action({ command: 'rotate-keys' }))
    expectSuccess(r)
    process.stderr.write(
      `[e2e] rotate-keys: ${sent} runs and artifacts logged meanwhile, ${failed.length} failed\n`
    )
    expect(failed).toEqual([])
    expect(sent).toBeGreaterThan(5)
    expect(r.outputs['active-key']).toBe('key2')
    const after = await list()
    const info = await runtimeInfo()
    for (const old of before) {
      expect(after).not.toContain(old)
      const client = new BlobServiceClient(
        `${info.blob!.endpoint}/${names().storageAccount}`,
        new StorageSharedKeyCredential(names().storageAccount, old)
      )
      await expect(client.getProperties()).rejects.toMatchObject({ statusCode: 403 })
    }
    const smoke = await action({ command: 'smoke-test', 'mlflow-demo': 'false' })
    expectSuccess(smoke)
    expect(smoke.outputs['smoke-result']).toBe('passed')
    for (const value of [...before, ...after]) expect(r.everything).not.toContain(value)
  }, 900_000)

  it('keyless: a switch to the managed identity and back fails no request; smoke-test passes without keys', async () => {
    // The deploying identity reaches the lock blob with a token once keys are refused.
    const { grantDeployerBlobData } = await import('../helpers/identityClients.js')
    await grantDeployerBlobData(emulator)
    const to = await logging(() => action({ 'storage-auth': 'managed-identity' }))
    expectSuccess(to.result)
    process.stderr.write(`[e2e] to keyless: ${to.sent} requests meanwhile, ${to.failed.length} failed\n`)
    expect(to.failed).toEqual([])
    expect(to.result.outputs['active-key']).toBe('none')
    const smoke = await action({ command: 'smoke-test', 'mlflow-demo': 'false' })
    expectSuccess(smoke)
    await expectDataReadable()
    const back = await logging(() => action({ 'storage-auth': 'access-key' }))
    expectSuccess(back.result)
    process.stderr.write(
      `[e2e] back to keys: ${back.sent} requests meanwhile, ${back.failed.length} failed\n`
    )
    expect(back.failed).toEqual([])
    expect(back.result.outputs['active-key']).toBe('key1')
  }, 1_200_000)

  it("three PR environments at once on the stack: each smoke-tests green, none reaches the base's or another PR's database, pr-down leaves the rest", async () => {
    const { isWrite } = await import('../helpers/emulator.js')
    const { prNames } = await import('../../src/config/naming.js')
    const pr = (n: number) =>
      prNames(names(), { stackName: STACK, subscriptionId: emulator.subscriptionId, prNumber: n })
    const ups = await Promise.all(
      [1, 2, 3].map((n) => action({ command: 'pr-up', 'pr-number': String(n), 'expires-after': '24' }))
    )
    for (const r of ups) expectSuccess(r)
    for (const [i, r] of ups.entries()) {
      expect(r.outputs['smoke-result']).toBe('passed')
      expect(r.outputs['app-name']).toBe(pr(i + 1).containerApp)
    }
    const info = await runtimeInfo()
    const server = info.postgres[names().postgresServer]!
    const apps = new ContainerAppsAPIClient(credential(), emulator.subscriptionId, armOptions())
    const roleUri = async (n: number) => {
      const { value } = await apps.containerApps.listSecrets(names().resourceGroup, pr(n).containerApp)
      return new URL(value.find((s) => s.name === 'backend-store-uri')!.value!)
    }
    const connect = async (uri: URL, database: string) => {
      const client = new pg.Client({
        host: server.host,
        port: server.port,
        user: decodeURIComponent(uri.username),
        password: decodeURIComponent(uri.password),
        database,
        ssl: { ca, rejectUnauthorized: false }
      })
      await client.connect()
      return client
    }
    for (const n of [1, 2, 3]) {
      const { value } = await apps.containerApps.listSecrets(names().resourceGroup, pr(n).containerApp)
      for (const secret of value) removedSecrets.push(secret.value!)
      removedSecrets.push(decodeURIComponent((await roleUri(n)).password))
    }
    const one = await roleUri(1)
    expect(decodeURIComponent(one.username)).toBe('mlflow_pr_1')
    // Its own database: MLflow's tables, owned by its role.
    const own = await connect(one, pr(1).postgresDatabase)
    try {
      const tables = await own.query(
        "select count(*)::int as n from pg_tables where tableowner = 'mlflow_pr_1'"
      )
      expect(tables.rows[0].n).toBeGreaterThan(10)
    } finally {
      await own.end()
    }
    // The base's databases and another PR's: refused by PostgreSQL itself.
    for (const database of [names().postgresDatabase, names().authDatabase, pr(2).postgresDatabase]) {
      await expect(connect(one, database)).rejects.toThrow(/permission denied for database/)
    }
    // The base still serves with its admin role.
    expect((await send(info.ingress, fqdn, SEARCH)).status).toBe(200)

    const before = (await emulator.requests()).length
    const down = await action({ command: 'pr-down', 'pr-number': '2' })
    expectSuccess(down)
    const requests = (await emulator.requests()).slice(before)
    const two = pr(2)
    const own2 = [
      two.containerApp,
      two.migrationJob,
      two.postgresDatabase,
      two.authDatabase,
      two.blobContainer
    ]
    expect(requests.filter((q) => isWrite(q) && !own2.some((x) => q.path.includes(`/${x}`)))).toEqual([])
    await expect(
      connect(await roleUri(1), pr(1).postgresDatabase).then((k) => k.end())
    ).resolves.toBeUndefined()
    for (const n of [1, 3]) {
      const app = await apps.containerApps.get(names().resourceGroup, pr(n).containerApp)
      const health = await send(info.ingress, app.configuration!.ingress!.fqdn!, '/health')
      expect(health.status).toBe(200)
    }
    // Its role is gone with it: the PR's credentials open nothing any more.
    const admin = new URL((await appSecrets())['backend-store-uri']!)
    const check = await connect(admin, 'postgres')
    try {
      const roles = await check.query(
        "select rolname from pg_roles where rolname like 'mlflow_pr_%' order by 1"
      )
      expect(roles.rows.map((row: { rolname: string }) => row.rolname)).toEqual([
        'mlflow_pr_1',
        'mlflow_pr_3'
      ])
    } finally {
      await check.end()
    }
    for (const n of [1, 3]) expectSuccess(await action({ command: 'pr-down', 'pr-number': String(n) }))
  }, 1_200_000)

  it("a failed migration (a downgrade forced across a schema change) leaves 3.17.2 serving, with the job's log", async () => {
    const { result: r, failed } = await whilePolling(
      emulator,
      fqdn,
      SEARCH,
      () => action({ command: 'deploy', 'image-tag': 'v3.16.1', 'allow-downgrade': 'true' }),
      { auth: admin() }
    )
    expect(r.exitCode).not.toBe(0)
    expect(failed).toEqual([])
    expect(errorsOf(r)).toMatch(
      /The database migration to MLflow 3\.16\.1 failed \(job e2e-migrate, execution \S+: Failed/
    )
    expect(errorsOf(r)).toMatch(/Last log lines:\n/)
    expect(errorsOf(r)).toMatch(/alembic|revision|Can't locate/i)
    expect(r.outputs.migrated).toBe('false')
    expect(r.summary).toMatch(/Restore point: before the migration/)
    const version = await send((await runtimeInfo()).ingress, fqdn, '/version')
    expect(version.text.trim()).toBe('3.17.2')
  }, 900_000)

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
    await restartRevisionAndWait(apps, rg, app, revision)

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
    secrets.push(password, ...removedSecrets)
    expect(removedSecrets.length).toBeGreaterThan(0)
    expect(runs.length).toBeGreaterThanOrEqual(3)
    for (const r of runs) for (const s of secrets) expect(r.everything).not.toContain(s)
  }, 60_000)
})
