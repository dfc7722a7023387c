/**
 * `desiredState(config, facts)`: the stack's resources as a dependency graph. Pure: the same config
 * and facts always give the same graph, which is what lets the plan be a diff and a rerun converge.
 */
import type { DeployConfig } from '../config/inputs.js'
import type { ResourceAddress } from '../azure/port.js'
import { STACK, stackAddresses, type KindOf, type StackKey } from './graph.js'
import { known, UNKNOWN, type Facts } from './facts.js'
import {
  appSecrets,
  backendStoreUri,
  migrationContainer,
  migrationSecrets,
  mlflowContainer,
  MLFLOW_PORT
} from './mlflowContainer.js'
import { STORAGE_BLOB_DATA_CONTRIBUTOR, type ResourceKind, type SpecByKind, type Tags } from './specs.js'
import { withJobSecretsDigest } from './rollout.js'
import { BASE_KEYS, prJobContainer, prJobSecrets, prMetadata, prTags } from './prEnvironment.js'

export interface DesiredResource<K extends ResourceKind = ResourceKind> {
  /** Unique within the stack. */
  key: StackKey
  kind: K
  address: ResourceAddress
  dependsOn: readonly StackKey[]
  spec: SpecByKind[K]
  /**
   * False for a resource group the user named that already exists: the action uses it but never
   * changes or deletes it.
   */
  managed: boolean
}

export type AnyDesired = { [K in ResourceKind]: DesiredResource<K> }[ResourceKind]

export const MANAGED_BY = 'mlflow-azure-action'
export const POSTGRES_ADMIN_LOGIN = 'mlflowadmin'

export function stackTags(config: Pick<DeployConfig, 'tags' | 'stackName'>): Tags {
  return { ...config.tags, 'managed-by': MANAGED_BY, 'mlflow-stack': config.stackName }
}

