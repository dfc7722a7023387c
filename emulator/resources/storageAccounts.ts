/**
 * Storage accounts (Microsoft.Storage 2026-06-01): create answers 202 + Location with no body and
 * the Location URL eventually answers 200 with the account; updates, deletes, keys and blob
 * containers are synchronous. Keys are random 64-byte base64 values; regenerating one changes only
 * it and its `keyCreationTime` (StorageAccountRegenerateKey.json: both keys answered, each with its
 * `creationTime`). The blob data plane refuses the old value at once and accepts the new one only
 * after a seeded while (`propagation.ts`, kind `storageKey`): until then a request signed with it
 * fails as a wrong key does (403 `AuthenticationFailed`).
 */
import type { EmulatorContext } from '../context.js'
import { badRequest, conflict, invalidRequestContent, parentResourceNotFound } from '../errors.js'
import { asObject, asString, clone, ensureObject, objectAt, stringAt, type JsonObject } from '../json.js'
import { pairedRegion } from '../regions.js'
import { randomKey } from '../random.js'
import { createHmac } from 'node:crypto'
import { param, type ArmRequest, type ArmResponse, type Router } from '../router.js'
import type { ResourceRecord } from '../store.js'
import {
  assertIdle,
  etag,
  iso,
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
import { globallyTaken } from './references.js'

export const STORAGE_TYPE = 'Microsoft.Storage/storageAccounts'
export const CONTAINER_TYPE = 'Microsoft.Storage/storageAccounts/blobServices/containers'
const NS = 'Microsoft.Storage'
const BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts'
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/
const CONTAINER_CHARS = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$/
const KEY_NAMES = ['key1', 'key2'] as const

function accountNameInvalid(name: string): never {
  throw badRequest(
    'AccountNameInvalid',
    `${name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.`
  )
}

function skuTier(sku: string): string {
  return sku.toLowerCase().startsWith('premium') ? 'Premium' : 'Standard'
}

const GEO_REDUNDANT = /^Standard_(RA)?G(Z)?RS$/i

function endpointsOf(host: string, services: string[]): JsonObject {
  const out: JsonObject = {}
  for (const service of services) {
    out[service] =
      service === 'web'
        ? `https://${host}.z13.web.core.windows.net/`
        : `https://${host}.${service}.core.windows.net/`
  }
  return out
}

/**
 * The read-only properties the service derives from an account's settings, recomputed after every
 * write (StorageAccountCreate.json, StorageAccountGetProperties.json, 2026-06-01):
 * - `encryption`: always on (Microsoft-managed keys for blob and file unless given), each enabled
 *   service with its `lastEnabledTime`;
 * - `primaryEndpoints`, with `internetEndpoints` / `microsoftEndpoints` when `routingPreference`
 *   publishes them (`<name>-internetrouting.…`, `<name>-microsoftrouting.…`);
 * - geo-redundant SKUs (GRS, RA-GRS, GZRS, RA-GZRS): `secondaryLocation` (the region's pair) and
 *   `statusOfSecondary`; read-access ones also `secondaryEndpoints` (`<name>-secondary.…`);
 * - `accountMigrationInProgress` and `isSkuConversionBlocked`: false, as no migration is emulated.
 */
function deriveAccount(view: JsonObject, before: JsonObject | undefined, now: string): void {
  const name = asString(view['name']) ?? ''
  const location = asString(view['location']) ?? ''
  const props = ensureObject(view, 'properties')
  const encryption = objectAt(props, 'encryption') ?? {
    keySource: 'Microsoft.Storage',
    services: { blob: { enabled: true, keyType: 'Account' }, file: { enabled: true, keyType: 'Account' } }
  }
  const services = objectAt(encryption, 'services') ?? {}
  for (const [service, value] of Object.entries(services)) {
    const settings = asObject(value)
    if (!settings) continue
    if (settings['enabled'] === false) {
      delete settings['lastEnabledTime']
      continue
    }
    const earlier = objectAt(before, 'properties', 'encryption', 'services', service)
    settings['lastEnabledTime'] =
      earlier && earlier['enabled'] !== false ? (asString(earlier['lastEnabledTime']) ?? now) : now
  }
  props['encryption'] = encryption

  const primary = endpointsOf(name, ['blob', 'queue', 'table', 'file', 'web', 'dfs'])
  const routing = objectAt(props, 'routingPreference')
  if (routing?.['publishInternetEndpoints'] === true) {
    primary['internetEndpoints'] = endpointsOf(`${name}-internetrouting`, ['blob', 'file', 'web', 'dfs'])
  }
  if (routing?.['publishMicrosoftEndpoints'] === true) {
    primary['microsoftEndpoints'] = endpointsOf(`${name}-microsoftrouting`, [
      'blob',
      'queue',
      'table',
      'file',
      'web',
      'dfs'
    ])
  }
  props['primaryEndpoints'] = primary
  props['primaryLocation'] = location
  props['statusOfPrimary'] = 'available'

  const sku = stringAt(view, 'sku', 'name') ?? ''
  const secondary = GEO_REDUNDANT.test(sku) ? pairedRegion(location) : undefined
  delete props['secondaryLocation']
  delete props['statusOfSecondary']
  delete props['secondaryEndpoints']
  if (secondary) {
    props['secondaryLocation'] = secondary
    props['statusOfSecondary'] = 'available'
    if (/^Standard_RA/i.test(sku)) {
      props['secondaryEndpoints'] = endpointsOf(`${name}-secondary`, ['blob', 'queue', 'table', 'web', 'dfs'])
    }
  }
  props['accountMigrationInProgress'] = false
  props['isSkuConversionBlocked'] = false
}

export function storageKeys(ctx: EmulatorContext, record: ResourceRecord): JsonObject {
  const times = ensureObject(ensureObject(record.body, 'properties'), 'keyCreationTime')
  const keys = KEY_NAMES.map((keyName): JsonObject => {
    record.secrets[keyName] ??= randomKey()
    const creationTime = asString(times[keyName]) ?? iso(ctx.now())
    times[keyName] = creationTime
    return { keyName, value: record.secrets[keyName], permissions: 'FULL', creationTime }
  })
  return { keys }
}

/** Until when (epoch ms) each regenerated key is not yet accepted by the data plane. */
function pendingUntil(record: ResourceRecord): JsonObject {
  return ensureObject(record.internal, 'keyPendingUntil')
}

/** True while `keyName`'s current value has not reached the data plane yet. */
export function keyPending(ctx: EmulatorContext, record: ResourceRecord, keyName: string): boolean {
  const until = pendingUntil(record)[keyName]
  return typeof until === 'number' && ctx.now() < until
}

/**
 * A key value that no client can know (derived from the state's secret), standing in the data
 * plane for a key that has not propagated: Azurite refuses the real value meanwhile, and the
 * emulator itself can still sign its own container writes.
 */
function unpropagatedKey(ctx: EmulatorContext, record: ResourceRecord, keyName: string): string {
  return createHmac('sha512', ctx.store.state.token)
    .update(`${record.id.toLowerCase()}|${keyName}|${record.secrets[keyName] ?? ''}`)
    .digest('base64')
}

/** The keys the blob data plane accepts for this account right now. */
export function acceptedKeys(ctx: EmulatorContext, record: ResourceRecord): { key1: string; key2: string } {
  storageKeys(ctx, record)
  const value = (keyName: 'key1' | 'key2'): string =>
    keyPending(ctx, record, keyName) ? unpropagatedKey(ctx, record, keyName) : (record.secrets[keyName] ?? '')
  return { key1: value('key1'), key2: value('key2') }
}

/** A key the emulator's own data-plane calls sign with: one the data plane accepts now. */
function serviceKey(ctx: EmulatorContext, record: ResourceRecord): string {
  return acceptedKeys(ctx, record).key1
}

/** The storage account record of an account name (names are global), if any. */
export function accountByName(ctx: EmulatorContext, name: string): ResourceRecord | undefined {
  const lower = name.toLowerCase()
  return ctx.store.byType(STORAGE_TYPE).find((r) => (asString(r.body['name']) ?? '').toLowerCase() === lower)
}

/** Azurite's accounts = the emulator's storage accounts with the keys accepted at that moment. */
export function connectBlobAccounts(ctx: EmulatorContext): void {
  ctx.backends.blob?.setAccounts((name) => {
    const record = accountByName(ctx, name)
    if (!record) return undefined
    return { name: asString(record.body['name']) ?? name, ...acceptedKeys(ctx, record) }
  })
}

/**
 * Container metadata (`properties.metadata`, spec ContainerProperties: "A name-value pair to
 * associate with the container as metadata"), held to the Blob service's rules, as ARM hands it to
 * that service (learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--
 * blobs--and-metadata, "Metadata names"; setting-and-retrieving-properties-and-metadata-for-blob-
 * resources):
 * - a name "must adhere to the naming rules for C# identifiers": a letter or '_', then letters,
 *   digits or '_' (ASCII: names travel as HTTP headers), and not a C# keyword [unverified: the
 *   service may not check keywords; stricter];
 * - names are case-insensitive: two that differ only in case are refused [unverified code];
 * - values are strings of visible ASCII and spaces (HTTP header values) [unverified: stricter];
 * - names and values together may not exceed 8 KB: 400 `MetadataTooLarge`.
 * What ARM answers to a bad name is not documented: the Blob service's 400 `InvalidMetadata`
 * "The metadata specified is invalid. It has characters that are not permitted." is used
 * [unverified for ARM].
 */
const METADATA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const METADATA_VALUE = /^[\x20-\x7E]*$/
const METADATA_MAX_BYTES = 8 * 1024
const CSHARP_KEYWORDS = new Set(
  (
    'abstract as base bool break byte case catch char checked class const continue decimal default ' +
    'delegate do double else enum event explicit extern false finally fixed float for foreach goto if ' +
    'implicit in int interface internal is lock long namespace new null object operator out override ' +
    'params private protected public readonly ref return sbyte sealed short sizeof stackalloc static ' +
    'string struct switch this throw true try typeof uint ulong unchecked unsafe ushort using virtual ' +
    'void volatile while'
  ).split(' ')
)

function invalidMetadata(detail: string): never {
  throw badRequest(
    'InvalidMetadata',
    `The metadata specified is invalid. It has characters that are not permitted. (${detail})`
  )
}

/** The request's metadata, checked; undefined when the request has none. */
function metadataOf(props: JsonObject): Record<string, string> | undefined {
  const given = props['metadata']
  if (given === undefined || given === null) return undefined
  const object = asObject(given)
  if (!object) throw invalidRequestContent('properties.metadata must be an object of strings')
  const out: Record<string, string> = {}
  const seen = new Set<string>()
  let bytes = 0
  for (const [name, value] of Object.entries(object)) {
    if (typeof value !== 'string') {
      throw invalidRequestContent(`properties.metadata.${name} must be a string`)
    }
    if (!METADATA_NAME.test(name) || CSHARP_KEYWORDS.has(name)) {
      invalidMetadata(`'${name}' is not a valid C# identifier`)
    }
    if (seen.has(name.toLowerCase())) invalidMetadata(`'${name}' is given twice (names are case-insensitive)`)
    seen.add(name.toLowerCase())
    if (!METADATA_VALUE.test(value))
      invalidMetadata(`the value of '${name}' has characters that are not permitted`)
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value)
    out[name] = value
  }
  if (bytes > METADATA_MAX_BYTES) {
    throw badRequest(
      'MetadataTooLarge',
      'The size of the specified metadata exceeds the maximum size permitted.'
    )
  }
  return out
}

