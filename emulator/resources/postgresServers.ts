/**
 * PostgreSQL flexible servers and their databases (Microsoft.DBforPostgreSQL 2025-08-01, the
 * AutoRest/core-lro v2 client). Every write answers 202 with Azure-AsyncOperation + Location; the
 * server reports `state` (no provisioningState). Creating a server checks what the service checks
 * for private access: a delegated subnet and a `*.postgres.database.azure.com` zone linked to its VNet.
 */
import type { EmulatorContext } from '../context.js'
import { badRequest, conflict, parentResourceNotFound } from '../errors.js'
import { idKey, parentId } from '../ids.js'
import {
  asNumber,
  asString,
  ensureObject,
  mergePatch,
  objectAt,
  stringAt,
  without,
  type JsonObject
} from '../json.js'
import { param, type ArmRequest, type ArmResponse, type Router } from '../router.js'
import type { ResourceRecord } from '../store.js'
import {
  assertIdle,
  inResourceGroup,
  listAnswer,
  newRecord,
  propertiesOf,
  requireBody,
  resolveLocation,
  requireRecord,
  resourceGroupName,
  startLro,
  tagsOf,
  routedResourceId
} from './common.js'
import {
  defaultMaxConnections,
  registerPostgresConfigurations,
  serverMaxConnections
} from './postgresConfigurations.js'
import { linksOf, ZONE_TYPE } from './privateDnsZones.js'
import { globallyTaken, POSTGRES_SERVER_TYPE } from './references.js'
import { delegationServices, findSubnet } from './virtualNetworks.js'

export const DATABASE_TYPE = 'Microsoft.DBforPostgreSQL/flexibleServers/databases'
const NS = 'Microsoft.DBforPostgreSQL'
const BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.DBforPostgreSQL/flexibleServers'
const SERVER_NAME = /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/
const DATABASE_NAME = /^[a-zA-Z_][\w-]{0,62}$/
const DELEGATION = 'Microsoft.DBforPostgreSQL/flexibleServers'
const MINOR_VERSIONS: Record<string, string> = {
  '11': '22',
  '12': '22',
  '13': '18',
  '14': '15',
  '15': '10',
  '16': '6',
  '17': '2'
}

const LRO = { namespace: NS, statusSegment: 'azureAsyncOperation', resultSegment: 'operationResults' }

/**
 * Admin logins the service refuses: "It can't start with pg_ and these values are not allowed:
 * azure_superuser, azure_pg_admin, admin, administrator, root, guest, or public" (quickstart, as
 * quoted in hashicorp/terraform-provider-azurerm#10726), plus `azuresu`, the flexible server's
 * superuser (learn.microsoft.com how-to-create-users). Compared case-insensitively, and the error
 * code is not documented [unverified: stricter].
 */
const RESERVED_LOGINS = [
  'azure_superuser',
  'azuresu',
  'azure_pg_admin',
  'admin',
  'administrator',
  'root',
  'guest',
  'public'
]

function assertLoginAllowed(login: string): void {
  const lower = login.toLowerCase()
  if (RESERVED_LOGINS.includes(lower) || lower.startsWith('pg_')) {
    throw badRequest(
      'InvalidParameterValue',
      `The administrator login '${login}' is not allowed: it cannot start with 'pg_' and cannot be one of ${RESERVED_LOGINS.join(', ')}.`
    )
  }
}

/** The password never comes back; everything else the client wrote does. */
const WRITE_ONLY = ['properties.administratorLoginPassword']

/**
 * What an update may not change on an existing server. Each refusal is made before anything is
 * stored, so nothing half-applies.
 * - `version`: only an in-place major upgrade changes it — a PATCH with `createMode: "Update"` and
 *   a newer version (spec example `ServersUpdateWithMajorVersionUpgrade.json`); anything else is
 *   refused with 400 `ParameterOutOfRange` as the service words it (terraform-provider-azurerm#25344).
 * - `administratorLogin`: "cannot be changed for the rest of the life of a server" (spec).
 * - delegated subnet: "you can't move it to another virtual network or subnet" (azure-docs
 *   concepts-networking-private). The spec lets an update change the private DNS zone; we refuse
 *   that too, stricter than Azure, as the action never does it on purpose.
 * - storage: "can only be scaled up, not down" (azure-docs#36037).
 * The codes of the last three are not documented [unverified]: the names below say what happened.
 */