export function resourceId(subscriptionId: string, resourceGroup: string, path: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${path}`
}

export function appFqdn(config: DeployConfig, facts: Facts): string {
  const domain = known(facts, 'environmentDefaultDomain')
  const internal = config.ingress === 'internal' ? 'internal.' : ''
  return `${config.names.containerApp}.${internal}${domain}`
}

export function postgresFqdn(config: Pick<DeployConfig, 'names'>): string {
  return `${config.names.postgresServer}.postgres.database.azure.com`
}

export function desiredState(config: DeployConfig, facts: Facts): AnyDesired[] {
  const n = config.names
  const rg = n.resourceGroup
  const sub = config.azure.subscriptionId
  const pr = config.pr
  const baseTags = stackTags(config)
  // A PR environment's own parts say whose they are; the base's stay as the base wrote them.
  const tags = pr ? prTags(baseTags, pr, false) : baseTags
  const appTags = pr ? prTags(baseTags, pr, true) : baseTags
  const location = config.location
  const vnetId = resourceId(sub, rg, `Microsoft.Network/virtualNetworks/${n.virtualNetwork}`)
  const addresses = stackAddresses(n)
  const place = <P extends StackKey>(key: P) => ({
    key,
    kind: STACK[key].kind as KindOf<P>,
    address: addresses[key],
    dependsOn: STACK[key].dependsOn,
    // A PR environment reads its base stack's shared resources and never writes them.
    managed: !(pr && BASE_KEYS.includes(key))
  })

  const storageKey = known(facts, 'storageKey')
  const password = facts.postgresPassword ?? UNKNOWN
  const databaseUri = (database: string): string =>
    backendStoreUri({
      login: pr ? pr.databaseRole : POSTGRES_ADMIN_LOGIN,
      password,
      host: postgresFqdn(config),
      database
    })
  // MLflow's users live in a database of their own, beside the tracking data.
  const authDatabase: AnyDesired[] =
    config.auth.mode === 'none'
      ? []
      : [
          {
            ...place('authDatabase'),
            spec: { serverName: n.postgresServer, charset: 'UTF8', collation: 'en_US.utf8' }
          }
        ]

  const keyless = config.storageAuth === 'managed-identity'
  const identityId = resourceId(sub, rg, `Microsoft.ManagedIdentity/userAssignedIdentities/${n.identity}`)
  const accountId = resourceId(sub, rg, `Microsoft.Storage/storageAccounts/${n.storageAccount}`)
  // Keyless: the app's own identity with a data role on the account (Owner or Contributor give
  // no access to blob data through Entra ID; a data role is needed: MicrosoftDocs).
  const keylessResources: AnyDesired[] = keyless
    ? [
        { ...place('identity'), spec: { location, tags } },
        {
          ...place('blobRole'),
          spec: {
            // A PR's identity reaches its own container only (the narrowest scope Azure RBAC takes).
            scope: (pr
              ? `${accountId}/blobServices/default/containers/${n.blobContainer}`
              : accountId
            ).replace(/^\//, ''),
            roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${STORAGE_BLOB_DATA_CONTRIBUTOR}`,
            principalId: known(facts, 'identityPrincipalId'),
            principalType: 'ServicePrincipal'
          }
        }
      ]
    : []

  const secrets = appSecrets({
    backendStoreUri: databaseUri(n.postgresDatabase),
    ...(keyless ? {} : { storageKey }),
    auth: config.auth,
    authDatabaseUri: databaseUri(n.authDatabase),
    flaskSecretKey: facts.flaskSecretKey ?? UNKNOWN,
    currentAdminPassword: facts.adminPassword
  })

  return [
    {
      ...place('resourceGroup'),
      spec: { location, tags }
    },
    {
      ...place('virtualNetwork'),
      spec: { location, tags, addressPrefixes: [config.network.addressSpace] }
    },
    {
      ...place('dbSubnet'),
      spec: {
        addressPrefix: config.network.dbSubnet,
        delegation: 'Microsoft.DBforPostgreSQL/flexibleServers'
      }
    },
    {
      ...place('acaSubnet'),
      spec: { addressPrefix: config.network.acaSubnet, delegation: 'Microsoft.App/environments' }
    },
    {
      ...place('privateDnsZone'),
      spec: { tags }
    },
    {
      ...place('privateDnsLink'),
      spec: { zoneName: n.privateDnsZone, virtualNetworkId: vnetId, registrationEnabled: false, tags }
    },
    {
      ...place('logAnalytics'),
      spec: { location, tags, sku: 'PerGB2018', retentionInDays: config.logRetentionDays }
    },
    {
      ...place('storageAccount'),
      spec: {
        location,
        tags,
        sku: 'Standard_LRS',
        kind: 'StorageV2',
        allowBlobPublicAccess: false,
        minimumTlsVersion: 'TLS1_2',
        supportsHttpsTrafficOnly: true,
        allowSharedKeyAccess: !keyless
      }
    },
    ...keylessResources,
    {
      ...place('blobContainer'),
      spec: {
        accountName: n.storageAccount,
        publicAccess: 'None',
        ...(pr ? { metadata: prMetadata(pr) } : {})
      }
    },
    {
      ...place('postgresServer'),
      spec: {
        location,
        tags,
        skuName: config.postgres.skuName,
        skuTier: config.postgres.skuTier,
        version: config.postgres.version,
        storageSizeGB: config.postgres.storageGb,
        administratorLogin: POSTGRES_ADMIN_LOGIN,
        // A server is never created without a password: when it is (re)created under an app that
        // already holds its URI, it gets the password in that URI.
        administratorLoginPassword:
          facts.postgresPasswordIsNew || !facts.postgresServerExists ? password : undefined,
        delegatedSubnetId: `${vnetId}/subnets/${n.dbSubnet}`,
        privateDnsZoneId: resourceId(sub, rg, `Microsoft.Network/privateDnsZones/${n.privateDnsZone}`),
        publicNetworkAccess: 'Disabled',
        highAvailability: 'Disabled'
      }
    },
    {
      ...place('postgresDatabase'),
      spec: { serverName: n.postgresServer, charset: 'UTF8', collation: 'en_US.utf8' }
    },
    ...authDatabase,
    {
      ...place('managedEnvironment'),
      spec: {
        location,
        tags,
        infrastructureSubnetId: `${vnetId}/subnets/${n.acaSubnet}`,
        internal: false,
        logAnalyticsCustomerId: known(facts, 'workspaceCustomerId'),
        logAnalyticsSharedKey: known(facts, 'workspaceSharedKey')
      }
    },
    {
      ...place('migrationJob'),
      spec: withJobSecretsDigest({
        location,
        tags,
        environmentId: resourceId(sub, rg, `Microsoft.App/managedEnvironments/${n.managedEnvironment}`),
        // Migrations of big databases take minutes; an hour is far beyond any MLflow release's.
        replicaTimeout: 3600,
        ...(pr
          ? {
              secrets: prJobSecrets(secrets, config.auth, facts.adminDatabaseUri ?? UNKNOWN),
              container: prJobContainer({
                image: config.image.reference,
                auth: config.auth,
                databases: [n.postgresDatabase, ...(config.auth.mode === 'none' ? [] : [n.authDatabase])],
                baseDatabases: [pr.baseNames.postgresDatabase, pr.baseNames.authDatabase]
              })
            }
          : {
              secrets: migrationSecrets(secrets, config.auth),
              container: migrationContainer(config.image.reference, config.auth)
            })
      })
    },
    {
      ...place('containerApp'),
      spec: {
        location,
        // The rollout keeps where `rollback` goes back to in a tag of the app; the plan keeps it.
        tags: { ...appTags, ...facts.appStateTags },
        environmentId: resourceId(sub, rg, `Microsoft.App/managedEnvironments/${n.managedEnvironment}`),
        activeRevisionsMode: 'Multiple',
        ingress: {
          external: config.ingress === 'external',
          targetPort: MLFLOW_PORT,
          transport: 'auto',
          allowInsecure: false,
          ipSecurityRestrictions: config.allowedIps.map((range, i) => ({
            name: `allow-${i + 1}`,
            ipAddressRange: range,
            action: 'Allow' as const
          }))
        },
        secrets,
        container: mlflowContainer({
          image: config.image.reference,
          version: config.image.version,
          fqdn: appFqdn(config, facts),
          revisionHosts: appFqdn(config, facts).replace(/^([^.]+)\./, '$1--*.'),
          storageAccount: n.storageAccount,
          blobContainer: n.blobContainer,
          cpu: config.cpu,
          memory: config.memory,
          auth: config.auth,
          workers: config.workers,
          storage: keyless
            ? { mode: 'managed-identity', clientId: known(facts, 'identityClientId') }
            : { mode: 'access-key' }
        }),
        minReplicas: config.minReplicas,
        maxReplicas: config.replicas,
        ...(keyless
          ? { identityId: identityId.toLowerCase() }
          : facts.keepIdentityId
            ? { identityId: facts.keepIdentityId }
            : {})
      }
    }
  ]
}
