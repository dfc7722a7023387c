/**
 * The local Azure's real runtime (`--runtime mlflow`), driven by the REAL `@azure/arm-*` SDK
 * clients: a container app whose template is exactly what the action writes for MLflow 3.17.2 runs
 * as a real `mlflow server` behind the HTTPS ingress, with its runs in a real PostgreSQL (the
 * flexible server) and its artifacts in Azurite (the storage account), reached through the app's
 * secrets the way ACA hands them over.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { Revision } from '@azure/arm-appcontainers'
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import pg from 'pg'
import { toArm } from '../../src/azure/containerApps.js'
import { parseInputs, type DeployConfig } from '../../src/config/inputs.js'
import { desiredState, POSTGRES_ADMIN_LOGIN } from '../../src/stack/desired.js'
import type { ContainerAppSpec } from '../../src/stack/specs.js'
import { startWithBlobAccount } from '../helpers/blobAccount.js'
import { blobOps } from '../helpers/blobOps.js'
import { startEmulator, type Emulator, type RuntimeInfo } from '../helpers/emulator.js'
import { restartRevisionAndWait, sdkClients } from '../helpers/sdk.js'

const LOCATION = 'westeurope'
const VERSION = '3.17.2'
const PASSWORD = `Pw-${randomBytes(12).toString('hex')}`
/** MLflow's own `admin` user (basic auth, the action's default). */
const ADMIN_PASSWORD = `Admin-${randomBytes(12).toString('hex')}`
const AUTHORIZATION = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`
const lro = { updateIntervalInMs: 20 }

interface Answer {
  status: number
  body: Buffer
  text: string
}

/** Re-reads until `ok`, failing with the last value once the deadline passes (no blind sleeps). */
async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, deadlineMs: number) {
  const deadline = Date.now() + deadlineMs
  let last = await read()
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`)
    await new Promise((r) => setTimeout(r, 100))
    last = await read()
  }
  return last
}

function collectAnswer(res: IncomingMessage, resolve: (a: Answer) => void, reject: (e: Error) => void) {
  const chunks: Buffer[] = []
  res.on('data', (c: Buffer) => chunks.push(c))
  res.on('error', reject)
  res.on('end', () => {
    const body = Buffer.concat(chunks)
    resolve({ status: res.statusCode ?? 0, body, text: body.toString('utf8') })
  })
}