function assertMutable(
  existing: ResourceRecord,
  props: JsonObject,
  how: { patch: boolean; createMode?: string }
): void {
  const name = asString(existing.body['name']) ?? ''
  const current = objectAt(existing.body, 'properties') ?? {}
  const version = asString(props['version'])
  const oldVersion = asString(current['version']) ?? ''
  if (version !== undefined && version !== oldVersion) {
    const upgrade = how.patch && how.createMode?.toLowerCase() === 'update'
    const allowed = upgrade
      ? Object.keys(MINOR_VERSIONS).filter((v) => Number(v) > Number(oldVersion))
      : [oldVersion]
    if (!allowed.includes(version)) {
      throw badRequest(
        'ParameterOutOfRange',
        `The value of the 'Version' should be in: [${allowed.join(',')}]. Verify that the specified parameter value is correct.`
      )
    }
  }
  const login = asString(props['administratorLogin'])
  if (login !== undefined && login !== asString(current['administratorLogin'])) {
    throw badRequest(
      'AdministratorLoginCannotBeChanged',
      `The administrator login of server '${name}' is '${asString(current['administratorLogin'])}' and cannot be changed.`
    )
  }
  const network = objectAt(props, 'network')
  const oldNetwork = objectAt(current, 'network')
  for (const [field, what] of [
    ['delegatedSubnetResourceId', 'delegated subnet'],
    ['privateDnsZoneArmResourceId', 'private DNS zone']
  ] as const) {
    const next = asString(network?.[field])
    const before = asString(oldNetwork?.[field])
    if (next !== undefined && idKey(next) !== idKey(before ?? '')) {
      throw badRequest(
        'NetworkSettingsCannotBeChanged',
        `The ${what} of server '${name}' cannot be changed after it was created (network.${field}).`
      )
    }
  }
  const size = objectAt(props, 'storage')?.['storageSizeGB']
  const oldSize = objectAt(current, 'storage')?.['storageSizeGB']
  if (typeof size === 'number' && typeof oldSize === 'number' && size < oldSize) {
    throw badRequest(
      'StorageSizeCannotBeDecreased',
      `The storage of server '${name}' is ${oldSize} GB and can only grow; ${size} GB was asked for.`
    )
  }
}

/** Private-access rules: the checks the service makes before it accepts a VNet-integrated server. */
function validateNetwork(ctx: EmulatorContext, network: JsonObject | undefined): void {
  const subnetId = asString(network?.['delegatedSubnetResourceId'])
  const zoneId = asString(network?.['privateDnsZoneArmResourceId'])
  if (!subnetId && !zoneId) return
  if (!subnetId) {
    throw badRequest(
      'DelegatedSubnetRequired',
      'A private DNS zone was given without network.delegatedSubnetResourceId.'
    )
  }
  const subnet = findSubnet(ctx, subnetId)
  if (!subnet)
    throw badRequest(
      'SubnetNotFound',
      `The subnet '${subnetId}' given as network.delegatedSubnetResourceId does not exist.`
    )
  if (!delegationServices(subnet.subnet).some((s) => s.toLowerCase() === DELEGATION.toLowerCase())) {
    throw badRequest(
      'SubnetNotDelegated',
      `The subnet '${subnetId}' must be delegated to '${DELEGATION}' to host a flexible server.`
    )
  }
  if (!zoneId) {
    throw badRequest(
      'PrivateDnsZoneRequired',
      'network.privateDnsZoneArmResourceId is required when the server is placed in a delegated subnet.'
    )
  }
  const zone = ctx.store.get(zoneId)
  if (!zone || zone.type !== ZONE_TYPE) {
    throw badRequest('PrivateDnsZoneNotFound', `The private DNS zone '${zoneId}' does not exist.`)
  }
  const zoneName = asString(zone.body['name']) ?? ''
  if (!zoneName.toLowerCase().endsWith('.postgres.database.azure.com')) {
    throw badRequest(
      'PrivateDnsZoneNameNotValid',
      `The private DNS zone name '${zoneName}' is not valid: it must end with '.postgres.database.azure.com'.`
    )
  }
  const linked = linksOf(ctx, zone.id).some(
    (l) => idKey(stringAt(l.body, 'properties', 'virtualNetwork', 'id') ?? '') === idKey(subnet.vnet.id)
  )
  if (!linked) {
    throw badRequest(
      'PrivateDnsZoneNotLinkedToVnet',
      `The private DNS zone '${zoneName}' is not linked to the virtual network '${asString(subnet.vnet.body['name'])}' of the delegated subnet.`
    )
  }
}

