/**
 * Microsoft's own request/response examples (Azure/azure-rest-api-specs, saved verbatim under
 * test/fixtures/arm-examples, listed in its manifest.json) replayed against ONE local ARM emulator
 * over raw HTTPS. Each example first gets what it references (explicit prerequisite steps below),
 * then its request is sent as the example gives it, and the answer is held to the example:
 *  (a) the status is one of the example's response codes;
 *  (b) long-running answers are polled to the end, then the resource is read back;
 *  (c) the body (or the read-back) has every property path of the example's success body with the
 *      same JSON type.
 *
 * Requests are sent as the examples give them, with these adaptations only (`prepareRequest`; each
 * manifest entry lists, word for word, the ones its example needs, and the test fails when the list
 * and what was done differ):
 *  1. subscription placeholders that are not GUIDs (`subid`, ...) become the emulator's subscription,
 *     in the path and in ARM ids inside the body (ARM refuses a non-GUID subscription);
 *  2. a container-app name that breaks the service's naming rule by its upper case only
 *     (`testcontainerApp0`) is lower-cased: the service answers 400 ContainerAppInvalidName to it;
 *  3. a revision name written `<app>-<suffix>` (path or ingress traffic) is written
 *     `<app>--<suffix>`, as the service names revisions;
 *  4. a Container Apps job name that breaks the naming rule jobs share with container apps by its
 *     upper case only (`testcontainerAppsJob0`) is lower-cased;
 *  5. a job execution name that no start can have returned (`jobExecution1`; the service names
 *     executions `<job>-<7 lower-case letters>`) is the one the prerequisite start returned;
 *  6. a body's `location` that is a canary region (`eastus2euap`, open only to allow-listed
 *     subscriptions: ARM refuses it to others) is the public region it is the canary of (`eastus2`).
 *
 * An entry may list `unmodeled` paths of its success body: state that only operations the emulator
 * does not model can create. Those paths are left out of (c), and the entry fails if the emulator
 * answers one of them (then the emulator models it and the entry must lose it) or if the example no
 * longer has it. Entries with `pending` are skipped, under their usual test name.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startEmulator, type Emulator } from '../helpers/emulator.js'
import {
  FIXTURES,
  armClient,
  describeError,
  fileName,
  isLongRunning,
  loadExample,
  loadManifest,
  prepareRequest,
  runStep,
  shapeProblemsExcept,
  statusCodes,
  waitForOperation,
  withQuery,
  type ArmClient,
  type ArmExample,
  type Json,
  type JsonObject,
  type ManifestEntry,
  type ReplayContext,
  type Step
} from '../helpers/armExamples.js'

const TIME_SCALE = 0.002

// api-versions of the manifest, used by the prerequisite steps of each resource kind
const V = {
  resources: '2025-04-01',
  network: '2026-01-01',
  dns: '2024-06-01',
  insights: '2025-07-01',
  storage: '2026-06-01',
  postgres: '2025-08-01',
  app: '2026-07-01',
  msi: '2024-11-30',
  ml: '2024-10-01'
}

// Subscriptions as the examples name them (non-GUIDs are mapped to the emulator's subscription).
const SUB0 = '00000000-0000-0000-0000-000000000000'
const SUB_STORAGE = 'a3f7c2b9-4e1d-4c8a-9d6f-8b2a5e41c7f3'
const SUB_PG = 'ffffffff-ffff-ffff-ffff-ffffffffffff'
const SUB_APP = '34adfa4f-cedf-4dc0-ba29-b6d1a69ab345'
const SUB_ENV_GET = '8efdecc5-919e-44eb-b179-915dca89ebf9'
const SUB_ML = '00000000-1111-2222-3333-444444444444'

// ---------------------------------------------------------------------------------------------
// Prerequisite building blocks (minimal bodies of our own unless noted)
// ---------------------------------------------------------------------------------------------

const rgPath = (sub: string, rg: string): string => `/subscriptions/${sub}/resourceGroups/${rg}`
const provider = (sub: string, rg: string, ns: string, rest: string): string =>
  `${rgPath(sub, rg)}/providers/${ns}/${rest}`

const group = (sub: string, rg: string, location = 'eastus'): Step => ({
  kind: 'ensure',
  path: rgPath(sub, rg),
  apiVersion: V.resources,
  body: { location }
})

const vnetPath = (sub: string, rg: string, name: string): string =>
  provider(sub, rg, 'Microsoft.Network', `virtualNetworks/${name}`)

interface SubnetSpec {
  name: string
  prefix: string
  delegation?: string
}

function vnetBody(prefixes: string[], subnets: SubnetSpec[], location = 'eastus'): Json {
  return {
    location,
    properties: {
      addressSpace: { addressPrefixes: prefixes },
      subnets: subnets.map((s) => ({
        name: s.name,
        properties: {
          addressPrefix: s.prefix,
          ...(s.delegation
            ? { delegations: [{ name: 'delegation', properties: { serviceName: s.delegation } }] }
            : {})
        }
      }))
    }
  }
}

const vnet = (
  kind: 'ensure' | 'put',
  sub: string,
  rg: string,
  name: string,
  prefixes: string[],
  subnets: SubnetSpec[],
  location = 'eastus'
): Step => ({
  kind,
  path: vnetPath(sub, rg, name),
  apiVersion: V.network,
  body: vnetBody(prefixes, subnets, location)
})

const noVnet = (sub: string, rg: string, name: string): Step => ({
  kind: 'absent',
  path: vnetPath(sub, rg, name),
  apiVersion: V.network
})

/** vnetname in subnet-test (subscription `subid`), made afresh with the subnets an example needs. */
const subnetTestVnet = (prefixes: string[], subnets: SubnetSpec[]): Step[] => [
  group('subid', 'subnet-test'),
  vnet('put', 'subid', 'subnet-test', 'vnetname', prefixes, subnets)
]

