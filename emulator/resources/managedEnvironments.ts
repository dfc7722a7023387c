/**
 * Container Apps environments (Microsoft.App 2026-07-01). PUT answers 201 (200 on update) with a
 * non-terminal provisioningState, Location and Azure-AsyncOperation; the environment checks its
 * infrastructure subnet (exists, delegated to Microsoft.App/environments, /27 or larger, not
 * shared) and its Log Analytics customerId/sharedKey against a real workspace.
 */
import { createHash } from 'node:crypto'
import type { EmulatorContext } from '../context.js'
import { parseCidr } from '../cidr.js'
import { badRequest, conflict } from '../errors.js'
import { GUID_PATTERN, idKey } from '../ids.js'
import {
  asArray,
  asBoolean,
  asString,
  clone,
  ensureObject,
  isObject,
  mergePatch,
  objectAt,
  stringAt,
  without,
  type JsonObject
} from '../json.js'
import { randomHex, randomPublicIp, randomWord } from '../random.js'
import { param, type ArmRequest, type ArmResponse, type Router } from '../router.js'
import type { ResourceRecord } from '../store.js'
import {
  assertIdle,
  identityView,
  newRecord,
  propertiesOf,
  requireBody,
  resolveLocation,
  requireRecord,
  resourceGroupName,
  startLro,
  subscriptionOf,
  tagsOf,
  routedResourceId,
  addStoredReads
} from './common.js'
import { ENVIRONMENT_TYPE, subnetUsers } from './references.js'
import { addressInSubnet, delegationServices, findSubnet, subnetPrefix } from './virtualNetworks.js'
import { sharedKeysOf, WORKSPACE_TYPE } from './workspaces.js'

export const CONTAINER_APP_TYPE = 'Microsoft.App/containerApps'
const NS = 'Microsoft.App'
const BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.App/managedEnvironments'
const NAME = /^[a-z][a-z0-9-]{0,58}[a-z0-9]$/
/**
 * Write-only values (spec: `x-ms-secret`, absent from the examples' responses): kept in the record's
 * secrets under their path, never answered, put back under a PATCH.
 */
const WRITE_ONLY = [
  'properties.appLogsConfiguration.logAnalyticsConfiguration.sharedKey',
  'properties.customDomainConfiguration.certificateValue',
  'properties.customDomainConfiguration.certificatePassword',
  'properties.daprAIInstrumentationKey',
  'properties.daprAIConnectionString',
  'properties.appInsightsConfiguration.connectionString',
  'properties.openTelemetryConfiguration.destinationsConfiguration.dataDogConfiguration.key'
]
/** Versions of the runtimes an environment hosts, as ManagedEnvironments_Get.json shows them. */
const DAPR_VERSION = '1.9'
const KEDA_VERSION = '2.8.1'
const YEAR_MS = 365 * 24 * 60 * 60 * 1000

/** `body` without the write-only values (and without objects they leave empty). */
function withoutSecrets(body: JsonObject): JsonObject {
  const copy = clone(body)
  for (const path of WRITE_ONLY) {
    const parts = path.split('.')
    const last = parts.pop() ?? ''
    for (let depth = parts.length; depth >= 0; depth--) {
      const parent = objectAt(copy, ...parts.slice(0, depth))
      if (!parent) continue
      const key = depth === parts.length ? last : (parts[depth] ?? '')
      const child = parent[key]
      if (depth === parts.length || (isObject(child) && Object.keys(child).length === 0)) delete parent[key]
      else break
    }
  }
  return copy
}

function valueAt(body: JsonObject, path: string): string | undefined {
  return stringAt(body, ...path.split('.'))
}

/**
 * `customDomainConfiguration` as the service answers it (ManagedEnvironments_CreateOrUpdate.json,
 * ManagedEnvironments_Get.json): the verification id, and with a certificate the given `dnsSuffix`
 * plus `subjectName`, `thumbprint` and `expirationDate`. The emulator does not open the PKCS#12
 * blob: the subject is the name it must cover (`CN=<dnsSuffix>`), the thumbprint the SHA-1 of the
 * uploaded bytes and the expiry one year after the upload.
 */