function serverView(
  name: string,
  id: string,
  location: string,
  body: JsonObject,
  existing?: ResourceRecord
): JsonObject {
  const props = without(propertiesOf(body), ['administratorLoginPassword'])
  const version = asString(props['version']) ?? stringAt(existing?.body, 'properties', 'version') ?? '16'
  const network = objectAt(props, 'network')
  const delegated = asString(network?.['delegatedSubnetResourceId'])
  return {
    id,
    name,
    type: POSTGRES_SERVER_TYPE,
    location,
    tags: tagsOf(body),
    sku: objectAt(body, 'sku') ??
      objectAt(existing?.body, 'sku') ?? { name: 'Standard_B1ms', tier: 'Burstable' },
    properties: {
      ...props,
      version,
      minorVersion: MINOR_VERSIONS[version] ?? '0',
      network: { publicNetworkAccess: delegated ? 'Disabled' : 'Enabled', ...(network ?? {}) },
      fullyQualifiedDomainName: `${name}.postgres.database.azure.com`,
      availabilityZone: stringAt(existing?.body, 'properties', 'availabilityZone') ?? '1',
      state: existing ? 'Updating' : 'Provisioning'
    }
  }
}

/** Premium SSD performance tiers: IOPS and the tier a size gets by default (PostgreSQL flexible server docs, concepts-storage). */
const TIERS: { tier: string; iops: number; defaultForGB?: number }[] = [
  { tier: 'P1', iops: 120 },
  { tier: 'P2', iops: 120 },
  { tier: 'P3', iops: 120 },
  { tier: 'P4', iops: 120, defaultForGB: 32 },
  { tier: 'P6', iops: 240, defaultForGB: 64 },
  { tier: 'P10', iops: 500, defaultForGB: 128 },
  { tier: 'P15', iops: 1100, defaultForGB: 256 },
  { tier: 'P20', iops: 2300, defaultForGB: 512 },
  { tier: 'P30', iops: 5000, defaultForGB: 1024 },
  { tier: 'P40', iops: 7500, defaultForGB: 2048 },
  { tier: 'P50', iops: 7500, defaultForGB: 4096 },
  { tier: 'P60', iops: 16000, defaultForGB: 8192 },
  { tier: 'P70', iops: 18000, defaultForGB: 16384 },
  { tier: 'P80', iops: 20000, defaultForGB: 32767 }
]
const DAY_MS = 24 * 60 * 60 * 1000
/** A primary server's read-replica capacity (ServersGet.json: `replica.capacity`, `replicaCapacity`). */
const REPLICA_CAPACITY = 5

/**
 * The read-only parts of a server the service derives from its settings, recomputed after every
 * write and read (ServersGet.json, 2025-08-01):
 * - `storage.type` ("" unless given), `storage.tier` (the size's default) and `storage.iops` (the
 *   tier's; given for PremiumV2_LRS);
 * - `highAvailability.state`: NotEnabled, or CreatingStandby while the server is written, then
 *   Healthy; `standbyAvailabilityZone` (another zone for ZoneRedundant, the same for SameZone);
 * - `backup.earliestRestoreDate`: the server's creation, or the start of the retention window once
 *   the server is older than that (never later than now, never before the server existed);
 * - defaults for a maintenance window, authentication and data encryption left out;
 * - a primary's `replica` (role, capacity), `replicationRole`, `replicaCapacity`, and no
 *   `privateEndpointConnections` (private endpoints are not emulated).
 */
