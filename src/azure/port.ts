/**
 * The Azure port: everything the planner and the commands may ask of Azure, in the project's own
 * types. Adapters (one module per resource kind) implement it on the `@azure/arm-*` clients; nothing
 * above this layer imports an SDK.
 */
import type { ContainerSpec, ResourceKind, SpecByKind, Tags } from '../stack/specs.js'
import type { LockBlob } from './blobData.js'

/** Where a resource lives. `parent` names the parent of a child resource (zone, account, server). */
export interface ResourceAddress {
  resourceGroup: string
  name: string
  parent?: string
}

export interface OutputsByKind {
  resourceGroup: { tags: Tags }
  virtualNetwork: Record<string, never>
  subnet: Record<string, never>
  privateDnsZone: Record<string, never>
  privateDnsLink: Record<string, never>
  logAnalytics: { customerId: string }
  storageAccount: { blobEndpoint: string }
  identity: { clientId: string; principalId: string }
  roleAssignment: Record<string, never>
  blobContainer: Record<string, never>
  postgresServer: { fqdn: string; state: string }
  postgresDatabase: Record<string, never>
  managedEnvironment: { defaultDomain: string; staticIp: string }
  containerApp: {
    fqdn: string
    latestRevisionName: string
    latestReadyRevisionName: string
    runningStatus: string
    /** The app's traffic as written: explicit weights, or `latest` (the Single-mode default). */
    traffic: { revisionName?: string; latestRevision?: boolean; weight: number }[]
    /** Log stream host of the app's region (`https://<region>.azurecontainerapps.dev/...`). */
    eventStreamEndpoint: string
  }
  job: { eventStreamEndpoint: string }
}

/** A resource as read back from Azure, projected into the spec shape plus its read-only facts. */
export interface Observed<K extends ResourceKind> {
  kind: K
  id: string
  name: string
  /** ARM `provisioningState` (or postgres `state`); undefined when the service reports none. */
  provisioningState?: string
  /** The service's own words on the resource's state, e.g. an environment's deployment errors. */
  statusDetail?: string
  spec: SpecByKind[K]
  outputs: OutputsByKind[K]
}

export interface ResourceHandler<K extends ResourceKind> {
  readonly kind: K
  /** GET; `undefined` when the resource (or its resource group) does not exist. */
  get(address: ResourceAddress): Promise<Observed<K> | undefined>
  /** Idempotent create-or-update; resolves once the long-running operation has finished. */
  put(address: ResourceAddress, spec: SpecByKind[K]): Promise<Observed<K>>
  /** Idempotent delete; a missing resource is not an error. */
  delete(address: ResourceAddress): Promise<void>
}

export type Handlers = { [K in ResourceKind]: ResourceHandler<K> }

export interface StorageKeys {
  key1: string
  key2: string
}

export interface RevisionState {
  name: string
  createdTime: string
  /** The revision's own host name (`<app>--<suffix>.<domain>`). */
  fqdn: string
  /** What the revision runs, in the spec's shape (its template never changes). */
  container: ContainerSpec
  minReplicas: number
  maxReplicas: number
  /** `Provisioning` | `Provisioned` | `Failed` | `Deprovisioning` | `Deprovisioned` */
  provisioningState: string
  /** `Running` | `Processing` | `Stopped` | `Degraded` | `Failed` | `Unknown` | `Activating` ... */
  runningState: string
  healthState: string
  active: boolean
  trafficWeight: number
  image: string
  /** The service's reason when provisioning failed. */
  provisioningError?: string
}

export interface JobExecutionState {
  name: string
  /** `Running` | `Processing` | `Succeeded` | `Failed` | `Stopped` | `Degraded` | `Unknown` */
  status: string
  startTime?: string
  endTime?: string
  reason?: string
  message?: string
  /** Exit codes of the execution's replicas' containers. */
  exitCodes: number[]
  replicas: string[]
}

export interface ProviderState {
  namespace: string
  /** `Registered` | `NotRegistered` | `Registering` | `Unregistering` */
  registrationState: string
  /** Where each resource type is offered, as the provider lists it (names normalized). */
  locations: Record<string, string[]>
}

/**
 * One entry of what the caller may do at a scope (`Microsoft.Authorization/permissions`): the
 * actions of one role it holds there, less that role's `notActions`. Patterns may hold `*`.
 */
export interface PermissionSet {
  actions: string[]
  notActions: string[]
}

