/**
 * The Azure adapters' pure parts: each kind's `toArm` / `fromArm` projection (a resource that has not
 * changed reads back as exactly the spec that wrote it), revision / key / provider mappings, error
 * classification and the action-level retry. No HTTP, no SDK mocks: the "server answers" below are SDK
 * model objects as the clients' deserializers hand them to us (absent fields as `undefined` keys,
 * read-only fields filled, service defaults applied).
 */
import { describe, expect, it } from '@jest/globals'
import { RestError } from '@azure/arm-resources'
import * as blobContainers from '../../src/azure/blobContainers.js'
import { clamp, pipelineOptions } from '../../src/azure/clients.js'
import * as containerApps from '../../src/azure/containerApps.js'
import { credentialKind, createCredential, staticTokenCredential } from '../../src/azure/credential.js'
import { describeAzureError, isNotFound, parseLroFailure } from '../../src/azure/errors.js'
import * as logAnalytics from '../../src/azure/logAnalytics.js'
import * as managedEnvironments from '../../src/azure/managedEnvironments.js'
import * as postgresDatabases from '../../src/azure/postgresDatabases.js'
import * as postgresServers from '../../src/azure/postgresServers.js'
import * as privateDnsLinks from '../../src/azure/privateDnsLinks.js'
import * as privateDnsZones from '../../src/azure/privateDnsZones.js'
import { providerFromArm } from '../../src/azure/providers.js'
import { unavailableIn } from '../../src/commands/providers.js'
import * as resourceGroups from '../../src/azure/resourceGroups.js'
import { backoffDelay, isRetryable, retryReason, withRetry } from '../../src/azure/retry.js'
import type { RetryInfo } from '../../src/azure/retry.js'
import * as storageAccounts from '../../src/azure/storageAccounts.js'
import * as subnets from '../../src/azure/subnets.js'
import * as virtualNetworks from '../../src/azure/virtualNetworks.js'
import type {
  ContainerAppSpec,
  LogAnalyticsSpec,
  ManagedEnvironmentSpec,
  PostgresServerSpec,
  StorageAccountSpec,
  SubnetSpec,
  VirtualNetworkSpec
} from '../../src/stack/specs.js'

const SUB = '00000000-0000-4000-8000-000000000001'
const RG = 'rg-mlflow'
const RG_ID = `/subscriptions/${SUB}/resourceGroups/${RG}`
const P = `${RG_ID}/providers`
const VNET_ID = `${P}/Microsoft.Network/virtualNetworks/vnet-mlflow`
const tags = { stack: 'demo', 'managed-by': 'mlflow-azure-action' }

/**
 * Equality the way the planner sees it: objects compare field by field (key order free), arrays
 * compare whole through JSON (so the key order inside array items matters, as in the planner).
 */
function expectSameForPlanner(actual: unknown, expected: unknown, path = '$'): void {
  if (Array.isArray(expected)) {
    expect({ path, value: JSON.stringify(actual) }).toEqual({ path, value: JSON.stringify(expected) })
    return
  }
  if (typeof expected === 'object' && expected !== null) {
    expect(typeof actual).toBe('object')
    const a = actual as Record<string, unknown>
    const e = expected as Record<string, unknown>
    expect({ path, keys: Object.keys(a).sort() }).toEqual({ path, keys: Object.keys(e).sort() })
    for (const k of Object.keys(e)) expectSameForPlanner(a[k], e[k], `${path}.${k}`)
    return
  }
  expect({ path, value: actual }).toEqual({ path, value: expected })
}

function roundTrip<T>(observedSpec: T, spec: T): void {
  expect(observedSpec).toStrictEqual(spec)
  expectSameForPlanner(observedSpec, spec)
}

describe('resource group', () => {
  const spec = { location: 'eastus', tags }
  it('round-trips', () => {
    const arm = {
      ...resourceGroups.toArm(spec),
      id: RG_ID,
      name: RG,
      type: 'Microsoft.Resources/resourceGroups',
      properties: { provisioningState: 'Succeeded' }
    }
    const o = resourceGroups.fromArm(arm)
    roundTrip(o.spec, spec)
    expect(o).toMatchObject({
      kind: 'resourceGroup',
      id: RG_ID,
      name: RG,
      provisioningState: 'Succeeded',
      outputs: { tags }
    })
  })
  it('reads missing tags as {}', () => {
    const o = resourceGroups.fromArm({
      id: RG_ID,
      name: RG,
      location: 'eastus',
      tags: undefined,
      properties: undefined
    })
    roundTrip(o.spec, { location: 'eastus', tags: {} })
    expect(o.provisioningState).toBeUndefined()
  })
})