function deriveServer(ctx: EmulatorContext, record: ResourceRecord): void {
  const props = ensureObject(record.body, 'properties')
  const storage = ensureObject(props, 'storage')
  const size = asNumber(storage['storageSizeGB']) ?? 128
  storage['storageSizeGB'] = size
  storage['type'] = asString(storage['type']) ?? ''
  if (!asString(storage['tier'])) {
    storage['tier'] =
      (TIERS.find((t) => (t.defaultForGB ?? 0) >= size) ?? TIERS[TIERS.length - 1])?.tier ?? 'P10'
  }
  if (storage['type'] !== 'PremiumV2_LRS' || asNumber(storage['iops']) === undefined) {
    storage['iops'] = TIERS.find((t) => t.tier === asString(storage['tier']))?.iops ?? 500
  }

  const ha = ensureObject(props, 'highAvailability')
  const mode = asString(ha['mode']) ?? 'Disabled'
  ha['mode'] = mode
  const zone = asString(props['availabilityZone']) ?? '1'
  if (mode === 'Disabled') {
    ha['state'] = 'NotEnabled'
    delete ha['standbyAvailabilityZone']
  } else {
    const busy = ['Provisioning', 'Updating'].includes(asString(props['state']) ?? '')
    ha['state'] = busy ? 'CreatingStandby' : 'Healthy'
    ha['standbyAvailabilityZone'] = mode === 'SameZone' ? zone : zone === '1' ? '2' : '1'
  }

  const backup = ensureObject(props, 'backup')
  const retention = asNumber(backup['backupRetentionDays']) ?? 7
  backup['backupRetentionDays'] = retention
  backup['geoRedundantBackup'] = asString(backup['geoRedundantBackup']) ?? 'Disabled'
  const created = Date.parse(record.meta?.createdAt ?? '') || ctx.now()
  backup['earliestRestoreDate'] = new Date(
    Math.min(ctx.now(), Math.max(created, ctx.now() - retention * DAY_MS))
  ).toISOString()

  // Settings a create may leave out, answered with the service's defaults (ServersGet.json): the
  // system-managed maintenance window, password authentication only, service-managed keys.
  props['maintenanceWindow'] = objectAt(props, 'maintenanceWindow') ?? {
    customWindow: 'Disabled',
    dayOfWeek: 0,
    startHour: 0,
    startMinute: 0
  }
  props['authConfig'] = objectAt(props, 'authConfig') ?? {
    activeDirectoryAuth: 'Disabled',
    passwordAuth: 'Enabled'
  }
  props['dataEncryption'] = objectAt(props, 'dataEncryption') ?? { type: 'SystemManaged' }

  props['replica'] = { role: 'Primary', capacity: REPLICA_CAPACITY }
  props['replicationRole'] = 'Primary'
  props['replicaCapacity'] = REPLICA_CAPACITY
  props['privateEndpointConnections'] = []
}