describe('local Azure with --runtime mlflow, driven by the real SDK clients', () => {
  let emu: Emulator
  let ca: string
  let info: RuntimeInfo
  let fqdn = ''
  let config: DeployConfig

  const clients = () => sdkClients(emu)
  let c: ReturnType<typeof clients>

  /** A request through the ingress, as a client that resolved the FQDN would send it. */
  const viaIngress = (method: string, path: string, body?: Buffer, host = fqdn): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const target = new URL(info.ingress)
      const req = httpsRequest(
        {
          host: target.hostname,
          port: target.port,
          path,
          method,
          servername: host.replace(/:\d+$/, ''),
          ca,
          headers: {
            Host: host,
            authorization: AUTHORIZATION,
            ...(body ? { 'content-length': String(body.length), 'content-type': 'application/json' } : {})
          }
        },
        (res) => collectAnswer(res, resolve, reject)
      )
      req.on('error', reject)
      req.end(body)
    })

  /** A request straight to the revision's local port, with a chosen Host header. */
  const direct = (path: string, host: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const target = new URL(info.apps[fqdn]!.url)
      const req = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path,
          method: 'GET',
          headers: { Host: host, authorization: AUTHORIZATION }
        },
        (res) => collectAnswer(res, resolve, reject)
      )
      req.on('error', reject)
      req.end()
    })

  const names = () => config.names

  const revision = (name: string): Promise<Revision> =>
    c.aca.containerAppsRevisions.getRevision(names().resourceGroup, names().containerApp, name)

  const settled = (r: Revision) => r.runningState === 'Running' || r.provisioningState === 'Failed'

  beforeAll(async () => {
    emu = await startEmulator({ timeScale: 0.002, runtime: 'mlflow' })
    ca = readFileSync(emu.caCertPath, 'utf8')
    c = clients()
    config = parseInputs(
      (n) =>
        ({
          command: 'deploy',
          'stack-name': 'runtime',
          'admin-password': ADMIN_PASSWORD,
          location: LOCATION,
          'subscription-id': emu.subscriptionId,
          'image-tag': `v${VERSION}`
        })[n] ?? ''
    ) as DeployConfig
  }, 120_000)

  afterAll(async () => {
    await emu?.stop()
  })

  it('runs the revision the action would write as a real MLflow server', async () => {
    const n = names()
    const rg = n.resourceGroup
    await c.rm.resourceGroups.createOrUpdate(rg, { location: LOCATION })
    const vnet = await c.net.virtualNetworks.createOrUpdate(
      rg,
      n.virtualNetwork,
      {
        location: LOCATION,
        addressSpace: { addressPrefixes: ['10.40.0.0/16'] },
        subnets: [
          {
            name: n.acaSubnet,
            addressPrefix: '10.40.0.0/23',
            delegations: [{ name: 'aca', serviceName: 'Microsoft.App/environments' }]
          },
          {
            name: n.dbSubnet,
            addressPrefix: '10.40.2.0/24',
            delegations: [{ name: 'db', serviceName: 'Microsoft.DBforPostgreSQL/flexibleServers' }]
          }
        ]
      },
      lro
    )
    const zone = await c.dns.privateZones.createOrUpdate(rg, n.privateDnsZone, { location: 'global' }, lro)
    await c.dns.virtualNetworkLinks.createOrUpdate(
      rg,
      n.privateDnsZone,
      n.privateDnsLink,
      { location: 'global', virtualNetwork: { id: vnet.id }, registrationEnabled: false },
      lro
    )
    const ws = await c.oi.workspaces.createOrUpdate(
      rg,
      n.logAnalytics,
      { location: LOCATION, sku: { name: 'PerGB2018' }, retentionInDays: 30 },
      lro
    )
    const wsKeys = await c.oi.sharedKeys.getSharedKeys(rg, n.logAnalytics)

    await c.st.storageAccounts.create(
      rg,
      n.storageAccount,
      { sku: { name: 'Standard_LRS' }, kind: 'StorageV2', location: LOCATION, minimumTlsVersion: 'TLS1_2' },
      lro
    )
    await c.st.blobContainers.create(rg, n.storageAccount, n.blobContainer, { publicAccess: 'None' })
    const keys = (await c.st.storageAccounts.listKeys(rg, n.storageAccount)).keys ?? []
    const storageKey = keys[0]!.value!

    const server = await c.pg.servers.beginCreateOrUpdateAndWait(
      rg,
      n.postgresServer,
      {
        location: LOCATION,
        sku: { name: 'Standard_B1ms', tier: 'Burstable' },
        administratorLogin: POSTGRES_ADMIN_LOGIN,
        administratorLoginPassword: PASSWORD,
        version: '16',
        storage: { storageSizeGB: 32 },
        network: {
          publicNetworkAccess: 'Disabled',
          delegatedSubnetResourceId: `${vnet.id}/subnets/${n.dbSubnet}`,
          privateDnsZoneArmResourceId: zone.id
        }
      },
      lro
    )
    // Ready means the cluster accepts connections.
    expect(server.state).toBe('Ready')
    expect((await emu.runtimeInfo()).postgres[n.postgresServer]).toMatchObject({ host: '127.0.0.1' })
    for (const database of [n.postgresDatabase, n.authDatabase]) {
      await c.pg.databases.beginCreateAndWait(
        rg,
        n.postgresServer,
        database,
        { charset: 'UTF8', collation: 'en_US.utf8' },
        lro
      )
    }

    const env = await c.aca.managedEnvironments.createOrUpdate(
      rg,
      n.managedEnvironment,
      {
        location: LOCATION,
        vnetConfiguration: { internal: false, infrastructureSubnetId: `${vnet.id}/subnets/${n.acaSubnet}` },
        appLogsConfiguration: {
          destination: 'log-analytics',
          logAnalyticsConfiguration: { customerId: ws.customerId, sharedKey: wsKeys.primarySharedKey }
        }
      },
      lro
    )

    // Exactly what the action writes: the desired state for these facts, through its own mapper.
    const desired = desiredState(config, {
      workspaceCustomerId: ws.customerId,
      workspaceSharedKey: wsKeys.primarySharedKey,
      environmentDefaultDomain: env.defaultDomain,
      storageKey,
      postgresPassword: PASSWORD,
      postgresPasswordIsNew: true,
      postgresServerExists: true,
      flaskSecretKey: randomBytes(24).toString('hex')
    })
    const appSpec = desired.find((d) => d.kind === 'containerApp')!.spec as ContainerAppSpec
    // Basic auth (the default) starts through bash: a bootstrap step, then `exec mlflow server`.
    expect(appSpec.container.command).toEqual(['/bin/bash', '-c'])
    expect(appSpec.container.args[0]).toMatch(
      /exec mlflow server --host 0\.0\.0\.0 --port 5000 .*--app-name basic-auth/
    )
    const app = await c.aca.containerApps.createOrUpdate(rg, n.containerApp, toArm(appSpec), lro)
    fqdn = app.configuration!.ingress!.fqdn!
    expect(fqdn).toBe(`${n.containerApp}.${env.defaultDomain}`)

    const started = Date.now()
    const running = await until(
      'the MLflow revision',
      () => revision(app.latestRevisionName!),
      settled,
      300_000
    )
    expect(running).toMatchObject({ runningState: 'Running', healthState: 'Healthy', trafficWeight: 100 })
    process.stderr.write(`[emulator-runtime] revision running after ${Date.now() - started} ms\n`)

    info = await emu.runtimeInfo()
    expect(info.apps[fqdn]).toEqual({
      app: n.containerApp,
      revision: app.latestRevisionName,
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/)
    })
    expect(info.ingress).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(info.proxy).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(info.blob?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  }, 600_000)

  it('serves MLflow through the ingress under the FQDN, with a certificate from the CA', async () => {
    expect(await viaIngress('GET', '/health')).toMatchObject({ status: 200, text: 'OK' })
    expect((await viaIngress('GET', '/version')).text).toBe(VERSION)
    // With `:443` in Host too, as browsers and proxies send it.
    expect((await viaIngress('GET', '/health', undefined, `${fqdn}:443`)).status).toBe(200)
    // A name under the environment's domain that is no app.
    const unknown = await viaIngress('GET', '/health', undefined, fqdn.replace(/^[^.]+/, 'nosuchapp'))
    expect(unknown.status).toBe(404)
  })

  it('keeps experiments in PostgreSQL and artifacts in Azurite', async () => {
    const created = await viaIngress(
      'POST',
      '/api/2.0/mlflow/experiments/create',
      Buffer.from(JSON.stringify({ name: 'runtime-check' }))
    )
    expect(created.status).toBe(200)
    const experimentId = (JSON.parse(created.text) as { experiment_id: string }).experiment_id

    // A few MB, streamed through the ingress both ways.
    const payload = randomBytes(3 * 1024 * 1024)
    const artifact = `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/probe.bin`
    const put = await viaIngress('PUT', artifact, payload)
    expect(put.status).toBe(200)
    const got = await viaIngress('GET', artifact)
    expect(got.status).toBe(200)
    expect(got.body.equals(payload)).toBe(true)

    const n = names()
    const keys = (await c.st.storageAccounts.listKeys(n.resourceGroup, n.storageAccount)).keys ?? []
    const container = new BlobServiceClient(
      `${info.blob!.endpoint}/${n.storageAccount}`,
      new StorageSharedKeyCredential(n.storageAccount, keys[0]!.value!)
    ).getContainerClient(n.blobContainer)
    const blobs: { name: string; size?: number }[] = []
    for await (const b of container.listBlobsFlat())
      blobs.push({ name: b.name, size: b.properties.contentLength })
    expect(blobs).toContainEqual({ name: `${experimentId}/probe.bin`, size: payload.length })

    const server = info.postgres[n.postgresServer]!
    const client = new pg.Client({
      host: server.host,
      port: server.port,
      user: POSTGRES_ADMIN_LOGIN,
      password: PASSWORD,
      database: n.postgresDatabase,
      // SSL verified against the emulator's CA.
      ssl: { ca }
    })
    await client.connect()
    try {
      const rows = await client.query('select name from experiments where experiment_id = $1', [
        Number(experimentId)
      ])
      expect(rows.rows).toEqual([{ name: 'runtime-check' }])
      const ssl = await client.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()')
      expect(ssl.rows).toEqual([{ ssl: true }])
      const owner = await client.query(
        'select pg_get_userbyid(datdba) as owner from pg_database where datname = $1',
        [n.postgresDatabase]
      )
      expect(owner.rows).toEqual([{ owner: POSTGRES_ADMIN_LOGIN }])
    } finally {
      await client.end()
    }
  }, 120_000)

  it('keeps the security middleware on: a foreign Host gets 403, the FQDN is served', async () => {
    const foreign = await direct('/api/2.0/mlflow/experiments/search?max_results=1', 'evil.example.com')
    expect(foreign.status).toBe(403)
    expect(foreign.text).toContain('Invalid Host header')
    expect((await direct('/api/2.0/mlflow/experiments/search?max_results=1', fqdn)).status).toBe(200)
  })

  it('a regenerated storage key stops working at once; after a restart uploads fail with 500', async () => {
    const n = names()
    const rg = n.resourceGroup
    const before = (await c.st.storageAccounts.listKeys(rg, n.storageAccount)).keys ?? []
    await c.st.storageAccounts.regenerateKey(rg, n.storageAccount, { keyName: 'key1' })
    const oldKey = new BlobServiceClient(
      `${info.blob!.endpoint}/${n.storageAccount}`,
      new StorageSharedKeyCredential(n.storageAccount, before[0]!.value!)
    ).getContainerClient(n.blobContainer)
    await expect(oldKey.exists()).rejects.toMatchObject({ statusCode: 403 })

    const current = await c.aca.containerApps.get(rg, n.containerApp)
    const name = current.latestReadyRevisionName!
    await restartRevisionAndWait(c.aca, rg, n.containerApp, name)
    info = await emu.runtimeInfo()

    const created = await viaIngress(
      'POST',
      '/api/2.0/mlflow/experiments/create',
      Buffer.from(JSON.stringify({ name: 'after-rotation' }))
    )
    expect(created.status).toBe(200)
    const id = (JSON.parse(created.text) as { experiment_id: string }).experiment_id
    const put = await viaIngress('PUT', `/api/2.0/mlflow-artifacts/artifacts/${id}/x.txt`, Buffer.from('x'))
    expect(put.status).toBe(500)
  }, 400_000)

  it('a later password given through ARM is the one PostgreSQL takes', async () => {
    const n = names()
    const next = `Pw-${randomBytes(12).toString('hex')}`
    const server = await c.pg.servers.beginUpdateAndWait(
      n.resourceGroup,
      n.postgresServer,
      { administratorLoginPassword: next },
      lro
    )
    expect(server.state).toBe('Ready')
    const login = (password: string) => {
      const client = new pg.Client({
        host: info.postgres[n.postgresServer]!.host,
        port: info.postgres[n.postgresServer]!.port,
        user: POSTGRES_ADMIN_LOGIN,
        password,
        database: n.postgresDatabase,
        ssl: { ca }
      })
      return client.connect().then(() => client.end())
    }
    await expect(login(PASSWORD)).rejects.toThrow(/password authentication failed/)
    await expect(login(next)).resolves.toBeUndefined()
  }, 120_000)

  it('an MLflow release that does not exist fails its revision with the reason', async () => {
    const n = names()
    const current = await c.aca.containerApps.get(n.resourceGroup, n.containerApp)
    const container = current.template!.containers![0]!
    const image = 'ghcr.io/mlflow/mlflow:v3.99.0-full'
    const updated = await c.aca.containerApps.update(
      n.resourceGroup,
      n.containerApp,
      {
        location: LOCATION,
        template: { ...current.template, containers: [{ ...container, image }] }
      },
      lro
    )
    const failed = await until(
      'the v3.99.0 revision',
      () => revision(updated.latestRevisionName!),
      settled,
      300_000
    )
    expect(failed.provisioningState).toBe('Failed')
    expect(failed.provisioningError).toMatch(
      /^Failed to pull image "ghcr\.io\/mlflow\/mlflow:v3\.99\.0-full": manifest unknown: .*3\.99\.0/
    )
    // The old revision keeps the traffic and keeps serving.
    expect((await viaIngress('GET', '/health')).status).toBe(200)
  }, 400_000)
})

