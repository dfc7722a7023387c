/**
 * The Azure port on the `@azure/arm-*` clients: one handler per resource kind plus the extra
 * operations, every call wrapped in the action-level retry (`withRetry`), which adds to the SDK
 * pipeline's own retries only what the pipeline does not retry.
 */
import { identityHandler } from './identities.js'
import { roleAssignmentHandler } from './roleAssignments.js'
import { lockBlob, probeKey } from './blobData.js'
import type { TokenCredential } from '@azure/identity'
import type { ResourceKind } from '../stack/specs.js'
import { blobContainerHandler, listBlobContainers } from './blobContainers.js'
import { clamp, createClients, DEFAULT_ARM_ENDPOINT, DEFAULT_TOKEN_SCOPE } from './clients.js'
import type { AzureClients } from './clients.js'
import {
  containerAppHandler,
  getRevision,
  listContainerApps,
  listRevisions,
  patchConfiguration,
  detachIdentity,
  patchTags,
  patchTraffic,
  revisionLogs,
  setRevisionActive
} from './containerApps.js'
import { getJobExecution, jobExecutionLogs, jobHandler, listJobSecrets, listJobs, startJob } from './jobs.js'
import { getSharedKey, logAnalyticsHandler } from './logAnalytics.js'
import { managedEnvironmentHandler } from './managedEnvironments.js'
import type { AzurePort, Handlers, Observed, ResourceAddress, ResourceHandler } from './port.js'
import { listDatabases, postgresDatabaseHandler } from './postgresDatabases.js'
import { getMaxConnections, getRestoreWindow, postgresServerHandler, setPassword } from './postgresServers.js'
import { privateDnsLinkHandler } from './privateDnsLinks.js'
import { privateDnsZoneHandler } from './privateDnsZones.js'
import { listPermissions } from './permissions.js'
import { getProvider, registerProvider } from './providers.js'
import { resourceGroupHandler } from './resourceGroups.js'
import { withRetry } from './retry.js'
import type { RetryInfo } from './retry.js'
import { getMlWorkspace } from './mlWorkspaces.js'
import { listKeys, regenerateKey, setSharedKeyAccess, storageAccountHandler } from './storageAccounts.js'
import { subnetHandler } from './subnets.js'
import { readVirtualNetwork, virtualNetworkHandler } from './virtualNetworks.js'

export type { AzureClients, ClientOptions } from './clients.js'
export { createClients, DEFAULT_ARM_ENDPOINT, DEFAULT_TOKEN_SCOPE } from './clients.js'
export { createCredential, staticTokenCredential } from './credential.js'
export type { CredentialOptions } from './credential.js'
export { authorizationFailure, describeAzureError, isNotFound, isRestError } from './errors.js'
export { isRetryable, retryReason, withRetry } from './retry.js'
export type { RetryInfo, RetryOptions } from './retry.js'
export type * from './port.js'

/** The action-level retry of busy conflicts and transient operation failures (see `retry.ts`). */
export interface RetryPolicy {
  /** Total attempts per call, including the first; default 6. */
  attempts?: number
  /** First backoff delay (ms); default `clamp(pollIntervalMs, 50, 5000)`. */
  baseDelayMs?: number
  /** Largest single backoff delay (ms); default 30 s. */
  maxDelayMs?: number
  /** No retry starts later than this after a call began (ms); default 20 minutes. */
  deadlineMs?: number
  /** Called before each retry, e.g. to log `describeAzureError(info.error)`. */
  onRetry?: (info: RetryInfo) => void
}

export interface AzurePortOptions {
  subscriptionId: string
  credential: TokenCredential
  /** Default `https://management.azure.com`. */
  endpoint?: string
  /** Default `https://management.azure.com/.default`. */
  tokenScope?: string
  /** LRO poll interval (ms); default 2000 (the SDK's own default). */
  pollIntervalMs?: number
  userAgentPrefix?: string
  retry?: RetryPolicy
  /** For the blob data plane when shared keys are off (scope `https://storage.azure.com/.default`). */
  storageCredential?: TokenCredential
}