export interface AzurePort {
  readonly subscriptionId: string
  readonly handlers: Handlers
  /** POST .../sharedKeys (a read). */
  getWorkspaceSharedKey(address: ResourceAddress): Promise<string>
  /** POST .../listKeys (a read). */
  listStorageKeys(address: ResourceAddress): Promise<StorageKeys>
  regenerateStorageKey(address: ResourceAddress, keyName: 'key1' | 'key2'): Promise<StorageKeys>
  /** Whether the account's blob service accepts this key yet: `accepted`, or the refusal. */
  probeStorageKey(account: ResourceAddress, key: string): Promise<string>
  /** The stack's lock blob in the account, reached with the account's keys (read again on a 403). */
  lockBlob(account: ResourceAddress, keys: StorageKeys): Promise<LockBlob>
  /** PATCH of the admin password only: the recovery path when the password is no longer known. */
  setPostgresPassword(address: ResourceAddress, password: string): Promise<void>
  getRevision(app: ResourceAddress, revisionName: string): Promise<RevisionState>
  listRevisions(app: ResourceAddress): Promise<RevisionState[]>
  /** PATCH of the app's configuration and tags only: no new revision. */
  patchAppConfiguration(app: ResourceAddress, spec: SpecByKind['containerApp']): Promise<void>
  /** PATCH of the app's traffic weights (and tags). */
  patchAppTraffic(
    app: ResourceAddress,
    traffic: { revisionName: string; weight: number }[],
    tags: Tags
  ): Promise<void>
  /** PATCH of the storage account's `allowSharedKeyAccess` only. */
  setSharedKeyAccess(account: ResourceAddress, allowed: boolean): Promise<void>
  /** PATCH of the app's identity to `None`. */
  detachAppIdentity(app: ResourceAddress): Promise<void>
  /** PATCH of the app's tags only. */
  patchAppTags(app: ResourceAddress, tags: Tags): Promise<void>
  activateRevision(app: ResourceAddress, revisionName: string): Promise<void>
  deactivateRevision(app: ResourceAddress, revisionName: string): Promise<void>
  /** The last lines of the revision's newest replica, as `az containerapp logs show` reads them. */
  revisionLogs(app: ResourceAddress, revisionName: string, lines: number): Promise<string[]>
  /**
   * Starts a manual-trigger job; the execution's name. `container` replaces the template's
   * container for this execution only (another command, more env).
   */
  startJob(job: ResourceAddress, container?: ContainerSpec): Promise<string>
  /** The container apps of a resource group (a list: no secret values). */
  listContainerApps(resourceGroup: string): Promise<Observed<'containerApp'>[]>
  /** The jobs of a resource group (a list: no secret values). */
  listJobs(resourceGroup: string): Promise<Observed<'job'>[]>
  /** The names of a PostgreSQL server's databases. */
  listPostgresDatabases(server: ResourceAddress): Promise<string[]>
  listBlobContainers(account: ResourceAddress): Promise<Observed<'blobContainer'>[]>
  /** The server parameter `max_connections`. */
  getPostgresMaxConnections(server: ResourceAddress): Promise<number>
  getJobExecution(job: ResourceAddress, execution: string): Promise<JobExecutionState>
  /** The VNet and its subnets, from the one GET of the VNet (`subnets` empty when it does not exist). */
  readVirtualNetwork(
    address: ResourceAddress
  ): Promise<{ network?: Observed<'virtualNetwork'>; subnets: Observed<'subnet'>[] }>
  /** The job's secret values (its GET answers names only). */
  listJobSecrets(job: ResourceAddress): Promise<SpecByKind['job']['secrets']>
  /** The last lines of an execution's replica. */
  jobExecutionLogs(
    job: ResourceAddress,
    environment: ResourceAddress,
    execution: string,
    lines: number
  ): Promise<string[]>
  /** When the PostgreSQL server can be restored back to (its earliest point-in-time restore). */
  getRestoreWindow(server: ResourceAddress): Promise<{ earliest?: string }>
  getProvider(namespace: string): Promise<ProviderState>
  registerProvider(namespace: string): Promise<ProviderState>
  /**
   * What the signed-in identity may do in a resource group (its roles there and above it), as
   * `permissions.listForResourceGroup` answers; throws (404) when the group does not exist.
   */
  listPermissions(resourceGroup: string): Promise<PermissionSet[]>
  /** An Azure Machine Learning workspace (read only); undefined when it does not exist. */
  getMlWorkspace(address: ResourceAddress): Promise<MlWorkspace | undefined>
  /**
   * A token of the signed-in identity for Azure Resource Manager: what an Azure ML workspace's
   * MLflow endpoint takes (the `azureml-mlflow` plugin asks for the ARM scope).
   */
  armAccessToken(): Promise<{ token: string; expiresOnTimestamp: number }>
}

/** What the smoke test needs of an Azure Machine Learning workspace. */
export interface MlWorkspace {
  id: string
  location: string
  /** `azureml://<region>.api.azureml.ms/mlflow/v1.0/subscriptions/…/workspaces/<name>`. */
  mlFlowTrackingUri: string
  /** `Enabled` or `Disabled` (private link only); empty when the service does not say. */
  publicNetworkAccess: string
  provisioningState: string
}