/** test-vnet in rg1 (subscription `subid`): whichever one an earlier example left, else a bare one. */
const testVnet: Step[] = [
  group('subid', 'rg1'),
  vnet('ensure', 'subid', 'rg1', 'test-vnet', ['10.0.0.0/16'], [])
]

const zonePath = (sub: string, rg: string, zone: string): string =>
  provider(sub, rg, 'Microsoft.Network', `privateDnsZones/${zone}`)

const privateZone1: Step = {
  kind: 'ensure',
  path: zonePath('subscriptionId', 'resourceGroup1', 'privatezone1.com'),
  apiVersion: V.dns,
  body: { location: 'global', tags: { key1: 'value1' } }
}

const workspace = (kind: 'ensure' | 'put', sub: string, rg: string, name: string, body: Json): Step => ({
  kind,
  path: provider(sub, rg, 'Microsoft.OperationalInsights', `workspaces/${name}`),
  apiVersion: V.insights,
  body
})

const storagePath = (sub: string, rg: string, account: string): string =>
  provider(sub, rg, 'Microsoft.Storage', `storageAccounts/${account}`)

const storageAccount = (sub: string, rg: string, account: string, body?: Json): Step => ({
  kind: 'ensure',
  path: storagePath(sub, rg, account),
  apiVersion: V.storage,
  body: body ?? { sku: { name: 'Standard_LRS' }, kind: 'StorageV2', location: 'eastus' }
})

// -- PostgreSQL (subscription ffffffff-…, resource group exampleresourcegroup) ------------------

const PG_RG = 'exampleresourcegroup'
const PG_ZONE = 'exampleprivatednszone.postgres.database.azure.com'
const pgServerPath = provider(SUB_PG, PG_RG, 'Microsoft.DBforPostgreSQL', 'flexibleServers/exampleserver')
/** The user-settable part of ServersGet.json's body, with a password the example leaves out. */
const PG_SERVER_BODY: Json = {
  location: 'eastus',
  sku: { name: 'Standard_D4ds_v5', tier: 'GeneralPurpose' },
  properties: {
    administratorLogin: 'exampleadministratorlogin',
    administratorLoginPassword: 'Example-Passw0rd-1',
    version: '17',
    availabilityZone: '1',
    createMode: 'Create',
    storage: { storageSizeGB: 128, autoGrow: 'Disabled', tier: 'P10' },
    backup: { backupRetentionDays: 7, geoRedundantBackup: 'Enabled' },
    network: { publicNetworkAccess: 'Enabled' },
    highAvailability: { mode: 'Disabled' },
    authConfig: { activeDirectoryAuth: 'Disabled', passwordAuth: 'Enabled' },
    dataEncryption: { type: 'SystemManaged' },
    maintenanceWindow: { customWindow: 'Disabled', dayOfWeek: 0, startHour: 0, startMinute: 0 }
  }
}
const pgServer: Step = { kind: 'ensure', path: pgServerPath, apiVersion: V.postgres, body: PG_SERVER_BODY }

// -- Container Apps (subscription 34adfa4f-…) ----------------------------------------------------

const envPath = (sub: string, rg: string, name: string): string =>
  provider(sub, rg, 'Microsoft.App', `managedEnvironments/${name}`)
const DEMOKUBE_ID = envPath(SUB_APP, 'rg', 'demokube')
/** The environment the app and job examples point at (`.../rg/.../managedEnvironments/demokube`). */
const demokube: Step = {
  kind: 'ensure',
  path: DEMOKUBE_ID,
  apiVersion: V.app,
  body: {
    location: 'East US',
    properties: {
      workloadProfiles: [
        { name: 'Consumption', workloadProfileType: 'Consumption' },
        { name: 'My-GP-01', workloadProfileType: 'GeneralPurpose', minimumCount: 1, maximumCount: 3 }
      ]
    }
  }
}