describe('virtual network', () => {
  const spec: VirtualNetworkSpec = { location: 'eastus', tags, addressPrefixes: ['10.40.0.0/16'] }

  it('writes the address space and no subnets: they are child resources of their own', () => {
    const arm = virtualNetworks.toArm(spec)
    expect(arm.addressSpace).toEqual({ addressPrefixes: ['10.40.0.0/16'] })
    expect(arm.subnets).toBeUndefined()
  })

  it('round-trips with the read-only fields the service adds, whatever subnets it holds', () => {
    const o = virtualNetworks.fromArm({
      ...virtualNetworks.toArm(spec),
      id: VNET_ID,
      name: 'vnet-mlflow',
      etag: 'W/"1"',
      provisioningState: 'Succeeded',
      resourceGuid: 'guid',
      subnets: [{ name: 'policy-added', addressPrefix: '10.40.9.0/24' }]
    })
    roundTrip(o.spec, spec)
    expect(o.provisioningState).toBe('Succeeded')
    expect(o.outputs).toEqual({})
  })

  it('compares the location normalized: Azure may answer the display name', () => {
    const o = virtualNetworks.fromArm({ ...virtualNetworks.toArm(spec), location: 'East US' })
    expect(o.spec.location).toBe('eastus')
  })

  it('builds subnet ids', () => {
    expect(virtualNetworks.subnetId(VNET_ID, 'aca')).toBe(`${VNET_ID}/subnets/aca`)
  })
})