function customDomainView(
  given: JsonObject | undefined,
  certificate: string | undefined,
  before: JsonObject | undefined,
  now: number
): JsonObject {
  const view: JsonObject = {
    ...without(given ?? {}, ['subjectName', 'thumbprint', 'expirationDate']),
    customDomainVerificationId:
      asString(before?.['customDomainVerificationId']) ?? randomHex(64).toUpperCase()
  }
  const dnsSuffix = asString(given?.['dnsSuffix'])
  if (!certificate || !dnsSuffix) return view
  const thumbprint = createHash('sha1').update(Buffer.from(certificate, 'base64')).digest('hex').toUpperCase()
  const same = asString(before?.['thumbprint']) === thumbprint
  return {
    ...view,
    dnsSuffix,
    subjectName: `CN=${dnsSuffix}`,
    thumbprint,
    expirationDate:
      (same ? asString(before?.['expirationDate']) : undefined) ?? new Date(now + YEAR_MS).toISOString()
  }
}

const LRO = {
  namespace: NS,
  statusSegment: 'managedEnvironmentOperationStatuses',
  resultSegment: 'managedEnvironmentOperationResults'
}

function invalidNetwork(detail: string): never {
  throw badRequest(
    'ManagedEnvironmentInvalidNetworkConfiguration',
    `The environment network configuration is invalid: ${detail}`
  )
}

function validateSubnet(ctx: EmulatorContext, envId: string, props: JsonObject): void {
  const subnetId = stringAt(props, 'vnetConfiguration', 'infrastructureSubnetId')
  if (!subnetId) return
  const found = findSubnet(ctx, subnetId)
  if (!found) invalidNetwork('The subnet and its addressPrefix could not be found.')
  if (!delegationServices(found.subnet).some((s) => s.toLowerCase() === 'microsoft.app/environments')) {
    throw badRequest(
      'ManagedEnvironmentSubnetDelegationError',
      "The subnet of the environment must be delegated to the service 'Microsoft.App/environments'."
    )
  }
  const cidr = parseCidr(subnetPrefix(found.subnet) ?? '')
  if (!cidr || cidr.bits > 27)
    invalidNetwork(`The subnet '${asString(found.subnet['name'])}' must have a size of at least /27.`)
  const others = subnetUsers(ctx, subnetId).filter((id) => idKey(id) !== idKey(envId))
  if (others.length > 0)
    invalidNetwork(`The subnet '${asString(found.subnet['name'])}' is already used by '${others[0]}'.`)
}

function validateLogs(ctx: EmulatorContext, props: JsonObject): void {
  const logs = objectAt(props, 'appLogsConfiguration')
  if (!logs || asString(logs['destination']) !== 'log-analytics') return
  const customerId = stringAt(logs, 'logAnalyticsConfiguration', 'customerId') ?? ''
  const sharedKey = stringAt(logs, 'logAnalyticsConfiguration', 'sharedKey') ?? ''
  if (!GUID_PATTERN.test(customerId)) {
    throw badRequest(
      'InvalidRequestParameterWithDetails',
      'LogAnalyticsConfiguration.CustomerId is invalid.  CustomerId must be a GUID without additional whiteSpace.'
    )
  }
  const workspace = ctx.store
    .byType(WORKSPACE_TYPE)
    .find(
      (w) => (stringAt(w.body, 'properties', 'customerId') ?? '').toLowerCase() === customerId.toLowerCase()
    )
  if (!workspace || sharedKeysOf(workspace).primarySharedKey !== sharedKey) {
    throw badRequest(
      'InvalidRequestParameterWithDetails',
      'LogAnalyticsConfiguration is invalid.  Must provide a valid LogAnalyticsConfiguration'
    )
  }
}

export function appsInEnvironment(ctx: EmulatorContext, envId: string): ResourceRecord[] {
  return ctx.store.byType(CONTAINER_APP_TYPE).filter((app) => {
    const ref =
      stringAt(app.body, 'properties', 'managedEnvironmentId') ??
      stringAt(app.body, 'properties', 'environmentId')
    return ref !== undefined && idKey(ref) === idKey(envId)
  })
}