const WORKLOAD_PROFILES: Json = [
  { name: 'My-GP-01', maximumCount: 12, minimumCount: 3, workloadProfileType: 'GeneralPurpose' },
  { name: 'My-MO-01', maximumCount: 6, minimumCount: 3, workloadProfileType: 'MemoryOptimized' },
  { name: 'My-CO-01', maximumCount: 6, minimumCount: 3, workloadProfileType: 'ComputeOptimized' },
  { name: 'My-consumption-01', workloadProfileType: 'Consumption' }
]

const ENV_SUBNET: SubnetSpec = {
  name: 'subnetName1',
  prefix: '10.0.0.0/23',
  delegation: 'Microsoft.App/environments'
}

/** The user-assigned identity ContainerApps_Get.json and Job_CreateorUpdate.json attach. */
const MY_IDENTITY = `/subscriptions/${SUB_APP}/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myidentity`

/** An identity an app or job names must exist: it is made first. */
const myIdentity: Step = {
  kind: 'ensure',
  path: MY_IDENTITY,
  apiVersion: V.msi,
  body: { location: 'eastus' }
}

/**
 * What the app and job bodies share: the identities both Get examples attach (system-assigned and
 * myidentity, with their identitySettings), demokube's dedicated profile, the two secrets the
 * ListSecrets examples list, and a container and an init container of the examples' image and
 * size. `configuration` and `template` add what is the app's or the job's own; `init` adds to the
 * init container.
 */
function onDemokube(
  name: string,
  configuration: JsonObject,
  template: JsonObject,
  init: JsonObject = {}
): Json {
  const image = `repo/${name}:v4`
  const resources = { cpu: 0.2, memory: '100Mi' }
  return {
    location: 'East US',
    identity: { type: 'SystemAssigned,UserAssigned', userAssignedIdentities: { [MY_IDENTITY]: {} } },
    properties: {
      environmentId: DEMOKUBE_ID,
      workloadProfileName: 'My-GP-01',
      configuration: {
        secrets: [
          { name: 'secret1', value: 'value1' },
          { name: 'secret2', value: 'value2' }
        ],
        identitySettings: [
          { identity: MY_IDENTITY, lifecycle: 'All' },
          { identity: 'system', lifecycle: 'Init' }
        ],
        ...configuration
      },
      template: {
        containers: [{ name, image, resources }],
        initContainers: [{ name: `testinit${name}`, image, ...init, resources }],
        ...template
      }
    }
  }
}

/**
 * An app shaped after ContainerApps_Get.json (user-settable parts; custom domains, volumes, the
 * add-on service and service binds are left out: they need environment certificates, environment
 * storages and add-on services, which the emulator does not model — the entry lists them as
 * unmodeled), with the two secrets ContainerApps_ListSecrets.json lists and the revision suffix of
 * the revision examples (`pjxhsye`), which its traffic names.
 */
function appBody(name: string): Json {
  return onDemokube(
    name,
    {
      dapr: {
        appHealth: {
          path: '/health',
          enabled: true,
          probeIntervalSeconds: 3,
          probeTimeoutMilliseconds: 1000,
          threshold: 3
        },
        appPort: 3000,
        appProtocol: 'http',
        enableApiLogging: true,
        enabled: true,
        httpMaxRequestSize: 10,
        httpReadBufferSize: 30,
        logLevel: 'debug',
        maxConcurrency: 10
      },
      ingress: {
        external: true,
        targetPort: 3000,
        transport: 'auto',
        stickySessions: { affinity: 'sticky' },
        ipSecurityRestrictions: [
          {
            name: 'Allow work IP A subnet',
            description: "Allowing all IP's within the subnet below to access containerapp",
            action: 'Allow',
            ipAddressRange: '192.168.1.1/32'
          }
        ],
        traffic: [{ revisionName: `${name}--pjxhsye`, weight: 100 }]
      },
      maxInactiveRevisions: 10,
      runtime: { java: { enableMetrics: true } }
    },
    {
      revisionSuffix: 'pjxhsye',
      scale: {
        cooldownPeriod: 350,
        maxReplicas: 5,
        minReplicas: 1,
        pollingInterval: 35,
        rules: [{ name: 'httpscalingrule', http: { metadata: { concurrentRequests: '50' } } }]
      }
    }
  )
}

const app = (name: string): Step => ({
  kind: 'ensure',
  path: provider(SUB_APP, 'rg', 'Microsoft.App', `containerApps/${name}`),
  apiVersion: V.app,
  body: appBody(name)
})

/**
 * A manual job shaped after Job_Get.json (same omissions as appBody) with the two secrets
 * Job_ListSecrets.json lists, on the environment's dedicated profile (the examples' 0.2 CPU /
 * 100Mi is no Consumption combination).
 */
function jobBody(name: string): Json {
  return onDemokube(
    name,
    {
      triggerType: 'Manual',
      replicaTimeout: 10,
      replicaRetryLimit: 10,
      manualTriggerConfig: { parallelism: 4, replicaCompletionCount: 1 }
    },
    {},
    { command: ['/bin/sh'], args: ['-c', 'while true; do echo hello; sleep 10;done'] }
  )
}

