/**
 * Entry point: `node .build/emulator/main.js --state DIR [...]` (see cli.ts). Prints exactly one
 * JSON line on stdout once ready — endpoint, CA path, subscription and the environment the action
 * needs — and runs until SIGTERM/SIGINT. Everything else goes to stderr.
 */
import { AmlEndpoint } from './amlEndpoint.js'
import { appRoutes, domainOf, routeFor } from './appRoutes.js'
import { BlobBackend } from './backends/blob.js'
import { BlobFrontDoor, BLOB_HOST } from './blobFrontDoor.js'
import { storageGate } from './blobGate.js'
import {
  bearerCheck,
  deployer,
  IdentityEndpoint,
  identityHeader,
  issueToken,
  STORAGE_AUDIENCE
} from './identity.js'
import type { Backends } from './backends/index.js'
import { PostgresBackend } from './backends/postgres.js'
import { parseArgs } from './cli.js'
import { Views, type EmulatorContext } from './context.js'
import { FaultInjector } from './faults.js'
import { InFlightRequests } from './inflight.js'
import { Ingress } from './ingress.js'
import type { JsonObject } from './json.js'
import { Latency } from './latency.js'
import { listenOnPreferredPort } from './listen.js'
import { LroManager } from './lro.js'
import {
  ConnectionOrigins,
  ENVIRONMENT_TYPE,
  environmentAddress,
  environmentProxyUrl,
  originOfProxyAuthorization,
  resolvesFor
} from './networkRules.js'
import { ConnectProxy } from './proxy.js'
import { isStreamHost } from './logStream.js'
import { IdFactory, randomToken, seededSubscriptionId, tenantOf } from './random.js'
import { RequestLog } from './requestLog.js'
import { registerResources } from './resources/index.js'
import { resumePostgres } from './resources/postgresServers.js'
import { accountByName, resumeBlob } from './resources/storageAccounts.js'
import { Propagation } from './propagation.js'
import { Router } from './router.js'
import { createRuntime } from './runtime/createRuntime.js'
import { defaultVenvRoot, MlflowAdapter } from './runtime/mlflowAdapter.js'
import { ArmServer } from './server.js'
import { Store } from './store.js'
import { armTls, CertificateAuthority } from './tls.js'