/**
 * The blob container exists in Azurite, created with the account's key; with `metadata`, the
 * container's metadata on the data plane is exactly that.
 */
async function ensureBlobContainer(
  ctx: EmulatorContext,
  account: ResourceRecord,
  container: string,
  metadata?: Record<string, string>
) {
  const blob = ctx.backends.blob
  if (!blob) return
  await blob.ensureContainer(
    asString(account.body['name']) ?? '',
    serviceKey(ctx, account),
    container,
    metadata
  )
}

function storedMetadata(container: ResourceRecord): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(objectAt(container.body, 'properties', 'metadata') ?? {}))
    if (typeof v === 'string') out[k] = v
  return out
}

/** After an emulator restart: Azurite knows the accounts and every container ARM has. */
export async function resumeBlob(ctx: EmulatorContext): Promise<void> {
  if (!ctx.backends.blob) return
  connectBlobAccounts(ctx)
  for (const container of ctx.store.byType(CONTAINER_TYPE)) {
    const account = ctx.store.get(container.id.replace(/\/blobServices\/.*$/i, ''))
    if (!account) continue
    const name = asString(container.body['name']) ?? ''
    await ensureBlobContainer(ctx, account, name, storedMetadata(container)).catch((err: unknown) => {
      process.stderr.write(`[emulator] blob container ${container.id}: ${String(err)}\n`)
    })
  }
}