const jobPath = (name: string): string => provider(SUB_APP, 'rg', 'Microsoft.App', `jobs/${name}`)
/** `put` when the example needs the job exactly as jobBody writes it (not as another example left it). */
const job = (name: string, kind: 'ensure' | 'put' = 'ensure'): Step => ({
  kind,
  path: jobPath(name),
  apiVersion: V.app,
  body: jobBody(name)
})
const startJob: Step = { kind: 'post', path: `${jobPath('testcontainerappsjob0')}/start`, apiVersion: V.app }

/** What the app and job examples stand on: resource group rg, demokube and myidentity. */
const onDemokubeRg = (...steps: Step[]): Step[] => [group(SUB_APP, 'rg'), demokube, myIdentity, ...steps]

// -- Azure Machine Learning workspaces (subscription 00000000-1111-…) -----------------------------

const ML_RG = 'workspace-1234'
const mlPath = (name: string): string =>
  provider(SUB_ML, ML_RG, 'Microsoft.MachineLearningServices', `workspaces/${name}`)
const mlId = (rest: string): string => `${rgPath(SUB_ML, ML_RG)}/providers/${rest}`
/** The ids the Workspace examples link (create.json, get.json), as they write them. */
const ML_LINKS = {
  storageAccount: storagePath(SUB_ML, 'accountcrud-1234', 'testStorageAccount'),
  keyVault: mlId('Microsoft.KeyVault/vaults/testkv'),
  containerRegistry: mlId('Microsoft.ContainerRegistry/registries/testRegistry'),
  applicationInsights: mlId('microsoft.insights/components/testinsights'),
  identity: mlId('Microsoft.ManagedIdentity/userAssignedIdentities/testuai')
}

/**
 * What a workspace of the examples stands on: its resource group, the storage account its
 * `properties.storageAccount` names (the emulator requires it to exist; `testStorageAccount` is
 * made as `teststorageaccount`, since no account name may have upper case and ARM ids are
 * case-insensitive), and the user-assigned identity `testuai` it attaches (an identity a resource
 * names must exist). The key vault, registry and Application Insights component it links are kinds
 * the emulator does not model: it checks only their ids' form, so nothing is made for them.
 */
const mlDeps: Step[] = [
  group(SUB_ML, 'accountcrud-1234'),
  storageAccount(SUB_ML, 'accountcrud-1234', 'teststorageaccount'),
  group(SUB_ML, ML_RG),
  { kind: 'ensure', path: ML_LINKS.identity, apiVersion: V.msi, body: { location: 'eastus2' } }
]

/**
 * testworkspace as get.json shows it (user-settable part; the region `eastus2euap` is a canary:
 * eastus2). `imageBuildCompute` is left out: it names a compute of the workspace, a kind the
 * emulator does not model (the entry lists it as unmodeled).
 */
const ML_GET_BODY: Json = {
  location: 'eastus2',
  identity: { type: 'SystemAssigned,UserAssigned', userAssignedIdentities: { [ML_LINKS.identity]: {} } },
  properties: {
    containerRegistry: ML_LINKS.containerRegistry,
    keyVault: ML_LINKS.keyVault,
    applicationInsights: ML_LINKS.applicationInsights,
    storageAccount: ML_LINKS.storageAccount,
    friendlyName: 'HelloName',
    description: 'test description',
    encryption: {
      status: 'Enabled',
      identity: { userAssignedIdentity: ML_LINKS.identity },
      keyVaultProperties: {
        keyVaultArmId: ML_LINKS.keyVault,
        keyIdentifier: 'https://testkv.vault.azure.net/keys/testkey/aabbccddee112233445566778899aabb',
        identityClientId: ''
      }
    },
    hbiWorkspace: false,
    allowPublicAccessWhenBehindVnet: false,
    publicNetworkAccess: 'Disabled',
    sharedPrivateLinkResources: [
      {
        name: 'testcosmosdbresource',
        properties: {
          privateLinkResourceId: mlId(
            'Microsoft.DocumentDB/databaseAccounts/testcosmosdbresource/privateLinkResources/Sql'
          ),
          groupId: 'Sql',
          requestMessage: 'Please approve',
          status: 'Approved'
        }
      }
    ]
  }
}

// ---------------------------------------------------------------------------------------------
// What each example needs before its request can be valid (keyed by the example's file name)
// ---------------------------------------------------------------------------------------------

