/**
 * Contract tests of the local ARM emulator, driven by the REAL `@azure/arm-*` SDK clients the
 * action uses: if these pass, the SDKs' wire expectations (paths, bodies, LRO shapes, errors) hold.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { ContainerApp, Job, JobExecution, Replica, Revision } from '@azure/arm-appcontainers'
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob'
import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest, type RequestOptions } from 'node:https'
import { connect as tlsConnect } from 'node:tls'
import { isWrite, startEmulator, type Emulator, type RequestRecord } from '../helpers/emulator.js'
import { send } from '../helpers/ingress.js'
import { armError, fastLro, sdkClients, until } from '../helpers/sdk.js'

const TIME_SCALE = 0.002
const LOCATION = 'eastus'
const lro = fastLro
const clientsFor = sdkClients

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

const image = (v: string): string => `ghcr.io/mlflow/mlflow:v${v}-full`

function appTemplate(version: string, suffix: string): NonNullable<ContainerApp['template']> {
  return {
    revisionSuffix: suffix,
    containers: [
      {
        name: 'mlflow',
        image: image(version),
        env: [
          { name: 'MLFLOW_BACKEND_STORE_URI', secretRef: 'backend-store-uri' },
          { name: 'MLFLOW_PORT', value: '5000' }
        ],
        resources: { cpu: 0.5, memory: '1Gi' }
      }
    ],
    scale: { minReplicas: 1, maxReplicas: 1 }
  }
}

/**
 * GET through the emulator's CONNECT proxy, as a client with `HTTPS_PROXY` and
 * `NODE_EXTRA_CA_CERTS` does: a tunnel to `<host>:443`, TLS with the host as server name.
 */