export function registerPostgresServers(ctx: EmulatorContext, router: Router): void {
  const ns = { namespace: NS }
  const serverId = routedResourceId(ctx, NS, 'flexibleServers', 'server')
  const databaseId = (req: ArmRequest): string => `${serverId(req)}/databases/${param(req, 'database')}`
  const setState = (record: ResourceRecord, state: string): void => {
    ensureObject(record.body, 'properties')['state'] = state
  }
  const startServerOp = (
    req: ArmRequest,
    record: ResourceRecord,
    kind: string,
    durationMs: number,
    result: 'resource' | 'noContent'
  ) =>
    startLro(ctx, req, {
      ...LRO,
      location: asString(record.body['location']) ?? 'eastus',
      shape: 'both',
      kind,
      resourceId: record.id,
      durationMs,
      result
    })

  router.add(
    'PUT',
    `${BASE}/{server}`,
    (req): ArmResponse => {
      const name = param(req, 'server')
      if (!SERVER_NAME.test(name)) {
        throw badRequest(
          'InvalidServerName',
          `Server name '${name}' is invalid. It must be 3 to 63 characters long, contain only lower-case letters, digits and '-', and must not start or end with '-'.`
        )
      }
      const body = requireBody(req)
      const id = serverId(req)
      const location = resolveLocation(body, POSTGRES_SERVER_TYPE, ctx.store.get(id))
      if (globallyTaken(ctx, POSTGRES_SERVER_TYPE, name, id)) {
        throw conflict(
          'ServerNameAlreadyExists',
          `Specified server name '${name}' is already used. Please use a different name and try again.`
        )
      }
      const existing = ctx.store.get(id)
      assertIdle(ctx, req, id)
      const props = propertiesOf(body)
      const password = asString(props['administratorLoginPassword'])
      if (!existing) {
        // The service's words (MicrosoftLearning/mslearn-azure-ai#230).
        for (const [field, value] of [
          ['AdministratorLogin', asString(props['administratorLogin'])],
          ['AdministratorLoginPassword', password]
        ] as const) {
          if (!value) {
            throw badRequest(
              'MissingRequiredParameter',
              `Parameter '${field}' must be specified. This parameter cannot be NULL or empty.`
            )
          }
        }
        assertLoginAllowed(asString(props['administratorLogin']) ?? '')
        validateNetwork(ctx, objectAt(props, 'network'))
      } else {
        assertMutable(existing, props, { patch: false, createMode: asString(props['createMode']) })
        // What an update leaves out (a server's placement) stays as it was.
        const kept = objectAt(existing.body, 'properties', 'network')
        if (kept) ensureObject(body, 'properties')['network'] = kept
      }
      const view = serverView(name, id, location, body, existing)
      const record = existing ?? ctx.store.put(newRecord(id, POSTGRES_SERVER_TYPE, view))
      record.body = view
      // Fixed at creation from the compute (concepts-limits); a later SKU change leaves it.
      if (!existing) record.internal['maxConnections'] = defaultMaxConnections(stringAt(view, 'sku', 'name'))
      deriveServer(ctx, record)
      if (password) record.secrets['administratorLoginPassword'] = password
      const { op, headers } = startServerOp(
        req,
        record,
        'postgresServers.put',
        ctx.latency.ms(existing ? 'postgresServerUpdate' : 'postgresServerPut'),
        'resource'
      )
      holdOnCluster(ctx, op.id, record)
      return { status: 202, headers }
    },
    ns
  )

  router.add('PATCH', `${BASE}/{server}`, (req): ArmResponse => {
    const record = requireRecord(ctx, serverId(req), resourceGroupName(ctx, req))
    assertIdle(ctx, req, record.id)
    const body = requireBody(req)
    const patchProps = propertiesOf(body)
    assertMutable(record, patchProps, { patch: true, createMode: asString(patchProps['createMode']) })
    const password = stringAt(body, 'properties', 'administratorLoginPassword')
    const patch = without(body, [...WRITE_ONLY, 'properties.network', 'properties.createMode'])
    const merged = mergePatch(record.body, patch) as JsonObject
    record.body = merged
    if (password) record.secrets['administratorLoginPassword'] = password
    setState(record, 'Updating')
    deriveServer(ctx, record)
    const { op, headers } = startServerOp(
      req,
      record,
      'postgresServers.put',
      ctx.latency.ms('postgresServerUpdate'),
      'resource'
    )
    holdOnCluster(ctx, op.id, record)
    return { status: 202, headers }
  })

  router.add('GET', `${BASE}/{server}`, (req): ArmResponse => {
    const record = requireRecord(ctx, serverId(req), resourceGroupName(ctx, req))
    deriveServer(ctx, record)
    return { status: 200, body: record.body }
  })

  router.add('GET', BASE, (req): ArmResponse => {
    const servers = inResourceGroup(ctx, req, POSTGRES_SERVER_TYPE)
    for (const server of servers) deriveServer(ctx, server)
    return listAnswer(servers.map((r) => r.body))
  })

  router.add('DELETE', `${BASE}/{server}`, (req): ArmResponse => {
    const record = ctx.store.get(serverId(req))
    if (!record) return { status: 204 }
    assertIdle(ctx, req, record.id)
    setState(record, 'Dropping')
    const { headers } = startServerOp(
      req,
      record,
      'postgresServers.delete',
      ctx.latency.ms('postgresServerDelete'),
      'noContent'
    )
    return { status: 202, headers }
  })

  router.add(
    'PUT',
    `${BASE}/{server}/databases/{database}`,
    (req): ArmResponse => {
      const server = ctx.store.get(serverId(req))
      if (!server) throw parentResourceNotFound(serverId(req))
      const name = param(req, 'database')
      if (!DATABASE_NAME.test(name)) {
        throw badRequest(
          'InvalidDatabaseName',
          `Database name '${name}' is invalid. It must start with a letter or '_' and contain at most 63 letters, digits, '_' or '-'.`
        )
      }
      const state = stringAt(server.body, 'properties', 'state')
      if (state !== 'Ready') {
        throw conflict(
          'ServerNotReady',
          `The server '${asString(server.body['name'])}' is in state '${state}'; databases can only be created when it is Ready.`
        )
      }
      const id = databaseId(req)
      assertIdle(ctx, req, id)
      const existing = ctx.store.get(id)
      const props = propertiesOf(req.body)
      const view: JsonObject = {
        id,
        name,
        type: DATABASE_TYPE,
        properties: {
          charset: asString(props['charset']) ?? 'UTF8',
          collation: asString(props['collation']) ?? 'en_US.utf8'
        }
      }
      const record = existing ?? ctx.store.put(newRecord(id, DATABASE_TYPE, view))
      record.body = view
      const { op, headers } = startLro(ctx, req, {
        ...LRO,
        location: asString(server.body['location']) ?? 'eastus',
        shape: 'both',
        kind: 'postgresDatabases.put',
        resourceId: id,
        durationMs: ctx.latency.ms('postgresDatabasePut'),
        result: 'resource'
      })
      holdOnDatabase(ctx, op.id, server, name)
      return { status: 202, headers }
    },
    ns
  )

  router.add('GET', `${BASE}/{server}/databases/{database}`, (req): ArmResponse => {
    if (!ctx.store.get(serverId(req))) throw parentResourceNotFound(serverId(req))
    return { status: 200, body: requireRecord(ctx, databaseId(req), resourceGroupName(ctx, req)).body }
  })

  registerPostgresConfigurations(ctx, router, BASE, serverId)

  router.add('GET', `${BASE}/{server}/databases`, (req): ArmResponse => {
    const server = requireRecord(ctx, serverId(req), resourceGroupName(ctx, req))
    return listAnswer(ctx.store.descendants(server.id, DATABASE_TYPE).map((r) => r.body))
  })

  router.add('DELETE', `${BASE}/{server}/databases/{database}`, (req): ArmResponse => {
    const record = ctx.store.get(databaseId(req))
    if (!record) return { status: 204 }
    assertIdle(ctx, req, record.id)
    const server = ctx.store.get(parentId(record.id))
    const { op, headers } = startLro(ctx, req, {
      ...LRO,
      location: asString(server?.body['location']) ?? 'eastus',
      shape: 'both',
      kind: 'postgresDatabases.delete',
      resourceId: record.id,
      durationMs: ctx.latency.ms('postgresDatabaseDelete'),
      result: 'noContent'
    })
    // Succeeded means the database is gone from the server: a role that owned it can be dropped
    // right after. (An operation set to fail leaves the database.)
    const backend = ctx.backends.postgres
    if (backend && server && !op.failOnCompletion && !op.failWith) {
      const serverName = asString(server.body['name']) ?? ''
      ctx.lro.hold(op.id, backend.dropDatabase(serverName, asString(record.body['name']) ?? ''))
    }
    return { status: 202, headers }
  })

  // Whatever removes a server or database (its delete, its resource group's) removes the real one.
  ctx.store.onRemove((record) => {
    const backend = ctx.backends.postgres
    if (!backend) return
    if (record.type === POSTGRES_SERVER_TYPE) {
      const name = asString(record.body['name']) ?? ''
      backend.removeServer(name).catch((err: unknown) => {
        process.stderr.write(`[emulator] removing PostgreSQL server ${name}: ${String(err)}\n`)
      })
    } else if (record.type === DATABASE_TYPE) {
      const server = ctx.store.get(parentId(record.id))
      if (!server) return
      backend
        .dropDatabase(asString(server.body['name']) ?? '', asString(record.body['name']) ?? '')
        .catch(() => {})
    }
  })

  ctx.lro.onComplete('postgresServers.put', (op) => {
    const record = ctx.store.get(op.resourceId)
    // The server model has no "Failed" state; a failed provisioning shows as Disabled until re-PUT.
    if (!record) return
    setState(record, op.status === 'Succeeded' ? 'Ready' : 'Disabled')
    deriveServer(ctx, record)
  })
  ctx.lro.onComplete('postgresServers.delete', (op) => {
    const record = ctx.store.get(op.resourceId)
    if (!record) return
    if (op.status === 'Succeeded') ctx.store.removeTree(record.id)
    else setState(record, 'Ready')
  })
  ctx.lro.onComplete('postgresDatabases.put', (op) => {
    const record = ctx.store.get(op.resourceId)
    if (record && op.status !== 'Succeeded') ctx.store.removeTree(record.id)
  })
  ctx.lro.onComplete('postgresDatabases.delete', (op) => {
    if (op.status === 'Succeeded') ctx.store.removeTree(op.resourceId)
  })
}