const PREREQUISITES: Record<string, Step[]> = {
  // Microsoft.Resources
  'CreateResourceGroup.json': [],
  'ResourceGroups_Get.json': [group(SUB0, 'my-resource-group', 'westus2')],
  // Providers are not created; the emulator answers for any namespace.
  'GetProvider.json': [],
  'ForceDeleteVMsInResourceGroup.json': [group(SUB0, 'my-resource-group')],

  // Microsoft.Network (subscription `subid`/`subId`)
  'VirtualNetworkCreate.json': [group('subid', 'rg1')],
  'SubnetCreate.json': subnetTestVnet(['10.0.0.0/16'], []),
  // test-vnet exists in eastus (VirtualNetworkCreate.json): this example creates it in westcentralus.
  'VirtualNetworkCreateSubnetWithDelegation.json': [
    group('subId', 'rg1'),
    noVnet('subId', 'rg1', 'test-vnet')
  ],
  // test-vnet as VirtualNetworkGetWithSubnetDelegation.json shows it: westus, 10.0.0.0/16 with
  // subnet1 10.0.1.0/24 delegated (to a real service: the example's is a placeholder).
  'VirtualNetworkGetWithSubnetDelegation.json': [
    group('subId', 'rg1'),
    noVnet('subId', 'rg1', 'test-vnet'),
    vnet(
      'put',
      'subId',
      'rg1',
      'test-vnet',
      ['10.0.0.0/16'],
      [{ name: 'subnet1', prefix: '10.0.1.0/24', delegation: 'Microsoft.App/environments' }],
      'westus'
    )
  ],
  'SubnetGet.json': subnetTestVnet(['10.0.0.0/16'], [{ name: 'subnet1', prefix: '10.0.0.0/16' }]),
  // The example lists subnet1 and subnet2 both as 10.0.0.0/16, which would overlap: each gets its own range.
  'SubnetList.json': subnetTestVnet(
    ['10.0.0.0/16', '10.1.0.0/16'],
    [
      { name: 'subnet1', prefix: '10.0.0.0/16' },
      { name: 'subnet2', prefix: '10.1.0.0/16' }
    ]
  ),
  'VirtualNetworkUpdateTags.json': testVnet,
  'SubnetDelete.json': subnetTestVnet(['10.0.0.0/16'], [{ name: 'subnet1', prefix: '10.0.0.0/16' }]),
  'VirtualNetworkDelete.json': testVnet,

  // Private DNS (subscription `subscriptionId`; the linked VNet in `virtualNetworkSubscriptionId`)
  'VirtualNetworkLinkPut.json': [
    group('subscriptionId', 'resourceGroup1'),
    privateZone1,
    group('virtualNetworkSubscriptionId', 'virtualNetworkResourceGroup'),
    vnet(
      'ensure',
      'virtualNetworkSubscriptionId',
      'virtualNetworkResourceGroup',
      'virtualNetworkName',
      ['10.2.0.0/16'],
      []
    )
  ],
  'PrivateZoneGet.json': [group('subscriptionId', 'resourceGroup1'), privateZone1],

  // Microsoft.OperationalInsights
  'WorkspacesCreate.json': [group(SUB0, 'oiautorest6685', 'australiasoutheast')],
  // The user-settable part of WorkspacesGet.json (replication included), in the create's region.
  'WorkspacesGet.json': [
    group(SUB0, 'oiautorest6685', 'australiasoutheast'),
    workspace('put', SUB0, 'oiautorest6685', 'oiautorest6685', {
      location: 'australiasoutheast',
      properties: {
        retentionInDays: 30,
        sku: { name: 'PerGB2018' },
        publicNetworkAccessForIngestion: 'Enabled',
        publicNetworkAccessForQuery: 'Enabled',
        replication: { enabled: true, location: 'westus3' }
      }
    })
  ],
  'WorkspacesGetSharedKeys.json': [
    group(SUB0, 'rg1'),
    workspace('ensure', SUB0, 'rg1', 'TestLinkWS', {
      location: 'eastus',
      properties: { sku: { name: 'PerGB2018' }, retentionInDays: 30 }
    })
  ],
  'WorkspacesDelete.json': [
    group(SUB0, 'oiautorest6685', 'australiasoutheast'),
    workspace('ensure', SUB0, 'oiautorest6685', 'oiautorest6685', {
      location: 'australiasoutheast',
      properties: { sku: { name: 'PerGB2018' }, retentionInDays: 30 }
    })
  ],

  // Microsoft.Storage
  'StorageAccountCreate.json': [group(SUB_STORAGE, 'res9101')],
  'BlobContainersPut.json': [group(SUB0, 'res3376'), storageAccount(SUB0, 'res3376', 'sto328')],
  // The user-settable part of StorageAccountGetProperties.json ('eastus2(stage)' is not a region: eastus2).
  'StorageAccountGetProperties.json': [
    group(SUB0, 'res9407', 'eastus2'),
    storageAccount(SUB0, 'res9407', 'sto8596', {
      sku: { name: 'Standard_GRS' },
      kind: 'Storage',
      location: 'eastus2',
      tags: { key1: 'value1', key2: 'value2' },
      properties: {
        isHnsEnabled: true,
        supportsHttpsTrafficOnly: false,
        encryption: {
          keySource: 'Microsoft.Storage',
          services: {
            blob: { enabled: true, keyType: 'Account' },
            file: { enabled: true, keyType: 'Account' }
          }
        },
        networkAcls: {
          bypass: 'AzureServices',
          defaultAction: 'Allow',
          ipRules: [],
          virtualNetworkRules: [],
          resourceAccessRules: [
            {
              resourceId:
                '/subscriptions/a7e99807-abbf-4642-bdec-2c809a96a8bc/resourceGroups/res9407/providers/Microsoft.Synapse/workspaces/testworkspace',
              tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47'
            }
          ]
        },
        routingPreference: {
          publishInternetEndpoints: true,
          publishMicrosoftEndpoints: true,
          routingChoice: 'MicrosoftRouting'
        },
        geoPriorityReplicationStatus: { isBlobEnabled: true }
      }
    })
  ],
  // The two containers the list example shows (both private: public access is never written).
  'BlobContainersList.json': [
    group(SUB0, 'res9290'),
    storageAccount(SUB0, 'res9290', 'sto1590'),
    ...['container1644', 'container4052'].map((name): Step => ({
      kind: 'ensure',
      path: `${storagePath(SUB0, 'res9290', 'sto1590')}/blobServices/default/containers/${name}`,
      apiVersion: V.storage,
      body: { properties: { publicAccess: 'None' } }
    }))
  ],
  'BlobContainersGetWithAllowProtectedAppendWritesAll.json': [
    group(SUB0, 'res9871'),
    storageAccount(SUB0, 'res9871', 'sto6217'),
    {
      kind: 'ensure',
      path: `${storagePath(SUB0, 'res9871', 'sto6217')}/blobServices/default/containers/container1634`,
      apiVersion: V.storage,
      body: { properties: { publicAccess: 'None' } }
    }
  ],
  'StorageAccountRegenerateKey.json': [group(SUB0, 'res4167'), storageAccount(SUB0, 'res4167', 'sto3539')],
  'StorageAccountDelete.json': [group(SUB0, 'res4228'), storageAccount(SUB0, 'res4228', 'sto2434')],

  // Microsoft.DBforPostgreSQL: the delegated subnet, the private DNS zone and its VNet link the
  // create example names.
  'ServersCreateWithMicrosoftEntraEnabledInYourOwnVirtualNetworkWithoutHighAvailability.json': [
    group(SUB_PG, PG_RG),
    vnet(
      'ensure',
      SUB_PG,
      PG_RG,
      'examplevirtualnetwork',
      ['10.0.0.0/16'],
      [
        {
          name: 'examplesubnet',
          prefix: '10.0.0.0/24',
          delegation: 'Microsoft.DBforPostgreSQL/flexibleServers'
        }
      ]
    ),
    {
      kind: 'ensure',
      path: zonePath(SUB_PG, PG_RG, PG_ZONE),
      apiVersion: V.dns,
      body: { location: 'global' }
    },
    {
      kind: 'ensure',
      path: `${zonePath(SUB_PG, PG_RG, PG_ZONE)}/virtualNetworkLinks/examplevirtualnetwork-link`,
      apiVersion: V.dns,
      body: {
        location: 'global',
        properties: {
          registrationEnabled: false,
          virtualNetwork: { id: vnetPath(SUB_PG, PG_RG, 'examplevirtualnetwork') }
        }
      }
    }
  ],
  'DatabasesCreate.json': [group(SUB_PG, PG_RG), pgServer],
  'ServersGet.json': [group(SUB_PG, PG_RG), pgServer],
  'ServersUpdate.json': [group(SUB_PG, PG_RG), pgServer],
  'DatabasesDelete.json': [
    group(SUB_PG, PG_RG),
    pgServer,
    {
      kind: 'ensure',
      path: `${pgServerPath}/databases/exampledatabase`,
      apiVersion: V.postgres,
      body: { properties: { charset: 'utf8', collation: 'en_US.utf8' } }
    }
  ],
  'ServersDelete.json': [group(SUB_PG, PG_RG), pgServer],
  // The two databases the list example shows.
  'DatabasesListByServer.json': [
    group(SUB_PG, PG_RG),
    pgServer,
    ...['exampledatabase1', 'exampledatabase2'].map((name): Step => ({
      kind: 'ensure',
      path: `${pgServerPath}/databases/${name}`,
      apiVersion: V.postgres,
      body: { properties: { charset: 'utf8', collation: 'en_US.utf8' } }
    }))
  ],
  'ConfigurationsGet.json': [group(SUB_PG, PG_RG), pgServer],

  // Microsoft.App — apps under the names the requests use after adaptation 2 (lower case).
  'ManagedEnvironments_CreateOrUpdate.json': [
    group(SUB_APP, 'examplerg'),
    group(SUB_APP, 'RGName'),
    vnet('ensure', SUB_APP, 'RGName', 'VNetName', ['10.0.0.0/16'], [ENV_SUBNET])
  ],
  'ContainerApps_ManagedBy_CreateOrUpdate.json': [group(SUB_APP, 'rg'), demokube],
  'Job_CreateorUpdate.json': onDemokubeRg(),
  // jlaw-demo1 as ManagedEnvironments_Get.json shows it. Its subnet id names the one the create
  // example already uses, and one subnet cannot host two environments: it gets the same-named
  // subnet in its own subscription.
  'ManagedEnvironments_Get.json': [
    group(SUB_ENV_GET, 'examplerg'),
    group(SUB_ENV_GET, 'RGName'),
    vnet('ensure', SUB_ENV_GET, 'RGName', 'VNetName', ['10.0.0.0/16'], [ENV_SUBNET]),
    {
      kind: 'ensure',
      path: envPath(SUB_ENV_GET, 'examplerg', 'jlaw-demo1'),
      apiVersion: V.app,
      body: {
        location: 'North Central US',
        tags: {},
        properties: {
          vnetConfiguration: {
            infrastructureSubnetId: `${vnetPath(SUB_ENV_GET, 'RGName', 'VNetName')}/subnets/subnetName1`
          },
          customDomainConfiguration: {
            dnsSuffix: 'www.my-name.com',
            certificateValue: 'Y2VydA==',
            certificatePassword: '1234'
          },
          ingressConfiguration: {
            headerCountLimit: 30,
            requestIdleTimeout: 5,
            terminationGracePeriodSeconds: 3600,
            workloadProfileName: 'My-CO-01'
          },
          peerAuthentication: { mtls: { enabled: true } },
          peerTrafficConfiguration: { encryption: { enabled: true } },
          workloadProfiles: WORKLOAD_PROFILES,
          zoneRedundant: true
        }
      }
    }
  ],
  'ContainerApps_Get.json': onDemokubeRg(app('testcontainerapp0')),
  'Revisions_Get.json': onDemokubeRg(app('testcontainerapp0')),
  'Revisions_List.json': onDemokubeRg(app('testcontainerapp0')),
  // Jobs under the names the requests use after adaptation 4 (lower case).
  'Job_Get.json': onDemokubeRg(job('testcontainerappsjob0', 'put')),
  // rg holds apps shaped like the example's: the bare app ContainerApps_ManagedBy_CreateOrUpdate.json
  // left there (no Dapr, init container or workload profile) goes first.
  'ContainerApps_ListByResourceGroup.json': onDemokubeRg(
    {
      kind: 'absent',
      path: provider(SUB_APP, 'rg', 'Microsoft.App', 'containerApps/testcontainerappmanagedby'),
      apiVersion: V.app
    },
    app('testcontainerapp0')
  ),
  'Jobs_ListByResourceGroup.json': onDemokubeRg(job('testcontainerappsjob0')),
  'Job_Execution_Get.json': onDemokubeRg(job('testcontainerappsjob0'), startJob),
  'Job_Executions_Get.json': onDemokubeRg(job('testcontainerappsjob0'), startJob),
  'ContainerApps_ListSecrets.json': onDemokubeRg(app('testcontainerapp0')),
  // The example names revision testcontainerApp0-pjxhsye under app testStaticSite0: a finding (manifest note).
  'Revisions_Restart.json': onDemokubeRg(app('teststaticsite0')),
  'Revisions_Activate.json': onDemokubeRg(app('testcontainerapp0')),
  'Revisions_Deactivate.json': onDemokubeRg(app('testcontainerapp0')),
  // The start's template override asks for 0.2 CPU: the job runs on the dedicated profile.
  'Job_Start.json': onDemokubeRg(job('testcontainerappsjob0', 'put')),
  'Job_ListSecrets.json': onDemokubeRg(job('testcontainerappsjob0', 'put')),
  'ContainerApps_Delete.json': onDemokubeRg(app('testworkerapp0')),
  'Job_Delete.json': onDemokubeRg(job('testworkercontainerappsjob0')),
  'ManagedEnvironments_Delete.json': [
    group(SUB_APP, 'examplerg'),
    {
      kind: 'ensure',
      path: envPath(SUB_APP, 'examplerg', 'examplekenv'),
      apiVersion: V.app,
      body: { location: 'East US', properties: {} }
    }
  ],

  // Microsoft.MachineLearningServices (Workspace/…: the examples' own file names)
  'create.json': mlDeps,
  'get.json': [
    ...mlDeps,
    { kind: 'put', path: mlPath('testworkspace'), apiVersion: V.ml, body: ML_GET_BODY }
  ],
  'delete.json': [
    ...mlDeps,
    {
      kind: 'ensure',
      path: mlPath('testworkspace'),
      apiVersion: V.ml,
      body: {
        location: 'eastus2',
        properties: { storageAccount: ML_LINKS.storageAccount, keyVault: ML_LINKS.keyVault }
      }
    }
  ]
}