describe('subnet', () => {
  const spec: SubnetSpec = { addressPrefix: '10.40.0.0/23', delegation: 'Microsoft.App/environments' }

  it('writes a new subnet with one delegation named after it', () => {
    expect(subnets.toArm(spec, 'aca')).toEqual({
      addressPrefix: '10.40.0.0/23',
      delegations: [{ name: 'aca', serviceName: 'Microsoft.App/environments' }]
    })
  })

  it('rewrites an existing subnet with what others attached kept, only its managed fields set', () => {
    const current = {
      id: `${VNET_ID}/subnets/aca`,
      name: 'aca',
      addressPrefix: '10.40.0.0/23',
      addressPrefixes: ['10.40.0.0/23'],
      networkSecurityGroup: {
        id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/policy'
      },
      routeTable: { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/routeTables/rt' },
      serviceEndpoints: [{ service: 'Microsoft.Storage' }],
      delegations: [{ name: 'keep-this-name', serviceName: 'Microsoft.App/environments' }]
    }
    const arm = subnets.toArm({ ...spec, addressPrefix: '10.40.4.0/23' }, 'aca', current)
    expect(arm.networkSecurityGroup).toEqual(current.networkSecurityGroup)
    expect(arm.routeTable).toEqual(current.routeTable)
    expect(arm.serviceEndpoints).toEqual(current.serviceEndpoints)
    expect(arm.addressPrefix).toBe('10.40.4.0/23')
    expect(arm.addressPrefixes).toBeUndefined()
    expect(arm.delegations).toEqual([{ name: 'keep-this-name', serviceName: 'Microsoft.App/environments' }])
  })

  it('reads only the managed fields, from addressPrefixes when that is what the service answers', () => {
    const o = subnets.fromArm({
      name: 'x',
      addressPrefixes: ['10.0.1.0/24'],
      networkSecurityGroup: { id: 'nsg' },
      provisioningState: 'Succeeded'
    })
    expect(o.spec).toEqual({ addressPrefix: '10.0.1.0/24', delegation: '' })
    expect(o.provisioningState).toBe('Succeeded')
  })
})

describe('private DNS zone and link', () => {
  const zone = 'pg-demo.private.postgres.database.azure.com'
  it('zone: location global, round-trips', () => {
    const arm = privateDnsZones.toArm({ tags })
    expect(arm.location).toBe('global')
    const o = privateDnsZones.fromArm({
      ...arm,
      id: `${P}/Microsoft.Network/privateDnsZones/${zone}`,
      name: zone,
      etag: 'e',
      numberOfRecordSets: 1,
      provisioningState: 'Succeeded'
    })
    roundTrip(o.spec, { tags })
    expect(privateDnsZones.fromArm({ location: 'global' }).spec).toStrictEqual({ tags: {} })
  })

  it('link: round-trips, zone name from the address parent or the id', () => {
    const spec = { zoneName: zone, virtualNetworkId: VNET_ID, registrationEnabled: false, tags }
    const arm = privateDnsLinks.toArm(spec)
    expect(arm).toEqual({
      location: 'global',
      tags,
      virtualNetwork: { id: VNET_ID },
      registrationEnabled: false
    })
    const id = `${P}/Microsoft.Network/privateDnsZones/${zone}/virtualNetworkLinks/link-vnet`
    const served = {
      ...arm,
      id,
      name: 'link-vnet',
      virtualNetworkLinkState: 'Completed',
      provisioningState: 'Succeeded'
    }
    roundTrip(privateDnsLinks.fromArm(served, { zoneName: zone }).spec, spec)
    roundTrip(
      privateDnsLinks.fromArm(served, { address: { resourceGroup: RG, name: 'link-vnet', parent: zone } })
        .spec,
      spec
    )
    roundTrip(privateDnsLinks.fromArm(served).spec, spec)
  })
})

describe('log analytics', () => {
  const spec: LogAnalyticsSpec = { location: 'eastus', tags, sku: 'PerGB2018', retentionInDays: 30 }
  it('round-trips; customerId is an output', () => {
    const arm = logAnalytics.toArm(spec)
    expect(arm).toEqual({ location: 'eastus', tags, sku: { name: 'PerGB2018' }, retentionInDays: 30 })
    const o = logAnalytics.fromArm({
      ...arm,
      id: `${P}/Microsoft.OperationalInsights/workspaces/law`,
      name: 'law',
      sku: { name: 'PerGB2018', lastSkuUpdate: new Date() },
      customerId: '11111111-2222-3333-4444-555555555555',
      provisioningState: 'Succeeded',
      createdDate: new Date(),
      features: { enableLogAccessUsingOnlyResourcePermissions: true }
    })
    roundTrip(o.spec, spec)
    expect(o.outputs).toEqual({ customerId: '11111111-2222-3333-4444-555555555555' })
  })
})

describe('storage account and blob container', () => {
  const spec: StorageAccountSpec = {
    location: 'eastus',
    tags,
    sku: 'Standard_LRS',
    kind: 'StorageV2',
    allowBlobPublicAccess: false,
    minimumTlsVersion: 'TLS1_2',
    supportsHttpsTrafficOnly: true,
    allowSharedKeyAccess: true
  }
  it('reads an absent allowSharedKeyAccess as true, the service default, and sends false as false', () => {
    const arm = storageAccounts.toArm(spec)
    delete arm.allowSharedKeyAccess
    expect(storageAccounts.fromArm(arm).spec.allowSharedKeyAccess).toBe(true)
    expect(storageAccounts.toArm({ ...spec, allowSharedKeyAccess: false }).allowSharedKeyAccess).toBe(false)
  })

  it('sends the SDK field names (enableHttpsTrafficOnly) and round-trips', () => {
    const arm = storageAccounts.toArm(spec)
    expect(arm).toEqual({
      location: 'eastus',
      tags,
      sku: { name: 'Standard_LRS' },
      kind: 'StorageV2',
      allowBlobPublicAccess: false,
      minimumTlsVersion: 'TLS1_2',
      enableHttpsTrafficOnly: true,
      allowSharedKeyAccess: true
    })
    const o = storageAccounts.fromArm({
      ...arm,
      id: `${P}/Microsoft.Storage/storageAccounts/stmlflow`,
      name: 'stmlflow',
      sku: { name: 'Standard_LRS', tier: 'Standard' },
      provisioningState: 'Succeeded',
      primaryEndpoints: { blob: 'https://stmlflow.blob.core.windows.net/' },
      creationTime: new Date(),
      accessTier: 'Hot'
    })
    roundTrip(o.spec, spec)
    expect(o.outputs).toEqual({ blobEndpoint: 'https://stmlflow.blob.core.windows.net/' })
  })

  it('maps listKeys answers to key1/key2 whatever their order', () => {
    expect(
      storageAccounts.keysFromArm({
        keys: [
          { keyName: 'key2', value: 'B' },
          { keyName: 'key1', value: 'A' }
        ]
      })
    ).toEqual({ key1: 'A', key2: 'B' })
    expect(() => storageAccounts.keysFromArm({ keys: [{ keyName: 'key1', value: 'A' }] })).toThrow(/key2/)
  })

  it('blob container round-trips; account from the parent or the id', () => {
    const spec = { accountName: 'stmlflow', publicAccess: 'None' as const }
    const arm = blobContainers.toArm(spec)
    expect(arm).toEqual({ publicAccess: 'None' })
    const id = `${P}/Microsoft.Storage/storageAccounts/stmlflow/blobServices/default/containers/mlflow`
    const served = { ...arm, id, name: 'mlflow', etag: '"0x1"', hasLegalHold: false, leaseState: 'Available' }
    roundTrip(blobContainers.fromArm(served, { accountName: 'stmlflow' }).spec, spec)
    roundTrip(blobContainers.fromArm({ id, name: 'mlflow' }).spec, spec)
  })
})

describe('postgres', () => {
  const spec: PostgresServerSpec = {
    location: 'eastus',
    tags,
    skuName: 'Standard_B1ms',
    skuTier: 'Burstable',
    version: '16',
    storageSizeGB: 32,
    administratorLogin: 'mlflow',
    delegatedSubnetId: `${VNET_ID}/subnets/db`,
    privateDnsZoneId: `${P}/Microsoft.Network/privateDnsZones/pg-demo.private.postgres.database.azure.com`,
    publicNetworkAccess: 'Disabled',
    highAvailability: 'Disabled'
  }
  const served = (sent: ReturnType<typeof postgresServers.toArm>, state = 'Ready') => {
    const rest = { ...sent }
    delete rest.administratorLoginPassword
    return {
      ...rest,
      id: `${P}/Microsoft.DBforPostgreSQL/flexibleServers/pg-demo`,
      name: 'pg-demo',
      minorVersion: '4',
      state,
      fullyQualifiedDomainName: 'pg-demo.postgres.database.azure.com',
      storage: { ...rest.storage, autoGrow: 'Disabled', tier: 'P4', iops: 120 },
      highAvailability: { ...rest.highAvailability, state: 'NotEnabled' },
      backup: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled' }
    }
  }

  it('sends the password only when the spec has one', () => {
    expect(postgresServers.toArm(spec)).not.toHaveProperty('administratorLoginPassword')
    expect(
      postgresServers.toArm({ ...spec, administratorLoginPassword: 's3cret' }).administratorLoginPassword
    ).toBe('s3cret')
    expect(postgresServers.toArm(spec)).toMatchObject({
      sku: { name: 'Standard_B1ms', tier: 'Burstable' },
      storage: { storageSizeGB: 32 },
      network: {
        publicNetworkAccess: 'Disabled',
        delegatedSubnetResourceId: spec.delegatedSubnetId,
        privateDnsZoneArmResourceId: spec.privateDnsZoneId
      },
      highAvailability: { mode: 'Disabled' }
    })
  })

  it('round-trips without ever reading a password back; Ready counts as provisioned', () => {
    const o = postgresServers.fromArm(
      served(postgresServers.toArm({ ...spec, administratorLoginPassword: 's3cret' }))
    )
    roundTrip(o.spec, spec)
    expect(o.spec).not.toHaveProperty('administratorLoginPassword')
    expect(o.provisioningState).toBe('Succeeded')
    expect(o.outputs).toEqual({ fqdn: 'pg-demo.postgres.database.azure.com', state: 'Ready' })
    expect(postgresServers.fromArm(served(postgresServers.toArm(spec), 'Updating')).provisioningState).toBe(
      'Updating'
    )
  })

  it('database round-trips; server from the parent or the id', () => {
    const dbSpec = { serverName: 'pg-demo', charset: 'UTF8', collation: 'en_US.utf8' }
    const arm = postgresDatabases.toArm(dbSpec)
    expect(arm).toEqual({ charset: 'UTF8', collation: 'en_US.utf8' })
    const id = `${P}/Microsoft.DBforPostgreSQL/flexibleServers/pg-demo/databases/mlflow`
    roundTrip(
      postgresDatabases.fromArm({ ...arm, id, name: 'mlflow' }, { serverName: 'pg-demo' }).spec,
      dbSpec
    )
    roundTrip(postgresDatabases.fromArm({ ...arm, id, name: 'mlflow' }).spec, dbSpec)
  })
})

describe('managed environment', () => {
  const spec: ManagedEnvironmentSpec = {
    location: 'eastus',
    tags,
    infrastructureSubnetId: `${VNET_ID}/subnets/aca`,
    internal: false,
    logAnalyticsCustomerId: '11111111-2222-3333-4444-555555555555'
  }
  it('sends the shared key and a Consumption profile; never reads the key back', () => {
    const arm = managedEnvironments.toArm({ ...spec, logAnalyticsSharedKey: 'shared==' })
    expect(arm.appLogsConfiguration).toEqual({
      destination: 'log-analytics',
      logAnalyticsConfiguration: { customerId: spec.logAnalyticsCustomerId, sharedKey: 'shared==' }
    })
    expect(arm.workloadProfiles).toEqual([{ name: 'Consumption', workloadProfileType: 'Consumption' }])
    expect(arm.vnetConfiguration).toEqual({
      infrastructureSubnetId: spec.infrastructureSubnetId,
      internal: false
    })
    const o = managedEnvironments.fromArm({
      ...arm,
      id: `${P}/Microsoft.App/managedEnvironments/env`,
      name: 'env',
      provisioningState: 'Succeeded',
      defaultDomain: 'happy-sea-1234.eastus.azurecontainerapps.io',
      staticIp: '20.1.2.3',
      appLogsConfiguration: {
        destination: 'log-analytics',
        logAnalyticsConfiguration: { customerId: spec.logAnalyticsCustomerId }
      },
      zoneRedundant: false
    })
    roundTrip(o.spec, spec)
    expect(o.spec).not.toHaveProperty('logAnalyticsSharedKey')
    expect(o.outputs).toEqual({
      defaultDomain: 'happy-sea-1234.eastus.azurecontainerapps.io',
      staticIp: '20.1.2.3'
    })
  })
})

describe('container app', () => {
  const spec: ContainerAppSpec = {
    location: 'eastus',
    tags,
    environmentId: `${P}/Microsoft.App/managedEnvironments/env`,
    activeRevisionsMode: 'Single',
    ingress: {
      external: true,
      targetPort: 5000,
      transport: 'auto',
      allowInsecure: false,
      ipSecurityRestrictions: [{ name: 'office', ipAddressRange: '203.0.113.0/24', action: 'Allow' }]
    },
    secrets: [
      { name: 'backend-store-uri', value: 'postgresql://mlflow:pw@pg/mlflow' },
      { name: 'storage-access-key', value: 'key==' }
    ],
    container: {
      name: 'mlflow',
      image: 'ghcr.io/mlflow/mlflow:v3.1.0-full',
      command: ['mlflow'],
      args: ['server', '--host', '0.0.0.0', '--port', '5000'],
      env: [
        { name: 'MLFLOW_BACKEND_STORE_URI', secretRef: 'backend-store-uri' },
        { name: 'AZURE_STORAGE_ACCESS_KEY', secretRef: 'storage-access-key' },
        { name: 'MLFLOW_SERVER_ENABLE_JOB_EXECUTION', value: 'false' }
      ],
      cpu: 0.5,
      memory: '1Gi',
      probes: [
        {
          type: 'Startup',
          path: '/health',
          port: 5000,
          initialDelaySeconds: 10,
          periodSeconds: 30,
          timeoutSeconds: 5,
          failureThreshold: 10
        },
        {
          type: 'Liveness',
          path: '/health',
          port: 5000,
          initialDelaySeconds: 1,
          periodSeconds: 30,
          timeoutSeconds: 5,
          failureThreshold: 3
        }
      ]
    },
    minReplicas: 1,
    maxReplicas: 1
  }
  const APP_ID = `${P}/Microsoft.App/containerApps/mlflow`

  /** What GET answers after a PUT of `toArm(spec)`: no secret values, service casing and defaults. */
  function served(s: ContainerAppSpec) {
    const sent = containerApps.toArm(s)
    const c = sent.template!.containers![0]!
    return {
      ...sent,
      id: APP_ID,
      name: 'mlflow',
      type: 'Microsoft.App/containerApps',
      provisioningState: 'Succeeded',
      runningStatus: 'Running',
      managedEnvironmentId: s.environmentId,
      latestRevisionName: 'mlflow--abc123',
      latestReadyRevisionName: 'mlflow--abc123',
      latestRevisionFqdn: 'mlflow--abc123.happy-sea.eastus.azurecontainerapps.io',
      outboundIpAddresses: ['20.1.2.3'],
      configuration: {
        ...sent.configuration,
        activeRevisionsMode: 'Single',
        secrets: sent.configuration!.secrets!.map((x) => ({ name: x.name })),
        ingress: {
          ...sent.configuration!.ingress,
          fqdn: 'mlflow.happy-sea.eastus.azurecontainerapps.io',
          transport: 'Auto',
          traffic: [{ weight: 100, latestRevision: true }],
          exposedPort: 0,
          stickySessions: { affinity: 'none' }
        },
        maxInactiveRevisions: 100
      },
      template: {
        ...sent.template,
        revisionSuffix: '',
        containers: [
          {
            ...c,
            env: c.env!.map((e) => (e.secretRef ? { ...e, value: undefined } : e)),
            resources: { ...c.resources, ephemeralStorage: '2Gi' },
            probes: c.probes?.map((p) => ({
              ...p,
              timeoutSeconds: p.timeoutSeconds ?? 1,
              successThreshold: 1,
              httpGet: { ...p.httpGet!, scheme: 'HTTP' }
            }))
          }
        ],
        scale: { ...sent.template!.scale, cooldownPeriod: 300, pollingInterval: 30 }
      }
    }
  }

  it('writes environmentId, configuration and template in the SDK shape', () => {
    const arm = containerApps.toArm(spec)
    expect(arm.environmentId).toBe(spec.environmentId)
    expect(arm.configuration).toEqual({
      activeRevisionsMode: 'Single',
      ingress: {
        external: true,
        targetPort: 5000,
        transport: 'auto',
        allowInsecure: false,
        ipSecurityRestrictions: [{ name: 'office', ipAddressRange: '203.0.113.0/24', action: 'Allow' }]
      },
      secrets: spec.secrets
    })
    expect(arm.template?.scale).toEqual({ minReplicas: 1, maxReplicas: 1 })
    expect(arm.template?.containers?.[0]).toEqual({
      name: 'mlflow',
      image: spec.container.image,
      command: ['mlflow'],
      args: spec.container.args,
      env: spec.container.env,
      resources: { cpu: 0.5, memory: '1Gi' },
      probes: [
        {
          type: 'Startup',
          httpGet: { path: '/health', port: 5000 },
          initialDelaySeconds: 10,
          periodSeconds: 30,
          timeoutSeconds: 5,
          failureThreshold: 10
        },
        {
          type: 'Liveness',
          httpGet: { path: '/health', port: 5000 },
          initialDelaySeconds: 1,
          periodSeconds: 30,
          timeoutSeconds: 5,
          failureThreshold: 3
        }
      ]
    })
  })

  it('round-trips with secret values from listSecrets (in the service order), sorted by name', () => {
    const listed = [...spec.secrets].reverse()
    const o = containerApps.fromArm(served(spec), { secrets: listed })
    roundTrip(o.spec, spec)
    expect(typeof o.spec.container.cpu).toBe('number')
    expect(o.provisioningState).toBe('Succeeded')
    expect(o.outputs).toEqual({
      fqdn: 'mlflow.happy-sea.eastus.azurecontainerapps.io',
      latestRevisionName: 'mlflow--abc123',
      latestReadyRevisionName: 'mlflow--abc123',
      runningStatus: 'Running',
      traffic: [{ latestRevision: true, weight: 100 }],
      eventStreamEndpoint: ''
    })
  })

  it('normalizes absent command/args/probes/ipSecurityRestrictions/tags to []/{}', () => {
    const bare: ContainerAppSpec = {
      ...spec,
      tags: {},
      ingress: { ...spec.ingress, ipSecurityRestrictions: [] },
      container: { ...spec.container, command: [], args: [], probes: [] }
    }
    const sent = containerApps.toArm(bare)
    expect(sent.template!.containers![0]).not.toHaveProperty('command')
    // Sent empty, so a merge patch can remove the last restriction.
    expect(sent.configuration!.ingress!.ipSecurityRestrictions).toEqual([])
    const answer = served(bare)
    const o = containerApps.fromArm(
      {
        ...answer,
        tags: undefined,
        configuration: {
          ...answer.configuration,
          ingress: { ...answer.configuration.ingress, ipSecurityRestrictions: undefined }
        },
        template: {
          ...answer.template,
          containers: [
            { ...answer.template.containers[0]!, command: undefined, args: undefined, probes: undefined }
          ]
        }
      },
      { secrets: bare.secrets }
    )
    roundTrip(o.spec, bare)
  })

  it('a secretRef wins over an empty value; a plain value reads back as a value', () => {
    const answer = served(spec)
    const c = answer.template.containers[0]!
    const o = containerApps.fromArm(
      {
        ...answer,
        template: {
          ...answer.template,
          containers: [
            {
              ...c,
              env: [
                { name: 'MLFLOW_BACKEND_STORE_URI', secretRef: 'backend-store-uri', value: '' },
                { name: 'AZURE_STORAGE_ACCESS_KEY', secretRef: 'storage-access-key', value: undefined },
                { name: 'MLFLOW_SERVER_ENABLE_JOB_EXECUTION', value: 'false', secretRef: undefined }
              ]
            }
          ]
        }
      },
      { secrets: spec.secrets }
    )
    roundTrip(o.spec.container.env, spec.container.env)
  })

  it('a changed image or secret shows up in the projection', () => {
    const answer = served(spec)
    const o = containerApps.fromArm(answer, {
      secrets: [{ name: 'backend-store-uri', value: 'old' }, spec.secrets[1]!]
    })
    expect(o.spec.secrets[0]!.value).toBe('old')
    const bumped = containerApps.fromArm(
      served({ ...spec, container: { ...spec.container, image: 'ghcr.io/mlflow/mlflow:v3.2.0-full' } }),
      {
        secrets: spec.secrets
      }
    )
    expect(bumped.spec.container.image).toBe('ghcr.io/mlflow/mlflow:v3.2.0-full')
  })

  it('maps revisions', () => {
    expect(
      containerApps.revisionFromArm({
        id: `${APP_ID}/revisions/mlflow--abc123`,
        name: 'mlflow--abc123',
        active: true,
        replicas: 1,
        trafficWeight: 100,
        healthState: 'Healthy',
        provisioningState: 'Provisioned',
        runningState: 'Running',
        createdTime: new Date('2026-12-01T10:00:00Z'),
        fqdn: 'mlflow--abc123.blue.westeurope.azurecontainerapps.io',
        template: {
          containers: [{ name: 'mlflow', image: 'ghcr.io/mlflow/mlflow:v3.1.0-full' }],
          scale: { minReplicas: 1, maxReplicas: 1 }
        }
      })
    ).toMatchObject({
      name: 'mlflow--abc123',
      createdTime: '2026-12-01T10:00:00.000Z',
      fqdn: 'mlflow--abc123.blue.westeurope.azurecontainerapps.io',
      minReplicas: 1,
      maxReplicas: 1,
      container: { name: 'mlflow', image: 'ghcr.io/mlflow/mlflow:v3.1.0-full', env: [] },
      provisioningState: 'Provisioned',
      runningState: 'Running',
      healthState: 'Healthy',
      active: true,
      trafficWeight: 100,
      image: 'ghcr.io/mlflow/mlflow:v3.1.0-full'
    })
    expect(
      containerApps.revisionFromArm({
        name: 'mlflow--bad',
        provisioningState: 'Failed',
        provisioningError: 'Container crashing: exit code 1'
      })
    ).toMatchObject({
      name: 'mlflow--bad',
      provisioningState: 'Failed',
      runningState: '',
      healthState: '',
      active: false,
      trafficWeight: 0,
      image: '',
      provisioningError: 'Container crashing: exit code 1'
    })
  })
})

describe('providers', () => {
  it('maps registration state', () => {
    expect(
      providerFromArm({ namespace: 'Microsoft.App', registrationState: 'Registering' }, 'microsoft.app')
    ).toEqual({
      namespace: 'Microsoft.App',
      registrationState: 'Registering',
      locations: {}
    })
    expect(providerFromArm({}, 'Microsoft.App')).toEqual({
      namespace: 'Microsoft.App',
      registrationState: 'NotRegistered',
      locations: {}
    })
  })

  it('reads where each resource type is offered, regions normalized', () => {
    const p = providerFromArm(
      {
        namespace: 'Microsoft.App',
        registrationState: 'Registered',
        resourceTypes: [{ resourceType: 'managedEnvironments', locations: ['West Europe', 'East US 2'] }]
      },
      'Microsoft.App'
    )
    expect(p.locations).toEqual({ managedenvironments: ['westeurope', 'eastus2'] })
  })
})

describe('stack resource types in a region', () => {
  const offered = (ns: string, types: Record<string, string[]>) => ({
    namespace: ns,
    action: 'registered' as const,
    locations: types
  })
  const providers = [
    offered('Microsoft.App', { managedenvironments: ['westeurope'], containerapps: ['westeurope'] }),
    offered('Microsoft.DBforPostgreSQL', { flexibleservers: ['northeurope'] }),
    // A provider that lists no regions is not second-guessed.
    { namespace: 'Microsoft.Network', action: 'registered' as const }
  ]
  it('names the types not offered there', () => {
    expect(unavailableIn('westeurope', providers)).toEqual(['Microsoft.DBforPostgreSQL/flexibleServers'])
    expect(unavailableIn('westeuropa', providers)).toEqual([
      'Microsoft.DBforPostgreSQL/flexibleServers',
      'Microsoft.App/managedEnvironments',
      'Microsoft.App/containerApps'
    ])
  })
})

function restError(statusCode: number | undefined, code: string | undefined, message = 'msg'): RestError {
  return new RestError(message, { statusCode, code })
}
/** A RestError from another bundled copy of the class: recognized by shape, not `instanceof`. */
function foreignRestError(statusCode: number, code: string, message = 'msg'): Error {
  return Object.assign(new Error(message), { name: 'RestError', statusCode, code })
}
const lroFailure = (code: string, message = 'failed') =>
  new Error(`The long-running operation has failed. ${code}. ${message}`)

describe('errors', () => {
  it('recognizes not-found', () => {
    expect(isNotFound(restError(404, 'ResourceNotFound'))).toBe(true)
    expect(isNotFound(restError(404, 'ResourceGroupNotFound'))).toBe(true)
    expect(isNotFound(foreignRestError(404, 'ParentResourceNotFound'))).toBe(true)
    expect(isNotFound(restError(409, 'Conflict'))).toBe(false)
    expect(isNotFound(restError(400, 'ResourceNotFound'))).toBe(false)
    expect(isNotFound(lroFailure('ResourceNotFound'))).toBe(true)
    expect(isNotFound(new Error('nope'))).toBe(false)
  })

  it('describes errors as <code>: <message>', () => {
    expect(describeAzureError(restError(409, 'ContainerAppLockConflict', 'Cannot modify'))).toBe(
      'ContainerAppLockConflict: Cannot modify'
    )
    expect(describeAzureError(restError(500, undefined, 'boom'))).toBe('HTTP 500: boom')
    expect(describeAzureError(lroFailure('ContainerAppOperationError', 'Failed to provision revision'))).toBe(
      'ContainerAppOperationError: Failed to provision revision'
    )
    expect(describeAzureError(new Error('plain'))).toBe('plain')
    expect(describeAzureError('text')).toBe('text')
  })

  it('parses LRO failure messages, including the SDK "undefined" code', () => {
    expect(parseLroFailure(lroFailure('InvalidParameter', 'Bad value. More text.'))).toEqual({
      code: 'InvalidParameter',
      message: 'Bad value. More text.'
    })
    expect(parseLroFailure(new Error('The long-running operation has failed. undefined. undefined'))).toEqual(
      { code: '', message: 'undefined' }
    )
    expect(parseLroFailure(new Error('other'))).toBeUndefined()
  })
})

describe('retry classification: only what the SDK pipeline does not retry itself', () => {
  const transport = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
  it.each<[string, unknown, boolean]>([
    ['ContainerAppLockConflict 409', restError(409, 'ContainerAppLockConflict'), true],
    [
      'ContainerAppsJobOperationInProgress 409 (a job start or write while the job is busy)',
      restError(409, 'ContainerAppsJobOperationInProgress'),
      true
    ],
    [
      'ManagedEnvironmentOperationInProgress 409',
      restError(409, 'ManagedEnvironmentOperationInProgress'),
      true
    ],
    [
      'AnotherOperationInProgress 409 (foreign class)',
      foreignRestError(409, 'AnotherOperationInProgress'),
      true
    ],
    ['OperationInProgress 409', restError(409, 'OperationInProgress'), true],
    ['ServerIsBusy 409', restError(409, 'ServerIsBusy'), true],
    [
      'generic Conflict "Another operation is in progress"',
      restError(409, 'Conflict', 'Another operation is in progress'),
      true
    ],
    ['StorageAccountAlreadyTaken 409', restError(409, 'StorageAccountAlreadyTaken'), false],
    ['MissingSubscriptionRegistration 409', restError(409, 'MissingSubscriptionRegistration'), false],
    ['generic Conflict', restError(409, 'Conflict', 'name in use'), false],
    // The pipeline already retried these (and gave up): another layer would multiply the attempts.
    ['429 after the pipeline', restError(429, 'SubscriptionRequestsThrottled'), false],
    ['500 after the pipeline', restError(500, 'InternalServerError'), false],
    ['503 after the pipeline', restError(503, 'ServiceUnavailable'), false],
    ['408 after the pipeline', restError(408, 'RequestTimeout'), false],
    ['transport RestError after the pipeline', restError(undefined, 'ECONNRESET', 'socket hang up'), false],
    ['plain ECONNRESET', transport, false],
    ['400 InvalidParameter', restError(400, 'InvalidParameter'), false],
    ['403 AuthorizationFailed', restError(403, 'AuthorizationFailed'), false],
    ['404', restError(404, 'ResourceNotFound'), false],
    ['failed LRO, internal error', lroFailure('InternalServerError'), true],
    ['failed LRO, internal operation error', lroFailure('InternalOperationError'), true],
    ['failed LRO, lock conflict', lroFailure('ContainerAppLockConflict'), true],
    // Allow-listed, not deny-listed: a code we do not know is not retried.
    ['failed LRO, an unknown code', lroFailure('LocationIsOfferRestricted'), false],
    ['failed LRO, no code', new Error('The long-running operation has failed. undefined. undefined'), false],
    ['failed LRO, QuotaExceeded', lroFailure('QuotaExceeded'), false],
    ['failed LRO, SubnetNotDelegated', lroFailure('SubnetNotDelegated'), false],
    [
      'failed LRO, ContainerAppOperationError',
      lroFailure('ContainerAppOperationError', 'Failed to provision revision'),
      false
    ],
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'x')"), false],
    ['a string', 'boom', false]
  ])('%s → retried here: %s', (_name, err, expected) => {
    expect(isRetryable(err)).toBe(expected)
    expect(retryReason(err) !== undefined).toBe(expected)
  })
})