async function main(): Promise<void> {
  const config = parseArgs(process.argv.slice(2))
  const store = Store.open(config.stateDir, () => ({
    subscriptionId: seededSubscriptionId(config.seed),
    token: randomToken()
  }))
  const ca = CertificateAuthority.open(config.stateDir)
  const tls = armTls(ca)
  const bundlePath = ca.bundle()
  const latency = new Latency(config.timeScale)
  const ids = new IdFactory(config.seed, store)
  const views = new Views(store)
  const lro = new LroManager(store, ids, (id) => views.get(id))
  // Blob storage runs with every runtime (the action's own lock and the stand-in's artifacts use
  // it); PostgreSQL only where a real MLflow needs it.
  const backends: Backends = {
    blob: new BlobBackend(config.stateDir),
    ...(config.runtime === 'mlflow' ? { postgres: new PostgresBackend(config.stateDir, ca) } : {})
  }
  const blobReach: { proxy?: string; bundle: string; ca: string } = { bundle: bundlePath, ca: ca.certPath }
  // A replica's proxy carries its environment's credentials: what makes its requests come from
  // inside that environment (networkRules.ts).
  const runtime = createRuntime(config.runtime, latency, {
    stateDir: config.stateDir,
    backends,
    crashImages: config.crashImages,
    reach: (environmentId) => ({
      proxy:
        environmentId && blobReach.proxy
          ? environmentProxyUrl({ store }, blobReach.proxy, environmentId)
          : (blobReach.proxy ?? ''),
      caBundle: blobReach.bundle,
      caCert: blobReach.ca
    })
  })
  const ctx: EmulatorContext = {
    config,
    store,
    lro,
    latency,
    ids,
    views,
    runtime,
    backends,
    inFlight: new InFlightRequests(),
    propagation: new Propagation(config.seed, store, config.timeScale, config.propagation),
    now: () => Date.now()
  }

  const router = new Router()
  const { providers, revisions, jobs } = registerResources(ctx, router)
  providers.seedUnregistered(store.state.subscriptionId, config.unregistered)

  // The services behind the resources come back before anything completes or starts: a revision
  // resumed below must find its database and blob store.
  if (backends.blob) {
    store.state.blobPort = await backends.blob.start(store.state.blobPort)
    await resumeBlob(ctx)
  }
  await resumePostgres(ctx)

  const blob = backends.blob
  const frontDoor = blob
    ? new BlobFrontDoor(
        ca,
        () => blob.listeningPort,
        storageGate(ctx, bearerCheck(ctx)),
        () => blob.flush()
      )
    : undefined
  if (frontDoor) {
    store.state.blobFrontDoorPort = await listenOnPreferredPort(
      'blob front door',
      (p) => frontDoor.listen(p),
      undefined,
      store.state.blobFrontDoorPort
    )
  }

  const identity = new IdentityEndpoint(ctx)
  store.state.identityPort = await listenOnPreferredPort(
    'identity endpoint',
    (p) => identity.listen(p),
    undefined,
    store.state.identityPort
  )

  // Azure Machine Learning workspaces' MLflow endpoint (`<region>.api.azureml.ms`, amlEndpoint.ts):
  // a real `mlflow server` per workspace from the venv the mlflow runtime uses for that release.
  const mlflowVenvs = new MlflowAdapter({ stateDir: config.stateDir, venvRoot: defaultVenvRoot() })
  const aml = new AmlEndpoint(ctx, ca, {
    stateDir: config.stateDir,
    venv: (version) => mlflowVenvs.serverVenv(version)
  })
  await aml.listen(0)

  const origins = new ConnectionOrigins()
  const ingress = new Ingress(ctx, ca, tls, origins)
  store.state.ingressPort = await listenOnPreferredPort(
    'ingress',
    (p) => ingress.listen(p),
    undefined,
    store.state.ingressPort
  )
  const proxy = new ConnectProxy({
    isAppHost: (host) =>
      isStreamHost(host) || domainOf(ctx, host) !== undefined || routeFor(ctx, host) !== undefined,
    ingressPort: () => ingress.listeningPort,
    originOf: (authorization) => originOfProxyAuthorization(ctx, authorization),
    resolves: (host, origin) => {
      const domain = domainOf(ctx, host)
      return domain === undefined || resolvesFor(ctx, host, domain, origin)
    },
    origins,
    serviceHost: (host) => {
      const amlHost = aml.serviceHost(host)
      if (amlHost !== undefined) return amlHost
      const account = BLOB_HOST.exec(host)?.[1]
      if (!account || !frontDoor) return undefined
      return accountByName(ctx, account) ? frontDoor.listeningPort : 'unresolvable'
    }
  })
  store.state.proxyPort = await listenOnPreferredPort(
    'proxy',
    (p) => proxy.listen(p),
    undefined,
    store.state.proxyPort
  )
  blobReach.proxy = proxy.url

  const runtimeInfo = (): JsonObject => {
    const apps: JsonObject = {}
    for (const r of appRoutes(ctx))
      if (r.url) apps[r.fqdn] = { app: r.app, revision: r.revision ?? '', url: r.url }
    return {
      ingress: ingress.url,
      proxy: proxy.url,
      blob: backends.blob
        ? { endpoint: backends.blob.endpoint, ...(frontDoor ? { frontDoor: frontDoor.url } : {}) }
        : null,
      postgres: Object.fromEntries(
        Object.entries(backends.postgres?.info() ?? {}).map(([name, a]) => [
          name,
          { host: a.host, port: a.port }
        ])
      ),
      apps,
      // Test-only: how to be a replica of each environment (its proxy URL) and where it appears from.
      environments: Object.fromEntries(
        ctx.store
          .byType(ENVIRONMENT_TYPE)
          .map((env) => [
            env.id,
            { proxy: environmentProxyUrl(ctx, proxy.url, env.id), address: environmentAddress(ctx, env.id) }
          ])
      ),
      clientIp: config.clientIp
    }
  }

  const log = new RequestLog(config.stateDir)
  const faults = new FaultInjector(config.faults, config.seed)
  faults.prime(log.all())
  const server = new ArmServer({
    ctx,
    router,
    log,
    faults,
    providers,
    tls,
    token: store.state.token,
    runtimeInfo
  })

  lro.setAfterChange(() => store.commit())
  revisions.setAfterChange(() => store.commit())
  jobs.setAfterChange(() => store.commit())
  lro.settle()
  lro.resume()
  revisions.resume()
  jobs.resume()
  store.state.port = await listenOnPreferredPort(
    'ARM',
    (p) => server.listen(p),
    config.port,
    store.state.port
  )
  store.commit()

  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    lro.stopTimers()
    await runtime.stopAll()
    await Promise.all([ingress.close(), proxy.close(), frontDoor?.close(), identity.close(), aml.close()])
    await backends.postgres?.stopAll()
    await backends.blob?.stop()
    store.commit()
    await server.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop())
  process.on('SIGINT', () => void stop())

  const endpoint = server.endpoint
  const noProxy = '127.0.0.1,localhost'
  const who = deployer(ctx)
  const ready = {
    endpoint,
    caCertPath: ca.certPath,
    subscriptionId: store.state.subscriptionId,
    // The principal that runs the action: give it a data role to reach blobs with a token.
    deployer: {
      principalId: who.principalId,
      clientId: who.clientId,
      tenantId: tenantOf(store.state.subscriptionId),
      identityEndpoint: identity.url,
      identityHeader: identityHeader(ctx, 'deployer')
    },
    env: {
      NODE_EXTRA_CA_CERTS: ca.certPath,
      'INPUT_ARM-ENDPOINT': endpoint,
      'INPUT_SUBSCRIPTION-ID': store.state.subscriptionId,
      AZURE_ACCESS_TOKEN: store.state.token,
      'INPUT_POLL-INTERVAL': String(latency.pollIntervalSeconds()),
      HTTPS_PROXY: proxy.url,
      https_proxy: proxy.url,
      NO_PROXY: noProxy,
      no_proxy: noProxy,
      NODE_USE_ENV_PROXY: '1',
      REQUESTS_CA_BUNDLE: bundlePath,
      SSL_CERT_FILE: bundlePath,
      // A Storage token for the deploying principal (24 h), as AZURE_ACCESS_TOKEN is for ARM.
      AZURE_STORAGE_ACCESS_TOKEN: issueToken(ctx, who, STORAGE_AUDIENCE).token,
      AZURE_DEPLOYER_PRINCIPAL_ID: who.principalId
    }
  }
  process.stdout.write(`${JSON.stringify(ready)}\n`)
  process.stderr.write(
    `[emulator] ready on ${endpoint} (state ${config.stateDir}, time scale ${config.timeScale}, ` +
      `runtime ${config.runtime}, ingress ${ingress.url}, proxy ${proxy.url}` +
      `${backends.blob ? `, blob ${backends.blob.endpoint}` : ''}` +
      `${frontDoor ? `, blob front door ${frontDoor.url}` : ''})\n`
  )
}

main().catch((err: unknown) => {
  process.stderr.write(`[emulator] ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