/** The server's write completes only once its cluster runs with the login and password ARM holds. */
function holdOnCluster(ctx: EmulatorContext, opId: string, record: ResourceRecord): void {
  const backend = ctx.backends.postgres
  if (!backend) return
  const name = asString(record.body['name']) ?? ''
  const work = backend
    .ensureServer(
      name,
      stringAt(record.body, 'properties', 'administratorLogin') ?? '',
      record.secrets['administratorLoginPassword'] ?? '',
      { maxConnections: serverMaxConnections(record) }
    )
    .catch((err: unknown) => {
      throw new Error(
        `The server '${name}' could not be started: ${err instanceof Error ? err.message : String(err)}`
      )
    })
  ctx.lro.hold(opId, work)
}

function holdOnDatabase(ctx: EmulatorContext, opId: string, server: ResourceRecord, database: string): void {
  const backend = ctx.backends.postgres
  if (!backend) return
  const work = backend.ensureDatabase(asString(server.body['name']) ?? '', database).catch((err: unknown) => {
    throw new Error(
      `The database '${database}' could not be created: ${err instanceof Error ? err.message : String(err)}`
    )
  })
  ctx.lro.hold(opId, work)
}

/**
 * After an emulator restart: every server's cluster starts again (and its databases exist), and
 * operations that were running on them wait for that again. Resolves when all are up; failures are
 * reported on stderr and by the operations they hold.
 */