export function registerManagedEnvironments(ctx: EmulatorContext, router: Router): void {
  const envId = routedResourceId(ctx, NS, 'managedEnvironments', 'environment')
  const setState = (record: ResourceRecord, state: string): void => {
    const props = objectAt(record.body, 'properties')
    if (props) props['provisioningState'] = state
  }

  /** Applies a full desired body (PUT, or PATCH merged onto the current one) and starts the LRO. */
  const write = (req: ArmRequest, id: string, name: string, body: JsonObject, existing?: ResourceRecord) => {
    const location = resolveLocation(body, ENVIRONMENT_TYPE, existing)
    const props = propertiesOf(body)
    const oldSubnet = stringAt(existing?.body, 'properties', 'vnetConfiguration', 'infrastructureSubnetId')
    const newSubnet = stringAt(props, 'vnetConfiguration', 'infrastructureSubnetId')
    // vnetConfiguration is create-only (spec: x-ms-mutability create, read). The service has been
    // seen to ignore a change silently (microsoft/azure-container-apps#851); we refuse it, stricter,
    // so a change that would never take effect cannot look applied.
    if (existing && (oldSubnet ?? '').toLowerCase() !== (newSubnet ?? '').toLowerCase()) {
      invalidNetwork('The infrastructure subnet of an existing environment cannot be changed.')
    }
    const oldInternal =
      asBoolean(objectAt(existing?.body, 'properties', 'vnetConfiguration')?.['internal']) ?? false
    const newInternal = asBoolean(objectAt(props, 'vnetConfiguration')?.['internal']) ?? false
    if (existing && oldInternal !== newInternal) {
      invalidNetwork(
        `An existing environment cannot change from ${oldInternal ? 'internal' : 'external'} to ${newInternal ? 'internal' : 'external'}.`
      )
    }
    validateSubnet(ctx, id, props)
    validateLogs(ctx, props)
    const internal = asBoolean(objectAt(props, 'vnetConfiguration')?.['internal']) ?? false
    const subnet = newSubnet ? findSubnet(ctx, newSubnet) : undefined
    const domain =
      stringAt(existing?.body, 'properties', 'defaultDomain') ??
      `${randomWord()}-${randomHex(8)}.${location.toLowerCase().replace(/\s+/g, '')}.azurecontainerapps.io`
    const staticIp =
      stringAt(existing?.body, 'properties', 'staticIp') ??
      (internal && subnet ? (addressInSubnet(subnet.subnet, 0) ?? randomPublicIp()) : randomPublicIp())
    const shown = propertiesOf(withoutSecrets({ properties: props }))
    const workloadProfiles = asArray(props['workloadProfiles']) ?? []
    const identity = identityView(body['identity'], existing?.body['identity'], subscriptionOf(req))
    const view: JsonObject = {
      id,
      name,
      type: ENVIRONMENT_TYPE,
      location,
      tags: tagsOf(body),
      ...(identity ? { identity } : {}),
      properties: {
        zoneRedundant: false,
        ...shown,
        // ManagedEnvironmentMode (spec): as given, else what the profiles make it.
        environmentMode:
          asString(props['environmentMode']) ??
          (workloadProfiles.length > 0 ? 'WorkloadProfiles' : 'ConsumptionOnly'),
        defaultDomain: domain,
        staticIp,
        eventStreamEndpoint: `https://${location.toLowerCase().replace(/\s+/g, '')}.azurecontainerapps.dev/subscriptions/${subscriptionOf(req)}/resourceGroups/${resourceGroupName(ctx, req)}/managedEnvironments/${name}/eventstream`,
        infrastructureResourceGroup: `ME_${name}_${resourceGroupName(ctx, req)}_${location.toLowerCase().replace(/\s+/g, '')}`,
        customDomainConfiguration: customDomainView(
          objectAt(shown, 'customDomainConfiguration'),
          valueAt(body, 'properties.customDomainConfiguration.certificateValue'),
          objectAt(existing?.body, 'properties', 'customDomainConfiguration'),
          ctx.now()
        ),
        // Read-only runtime versions (ManagedEnvironments_Get.json).
        daprConfiguration: { version: DAPR_VERSION },
        kedaConfiguration: { version: KEDA_VERSION },
        provisioningState: existing ? 'InfrastructureSetupInProgress' : 'InitializationInProgress'
      }
    }
    const record = existing ?? ctx.store.put(newRecord(id, ENVIRONMENT_TYPE, view))
    record.body = view
    for (const path of WRITE_ONLY) {
      const value = valueAt(body, path)
      if (value !== undefined) record.secrets[path] = value
      else delete record.secrets[path]
    }
    record.internal['outboundIpAddresses'] ??= [randomPublicIp(), randomPublicIp()]
    return startLro(ctx, req, {
      ...LRO,
      location,
      shape: 'both',
      kind: 'managedEnvironments.put',
      resourceId: id,
      durationMs: ctx.latency.ms(existing ? 'managedEnvironmentUpdate' : 'managedEnvironmentPut'),
      result: 'resource'
    })
  }

  router.add(
    'PUT',
    `${BASE}/{environment}`,
    (req): ArmResponse => {
      const name = param(req, 'environment')
      if (!NAME.test(name) || name.includes('--')) {
        throw badRequest('ManagedEnvironmentInvalidName', `The environment name ${name} is invalid.`)
      }
      const id = envId(req)
      const existing = ctx.store.get(id)
      assertIdle(ctx, req, id)
      const { headers } = write(
        req,
        id,
        existing ? (asString(existing.body['name']) ?? name) : name,
        requireBody(req),
        existing
      )
      return { status: existing ? 200 : 201, body: ctx.store.get(id)?.body, headers }
    },
    { namespace: NS }
  )

  router.add('PATCH', `${BASE}/{environment}`, (req): ArmResponse => {
    const existing = requireRecord(ctx, envId(req), resourceGroupName(ctx, req))
    assertIdle(ctx, req, existing.id)
    const current = clone(existing.body)
    for (const path of WRITE_ONLY) {
      // State written before the secrets were kept by path held the shared key as `sharedKey`.
      const value =
        existing.secrets[path] ?? (path.endsWith('.sharedKey') ? existing.secrets['sharedKey'] : undefined)
      if (value === undefined) continue
      const parts = path.split('.')
      const last = parts.pop() ?? ''
      let parent = current
      for (const part of parts) parent = ensureObject(parent, part)
      parent[last] = value
    }
    const merged = mergePatch(current, requireBody(req)) as JsonObject
    const { headers } = write(req, existing.id, asString(existing.body['name']) ?? '', merged, existing)
    return { status: 202, headers }
  })

  addStoredReads(ctx, router, { base: BASE, nameParam: 'environment', idOf: envId, type: ENVIRONMENT_TYPE })

  router.add('DELETE', `${BASE}/{environment}`, (req): ArmResponse => {
    const record = ctx.store.get(envId(req))
    if (!record) return { status: 204 }
    assertIdle(ctx, req, record.id)
    const apps = appsInEnvironment(ctx, record.id)
    if (apps.length > 0) {
      throw conflict(
        'ManagedEnvironmentHasContainerApps',
        `Cannot delete managed environment '${asString(record.body['name'])}' because it still has container apps: ${apps.map((a) => asString(a.body['name'])).join(', ')}. Delete them first.`
      )
    }
    setState(record, 'ScheduledForDelete')
    const { headers } = startLro(ctx, req, {
      ...LRO,
      location: asString(record.body['location']) ?? 'eastus',
      shape: 'location',
      kind: 'managedEnvironments.delete',
      resourceId: record.id,
      durationMs: ctx.latency.ms('managedEnvironmentDelete'),
      result: 'noContent'
    })
    return { status: 202, headers }
  })

  ctx.lro.onComplete('managedEnvironments.put', (op) => {
    const record = ctx.store.get(op.resourceId)
    if (!record) return
    setState(record, op.status === 'Succeeded' ? 'Succeeded' : 'Failed')
    // A read-only string: null when fine, the failure's text when not (spec; azure-container-apps#451).
    const props = objectAt(record.body, 'properties')
    if (props) props['deploymentErrors'] = op.status === 'Succeeded' ? null : (op.error?.message ?? 'Failed')
  })
  ctx.lro.onComplete('managedEnvironments.delete', (op) => {
    const record = ctx.store.get(op.resourceId)
    if (!record) return
    if (op.status === 'Succeeded') ctx.store.removeTree(record.id)
    else setState(record, 'Failed')
  })
}