describe('withRetry', () => {
  const noSleep = async (): Promise<void> => {}

  it('retries a busy conflict with exponential delays jittered at random to 50–100 %', async () => {
    const delays: number[] = []
    const infos: RetryInfo[] = []
    const draws = [0, 0.5, 1 - Number.EPSILON]
    let calls = 0
    const result = await withRetry(
      async () => {
        calls++
        if (calls < 4) throw restError(409, 'ContainerAppLockConflict')
        return 'ok'
      },
      {
        baseDelayMs: 100,
        label: 'put containerApp rg/app',
        random: () => draws.shift()!,
        sleep: async (ms) => void delays.push(ms),
        onRetry: (i) => void infos.push(i)
      }
    )
    expect(result).toBe('ok')
    expect(calls).toBe(4)
    expect(delays).toEqual([50, 150, 400])
    expect(infos.map((i) => [i.attempt, i.reason])).toEqual([
      [1, 'busy (ContainerAppLockConflict)'],
      [2, 'busy (ContainerAppLockConflict)'],
      [3, 'busy (ContainerAppLockConflict)']
    ])
  })

  it('counts: a busy resource is tried `attempts` times in all, then the last error is thrown', async () => {
    let calls = 0
    const err = restError(409, 'AnotherOperationInProgress')
    await expect(
      withRetry(
        async () => {
          calls++
          throw err
        },
        { attempts: 3, baseDelayMs: 1, label: 'x', sleep: noSleep }
      )
    ).rejects.toBe(err)
    expect(calls).toBe(3)
  })

  it('stops at the deadline, whatever attempts are left', async () => {
    let now = 0
    let calls = 0
    const err = restError(409, 'ContainerAppLockConflict')
    await expect(
      withRetry(
        async () => {
          calls++
          throw err
        },
        {
          attempts: 100,
          baseDelayMs: 1000,
          deadlineMs: 5000,
          label: 'x',
          random: () => 1 - Number.EPSILON,
          now: () => now,
          sleep: async (ms) => void (now += ms)
        }
      )
    ).rejects.toBe(err)
    // 1 s, 2 s, then 4 s would pass the 5 s deadline.
    expect(calls).toBe(3)
  })

  it('never sends a create again after a permanent failure (a PostgreSQL server is minutes of work)', async () => {
    let calls = 0
    const err = lroFailure('LocationIsOfferRestricted')
    await expect(
      withRetry(
        async () => {
          calls++
          throw err
        },
        { baseDelayMs: 1, label: 'put postgresServer rg/pg', sleep: noSleep }
      )
    ).rejects.toBe(err)
    expect(calls).toBe(1)
  })

  it('does not retry what the pipeline already retried', async () => {
    let calls = 0
    await expect(
      withRetry(
        async () => {
          calls++
          throw restError(503, 'ServiceUnavailable')
        },
        { baseDelayMs: 1, label: 'x', sleep: noSleep }
      )
    ).rejects.toThrow()
    expect(calls).toBe(1)
  })

  it('honours a Retry-After header on a busy answer as a lower bound', async () => {
    const delays: number[] = []
    const err = Object.assign(restError(409, 'ContainerAppLockConflict'), {
      response: { headers: { get: (n: string) => (n === 'retry-after' ? '2' : undefined) } }
    })
    let calls = 0
    await withRetry(
      async () => {
        if (calls++ === 0) throw err
        return 1
      },
      { baseDelayMs: 10, label: 'x', sleep: async (ms) => void delays.push(ms) }
    )
    expect(delays).toEqual([2000])
  })

  it('caps a single delay', () => {
    expect(backoffDelay(20, 100, 5000, 1 - Number.EPSILON)).toBeLessThanOrEqual(5000)
    expect(backoffDelay(1, 100, 5000, 0)).toBe(50)
  })
})