export function createAzurePort(opts: AzurePortOptions): AzurePort {
  const pollIntervalMs = opts.pollIntervalMs ?? 2000
  const clients = createClients({
    endpoint: opts.endpoint ?? DEFAULT_ARM_ENDPOINT,
    subscriptionId: opts.subscriptionId,
    credential: opts.credential,
    tokenScope: opts.tokenScope ?? DEFAULT_TOKEN_SCOPE,
    pollIntervalMs,
    ...(opts.userAgentPrefix !== undefined ? { userAgentPrefix: opts.userAgentPrefix } : {})
  })
  return createAzurePortFromClients(clients, opts.retry, opts.storageCredential)
}

/** The port on already-built clients (tests, or a caller that tunes the clients itself). */
export function createAzurePortFromClients(
  clients: AzureClients,
  retry: RetryPolicy = {},
  storageCredential?: TokenCredential
): AzurePort {
  const baseDelayMs = retry.baseDelayMs ?? clamp(clients.pollIntervalMs, 50, 5000)
  const run = <T>(label: string, op: () => Promise<T>): Promise<T> =>
    withRetry(op, {
      label,
      baseDelayMs,
      ...(retry.attempts !== undefined ? { attempts: retry.attempts } : {}),
      ...(retry.maxDelayMs !== undefined ? { maxDelayMs: retry.maxDelayMs } : {}),
      ...(retry.deadlineMs !== undefined ? { deadlineMs: retry.deadlineMs } : {}),
      ...(retry.onRetry !== undefined ? { onRetry: retry.onRetry } : {})
    })

  const label = (kind: string, verb: string, a: ResourceAddress): string =>
    `${verb} ${kind} ${a.resourceGroup}/${a.parent ? `${a.parent}/` : ''}${a.name}`

  function wrap<K extends ResourceKind>(h: ResourceHandler<K>): ResourceHandler<K> {
    return {
      kind: h.kind,
      get: (address) => run(label(h.kind, 'get', address), () => h.get(address)),
      put: (address, spec) => run(label(h.kind, 'put', address), () => h.put(address, spec)),
      delete: (address) => run(label(h.kind, 'delete', address), () => h.delete(address))
    }
  }

  // The blob endpoint of an account never changes: every read or write of the account records it,
  // so the data plane (lock, key probes) never reads the account again for it.
  const endpoints = new Map<string, string>()
  const accountId = (a: ResourceAddress) => `${a.resourceGroup}/${a.name}`.toLowerCase()
  const remember = <T extends Observed<'storageAccount'> | undefined>(a: ResourceAddress, o: T): T => {
    if (o?.outputs.blobEndpoint) endpoints.set(accountId(a), o.outputs.blobEndpoint)
    return o
  }
  const accounts = wrap(storageAccountHandler(clients))
  const storageAccount: ResourceHandler<'storageAccount'> = {
    ...accounts,
    get: async (a) => remember(a, await accounts.get(a)),
    put: async (a, spec) => remember(a, await accounts.put(a, spec))
  }
  const blobEndpoint = async (a: ResourceAddress): Promise<string> => {
    const known = endpoints.get(accountId(a)) ?? (await storageAccount.get(a))?.outputs.blobEndpoint
    if (!known) throw new Error(`storage account ${a.name} has no blob endpoint (does it exist?)`)
    return known
  }

  const handlers: Handlers = {
    resourceGroup: wrap(resourceGroupHandler(clients)),
    virtualNetwork: wrap(virtualNetworkHandler(clients)),
    subnet: wrap(subnetHandler(clients)),
    privateDnsZone: wrap(privateDnsZoneHandler(clients)),
    privateDnsLink: wrap(privateDnsLinkHandler(clients)),
    logAnalytics: wrap(logAnalyticsHandler(clients)),
    storageAccount,
    blobContainer: wrap(blobContainerHandler(clients)),
    postgresServer: wrap(postgresServerHandler(clients)),
    postgresDatabase: wrap(postgresDatabaseHandler(clients)),
    managedEnvironment: wrap(managedEnvironmentHandler(clients)),
    containerApp: wrap(containerAppHandler(clients)),
    job: wrap(jobHandler(clients)),
    identity: wrap(identityHandler(clients)),
    roleAssignment: wrap(roleAssignmentHandler(clients))
  }

  return {
    subscriptionId: clients.subscriptionId,
    handlers,
    probeStorageKey: async (a, key) => probeKey(await blobEndpoint(a), a.name, key),
    lockBlob: async (a, keys) =>
      lockBlob(
        await blobEndpoint(a),
        a.name,
        () => run(label('storageAccount', 'listKeys', a), () => listKeys(clients, a)),
        keys,
        storageCredential
      ),
    getWorkspaceSharedKey: (a) => run(label('logAnalytics', 'sharedKeys', a), () => getSharedKey(clients, a)),
    listStorageKeys: (a) => run(label('storageAccount', 'listKeys', a), () => listKeys(clients, a)),
    regenerateStorageKey: (a, keyName) =>
      run(label('storageAccount', `regenerateKey ${keyName}`, a), () => regenerateKey(clients, a, keyName)),
    setPostgresPassword: (a, password) =>
      run(label('postgresServer', 'setPassword', a), () => setPassword(clients, a, password)),
    getRevision: (a, revisionName) =>
      run(label('containerApp', `getRevision ${revisionName}`, a), () =>
        getRevision(clients, a, revisionName)
      ),
    listRevisions: (a) => run(label('containerApp', 'listRevisions', a), () => listRevisions(clients, a)),
    patchAppConfiguration: (a, spec) =>
      run(label('containerApp', 'patch configuration', a), () => patchConfiguration(clients, a, spec)),
    patchAppTraffic: (a, traffic, tags) =>
      run(label('containerApp', 'patch traffic', a), () => patchTraffic(clients, a, traffic, tags)),
    setSharedKeyAccess: (a, allowed) =>
      run(label('storageAccount', `allowSharedKeyAccess ${allowed}`, a), () =>
        setSharedKeyAccess(clients, a, allowed)
      ),
    detachAppIdentity: (a) =>
      run(label('containerApp', 'detach identity', a), () => detachIdentity(clients, a)),
    patchAppTags: (a, tags) => run(label('containerApp', 'patch tags', a), () => patchTags(clients, a, tags)),
    activateRevision: (a, revisionName) =>
      run(label('containerApp', `activateRevision ${revisionName}`, a), () =>
        setRevisionActive(clients, a, revisionName, true)
      ),
    deactivateRevision: (a, revisionName) =>
      run(label('containerApp', `deactivateRevision ${revisionName}`, a), () =>
        setRevisionActive(clients, a, revisionName, false)
      ),
    revisionLogs: (a, revisionName, lines) => revisionLogs(clients, a, revisionName, lines),
    startJob: (a, container) => run(label('job', 'start', a), () => startJob(clients, a, container)),
    listContainerApps: (rg) => run(`list containerApps ${rg}`, () => listContainerApps(clients, rg)),
    listJobs: (rg) => run(`list jobs ${rg}`, () => listJobs(clients, rg)),
    listPostgresDatabases: (a) =>
      run(label('postgresServer', 'listDatabases', a), () => listDatabases(clients, a)),
    listBlobContainers: (a) =>
      run(label('storageAccount', 'listContainers', a), () => listBlobContainers(clients, a)),
    getPostgresMaxConnections: (a) =>
      run(label('postgresServer', 'get max_connections', a), () => getMaxConnections(clients, a)),
    readVirtualNetwork: (a) => run(label('virtualNetwork', 'get', a), () => readVirtualNetwork(clients, a)),
    listJobSecrets: (a) => run(label('job', 'listSecrets', a), () => listJobSecrets(clients, a)),
    getJobExecution: (a, execution) =>
      run(label('job', `getExecution ${execution}`, a), () => getJobExecution(clients, a, execution)),
    jobExecutionLogs: (a, env, execution, lines) => jobExecutionLogs(clients, a, env, execution, lines),
    getRestoreWindow: (a) =>
      run(label('postgresServer', 'restoreWindow', a), () => getRestoreWindow(clients, a)),
    getProvider: (namespace) => run(`getProvider ${namespace}`, () => getProvider(clients, namespace)),
    registerProvider: (namespace) =>
      run(`registerProvider ${namespace}`, () => registerProvider(clients, namespace)),
    listPermissions: (resourceGroup) =>
      run(`listPermissions ${resourceGroup}`, () => listPermissions(clients, resourceGroup)),
    getMlWorkspace: (a) => run(label('mlWorkspace', 'get', a), () => getMlWorkspace(clients, a)),
    armAccessToken: async () => {
      const t = await clients.credential.getToken(clients.tokenScope)
      if (!t) throw new Error(`the Azure sign-in returned no token for ${clients.tokenScope}`)
      return { token: t.token, expiresOnTimestamp: t.expiresOnTimestamp }
    }
  }
}
