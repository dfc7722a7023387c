/**
 * The Azure port: everything the planner and the commands may ask of Azure, in the project's own
 * types. Adapters (one module per resource kind) implement it on the `@azure/arm-*` clients; nothing
 * above this layer imports an SDK.
 */
import type { ResourceKind, SpecByKind, Tags } from '../stack/specs.js'

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
  blobContainer: Record<string, never>
  postgresServer: { fqdn: string; state: string }
  postgresDatabase: Record<string, never>
  managedEnvironment: { defaultDomain: string; staticIp: string }
  containerApp: {
    fqdn: string
    latestRevisionName: string
    latestReadyRevisionName: string
    runningStatus: string
  }
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

export interface ProviderState {
  namespace: string
  /** `Registered` | `NotRegistered` | `Registering` | `Unregistering` */
  registrationState: string
  /** Where each resource type is offered, as the provider lists it (names normalized). */
  locations: Record<string, string[]>
}

export interface AzurePort {
  readonly subscriptionId: string
  readonly handlers: Handlers
  /** POST .../sharedKeys (a read). */
  getWorkspaceSharedKey(address: ResourceAddress): Promise<string>
  /** POST .../listKeys (a read). */
  listStorageKeys(address: ResourceAddress): Promise<StorageKeys>
  regenerateStorageKey(address: ResourceAddress, keyName: 'key1' | 'key2'): Promise<StorageKeys>
  /** PATCH of the admin password only: the recovery path when the password is no longer known. */
  setPostgresPassword(address: ResourceAddress, password: string): Promise<void>
  getRevision(app: ResourceAddress, revisionName: string): Promise<RevisionState>
  listRevisions(app: ResourceAddress): Promise<RevisionState[]>
  /** Running revisions keep the secret values they started with; a restart gives them the new ones. */
  restartRevision(app: ResourceAddress, revisionName: string): Promise<void>
  getProvider(namespace: string): Promise<ProviderState>
  registerProvider(namespace: string): Promise<ProviderState>
}