export function registerStorageAccounts(ctx: EmulatorContext, router: Router): void {
  const ns = { namespace: NS }
  const accountId = routedResourceId(ctx, NS, 'storageAccounts', 'account')
  const containerId = (req: ArmRequest): string =>
    `${accountId(req)}/blobServices/default/containers/${param(req, 'container')}`

  router.add(
    'PUT',
    `${BASE}/{account}`,
    (req): ArmResponse => {
      const name = param(req, 'account')
      if (!ACCOUNT_NAME.test(name)) accountNameInvalid(name)
      const body = requireBody(req)
      const id = accountId(req)
      const location = resolveLocation(body, STORAGE_TYPE, ctx.store.get(id))
      if (globallyTaken(ctx, STORAGE_TYPE, name, id)) {
        throw conflict('StorageAccountAlreadyTaken', `The storage account named ${name} is already taken.`)
      }
      const skuName = stringAt(body, 'sku', 'name')
      const kind = asString(body['kind'])
      if (!skuName || !kind) {
        throw badRequest(
          'MissingRequiredProperty',
          `The storage account request must give ${!skuName ? 'sku.name' : 'kind'}.`
        )
      }
      const existing = ctx.store.get(id)
      assertIdle(ctx, req, id)
      const props = propertiesOf(body)
      const now = iso(ctx.now())
      const view: JsonObject = {
        id,
        name,
        type: STORAGE_TYPE,
        location,
        // Echoed as given (StorageAccountCreate.json: an EdgeZone); edge zones are not checked.
        ...(objectAt(body, 'extendedLocation')
          ? { extendedLocation: clone(objectAt(body, 'extendedLocation')) }
          : {}),
        tags: tagsOf(body),
        sku: { name: skuName, tier: skuTier(skuName) },
        kind,
        properties: {
          supportsHttpsTrafficOnly: true,
          ...(kind === 'StorageV2' || kind === 'BlobStorage' ? { accessTier: 'Hot' } : {}),
          ...props,
          creationTime: stringAt(existing?.body, 'properties', 'creationTime') ?? now,
          keyCreationTime: objectAt(existing?.body, 'properties', 'keyCreationTime') ?? {
            key1: now,
            key2: now
          },
          // A PUT on an existing account is a synchronous update, which also repairs a failed create.
          provisioningState: existing ? 'Succeeded' : 'Creating'
        }
      }
      deriveAccount(view, existing?.body, now)
      if (existing) {
        // The RP treats a PUT on an existing account as a synchronous update.
        existing.body = view
        return { status: 200, body: view, delayMs: ctx.latency.ms('storageAccountSync') }
      }
      const record = ctx.store.put(newRecord(id, STORAGE_TYPE, view))
      storageKeys(ctx, record)
      const { headers } = startLro(ctx, req, {
        namespace: NS,
        location,
        statusSegment: 'asyncoperations',
        resultSegment: 'asyncoperations',
        shape: 'location',
        kind: 'storageAccounts.create',
        resourceId: id,
        durationMs: ctx.latency.ms('storageAccountCreate'),
        result: 'resource'
      })
      return { status: 202, headers }
    },
    ns
  )

  router.add('GET', `${BASE}/{account}`, (req): ArmResponse => {
    const record = requireRecord(ctx, accountId(req), resourceGroupName(ctx, req))
    const expand = (req.query.get('$expand') ?? '').toLowerCase().split(',')
    // geoReplicationStats are answered only on `$expand=geoReplicationStats` (spec), for an
    // account with a secondary.
    if (
      !expand.includes('georeplicationstats') ||
      !stringAt(record.body, 'properties', 'secondaryLocation')
    ) {
      return { status: 200, body: record.body }
    }
    const created = Date.parse(stringAt(record.body, 'properties', 'creationTime') ?? '') || ctx.now()
    const body = clone(record.body)
    ensureObject(body, 'properties')['geoReplicationStats'] = {
      status: 'Live',
      lastSyncTime: iso(Math.max(created, ctx.now() - 60_000)),
      canFailover: true
    }
    return { status: 200, body }
  })

  router.add('GET', BASE, (req): ArmResponse =>
    listAnswer(inResourceGroup(ctx, req, STORAGE_TYPE).map((r) => r.body))
  )

  router.add('PATCH', `${BASE}/{account}`, (req): ArmResponse => {
    const record = requireRecord(ctx, accountId(req), resourceGroupName(ctx, req))
    assertIdle(ctx, req, record.id)
    const body = requireBody(req)
    if (body['tags'] !== undefined) record.body['tags'] = tagsOf(body)
    const skuName = stringAt(body, 'sku', 'name')
    if (skuName) record.body['sku'] = { name: skuName, tier: skuTier(skuName) }
    if (asString(body['kind'])) record.body['kind'] = body['kind']
    const before = clone(record.body)
    Object.assign(ensureObject(record.body, 'properties'), propertiesOf(body))
    deriveAccount(record.body, before, iso(ctx.now()))
    return { status: 200, body: record.body, delayMs: ctx.latency.ms('storageAccountSync') }
  })

  router.add('DELETE', `${BASE}/{account}`, async (req): Promise<ArmResponse> => {
    const record = ctx.store.get(accountId(req))
    if (!record) return { status: 204 }
    assertIdle(ctx, req, record.id)
    // The account's data goes with it: a new account of the same name starts empty.
    const blob = ctx.backends.blob
    if (blob) {
      for (const c of ctx.store.descendants(record.id, CONTAINER_TYPE)) {
        await blob
          .deleteContainer(
            asString(record.body['name']) ?? '',
            serviceKey(ctx, record),
            asString(c.body['name']) ?? ''
          )
          .catch(() => {})
      }
    }
    ctx.store.removeTree(record.id)
    return { status: 200, delayMs: ctx.latency.ms('storageAccountSync') }
  })

  router.add('POST', `${BASE}/{account}/listKeys`, (req): ArmResponse => {
    return {
      status: 200,
      body: storageKeys(ctx, requireRecord(ctx, accountId(req), resourceGroupName(ctx, req)))
    }
  })

  router.add('POST', `${BASE}/{account}/regenerateKey`, (req): ArmResponse => {
    const record = requireRecord(ctx, accountId(req), resourceGroupName(ctx, req))
    const keyName = asString(req.body?.['keyName'])?.toLowerCase()
    if (keyName !== 'key1' && keyName !== 'key2') {
      throw badRequest(
        'InvalidValuesForRequestParameters',
        `Values for request parameters are invalid: keyName must be 'key1' or 'key2', got '${String(req.body?.['keyName'])}'.`
      )
    }
    record.secrets[keyName] = randomKey()
    ensureObject(ensureObject(record.body, 'properties'), 'keyCreationTime')[keyName] = iso(ctx.now())
    // The old value stops working at once (the data plane asks for the keys on every request); the
    // new one is refused until it has propagated (a seeded while, propagation.ts).
    pendingUntil(record)[keyName] =
      ctx.now() + ctx.propagation.delayMs('storageKey', `${record.id}/${keyName}`)
    return { status: 200, body: storageKeys(ctx, record) }
  })

  router.add(
    'POST',
    '/subscriptions/{subscriptionId}/providers/Microsoft.Storage/checkNameAvailability',
    (req): ArmResponse => {
      const name = asString(req.body?.['name']) ?? ''
      if (!ACCOUNT_NAME.test(name)) {
        return {
          status: 200,
          body: {
            nameAvailable: false,
            reason: 'AccountNameInvalid',
            message: `${name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.`
          }
        }
      }
      if (globallyTaken(ctx, STORAGE_TYPE, name, '')) {
        return {
          status: 200,
          body: {
            nameAvailable: false,
            reason: 'AlreadyExists',
            message: `The storage account named ${name} is already taken.`
          }
        }
      }
      return { status: 200, body: { nameAvailable: true } }
    }
  )

  const CONTAINERS = `${BASE}/{account}/blobServices/default/containers`

  router.add(
    'PUT',
    `${CONTAINERS}/{container}`,
    async (req): Promise<ArmResponse> => {
      const account = ctx.store.get(accountId(req))
      if (!account) throw parentResourceNotFound(accountId(req))
      const name = param(req, 'container')
      if (name.length < 3 || name.length > 63) {
        throw badRequest(
          'OutOfRangeInput',
          'The specified resource name length is not within the permissible limits.'
        )
      }
      if (!CONTAINER_CHARS.test(name)) {
        throw badRequest('InvalidResourceName', 'The specified resource name contains invalid characters.')
      }
      const id = containerId(req)
      const existing = ctx.store.get(id)
      const props = propertiesOf(req.body)
      const metadata = metadataOf(props)
      if (metadata) props['metadata'] = metadata
      else delete props['metadata']
      const view: JsonObject = {
        id,
        name,
        type: CONTAINER_TYPE,
        etag: `"0x${Date.now().toString(16).toUpperCase()}"`,
        properties: {
          defaultEncryptionScope: '$account-encryption-key',
          denyEncryptionScopeOverride: false,
          ...props,
          publicAccess: asString(props['publicAccess']) ?? 'None',
          lastModifiedTime: iso(ctx.now()),
          leaseStatus: 'Unlocked',
          leaseState: 'Available',
          hasImmutabilityPolicy: false,
          hasLegalHold: false,
          // Read-only; tags come only from setLegalHold (not emulated).
          legalHold: { hasLegalHold: false, tags: [] },
          deleted: false,
          remainingRetentionDays: 0
        }
      }
      // A PUT replaces the container's properties: its metadata is what this request gives.
      await ensureBlobContainer(ctx, account, name, metadata ?? {})
      if (existing) existing.body = view
      else ctx.store.put(newRecord(id, CONTAINER_TYPE, view))
      return { status: existing ? 200 : 201, body: view, delayMs: ctx.latency.ms('blobContainer') }
    },
    ns
  )

  router.add('GET', `${CONTAINERS}/{container}`, (req): ArmResponse => {
    if (!ctx.store.get(accountId(req))) throw parentResourceNotFound(accountId(req))
    return { status: 200, body: requireRecord(ctx, containerId(req), resourceGroupName(ctx, req)).body }
  })

  router.add('PATCH', `${CONTAINERS}/{container}`, async (req): Promise<ArmResponse> => {
    const record = requireRecord(ctx, containerId(req), resourceGroupName(ctx, req))
    const props = propertiesOf(req.body)
    const metadata = metadataOf(props)
    if (metadata) {
      props['metadata'] = metadata
      const account = ctx.store.get(accountId(req))
      if (account) await ensureBlobContainer(ctx, account, param(req, 'container'), metadata)
    } else delete props['metadata']
    Object.assign(ensureObject(record.body, 'properties'), props, {
      lastModifiedTime: iso(ctx.now())
    })
    record.body['etag'] = etag()
    return { status: 200, body: record.body }
  })

  router.add('GET', CONTAINERS, (req): ArmResponse => {
    const account = requireRecord(ctx, accountId(req), resourceGroupName(ctx, req))
    return listAnswer(ctx.store.descendants(account.id, CONTAINER_TYPE).map((r) => r.body))
  })

  router.add('DELETE', `${CONTAINERS}/{container}`, async (req): Promise<ArmResponse> => {
    const record = ctx.store.get(containerId(req))
    if (!record) return { status: 204 }
    const account = ctx.store.get(accountId(req))
    if (account && ctx.backends.blob) {
      await ctx.backends.blob.deleteContainer(
        asString(account.body['name']) ?? '',
        serviceKey(ctx, account),
        param(req, 'container')
      )
    }
    ctx.store.removeTree(record.id)
    return { status: 200, delayMs: ctx.latency.ms('blobContainer') }
  })

  ctx.lro.onComplete('storageAccounts.create', (op) => {
    const props = objectAt(ctx.store.get(op.resourceId)?.body, 'properties')
    if (props) props['provisioningState'] = op.status === 'Succeeded' ? 'Succeeded' : 'Failed'
  })
}