// ---------------------------------------------------------------------------------------------
// Replay order: per group (manifest order), creates before reads, reads before updates and
// actions, deletes last.
// ---------------------------------------------------------------------------------------------

const PHASE: Record<ManifestEntry['method'], number> = { PUT: 0, GET: 1, PATCH: 2, POST: 2, DELETE: 3 }

function replayOrder(entries: ManifestEntry[]): (ManifestEntry & { file: string })[] {
  const groups = [...new Set(entries.map((e) => e.group))]
  return entries
    .filter((e): e is ManifestEntry & { file: string } => e.file !== null)
    .map((e, i) => ({ e, i }))
    .sort(
      (a, b) =>
        groups.indexOf(a.e.group) - groups.indexOf(b.e.group) ||
        PHASE[a.e.method] - PHASE[b.e.method] ||
        a.i - b.i
    )
    .map(({ e }) => e)
}

const manifest = loadManifest()
const examples = replayOrder(manifest.entries)

function successBody(example: ArmExample, order: string[]): Json | undefined {
  for (const code of order) {
    const body = example.responses[code]?.body
    if (body !== undefined) return body
  }
  return undefined
}

/** Sends the example's request and returns every way the answer differs from the example. */
async function replay(
  client: ArmClient,
  subscription: string,
  entry: ManifestEntry,
  example: ArmExample,
  context: ReplayContext
): Promise<{ request: string; problems: string[] }> {
  const { path, query, body, adaptations } = prepareRequest(entry, example, subscription, context)
  const target = withQuery(path, query)
  const request = `${entry.method} ${target}`
  const listed = entry.adaptations ?? []
  if (JSON.stringify(listed) !== JSON.stringify(adaptations)) {
    return {
      request,
      problems: [
        `the manifest's adaptations ${JSON.stringify(listed)} are not the ones made: ${JSON.stringify(adaptations)}`
      ]
    }
  }
  const answer = await client.send(entry.method, target, body)
  const codes = statusCodes(example)
  if (!codes.includes(answer.status)) {
    return {
      request,
      problems: [
        `status ${answer.status} is not one of the example's [${codes.join(', ')}]: ${describeError(answer)}`
      ]
    }
  }
  const success = codes.filter((c) => c >= 200 && c < 300)
  if (answer.status >= 300) {
    return {
      request,
      problems: [
        `answered ${answer.status} (${describeError(answer)}) where the example documents success [${success.join(', ')}]; the success body could not be checked`
      ]
    }
  }

  const problems: string[] = []
  let actual: Json | undefined
  let expected: Json | undefined
  if (isLongRunning(answer)) {
    const outcome = await waitForOperation(client, answer)
    problems.push(...outcome.problems.map((p) => `after ${answer.status}: ${p}`))
    if (outcome.problems.length > 0) return { request, problems }
    const readBack = withQuery(path, query.get('api-version') ?? '')
    if (entry.method === 'PUT' || entry.method === 'PATCH') {
      const final = await client.send('GET', readBack)
      if (final.status !== 200) {
        problems.push(`GET after the operation answered ${final.status}: ${describeError(final)}`)
      }
      actual = final.json
      expected = successBody(example, ['200', '201', String(answer.status)])
    } else if (entry.method === 'DELETE') {
      const final = await client.send('GET', readBack)
      if (final.status !== 404) {
        problems.push(`GET after the delete completed answered ${final.status} instead of 404`)
      }
    } else {
      expected = successBody(example, ['200'])
      actual = outcome.locationResult?.json
      if (expected !== undefined && outcome.locationResult === undefined) {
        problems.push(`answered ${answer.status} with a status monitor only: no result body to check`)
      }
    }
  } else {
    actual = answer.json
    expected = example.responses[String(answer.status)]?.body
  }
  if (expected !== undefined) problems.push(...shapeProblemsExcept(expected, actual, entry.unmodeled ?? []))
  else if ((entry.unmodeled ?? []).length > 0) problems.push('unmodeled paths listed, but no body is checked')
  return { request, problems }
}