describe('clients and credential', () => {
  it('derives pipeline options from the poll interval', () => {
    expect(clamp(10, 50, 1000)).toBe(50)
    expect(
      pipelineOptions({
        endpoint: 'https://127.0.0.1:8443/',
        pollIntervalMs: 10,
        userAgentPrefix: 'mlflow-azure-action'
      })
    ).toEqual({
      endpoint: 'https://127.0.0.1:8443',
      retryOptions: { maxRetries: 6, retryDelayInMs: 50, maxRetryDelayInMs: 30_000 },
      userAgentOptions: { userAgentPrefix: 'mlflow-azure-action' }
    })
    expect(
      pipelineOptions({ endpoint: 'https://management.azure.com', pollIntervalMs: 5000 }).retryOptions
        .retryDelayInMs
    ).toBe(1000)
  })

  it('picks the credential flow', () => {
    const getIdToken = async () => 'oidc'
    expect(credentialKind({ clientId: 'c', tenantId: 't', getIdToken, accessToken: 'x' })).toBe(
      'client-assertion'
    )
    expect(credentialKind({ clientId: 'c', accessToken: 'x' })).toBe('access-token')
    expect(credentialKind({})).toBe('default')
    expect(() => createCredential({ clientId: 'c', tenantId: 't' })).toThrow(/OIDC/)
  })

  it('a static token credential reports an expiry about an hour ahead', async () => {
    const before = Date.now()
    const token = await staticTokenCredential('tok').getToken('https://management.azure.com/.default')
    expect(token?.token).toBe('tok')
    expect(token!.expiresOnTimestamp).toBeGreaterThanOrEqual(before + 3_600_000)
    expect(token!.expiresOnTimestamp).toBeLessThanOrEqual(Date.now() + 3_600_000)
    const viaFactory = await createCredential({ accessToken: 'tok2' }).getToken('scope')
    expect(viaFactory?.token).toBe('tok2')
  })
})