export async function resumePostgres(ctx: EmulatorContext): Promise<void> {
  const backend = ctx.backends.postgres
  if (!backend) return
  const servers = ctx.store
    .byType(POSTGRES_SERVER_TYPE)
    .filter((s) => stringAt(s.body, 'properties', 'state') !== 'Dropping')
  await Promise.all(
    servers.map(async (server) => {
      const name = asString(server.body['name']) ?? ''
      const pending = ctx.lro.runningOn(server.id)
      const login = stringAt(server.body, 'properties', 'administratorLogin') ?? ''
      const work = backend.ensureServer(name, login, server.secrets['administratorLoginPassword'] ?? '', {
        maxConnections: serverMaxConnections(server)
      })
      if (pending?.kind === 'postgresServers.put') ctx.lro.hold(pending.id, work)
      try {
        await work
      } catch (err) {
        process.stderr.write(`[emulator] PostgreSQL server ${name} did not start: ${String(err)}\n`)
        return
      }
      for (const db of ctx.store.descendants(server.id, DATABASE_TYPE)) {
        const dbName = asString(db.body['name']) ?? ''
        const op = ctx.lro.runningOn(db.id)
        if (op?.kind === 'postgresDatabases.delete') continue
        const created = backend.ensureDatabase(name, dbName)
        if (op?.kind === 'postgresDatabases.put') ctx.lro.hold(op.id, created)
        await created.catch((err: unknown) => {
          process.stderr.write(`[emulator] database ${name}/${dbName}: ${String(err)}\n`)
        })
      }
    })
  )
}