function getViaProxy(
  emu: Emulator,
  proxy: string,
  url: string,
  headers: Record<string, string> = {}
): Promise<{ status: number; text: string }> {
  const target = new URL(url)
  const ca = readFileSync(emu.caCertPath, 'utf8')
  const via = new URL(proxy)
  return new Promise((resolve, reject) => {
    const connect = httpRequest({
      host: via.hostname,
      port: via.port,
      method: 'CONNECT',
      path: `${target.hostname}:443`
    })
    connect.on('error', reject)
    connect.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy()
        reject(new Error(`CONNECT ${target.hostname}:443 → ${res.statusCode}`))
        return
      }
      const tls = tlsConnect({ socket, servername: target.hostname, ca })
      const options: RequestOptions = {
        host: target.hostname,
        path: `${target.pathname}${target.search}`,
        headers,
        createConnection: () => tls
      }
      const req = httpsRequest(options, (answer) => {
        let text = ''
        answer.on('data', (d: Buffer) => (text += d.toString('utf8')))
        answer.on('end', () => {
          tls.destroy()
          resolve({ status: answer.statusCode ?? 0, text })
        })
      })
      req.on('error', reject)
      req.end()
    })
    connect.end()
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('local ARM emulator, driven by the real SDK clients', () => {
  let emu: Emulator
  let c: ReturnType<typeof clientsFor>

  beforeAll(async () => {
    emu = await startEmulator({ timeScale: TIME_SCALE })
    c = clientsFor(emu)
  }, 120_000)

  afterAll(async () => {
    await emu?.stop()
  })

  it('provisions, updates and deletes the whole MLflow stack', async () => {
    const rg = 'rg-mlflow'
    const group = await c.rm.resourceGroups.createOrUpdate(rg, {
      location: LOCATION,
      tags: { stack: 'mlflow' }
    })
    expect(group.id).toBe(`/subscriptions/${emu.subscriptionId}/resourceGroups/${rg}`)
    expect((await c.rm.resourceGroups.checkExistence(rg)).body).toBe(true)

    const vnet = await c.net.virtualNetworks.createOrUpdate(
      rg,
      'vnet-mlflow',
      {
        location: LOCATION,
        addressSpace: { addressPrefixes: ['10.0.0.0/16'] },
        subnets: [
          {
            name: 'aca',
            addressPrefix: '10.0.0.0/23',
            delegations: [{ name: 'aca', serviceName: 'Microsoft.App/environments' }]
          },
          {
            name: 'db',
            addressPrefix: '10.0.2.0/24',
            delegations: [{ name: 'db', serviceName: 'Microsoft.DBforPostgreSQL/flexibleServers' }]
          }
        ]
      },
      lro
    )
    expect(vnet.provisioningState).toBe('Succeeded')
    const acaSubnet = await c.net.subnets.get(rg, 'vnet-mlflow', 'aca')
    const dbSubnet = await c.net.subnets.get(rg, 'vnet-mlflow', 'db')
    expect(acaSubnet.id).toBe(`${vnet.id}/subnets/aca`)
    expect(dbSubnet.delegations?.[0]?.serviceName).toBe('Microsoft.DBforPostgreSQL/flexibleServers')

    const zoneName = 'pg-mlflow-1.private.postgres.database.azure.com'
    const zone = await c.dns.privateZones.createOrUpdate(rg, zoneName, { location: 'global' }, lro)
    expect(zone.provisioningState).toBe('Succeeded')
    const link = await c.dns.virtualNetworkLinks.createOrUpdate(
      rg,
      zoneName,
      'vnet-link',
      { location: 'global', virtualNetwork: { id: vnet.id }, registrationEnabled: false },
      lro
    )
    expect(link.virtualNetworkLinkState).toBe('Completed')

    const ws = await c.oi.workspaces.createOrUpdate(
      rg,
      'law-mlflow',
      { location: LOCATION, sku: { name: 'PerGB2018' }, retentionInDays: 30 },
      lro
    )
    expect(ws.provisioningState).toBe('Succeeded')
    expect(ws.customerId).toMatch(/^[0-9a-f-]{36}$/)
    const wsKeys = await c.oi.sharedKeys.getSharedKeys(rg, 'law-mlflow')
    expect(Buffer.from(wsKeys.primarySharedKey ?? '', 'base64')).toHaveLength(64)

    const account = await c.st.storageAccounts.create(
      rg,
      'stmlflow1',
      {
        sku: { name: 'Standard_LRS' },
        kind: 'StorageV2',
        location: LOCATION,
        allowBlobPublicAccess: false,
        minimumTlsVersion: 'TLS1_2'
      },
      lro
    )
    expect(account.provisioningState).toBe('Succeeded')
    expect(account.primaryEndpoints?.blob).toBe('https://stmlflow1.blob.core.windows.net/')
    expect(account.allowBlobPublicAccess).toBe(false)
    await c.st.blobContainers.create(rg, 'stmlflow1', 'mlflow', { publicAccess: 'None' })
    const keys = (await c.st.storageAccounts.listKeys(rg, 'stmlflow1')).keys ?? []
    expect(keys.map((k) => k.keyName)).toEqual(['key1', 'key2'])
    const rotated =
      (await c.st.storageAccounts.regenerateKey(rg, 'stmlflow1', { keyName: 'key1' })).keys ?? []
    expect(rotated[0]?.value).not.toBe(keys[0]?.value)
    expect(rotated[1]?.value).toBe(keys[1]?.value)

    const server = await c.pg.servers.beginCreateOrUpdateAndWait(
      rg,
      'pg-mlflow-1',
      {
        location: LOCATION,
        sku: { name: 'Standard_B1ms', tier: 'Burstable' },
        administratorLogin: 'mlflow',
        administratorLoginPassword: 'Str0ng-Passw0rd!',
        version: '16',
        storage: { storageSizeGB: 32 },
        network: {
          publicNetworkAccess: 'Disabled',
          delegatedSubnetResourceId: dbSubnet.id,
          privateDnsZoneArmResourceId: zone.id
        },
        highAvailability: { mode: 'Disabled' }
      },
      lro
    )
    expect(server.state).toBe('Ready')
    expect(server.fullyQualifiedDomainName).toBe('pg-mlflow-1.postgres.database.azure.com')
    expect(JSON.stringify(server)).not.toContain('Str0ng-Passw0rd!')
    const db = await c.pg.databases.beginCreateAndWait(
      rg,
      'pg-mlflow-1',
      'mlflow',
      { charset: 'UTF8', collation: 'en_US.utf8' },
      lro
    )
    expect(db.name).toBe('mlflow')

    const env = await c.aca.managedEnvironments.createOrUpdate(
      rg,
      'env-mlflow',
      {
        location: LOCATION,
        vnetConfiguration: { internal: false, infrastructureSubnetId: acaSubnet.id },
        appLogsConfiguration: {
          destination: 'log-analytics',
          logAnalyticsConfiguration: { customerId: ws.customerId, sharedKey: wsKeys.primarySharedKey }
        },
        workloadProfiles: [{ name: 'Consumption', workloadProfileType: 'Consumption' }]
      },
      lro
    )
    expect(env.provisioningState).toBe('Succeeded')
    expect(env.defaultDomain).toMatch(/^[a-z]+-[0-9a-f]+\.eastus\.azurecontainerapps\.io$/)
    expect(env.appLogsConfiguration?.logAnalyticsConfiguration?.sharedKey).toBeUndefined()

    const backendUri =
      'postgresql://mlflow:Str0ng-Passw0rd!@pg-mlflow-1.postgres.database.azure.com:5432/mlflow'
    const app = await c.aca.containerApps.createOrUpdate(
      rg,
      'mlflow',
      {
        location: LOCATION,
        environmentId: env.id,
        configuration: {
          secrets: [{ name: 'backend-store-uri', value: backendUri }],
          activeRevisionsMode: 'Single',
          ingress: { external: true, targetPort: 5000, transport: 'auto' }
        },
        template: appTemplate('2.22.0', 'v1')
      },
      lro
    )
    expect(app.provisioningState).toBe('Succeeded')
    expect(app.latestRevisionName).toBe('mlflow--v1')
    expect(app.configuration?.ingress?.fqdn).toBe(`mlflow.${env.defaultDomain}`)
    expect(app.configuration?.secrets).toEqual([{ name: 'backend-store-uri' }])
    expect(JSON.stringify(app)).not.toContain('Str0ng-Passw0rd!')

    const v1 = await until(
      'revision v1 running',
      () => c.aca.containerAppsRevisions.getRevision(rg, 'mlflow', 'mlflow--v1'),
      (r) => r.runningState === 'Running' || r.provisioningState === 'Failed'
    )
    expect(v1).toMatchObject({
      provisioningState: 'Provisioned',
      healthState: 'Healthy',
      active: true,
      trafficWeight: 100
    })
    const ready = await c.aca.containerApps.get(rg, 'mlflow')
    expect(ready.latestReadyRevisionName).toBe('mlflow--v1')
    expect(ready.runningStatus).toBe('Running')
    expect((await c.aca.containerApps.listSecrets(rg, 'mlflow')).value).toEqual([
      { name: 'backend-store-uri', value: backendUri }
    ])

    // Image bump: a template change makes a new revision that takes over once healthy.
    const bumped = await c.aca.containerApps.update(
      rg,
      'mlflow',
      { location: LOCATION, template: appTemplate('3.1.0', 'v2') },
      lro
    )
    expect(bumped.latestRevisionName).toBe('mlflow--v2')
    await until(
      'v2 ready',
      () => c.aca.containerApps.get(rg, 'mlflow'),
      (a) => a.latestReadyRevisionName === 'mlflow--v2'
    )
    const afterBump = await collect(c.aca.containerAppsRevisions.listRevisions(rg, 'mlflow'))
    expect(afterBump.map((r) => [r.name, r.active, r.trafficWeight])).toEqual([
      ['mlflow--v1', false, 0],
      ['mlflow--v2', true, 100]
    ])

    // Configuration-only change: no new revision.
    await c.aca.containerApps.update(
      rg,
      'mlflow',
      {
        location: LOCATION,
        configuration: {
          secrets: [{ name: 'backend-store-uri', value: `${backendUri}?sslmode=require` }],
          activeRevisionsMode: 'Single',
          ingress: { external: true, targetPort: 5000 }
        }
      },
      lro
    )
    expect((await collect(c.aca.containerAppsRevisions.listRevisions(rg, 'mlflow'))).length).toBe(2)

    // Reusing a suffix with a different template is rejected.
    const reuse = await armError(
      c.aca.containerApps.update(
        rg,
        'mlflow',
        { location: LOCATION, template: appTemplate('3.2.0', 'v2') },
        lro
      )
    )
    expect(reuse).toMatchObject({ statusCode: 400, code: 'ContainerAppRevisionSuffixConflict' })

    // A tag that does not exist: the revision fails with the pull error, traffic stays on v2.
    await c.aca.containerApps.update(
      rg,
      'mlflow',
      { location: LOCATION, template: appTemplate('9.9.9', 'v3') },
      lro
    )
    const v3: Revision = await until(
      'v3 failed',
      () => c.aca.containerAppsRevisions.getRevision(rg, 'mlflow', 'mlflow--v3'),
      (r) => r.provisioningState === 'Failed'
    )
    expect(v3).toMatchObject({ runningState: 'Failed', healthState: 'Unhealthy' })
    expect(v3.provisioningError).toBe(`Failed to pull image "${image('9.9.9')}": manifest unknown`)
    const stuck = await c.aca.containerApps.get(rg, 'mlflow')
    expect(stuck.latestRevisionName).toBe('mlflow--v3')
    expect(stuck.latestReadyRevisionName).toBe('mlflow--v2')
    expect((await c.aca.containerAppsRevisions.getRevision(rg, 'mlflow', 'mlflow--v2')).trafficWeight).toBe(
      100
    )

    await c.aca.containerAppsRevisions.restartRevision(rg, 'mlflow', 'mlflow--v2')
    await until(
      'v2 running after restart',
      () => c.aca.containerAppsRevisions.getRevision(rg, 'mlflow', 'mlflow--v2'),
      (r) => r.runningState === 'Running'
    )

    // Deleting in dependency order; the service's own guards first.
    const envBusy = await armError(c.aca.managedEnvironments.delete(rg, 'env-mlflow', lro))
    expect(envBusy).toMatchObject({ statusCode: 409, code: 'ManagedEnvironmentHasContainerApps' })
    const subnetBusy = await armError(c.net.virtualNetworks.delete(rg, 'vnet-mlflow', lro))
    expect(subnetBusy).toMatchObject({ statusCode: 400, code: 'InUseSubnetCannotBeDeleted' })
    const zoneBusy = await armError(c.dns.privateZones.delete(rg, zoneName, lro))
    expect(zoneBusy).toMatchObject({ statusCode: 409, code: 'CannotDeleteResource' })

    await c.aca.containerApps.delete(rg, 'mlflow', lro)
    await c.aca.managedEnvironments.delete(rg, 'env-mlflow', lro)
    await c.pg.databases.beginDeleteAndWait(rg, 'pg-mlflow-1', 'mlflow', lro)
    await c.pg.servers.beginDeleteAndWait(rg, 'pg-mlflow-1', lro)
    await c.dns.virtualNetworkLinks.delete(rg, zoneName, 'vnet-link', lro)
    await c.dns.privateZones.delete(rg, zoneName, lro)
    await c.st.storageAccounts.delete(rg, 'stmlflow1')
    await c.oi.workspaces.delete(rg, 'law-mlflow', lro)
    await c.net.virtualNetworks.delete(rg, 'vnet-mlflow', lro)
    expect(await armError(c.aca.containerApps.get(rg, 'mlflow'))).toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound'
    })
    await c.rm.resourceGroups.delete(rg, lro)
    expect((await c.rm.resourceGroups.checkExistence(rg)).body).toBe(false)

    const log = await emu.requests()
    expect(log.some((r) => r.path.includes('/containerappOperationStatuses/'))).toBe(true)
    expect(log.filter(isWrite).length).toBeGreaterThan(20)
  }, 60_000)

  it('enforces the service naming rules with its error codes', async () => {
    const rg = 'rg-names'
    await c.rm.resourceGroups.createOrUpdate(rg, { location: LOCATION })
    const storage = await armError(
      c.st.storageAccounts.create(
        rg,
        'Bad_Name',
        { sku: { name: 'Standard_LRS' }, kind: 'StorageV2', location: LOCATION },
        lro
      )
    )
    expect(storage).toMatchObject({ statusCode: 400, code: 'AccountNameInvalid' })
    const app = await armError(
      c.aca.containerApps.createOrUpdate(rg, 'WebFrontEnd', { location: LOCATION }, lro)
    )
    expect(app).toMatchObject({ statusCode: 400, code: 'ContainerAppInvalidName' })
    expect(app.message).toContain("Invalid ContainerApp name 'WebFrontEnd'")
    const env = await armError(
      c.aca.managedEnvironments.createOrUpdate(rg, 'Env_1', { location: LOCATION }, lro)
    )
    expect(env).toMatchObject({ statusCode: 400, code: 'ManagedEnvironmentInvalidName' })

    await c.st.storageAccounts.create(
      rg,
      'stnames1',
      { sku: { name: 'Standard_LRS' }, kind: 'StorageV2', location: LOCATION },
      lro
    )
    const container = await armError(c.st.blobContainers.create(rg, 'stnames1', 'a--b', {}))
    expect(container).toMatchObject({ statusCode: 400, code: 'InvalidResourceName' })
    await c.rm.resourceGroups.createOrUpdate('rg-other', { location: LOCATION })
    const taken = await armError(
      c.st.storageAccounts.create(
        'rg-other',
        'stnames1',
        { sku: { name: 'Standard_LRS' }, kind: 'StorageV2', location: LOCATION },
        lro
      )
    )
    expect(taken).toMatchObject({ statusCode: 409, code: 'StorageAccountAlreadyTaken' })

    const bare = await c.aca.managedEnvironments.createOrUpdate(rg, 'env-names', { location: LOCATION }, lro)
    const secret = await armError(
      c.aca.containerApps.createOrUpdate(
        rg,
        'app-names',
        {
          location: LOCATION,
          environmentId: bare.id,
          configuration: { secrets: [{ name: 'Bad_Secret', value: 'x' }] },
          template: appTemplate('2.22.0', 'a1')
        },
        lro
      )
    )
    expect(secret).toMatchObject({ statusCode: 400, code: 'ContainerAppInvalidSecretName' })
    const ref = await armError(
      c.aca.containerApps.createOrUpdate(
        rg,
        'app-names',
        { location: LOCATION, environmentId: bare.id, template: appTemplate('2.22.0', 'a1') },
        lro
      )
    )
    expect(ref).toMatchObject({ statusCode: 400, code: 'ContainerAppSecretRefNotFound' })
  })

  it('answers ARM 404s: ResourceGroupNotFound, ResourceNotFound, and 204 for deleting what is gone', async () => {
    const missingRg = await armError(c.net.virtualNetworks.get('rg-nope', 'vnet'))
    expect(missingRg).toMatchObject({
      statusCode: 404,
      code: 'ResourceGroupNotFound',
      message: "Resource group 'rg-nope' could not be found."
    })
    await c.rm.resourceGroups.createOrUpdate('rg-404', { location: LOCATION, tags: { pr: '404' } })
    const tagged = await collect(
      c.rm.resourceGroups.list({ filter: "tagName eq 'pr' and tagValue eq '404'" })
    )
    expect(tagged.map((g) => g.name)).toEqual(['rg-404'])
    const missing = await armError(c.st.storageAccounts.getProperties('rg-404', 'stnothere'))
    expect(missing).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' })
    expect(missing.message).toContain(
      "'Microsoft.Storage/storageAccounts/stnothere' under resource group 'rg-404'"
    )
    await expect(c.aca.containerApps.delete('rg-404', 'nothere', lro)).resolves.toBeUndefined()
    expect(await armError(c.rm.resourceGroups.delete('rg-nope', lro))).toMatchObject({
      statusCode: 404,
      code: 'ResourceGroupNotFound'
    })
  })

  it('keeps state, identity and in-flight operations across a restart', async () => {
    const own = await startEmulator({ timeScale: 0.5 })
    try {
      const before = clientsFor(own)
      const sub = own.subscriptionId
      const endpoint = own.endpoint
      await before.rm.resourceGroups.createOrUpdate('rg-restart', { location: LOCATION })
      await before.oi.workspaces.createOrUpdate('rg-restart', 'law-restart', { location: LOCATION }, lro)
      const keysBefore = await before.oi.sharedKeys.getSharedKeys('rg-restart', 'law-restart')
      // Storage create takes 12.5 s at this scale: the restart (Azurite, the blob front door and the
      // runtime start again, seconds on a loaded machine) lands in the middle of it.
      const poller = before.st.storageAccounts.create(
        'rg-restart',
        'strestart1',
        { sku: { name: 'Standard_LRS' }, kind: 'StorageV2', location: LOCATION },
        lro
      )
      await poller.submitted()
      await own.restart()
      expect(own.subscriptionId).toBe(sub)
      expect(own.endpoint).toBe(endpoint)
      const after = clientsFor(own)
      expect((await after.oi.sharedKeys.getSharedKeys('rg-restart', 'law-restart')).primarySharedKey).toBe(
        keysBefore.primarySharedKey
      )
      expect(
        (await after.st.storageAccounts.getProperties('rg-restart', 'strestart1')).provisioningState
      ).toBe('Creating')
      const account = await poller.pollUntilDone()
      expect(account.provisioningState).toBe('Succeeded')
      const log = await own.requests()
      expect(log[0]).toMatchObject({ method: 'PUT', status: 201 })
    } finally {
      await own.stop()
    }
  }, 30_000)

  it('starts the runtimes of active revisions again after a restart', async () => {
    const own = await startEmulator({ timeScale: TIME_SCALE })
    try {
      const before = clientsFor(own)
      await before.rm.resourceGroups.createOrUpdate('rg-rt', { location: LOCATION })
      const env = await before.aca.managedEnvironments.createOrUpdate(
        'rg-rt',
        'env-rt',
        { location: LOCATION },
        lro
      )
      await before.aca.containerApps.createOrUpdate(
        'rg-rt',
        'app-rt',
        {
          location: LOCATION,
          environmentId: env.id,
          configuration: {
            secrets: [{ name: 'backend-store-uri', value: 'sqlite:///x.db' }],
            ingress: { external: true, targetPort: 5000 }
          },
          template: appTemplate('2.22.0', 'r1')
        },
        lro
      )
      const runtimeUrl = async (): Promise<string | undefined> => {
        const state = (await own.state()) as {
          resources: Record<string, { type: string; internal: { url?: string } }>
        }
        return Object.values(state.resources).find((r) => r.type === 'Microsoft.App/containerApps/revisions')
          ?.internal.url
      }
      await until('runtime url', runtimeUrl, (u) => u !== undefined)
      await own.restart()
      const after = clientsFor(own)
      // The restarted emulator forgets the dead process's address until the new one is healthy.
      const secondUrl = await until('runtime restarted', runtimeUrl, (u) => u !== undefined)
      const health = await fetch(`${secondUrl}/health`)
      expect(await health.text()).toBe('OK')
      const rev = await after.aca.containerAppsRevisions.getRevision('rg-rt', 'app-rt', 'app-rt--r1')
      expect(rev).toMatchObject({ runningState: 'Running', healthState: 'Healthy', trafficWeight: 100 })
    } finally {
      await own.stop()
    }
  }, 30_000)

  it('reproduces the same faults for the same seed', async () => {
    const run = async (): Promise<RequestRecord[]> => {
      const own = await startEmulator({
        timeScale: TIME_SCALE,
        faults: '429=0.15,503=0.1,500=0.05,409=0.1,reset=0.05',
        seed: 42
      })
      try {
        const cl = clientsFor(own, { maxRetries: 3, retryDelayInMs: 5, maxRetryDelayInMs: 20 })
        const attempt = (p: Promise<unknown>) =>
          p.then(
            () => 'ok',
            (e: { code?: string }) => e.code ?? 'error'
          )
        for (let i = 0; i < 4; i++)
          await attempt(cl.rm.resourceGroups.createOrUpdate('rg-faults', { location: LOCATION }))
        for (let i = 0; i < 8; i++) await attempt(cl.rm.resourceGroups.get('rg-faults'))
        for (let i = 0; i < 4; i++) await attempt(cl.rm.providers.get('Microsoft.App'))
        // Arrival times differ from run to run; the faults met must not.
        return (await own.requests()).map(({ method, path, status }) => ({
          method,
          path: path.replace(own.subscriptionId, '{sub}'),
          status
        }))
      } finally {
        await own.stop()
      }
    }
    const first = await run()
    const second = await run()
    expect(second).toEqual(first)
    const statuses = new Set(first.map((r) => r.status))
    expect([...statuses].some((s) => s === 429 || s === 503 || s === 500 || s === 409 || s === 0)).toBe(true)
    expect(first.find((r) => r.status === 409)?.method ?? 'PUT').toBe('PUT')
  }, 30_000)

  it('fails a long-running operation on lro-fail, and a retried PUT repairs the resource', async () => {
    const own = await startEmulator({ timeScale: TIME_SCALE, faults: 'lro-fail=0.5', seed: 7 })
    try {
      const cl = clientsFor(own)
      await cl.rm.resourceGroups.createOrUpdate('rg-lro', { location: LOCATION })
      const put = (name: string) =>
        cl.net.virtualNetworks.createOrUpdate(
          'rg-lro',
          name,
          { location: LOCATION, addressSpace: { addressPrefixes: ['10.1.0.0/16'] } },
          lro
        )
      // Each VNet's first PUT is its own draw: walk until one fails (one in two does).
      let failed: string | undefined
      for (let i = 0; i < 20 && !failed; i++) {
        const name = `vnet-${i}`
        const err = await put(name).then(
          () => undefined,
          (e: Error) => e
        )
        if (err) {
          expect(err.message).toContain('The long-running operation has failed. InternalOperationError.')
          failed = name
        }
      }
      if (!failed) throw new Error('no injected LRO failure in 20 draws')
      expect((await cl.net.virtualNetworks.get('rg-lro', failed)).provisioningState).toBe('Failed')
      let repaired = false
      for (let attempt = 0; attempt < 20 && !repaired; attempt++)
        repaired = await put(failed).then(
          () => true,
          () => false
        )
      expect(repaired).toBe(true)
      expect((await cl.net.virtualNetworks.get('rg-lro', failed)).provisioningState).toBe('Succeeded')
    } finally {
      await own.stop()
    }
  })

  it('honours --taken-names, and refuses writes of an unregistered provider until it is registered', async () => {
    const own = await startEmulator({
      timeScale: TIME_SCALE,
      unregistered: ['Microsoft.App'],
      takenNames: ['sttaken1']
    })
    try {
      const cl = clientsFor(own)
      await cl.rm.resourceGroups.createOrUpdate('rg-rp', { location: LOCATION })
      const taken = await armError(
        cl.st.storageAccounts.create(
          'rg-rp',
          'sttaken1',
          { sku: { name: 'Standard_LRS' }, kind: 'StorageV2', location: LOCATION },
          lro
        )
      )
      expect(taken).toMatchObject({ statusCode: 409, code: 'StorageAccountAlreadyTaken' })
      const refused = await armError(
        cl.aca.managedEnvironments.createOrUpdate('rg-rp', 'env-rp', { location: LOCATION }, lro)
      )
      expect(refused).toMatchObject({ statusCode: 409, code: 'MissingSubscriptionRegistration' })
      expect(refused.message).toContain("namespace 'Microsoft.App'")
      expect((await cl.rm.providers.get('Microsoft.App')).registrationState).toBe('NotRegistered')
      expect((await cl.rm.providers.register('Microsoft.App')).registrationState).toBe('Registering')
      await until(
        'Microsoft.App registered',
        () => cl.rm.providers.get('Microsoft.App'),
        (p) => p.registrationState === 'Registered'
      )
      const env = await cl.aca.managedEnvironments.createOrUpdate(
        'rg-rp',
        'env-rp',
        { location: LOCATION },
        lro
      )
      expect(env.provisioningState).toBe('Succeeded')
    } finally {
      await own.stop()
    }
  })

  describe('gated rollouts: jobs, Multiple-mode traffic, replicas and log streams', () => {
    const rg = 'rg-rollout'
    let envId: string
    let domain: string

    beforeAll(async () => {
      await c.rm.resourceGroups.createOrUpdate(rg, { location: LOCATION })
      const env = await c.aca.managedEnvironments.createOrUpdate(
        rg,
        'env-rollout',
        { location: LOCATION },
        lro
      )
      envId = env.id ?? ''
      domain = env.defaultDomain ?? ''
    })

    const SECRET =
      'postgresql://mlflow:S3cret-Migration-Pw@pg-mlflow-1.postgres.database.azure.com:5432/mlflow'

    function migrationJob(overrides: Partial<Job> = {}, env: { name: string; value: string }[] = []): Job {
      return {
        location: LOCATION,
        environmentId: envId,
        configuration: {
          triggerType: 'Manual',
          replicaTimeout: 120,
          replicaRetryLimit: 1,
          secrets: [{ name: 'backend-store-uri', value: SECRET }]
        },
        template: {
          containers: [
            {
              name: 'migrate',
              image: image('3.17.2'),
              command: ['/bin/bash', '-c', 'mlflow db upgrade "$MLFLOW_BACKEND_STORE_URI"'],
              env: [{ name: 'MLFLOW_BACKEND_STORE_URI', secretRef: 'backend-store-uri' }, ...env],
              resources: { cpu: 0.5, memory: '1Gi' }
            }
          ]
        },
        ...overrides
      }
    }

    const finished = (rgName: string, job: string, exec: string): Promise<JobExecution> =>
      until(
        `execution ${exec} finished`,
        () => c.aca.jobExecution(rgName, job, exec),
        (e) => e.status !== 'Running',
        20_000
      )

    it('runs a job: create, start, executions, a failing image, a retry limit, a timeout, stop, delete', async () => {
      // The service's rules first.
      expect(await armError(c.aca.jobs.createOrUpdate(rg, 'Job-Migrate', migrationJob(), lro))).toMatchObject(
        { statusCode: 400, code: 'ContainerAppJobInvalidName' }
      )
      const noTrigger = migrationJob()
      noTrigger.configuration = { replicaTimeout: 60 } as Job['configuration']
      expect(await armError(c.aca.jobs.createOrUpdate(rg, 'job-bad', noTrigger, lro))).toMatchObject({
        statusCode: 400,
        code: 'InvalidRequestParameterWithDetails'
      })
      const badRef = migrationJob({}, [])
      badRef.template?.containers?.[0]?.env?.push({ name: 'X', secretRef: 'nope' })
      expect(await armError(c.aca.jobs.createOrUpdate(rg, 'job-bad', badRef, lro))).toMatchObject({
        statusCode: 400,
        code: 'ContainerAppSecretRefNotFound'
      })

      // Create: 201 + Azure-AsyncOperation, InProgress → Succeeded; a second write meanwhile is busy
      // (a create takes 40 ms at this time scale: a loaded machine may miss it once, not thrice).
      let busy: { statusCode?: number; code?: string } | undefined
      for (let i = 0; i < 3 && busy?.statusCode !== 409; i++) {
        const name = `job-busy-${i}`
        const creating = c.aca.jobs.createOrUpdate(rg, name, migrationJob(), lro)
        await creating.submitted()
        busy = await c.aca.jobs.update(rg, name, { tags: { a: 'b' } }, lro).then(
          () => undefined,
          (e: { statusCode?: number; code?: string }) => e
        )
        await creating
        await c.aca.jobs.delete(rg, name, lro)
      }
      expect(busy).toMatchObject({ statusCode: 409, code: 'ContainerAppsJobOperationInProgress' })
      const job = await c.aca.jobs.createOrUpdate(rg, 'job-migrate', migrationJob(), lro)
      expect(job).toMatchObject({
        provisioningState: 'Succeeded',
        type: 'Microsoft.App/jobs',
        location: 'East US'
      })
      expect(job.configuration?.manualTriggerConfig).toEqual({ parallelism: 1, replicaCompletionCount: 1 })
      expect(job.configuration?.secrets).toEqual([{ name: 'backend-store-uri' }])
      expect(job.eventStreamEndpoint).toBe(
        `https://eastus.azurecontainerapps.dev/subscriptions/${emu.subscriptionId}/resourceGroups/${rg}/jobs/job-migrate/eventstream`
      )
      expect(JSON.stringify(job)).not.toContain('S3cret')
      expect((await c.aca.jobs.listSecrets(rg, 'job-migrate')).value).toEqual([
        { name: 'backend-store-uri', value: SECRET }
      ])
      expect((await collect(c.aca.jobs.listByResourceGroup(rg))).map((j) => j.name)).toEqual(['job-migrate'])
      const patched = await c.aca.jobs.update(rg, 'job-migrate', { tags: { stage: 'migrate' } }, lro)
      expect(patched.tags).toEqual({ stage: 'migrate' })
      expect(patched.template?.containers?.[0]?.image).toBe(image('3.17.2'))

      // A run that succeeds.
      const started = await c.aca.jobs.start(rg, 'job-migrate', lro)
      expect(started.name).toMatch(/^job-migrate-[a-z]{7}$/)
      expect(started.id).toBe(`${job.id}/executions/${started.name}`)
      const ok = await finished(rg, 'job-migrate', started.name ?? '')
      expect(ok).toMatchObject({ status: 'Succeeded' })
      expect(ok.endTime!.getTime()).toBeGreaterThanOrEqual(ok.startTime!.getTime())
      expect(ok.template?.containers?.[0]?.image).toBe(image('3.17.2'))
      const replicas = ok.detailedStatus?.replicas ?? []
      expect(replicas).toHaveLength(1)
      expect(replicas[0]?.name).toMatch(new RegExp(`^${started.name}-[a-z0-9]{5}$`))
      expect(replicas[0]?.containers).toEqual([
        { name: 'migrate', code: 0, status: 'Succeeded', additionalInformation: 'Completed' }
      ])

      // Its log, through the proxy, with the environment's token; the secret is masked.
      const { proxy } = await emu.runtimeInfo()
      const logUrl =
        `https://eastus.azurecontainerapps.dev/subscriptions/${emu.subscriptionId}/resourceGroups/${rg}` +
        `/jobs/job-migrate/executions/${started.name}/replicas/${replicas[0]?.name}/containers/migrate/logstream?tailLines=10&follow=false`
      expect((await getViaProxy(emu, proxy, logUrl)).status).toBe(401)
      const envToken = await c.aca.managedEnvironments.getAuthToken(rg, 'env-rollout')
      const log = await getViaProxy(emu, proxy, logUrl, { Authorization: `Bearer ${envToken.token}` })
      expect(log.status).toBe(200)
      expect(log.text).toMatch(
        /^\d{4}-\d\d-\d\dT[\d:.]+Z stand-in job ghcr\.io\/mlflow\/mlflow:v3\.17\.2-full: /m
      )
      expect(log.text).toContain('+ /bin/bash -c mlflow db upgrade "***"')
      expect(log.text).not.toContain('S3cret')

      // An image that does not exist: the revision's reason.
      const pull = await c.aca.jobs.start(rg, 'job-migrate', {
        ...lro,
        template: {
          containers: [{ name: 'migrate', image: image('9.9.9'), resources: { cpu: 0.5, memory: '1Gi' } }]
        }
      })
      const pulled = await finished(rg, 'job-migrate', pull.name ?? '')
      expect(pulled).toMatchObject({
        status: 'Failed',
        reason: 'ImagePullBackOff',
        message: `Failed to pull image "${image('9.9.9')}": manifest unknown`
      })

      // A container that exits 3: re-run once (replicaRetryLimit 1), then the backoff limit.
      const failing = migrationJob({}, [{ name: 'STANDIN_EXIT_CODE', value: '3' }]).template
      const retried = await c.aca.jobs.start(rg, 'job-migrate', { ...lro, template: failing })
      const backoff = await finished(rg, 'job-migrate', retried.name ?? '')
      expect(backoff).toMatchObject({
        status: 'Failed',
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit'
      })
      expect(backoff.detailedStatus?.replicas?.map((r) => r.containers?.[0]?.code)).toEqual([3, 3])

      // Stop a long run.
      const slow = migrationJob({}, [{ name: 'STANDIN_RUN_MS', value: '30000' }]).template
      const long = await c.aca.jobs.start(rg, 'job-migrate', { ...lro, template: slow })
      await until(
        'long run running',
        () => c.aca.jobExecution(rg, 'job-migrate', long.name ?? ''),
        (e) => e.detailedStatus?.replicas?.[0]?.containers?.[0]?.status === 'Running'
      )
      await c.aca.jobs.stopExecution(rg, 'job-migrate', long.name ?? '', lro)
      expect((await c.aca.jobExecution(rg, 'job-migrate', long.name ?? '')).status).toBe('Stopped')

      const all = await collect(c.aca.jobsExecutions.list(rg, 'job-migrate'))
      expect(all.map((e) => e.name).sort()).toEqual(
        [started.name, pull.name, retried.name, long.name].map(String).sort()
      )

      // replicaTimeout (real seconds): the replica is killed and the execution fails at once.
      await c.aca.jobs.createOrUpdate(
        rg,
        'job-timeout',
        migrationJob(
          {
            configuration: {
              triggerType: 'Manual',
              replicaTimeout: 1,
              replicaRetryLimit: 3,
              secrets: [{ name: 'backend-store-uri', value: SECRET }]
            }
          },
          [{ name: 'STANDIN_RUN_MS', value: '10000' }]
        ),
        lro
      )
      const timed = await c.aca.jobs.start(rg, 'job-timeout', lro)
      expect(await finished(rg, 'job-timeout', timed.name ?? '')).toMatchObject({
        status: 'Failed',
        reason: 'DeadlineExceeded'
      })

      await c.aca.jobs.delete(rg, 'job-timeout', lro)
      expect(await armError(c.aca.jobs.get(rg, 'job-timeout'))).toMatchObject({
        statusCode: 404,
        code: 'ResourceNotFound'
      })
    }, 60_000)

    it('starts an execution with a template override of the command, args and env', async () => {
      await c.aca.jobs.createOrUpdate(rg, 'job-override', migrationJob(), lro)
      const override = {
        containers: [
          {
            name: 'migrate',
            image: image('3.17.2'),
            command: ['python', '-c'],
            args: ['print("dropping role pr_42")'],
            env: [
              { name: 'MLFLOW_BACKEND_STORE_URI', secretRef: 'backend-store-uri' },
              { name: 'MLFLOW_PR_DATABASE_ACTION', value: 'drop' }
            ],
            resources: { cpu: 0.5, memory: '1Gi' }
          }
        ]
      }
      const started = await c.aca.jobs.start(rg, 'job-override', { ...lro, template: override })
      const done = await finished(rg, 'job-override', started.name ?? '')
      expect(done.status).toBe('Succeeded')
      // The execution ran the override, not the job's template; the job itself is unchanged.
      const ran = done.template?.containers?.[0]
      expect(ran?.command).toEqual(['python', '-c'])
      expect(ran?.args).toEqual(['print("dropping role pr_42")'])
      expect(ran?.env).toContainEqual({ name: 'MLFLOW_PR_DATABASE_ACTION', value: 'drop' })
      const job = await c.aca.jobs.get(rg, 'job-override')
      expect(job.template?.containers?.[0]?.command).toEqual([
        '/bin/bash',
        '-c',
        'mlflow db upgrade "$MLFLOW_BACKEND_STORE_URI"'
      ])
      const replica = done.detailedStatus?.replicas?.[0]?.name ?? ''
      const { proxy } = await emu.runtimeInfo()
      const envToken = await c.aca.managedEnvironments.getAuthToken(rg, 'env-rollout')
      const log = await getViaProxy(
        emu,
        proxy,
        `https://eastus.azurecontainerapps.dev/subscriptions/${emu.subscriptionId}/resourceGroups/${rg}` +
          `/jobs/job-override/executions/${started.name}/replicas/${replica}/containers/migrate/logstream?tailLines=20&follow=false`,
        { Authorization: `Bearer ${envToken.token}` }
      )
      expect(log.text).toContain('+ python -c print("dropping role pr_42")')
      // An override naming a secret the job does not have is refused.
      const unknownSecret = {
        containers: [{ ...override.containers[0]!, env: [{ name: 'X', secretRef: 'nope' }] }]
      }
      expect(
        await armError(c.aca.jobs.start(rg, 'job-override', { ...lro, template: unknownSecret }))
      ).toMatchObject({ statusCode: 400, code: 'ContainerAppSecretRefNotFound' })
      await c.aca.jobs.delete(rg, 'job-override', lro)
    }, 30_000)

    const revTemplate = (suffix: string, env: { name: string; value: string }[] = []) => ({
      revisionSuffix: suffix,
      containers: [{ name: 'mlflow', image: image('3.17.2'), env, resources: { cpu: 0.5, memory: '1Gi' } }],
      scale: { minReplicas: 1, maxReplicas: 1 }
    })

    const revision = (name: string): Promise<Revision> =>
      c.aca.containerAppsRevisions.getRevision(rg, 'app-gated', name)

    it('Multiple mode: a new revision at 0 %, its own FQDN, a traffic move that drops nothing, deactivate, refusals', async () => {
      const ingress = { external: true, targetPort: 5000 }
      await c.aca.containerApps.createOrUpdate(
        rg,
        'app-gated',
        {
          location: LOCATION,
          environmentId: envId,
          configuration: {
            activeRevisionsMode: 'Multiple',
            ingress: { ...ingress, traffic: [{ revisionName: 'app-gated--v1', weight: 100 }] }
          },
          template: revTemplate('v1')
        },
        lro
      )
      await until(
        'v1 running',
        () => revision('app-gated--v1'),
        (r) => r.runningState === 'Running'
      )
      const { ingress: ingressUrl } = await emu.runtimeInfo()
      const appHost = `app-gated.${domain}`
      const who = async (host: string, path = '/'): Promise<string> => {
        const reply = await send(emu, ingressUrl, host, path)
        return reply.status === 200
          ? ((JSON.parse(reply.text) as { revision: string }).revision ?? '')
          : String(reply.status)
      }
      expect(await who(appHost)).toBe('app-gated--v1')

      // v2 arrives with 0 %: it runs and answers at its own FQDN, the app's stays on v1.
      const withV2 = await c.aca.containerApps.update(
        rg,
        'app-gated',
        {
          location: LOCATION,
          configuration: {
            activeRevisionsMode: 'Multiple',
            ingress: {
              ...ingress,
              traffic: [
                { revisionName: 'app-gated--v1', weight: 100 },
                { revisionName: 'app-gated--v2', weight: 0 }
              ]
            }
          },
          template: revTemplate('v2')
        },
        lro
      )
      expect(withV2.latestRevisionName).toBe('app-gated--v2')
      const v2 = await until(
        'v2 running',
        () => revision('app-gated--v2'),
        (r) => r.runningState === 'Running'
      )
      expect(v2).toMatchObject({ active: true, trafficWeight: 0, fqdn: `app-gated--v2.${domain}` })
      expect((await revision('app-gated--v1')).trafficWeight).toBe(100)
      expect(await who(`app-gated--v2.${domain}`)).toBe('app-gated--v2')
      for (let i = 0; i < 5; i++) expect(await who(appHost)).toBe('app-gated--v1')

      // Refused weights, each with its own code; nothing changes.
      const traffic = (t: { revisionName: string; weight: number }[]) => ({
        location: LOCATION,
        configuration: { activeRevisionsMode: 'Multiple' as const, ingress: { ...ingress, traffic: t } }
      })
      const refusals = [
        [
          [
            { revisionName: 'app-gated--v1', weight: 50 },
            { revisionName: 'app-gated--v2', weight: 40 }
          ],
          'ContainerAppInvalidTrafficWeightSum'
        ],
        [
          [
            { revisionName: 'app-gated--v1', weight: 150 },
            { revisionName: 'app-gated--v2', weight: -50 }
          ],
          'ContainerAppInvalidTrafficWeight'
        ],
        [
          [
            { revisionName: 'app-gated--v1', weight: 50.5 },
            { revisionName: 'app-gated--v2', weight: 49.5 }
          ],
          'ContainerAppInvalidTrafficWeight'
        ],
        [[{ revisionName: 'app-gated--nope', weight: 100 }], 'ContainerAppTrafficRevisionNotFound'],
        [[{ revisionName: 'app-gated--BAD', weight: 100 }], 'ContainerAppInvalidRevisionName']
      ] as const
      for (const [weights, code] of refusals) {
        expect(
          await armError(c.aca.containerApps.update(rg, 'app-gated', traffic([...weights]), lro))
        ).toMatchObject({ statusCode: 400, code })
      }

      // Move all traffic to v2 while a slow request is in flight to v1: it finishes on v1.
      const inFlight = send(emu, ingressUrl, appHost, '/delay/800')
      await sleep(100)
      await c.aca.containerApps.update(
        rg,
        'app-gated',
        traffic([
          { revisionName: 'app-gated--v1', weight: 0 },
          { revisionName: 'app-gated--v2', weight: 100 }
        ]),
        lro
      )
      expect((await collect(c.aca.containerAppsRevisions.listRevisions(rg, 'app-gated'))).length).toBe(2)
      for (let i = 0; i < 5; i++) expect(await who(appHost)).toBe('app-gated--v2')

      // v2 has the traffic: it cannot be deactivated; v1 can, and stops after its request ended.
      expect(
        await armError(c.aca.containerAppsRevisions.deactivateRevision(rg, 'app-gated', 'app-gated--v2'))
      ).toMatchObject({ statusCode: 400, code: 'ContainerAppRevisionHasTraffic' })
      await c.aca.containerAppsRevisions.deactivateRevision(rg, 'app-gated', 'app-gated--v1')
      const draining = await revision('app-gated--v1')
      expect(draining).toMatchObject({ active: false, trafficWeight: 0, runningState: 'Deprovisioning' })
      const slowReply = await inFlight
      expect(slowReply).toMatchObject({ status: 200, text: 'app-gated--v1 after 800 ms' })
      await until(
        'v1 stopped',
        () => revision('app-gated--v1'),
        (r) => r.runningState === 'Stopped'
      )
      expect((await send(emu, ingressUrl, `app-gated--v1.${domain}`, '/')).status).toBe(503)
      expect(
        await armError(
          c.aca.containerApps.update(
            rg,
            'app-gated',
            traffic([
              { revisionName: 'app-gated--v1', weight: 10 },
              { revisionName: 'app-gated--v2', weight: 90 }
            ]),
            lro
          )
        )
      ).toMatchObject({ statusCode: 400, code: 'ContainerAppTrafficRevisionNotActive' })

      // Activate brings it back (Activating → Running), still at 0 %.
      await c.aca.containerAppsRevisions.activateRevision(rg, 'app-gated', 'app-gated--v1')
      await until(
        'v1 running again',
        () => revision('app-gated--v1'),
        (r) => r.runningState === 'Running'
      )
      expect(await who(`app-gated--v1.${domain}`)).toBe('app-gated--v1')
      expect((await revision('app-gated--v1')).trafficWeight).toBe(0)
    }, 60_000)

    it('lists replicas, hands out tokens and serves the replica log stream through the proxy', async () => {
      const replicas: Replica[] = await c.aca.containerAppsRevisionReplicas
        .listReplicas(rg, 'app-gated', 'app-gated--v2')
        .then((r) => r.value)
      expect(replicas).toHaveLength(1)
      const replica = replicas[0]!
      expect(replica.name).toMatch(/^app-gated--v2-[0-9a-f]{10}-[a-z0-9]{5}$/)
      expect(replica.runningState).toBe('Running')
      const container = replica.containers?.[0]
      expect(container).toMatchObject({
        name: 'mlflow',
        ready: true,
        started: true,
        restartCount: 0,
        runningState: 'Running'
      })
      const app = await c.aca.containerApps.get(rg, 'app-gated')
      const base = `https://eastus.azurecontainerapps.dev/subscriptions/${emu.subscriptionId}/resourceGroups/${rg}/containerApps/app-gated`
      expect(app.eventStreamEndpoint?.startsWith('https://eastus.azurecontainerapps.dev/')).toBe(true)
      expect(container?.logStreamEndpoint).toBe(
        `${base}/revisions/app-gated--v2/replicas/${replica.name}/containers/mlflow/logstream`
      )
      expect(
        await c.aca.containerAppsRevisionReplicas.getReplica(rg, 'app-gated', 'app-gated--v2', replica.name!)
      ).toMatchObject({
        name: replica.name,
        runningState: 'Running'
      })

      const token = await c.aca.containerApps.getAuthToken(rg, 'app-gated')
      expect(token.token).toMatch(/^[\w-]{20,}$/)
      const expiresIn = (token.expires?.getTime() ?? 0) - Date.now()
      expect(expiresIn).toBeGreaterThan(50 * 60_000)
      expect(expiresIn).toBeLessThanOrEqual(60 * 60_000)

      const { proxy } = await emu.runtimeInfo()
      const endpoint = container?.logStreamEndpoint ?? ''
      expect((await getViaProxy(emu, proxy, `${endpoint}?tailLines=5&follow=false`)).status).toBe(401)
      expect(
        (
          await getViaProxy(emu, proxy, `${endpoint}?tailLines=5&follow=false`, {
            Authorization: 'Bearer nope'
          })
        ).status
      ).toBe(401)
      const auth = { Authorization: `Bearer ${token.token}` }
      const all = await getViaProxy(emu, proxy, `${endpoint}?tailLines=300&follow=false`, auth)
      expect(all.status).toBe(200)
      const lines = all.text.trim().split('\n')
      expect(lines[0]).toMatch(
        /^\d{4}-\d\d-\d\dT[\d:.]+Z stand-in ghcr\.io\/mlflow\/mlflow:v3\.17\.2-full listening at /
      )
      expect(lines.some((l) => / GET \/ 200$/.test(l))).toBe(true)
      const last = await getViaProxy(emu, proxy, `${endpoint}?tailLines=1&follow=false`, auth)
      expect(last.text.trim().split('\n')).toEqual([lines.at(-1)])
      const json = await getViaProxy(emu, proxy, `${endpoint}?tailLines=2&follow=false&output=json`, auth)
      const parsed = json.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { TimeStamp: string; Log: string })
      expect(parsed).toHaveLength(2)
      expect(Object.keys(parsed[0]!)).toEqual(['TimeStamp', 'Log'])
      expect(
        (await getViaProxy(emu, proxy, `${endpoint.replace('eastus.', 'westus.')}?tailLines=1`, auth)).status
      ).toBe(404)
    })

    it('restarts a container that crashes after it was healthy, with backoff: a crash loop', async () => {
      await c.aca.containerApps.createOrUpdate(
        rg,
        'app-crash',
        {
          location: LOCATION,
          environmentId: envId,
          configuration: { activeRevisionsMode: 'Multiple', ingress: { external: true, targetPort: 5000 } },
          template: revTemplate('c1', [{ name: 'STANDIN_CRASH_AFTER_MS', value: '150' }])
        },
        lro
      )
      const looping = await until(
        'two restarts',
        () => c.aca.containerAppsRevisionReplicas.listReplicas(rg, 'app-crash', 'app-crash--c1'),
        (r) => (r.value[0]?.containers?.[0]?.restartCount ?? 0) >= 2,
        20_000
      )
      expect(looping.value).toHaveLength(1)
      const rev = await c.aca.containerAppsRevisions.getRevision(rg, 'app-crash', 'app-crash--c1')
      expect(rev).toMatchObject({
        runningState: 'Degraded',
        healthState: 'Unhealthy',
        provisioningState: 'Provisioned'
      })
      const token = await c.aca.containerApps.getAuthToken(rg, 'app-crash')
      const { proxy } = await emu.runtimeInfo()
      const log = await getViaProxy(
        emu,
        proxy,
        `${looping.value[0]?.containers?.[0]?.logStreamEndpoint}?tailLines=300&follow=false`,
        { Authorization: `Bearer ${token.token}` }
      )
      expect(log.text.match(/crashing as asked/g)?.length ?? 0).toBeGreaterThanOrEqual(2)
    }, 30_000)
  })

  describe('listings, server parameters and blob container metadata', () => {
    const rg = 'rg-lists'

    beforeAll(async () => {
      await c.rm.resourceGroups.createOrUpdate(rg, { location: LOCATION })
      await c.rm.resourceGroups.createOrUpdate('rg-lists-empty', { location: LOCATION })
    })

    it('lists container apps and jobs by resource group, databases by server, containers by account', async () => {
      const env = await c.aca.managedEnvironments.createOrUpdate(rg, 'env-lists', { location: LOCATION }, lro)
      for (const name of ['app-b', 'app-a']) {
        await c.aca.containerApps.createOrUpdate(
          rg,
          name,
          {
            location: LOCATION,
            environmentId: env.id,
            configuration: { secrets: [{ name: 'backend-store-uri', value: 'postgresql://x@y/z' }] },
            template: appTemplate('3.17.2', 'v1')
          },
          lro
        )
      }
      const apps = await collect(c.aca.containerApps.listByResourceGroup(rg))
      expect(apps.map((a) => a.name).sort()).toEqual(['app-a', 'app-b'])
      expect(
        apps.every((a) => a.provisioningState === 'Succeeded' && a.type === 'Microsoft.App/containerApps')
      ).toBe(true)
      // Another group's list is its own; a group that does not exist answers 404.
      expect(await collect(c.aca.containerApps.listByResourceGroup('rg-lists-empty'))).toEqual([])
      expect(await armError(collect(c.aca.containerApps.listByResourceGroup('rg-lists-nope')))).toMatchObject(
        {
          statusCode: 404
        }
      )
      await c.aca.jobs.createOrUpdate(
        rg,
        'job-lists',
        {
          location: LOCATION,
          environmentId: env.id,
          configuration: { triggerType: 'Manual', replicaTimeout: 60 },
          template: {
            containers: [{ name: 'j', image: image('3.17.2'), resources: { cpu: 0.5, memory: '1Gi' } }]
          }
        },
        lro
      )
      expect((await collect(c.aca.jobs.listByResourceGroup(rg))).map((j) => j.name)).toEqual(['job-lists'])

      await c.pg.servers.beginCreateOrUpdateAndWait(
        rg,
        'pg-lists-1',
        {
          location: LOCATION,
          sku: { name: 'Standard_B1ms', tier: 'Burstable' },
          administratorLogin: 'mlflowadmin',
          administratorLoginPassword: 'Str0ng-Passw0rd!',
          version: '16',
          storage: { storageSizeGB: 32 }
        },
        lro
      )
      for (const db of ['mlflow', 'mlflow_pr_7']) {
        await c.pg.databases.beginCreateAndWait(rg, 'pg-lists-1', db, { charset: 'UTF8' }, lro)
      }
      const dbs = await collect(c.pg.databases.listByServer(rg, 'pg-lists-1'))
      expect(dbs.map((d) => d.name).sort()).toEqual(['mlflow', 'mlflow_pr_7'])
      expect(dbs[0]?.type).toBe('Microsoft.DBforPostgreSQL/flexibleServers/databases')

      await c.st.storageAccounts.create(
        rg,
        'stlists1',
        { sku: { name: 'Standard_LRS' }, kind: 'StorageV2', location: LOCATION },
        lro
      )
      await c.st.blobContainers.create(rg, 'stlists1', 'mlflow', { publicAccess: 'None' })
      await c.st.blobContainers.create(rg, 'stlists1', 'mlflow-pr-7', {
        publicAccess: 'None',
        metadata: { mlflow_pr: '7', mlflow_pr_expires: '2026-12-01T00:00:00Z' }
      })
      const containers = await collect(c.st.blobContainers.list(rg, 'stlists1'))
      expect(containers.map((x) => [x.name, x.metadata])).toEqual([
        ['mlflow', undefined],
        ['mlflow-pr-7', { mlflow_pr: '7', mlflow_pr_expires: '2026-12-01T00:00:00Z' }]
      ])
    }, 60_000)

    it('stores blob container metadata on both planes and refuses what the Blob service refuses', async () => {
      const account = 'stlists1'
      const meta = { mlflow_pr: '8', mlflow_pr_repository: 'octo/mlflow-infra', _Owner2: 'ci' }
      const put = await c.st.blobContainers.create(rg, account, 'mlflow-pr-8', { metadata: meta })
      expect(put.metadata).toEqual(meta)
      expect((await c.st.blobContainers.get(rg, account, 'mlflow-pr-8')).metadata).toEqual(meta)
      const patched = await c.st.blobContainers.update(rg, account, 'mlflow-pr-8', {
        metadata: { ...meta, mlflow_pr_expires: '2026-12-02T00:00:00Z' }
      })
      expect(patched.metadata).toMatchObject({ mlflow_pr_expires: '2026-12-02T00:00:00Z' })

      // The data plane sees the same container metadata.
      const { blob } = await emu.runtimeInfo()
      const keys = (await c.st.storageAccounts.listKeys(rg, account)).keys ?? []
      const dataPlane = new BlobServiceClient(
        `${blob?.endpoint}/${account}`,
        new StorageSharedKeyCredential(account, keys[0]?.value ?? '')
      ).getContainerClient('mlflow-pr-8')
      expect((await dataPlane.getProperties()).metadata).toMatchObject({
        mlflow_pr: '8',
        mlflow_pr_expires: '2026-12-02T00:00:00Z'
      })

      const refused: Record<string, string>[] = [
        { 'mlflow-pr': '9' },
        { '9lives': 'x' },
        { 'mlflow.pr': 'x' },
        { class: 'x' },
        { Owner: 'a', owner: 'b' },
        { note: 'caf\u00e9' }
      ]
      for (const bad of refused) {
        expect(
          await armError(c.st.blobContainers.create(rg, account, 'mlflow-pr-9', { metadata: bad }))
        ).toMatchObject({ statusCode: 400, code: 'InvalidMetadata' })
      }
      expect(
        await armError(
          c.st.blobContainers.create(rg, account, 'mlflow-pr-9', { metadata: { big: 'x'.repeat(8 * 1024) } })
        )
      ).toMatchObject({ statusCode: 400, code: 'MetadataTooLarge' })
      expect(await armError(c.st.blobContainers.get(rg, account, 'mlflow-pr-9'))).toMatchObject({
        statusCode: 404
      })
    })

    it('answers server parameters through ARM: max_connections by compute, fixed at creation', async () => {
      const server = 'pg-lists-2'
      await c.pg.servers.beginCreateOrUpdateAndWait(
        rg,
        server,
        {
          location: LOCATION,
          sku: { name: 'Standard_D2ds_v5', tier: 'GeneralPurpose' },
          administratorLogin: 'mlflowadmin',
          administratorLoginPassword: 'Str0ng-Passw0rd!',
          version: '16',
          storage: { storageSizeGB: 32 }
        },
        lro
      )
      const max = await c.pg.configurations.get(rg, server, 'max_connections')
      expect(max).toMatchObject({
        id: `/subscriptions/${emu.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${server}/configurations/max_connections`,
        value: '859',
        defaultValue: '859',
        dataType: 'Integer',
        allowedValues: '25-5000',
        source: 'system-default',
        isReadOnly: false,
        isDynamicConfig: false,
        isConfigPendingRestart: false,
        documentationLink:
          'https://www.postgresql.org/docs/16/runtime-config-connection.html#GUC-MAX-CONNECTIONS'
      })
      // A later compute leaves max_connections as it was (concepts-limits).
      await c.pg.servers.beginUpdateAndWait(
        rg,
        server,
        { sku: { name: 'Standard_D4ds_v5', tier: 'GeneralPurpose' } },
        lro
      )
      expect((await c.pg.configurations.get(rg, server, 'max_connections')).value).toBe('859')
      expect((await c.pg.configurations.get(rg, 'pg-lists-1', 'MAX_CONNECTIONS')).value).toBe('50')
      const names = (await collect(c.pg.configurations.listByServer(rg, server))).map((x) => x.name)
      expect(names).toEqual(
        expect.arrayContaining(['max_connections', 'superuser_reserved_connections', 'reserved_connections'])
      )
      expect(await armError(c.pg.configurations.get(rg, server, 'connection_throttle.enable'))).toMatchObject(
        {
          statusCode: 404,
          code: 'ConfigurationNotExists',
          message: `The configuration 'connection_throttle.enable' does not exist for ${server} server version 16.`
        }
      )
      expect(await armError(c.pg.configurations.get(rg, 'pg-nope', 'max_connections'))).toMatchObject({
        statusCode: 404
      })
      // Writes are not emulated: refused, never silently taken.
      expect(
        await armError(
          c.pg.configurations.beginPutAndWait(rg, server, 'max_connections', { value: '100' }, lro)
        )
      ).toMatchObject({ statusCode: 405 })
      // The admin login may not be a name the service keeps for itself.
      for (const login of ['azure_pg_admin', 'azuresu', 'pg_admin', 'Admin']) {
        expect(
          await armError(
            c.pg.servers.beginCreateOrUpdateAndWait(
              rg,
              'pg-lists-3',
              {
                location: LOCATION,
                sku: { name: 'Standard_B1ms', tier: 'Burstable' },
                administratorLogin: login,
                administratorLoginPassword: 'Str0ng-Passw0rd!',
                version: '16',
                storage: { storageSizeGB: 32 }
              },
              lro
            )
          )
        ).toMatchObject({ statusCode: 400, code: 'InvalidParameterValue' })
      }
    }, 60_000)
  })
})