describe('local Azure killed and started again (stand-in runtime: Azurite runs with every runtime)', () => {
  it('keeps every blob write whose answer the client got: uploads, overwrites and deletes', async () => {
    const RG = 'rg-crash'
    const ACCOUNT = 'stcrashkeeps1'
    const { emu, c } = await startWithBlobAccount(
      { timeScale: 0.002 },
      { location: LOCATION, resourceGroup: RG, account: ACCOUNT, container: 'data' }
    )
    try {
      const key = (await c.st.storageAccounts.listKeys(RG, ACCOUNT)).keys![0]!.value!
      const ops = (list: Parameters<typeof blobOps>[3]) =>
        blobOps(emu.env, ACCOUNT, { kind: 'key', key }, list)
      const written = await ops([
        { op: 'upload', container: 'data', blob: 'kept.txt', text: 'first' },
        { op: 'upload', container: 'data', blob: 'kept.txt', text: 'second' },
        { op: 'upload', container: 'data', blob: 'gone.txt', text: 'x' },
        { op: 'delete', container: 'data', blob: 'gone.txt' },
        { op: 'createContainer', container: 'made-by-a-client' }
      ])
      expect(written.every((r) => r.ok)).toBe(true)
      // At once: Azurite's own store saves every few seconds, so a crash right after the answers
      // is what loses them when nothing else saved them first.
      await emu.restart({ kill: true })
      expect(
        await ops([
          { op: 'download', container: 'data', blob: 'kept.txt' },
          { op: 'list', container: 'data' },
          { op: 'containerExists', container: 'made-by-a-client' }
        ])
      ).toEqual([
        { ok: true, value: 'second' },
        { ok: true, value: ['kept.txt'] },
        { ok: true, value: true }
      ])
    } finally {
      await emu.stop()
    }
  }, 120_000)
})
