/**
 * The desired shape of each Azure resource kind of a stack, in a form that is both what the action
 * asks for and what it reads back: an adapter projects the ARM resource into the same shape, so the
 * plan is a plain field-by-field comparison. Fields listed in `WRITE_ONLY_FIELDS` cannot be read back
 * from ARM and are never compared.
 */

export type Tags = Record<string, string>

export interface ResourceGroupSpec {
  location: string
  tags: Tags
}

/**
 * The VNet itself, without its subnets: they are child resources of their own, so that converging
 * the VNet never rewrites (or deletes) subnets, nor what a policy or a person attached to them.
 */
export interface VirtualNetworkSpec {
  location: string
  tags: Tags
  addressPrefixes: string[]
}

/**
 * Only what the action manages on a subnet. NSGs, route tables and service endpoints that someone
 * else attached are neither compared nor written away.
 */
export interface SubnetSpec {
  addressPrefix: string
  /** Service the subnet is delegated to, e.g. `Microsoft.App/environments`. */
  delegation: string
}

export interface PrivateDnsZoneSpec {
  tags: Tags
}

export interface PrivateDnsLinkSpec {
  zoneName: string
  virtualNetworkId: string
  registrationEnabled: boolean
  tags: Tags
}

export interface LogAnalyticsSpec {
  location: string
  tags: Tags
  sku: string
  retentionInDays: number
}

export interface StorageAccountSpec {
  location: string
  tags: Tags
  sku: string
  kind: string
  allowBlobPublicAccess: boolean
  minimumTlsVersion: string
  supportsHttpsTrafficOnly: boolean
  /** False in keyless mode: every request must carry an Entra token (arm-storage 2026-06-01). */
  allowSharedKeyAccess: boolean
}

/** The user-assigned identity MLflow reaches blob storage with in keyless mode. */
export interface IdentitySpec {
  location: string
  tags: Tags
}

/** Storage Blob Data Contributor (MicrosoftDocs built-in-roles). */
export const STORAGE_BLOB_DATA_CONTRIBUTOR = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

/**
 * A role assignment. Azure never updates one in place (RoleAssignmentUpdateNotPermitted): its
 * name is derived from what it grants, so a different grant is a different assignment.
 */
export interface RoleAssignmentSpec {
  /** The resource id it applies to (no leading slash is sent, as the SDK expects). */
  scope: string
  roleDefinitionId: string
  principalId: string
  /** Sent so a just-created identity is accepted before it has replicated (aka.ms/docs-principaltype). */
  principalType: 'ServicePrincipal'
}

export interface BlobContainerSpec {
  accountName: string
  publicAccess: 'None'
  /** A PR environment's container says whose it is (blob metadata; containers take no tags). */
  metadata?: Tags
}

export interface PostgresServerSpec {
  location: string
  tags: Tags
  skuName: string
  skuTier: string
  version: string
  storageSizeGB: number
  administratorLogin: string
  /** Write-only: sent on create and on password recovery, never read back. */
  administratorLoginPassword?: string
  delegatedSubnetId: string
  privateDnsZoneId: string
  publicNetworkAccess: 'Disabled'
  highAvailability: 'Disabled'
}

export interface PostgresDatabaseSpec {
  serverName: string
  charset: string
  collation: string
}

export interface ManagedEnvironmentSpec {
  location: string
  tags: Tags
  infrastructureSubnetId: string
  internal: boolean
  logAnalyticsCustomerId: string
  /** Write-only: the workspace's shared key, sent with every PUT. */
  logAnalyticsSharedKey?: string
}

export interface EnvVar {
  name: string
  value?: string
  secretRef?: string
}

export interface Probe {
  type: 'Liveness' | 'Readiness' | 'Startup'
  path: string
  port: number
  initialDelaySeconds: number
  periodSeconds: number
  timeoutSeconds: number
  failureThreshold: number
}

export interface ContainerSpec {
  name: string
  image: string
  command: string[]
  args: string[]
  env: EnvVar[]
  cpu: number
  memory: string
  probes: Probe[]
}

export interface IpRule {
  name: string
  ipAddressRange: string
  action: 'Allow' | 'Deny'
}

export interface IngressSpec {
  external: boolean
  targetPort: number
  transport: 'auto' | 'http'
  allowInsecure: boolean
  ipSecurityRestrictions: IpRule[]
}

export interface SecretSpec {
  name: string
  /** Compared through `listSecrets`, never logged. */
  value: string
}

/** Explicit traffic: the rollout decides which revision gets how much, never "the latest". */
export interface TrafficWeight {
  revisionName: string
  weight: number
}

export interface ContainerAppSpec {
  location: string
  tags: Tags
  environmentId: string
  activeRevisionsMode: 'Single' | 'Multiple'
  ingress: IngressSpec
  secrets: SecretSpec[]
  container: ContainerSpec
  minReplicas: number
  maxReplicas: number
  /** The resource id of the user-assigned identity the app runs as (keyless mode). */
  identityId?: string
  /** Set by the rollout step that writes the app; not compared by the plan. */
  revisionSuffix?: string
  /** Set by the rollout step that writes the app; not compared by the plan. */
  traffic?: TrafficWeight[]
}

/**
 * The schema-migration job: a manual-trigger Container Apps job in the stack's environment that
 * runs the new image's migration with the app's database secrets.
 */
export interface JobSpec {
  location: string
  tags: Tags
  environmentId: string
  /** Seconds one run may take before Azure stops it. */
  replicaTimeout: number
  secrets: SecretSpec[]
  container: ContainerSpec
}

export interface SpecByKind {
  resourceGroup: ResourceGroupSpec
  virtualNetwork: VirtualNetworkSpec
  subnet: SubnetSpec
  privateDnsZone: PrivateDnsZoneSpec
  privateDnsLink: PrivateDnsLinkSpec
  logAnalytics: LogAnalyticsSpec
  storageAccount: StorageAccountSpec
  blobContainer: BlobContainerSpec
  postgresServer: PostgresServerSpec
  postgresDatabase: PostgresDatabaseSpec
  managedEnvironment: ManagedEnvironmentSpec
  containerApp: ContainerAppSpec
  job: JobSpec
  identity: IdentitySpec
  roleAssignment: RoleAssignmentSpec
}

export type ResourceKind = keyof SpecByKind

/** Fields the service never returns; the plan cannot compare them. */
export const WRITE_ONLY_FIELDS: { [K in ResourceKind]?: string[] } = {
  postgresServer: ['administratorLoginPassword'],
  managedEnvironment: ['logAnalyticsSharedKey'],
  // The template is compared with the serving revision's (stack/rollout.ts), and the suffix and
  // traffic belong to the rollout, not to the app's desired shape.
  containerApp: ['container', 'minReplicas', 'maxReplicas', 'revisionSuffix', 'traffic'],
  // Compared through the digest its container carries (stack/rollout.ts withJobSecretsDigest).
  job: ['secrets']
}