describe('Azure REST API examples replayed against the local ARM emulator', () => {
  let emu: Emulator
  let client: ArmClient

  beforeAll(async () => {
    emu = await startEmulator({ timeScale: TIME_SCALE })
    client = armClient(emu.endpoint, readFileSync(emu.caCertPath, 'utf8'), emu.token)
  }, 120_000)

  afterAll(async () => {
    await emu?.stop()
  })

  it('manifest: every example is saved and has its prerequisites listed', () => {
    const missing = examples.flatMap((e) => [
      ...(existsSync(join(FIXTURES, e.file)) ? [] : [`fixture ${e.file}`]),
      ...(PREREQUISITES[fileName(e.file)] ? [] : [`prerequisites for ${fileName(e.file)}`])
    ])
    expect(missing).toEqual([])
  })

  for (const entry of examples) {
    const name = fileName(entry.file)
    const define = entry.pending ? it.skip : it
    define(
      `${entry.operationId} (${name})`,
      async () => {
        const example = loadExample(entry.file)
        const context: ReplayContext = {}
        for (const step of PREREQUISITES[name] ?? []) {
          const result = await runStep(client, step, emu.subscriptionId)
          const started =
            result && typeof result === 'object' && !Array.isArray(result) ? result['name'] : undefined
          if (step.kind === 'post' && typeof started === 'string') context.executionName = started
        }
        const { request, problems } = await replay(client, emu.subscriptionId, entry, example, context)
        if (problems.length > 0) {
          throw new Error(`${request}\n${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`)
        }
      },
      90_000
    )
  }
})
