/**
 * Container apps (Microsoft.App 2026-07-01). PUT answers 201/200 + Azure-AsyncOperation with
 * `provisioningState: InProgress`; PATCH is a JSON merge patch answered 202 + Location (+ monitor).
 * A template change creates a revision `<app>--<suffix>`; configuration-only changes (secrets,
 * ingress) do not. Secrets are stored with their values but GET shows names only; listSecrets
 * reveals them.
 */
import type { EmulatorContext } from '../context.js'
import { badRequest } from '../errors.js'
import { validateIpSecurityRestrictions } from '../networkRules.js'
import { asString, clone, jsonEqual, objectAt, objectsOf, without, type JsonObject } from '../json.js'
import { type ArmResponse, type Router } from '../router.js'
import type { ResourceRecord } from '../store.js'
import {
  assertIdle,
  inResourceGroup,
  listAnswer,
  resolveLocation,
  requireRecord,
  resourceGroupName,
  startLro,
  routedResourceId
} from './common.js'
import { RevisionLifecycle } from './containerAppRevisions.js'
import {
  applyDefaultResources,
  type ContainerWrite,
  registerContainerWrites,
  requireEnvironment,
  storeWrite,
  validateSecretRefs,
  validateSecrets,
  withSecretValues
} from './containerShared.js'
import { validateContainers } from './containerTemplate.js'
import { APP_TYPE, appSpec, appState, environmentIdOf, renderApp, setAppState } from './containerAppView.js'

const NS = 'Microsoft.App'
const BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.App/containerApps'
const SUFFIX = /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/

const LRO = {
  namespace: NS,
  statusSegment: 'containerappOperationStatuses',
  resultSegment: 'containerappOperationResults'
}

/** Fields the service fills in: never part of what a client asked for. */
const READ_ONLY = [
  'id',
  'name',
  'type',
  'systemData',
  'properties.provisioningState',
  'properties.runningStatus',
  'properties.latestRevisionName',
  'properties.latestReadyRevisionName',
  'properties.latestRevisionFqdn',
  'properties.outboundIpAddresses',
  'properties.customDomainVerificationId',
  'properties.eventStreamEndpoint',
  'properties.managedEnvironmentId',
  'properties.configuration.ingress.fqdn'
]

function invalidAppName(name: string): never {
  throw badRequest(
    'ContainerAppInvalidName',
    `Invalid ContainerApp name '${name}'. A name must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character and cannot have '--'. The length must be between 2 and 32 characters inclusive.`
  )
}

/** The app as a client would PUT it, secrets with values: the base a merge patch applies to. */
function currentDesired(app: ResourceRecord): JsonObject {
  return withSecretValues(clone(appSpec(app)), app.secrets)
}

interface Validated {
  location: string
  spec: JsonObject
  secrets: Record<string, string>
  template: JsonObject
}

function validate(
  ctx: EmulatorContext,
  desired: JsonObject,
  existing: ResourceRecord | undefined
): Validated {
  const location = resolveLocation(desired, APP_TYPE, existing)
  const clean = without(desired, READ_ONLY)
  clean['location'] = location
  const props = objectAt(clean, 'properties') ?? {}
  const env = requireEnvironment(ctx, environmentIdOf(desired))
  props['environmentId'] = env.id

  const configuration = objectAt(props, 'configuration') ?? {}
  const { secrets, shown } = validateSecrets(configuration, existing?.secrets)
  if (objectAt(props, 'configuration')) configuration['secrets'] = shown
  const mode = asString(configuration['activeRevisionsMode'])
  // Stable enum `Multiple | Single` (KnownActiveRevisionsMode, next-capabilities §2).
  if (mode !== undefined && !['single', 'multiple'].includes(mode.toLowerCase())) {
    throw badRequest(
      'InvalidRequestParameterWithDetails',
      `configuration.activeRevisionsMode '${mode}' is not one of 'Single', 'Multiple'.`
    )
  }

  validateIpSecurityRestrictions(objectAt(configuration, 'ingress'))

  const template = objectAt(props, 'template') ?? {}
  applyDefaultResources([...objectsOf(template['containers']), ...objectsOf(template['initContainers'])])
  const containers = objectsOf(template['containers'])
  if (containers.length === 0) {
    throw badRequest(
      'InvalidRequestParameterWithDetails',
      'properties.template.containers must contain at least one container.'
    )
  }
  validateContainers(template, asString(props['workloadProfileName']))
  validateSecretRefs(containers, secrets)
  return { location, spec: clean, secrets, template }
}

const REVISION_NAME_RULE =
  "A revision name must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character. The length of the revision name must not be more than a combined 54 characters with the container app name."

/**
 * `configuration.ingress.traffic` on write. Weights are integers 0–100 that add up to 100; each entry
 * names a revision (`revisionName`) or the latest ready one (`latestRevision: true`), not both; a
 * named revision must be one of the app's (or the one this write creates) and active. The
 * revision-name rule and its code are the service's (`ContainerAppInvalidRevisionName`, "also raised
 * for traffic[].revisionName", next-capabilities §2); the other codes are chosen [unverified: no
 * refusal of these was found in the issue trackers]. Stricter than a service that might accept a sum
 * other than 100 (third-party emulators and the Terraform provider require 100 too).
 *
 * Single mode: the traffic list is kept as written and not checked — the one active revision gets
 * all traffic. Microsoft's own ContainerApps_ManagedBy_CreateOrUpdate.json creates a Single-mode app
 * whose traffic names a revision that will not exist, with no weight; how Azure treats such a list
 * is not known here (terraform-provider-azurerm#27221: a create whose traffic named no latest
 * revision failed later with "Operation expired") [unverified].
 */
function validateTraffic(
  ctx: EmulatorContext,
  appId: string,
  appName: string,
  spec: JsonObject,
  creating: string | undefined
): void {
  const configuration = objectAt(spec, 'properties', 'configuration')
  const mode = asString(configuration?.['activeRevisionsMode']) ?? 'Single'
  if (mode.toLowerCase() !== 'multiple') return
  const traffic = objectAt(configuration, 'ingress')?.['traffic']
  if (traffic === undefined || traffic === null) return
  const entries = objectsOf(traffic)
  if (entries.length === 0) return
  let sum = 0
  for (const t of entries) {
    const weight = t['weight'] ?? 0
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 100) {
      throw badRequest(
        'ContainerAppInvalidTrafficWeight',
        `Traffic weight '${JSON.stringify(weight)}' is invalid: a weight must be an integer between 0 and 100.`
      )
    }
    sum += weight
    const name = asString(t['revisionName'])
    const latest = t['latestRevision'] === true
    if ((name && latest) || (!name && !latest)) {
      throw badRequest(
        'ContainerAppInvalidTrafficWeight',
        'Each traffic weight must name either a revision (revisionName) or the latest revision (latestRevision: true), not both.'
      )
    }
    if (!name) continue
    const suffix = name.toLowerCase().startsWith(`${appName.toLowerCase()}--`)
      ? name.slice(appName.length + 2)
      : undefined
    if (suffix === undefined || !SUFFIX.test(suffix) || suffix.includes('--') || name.length > 54) {
      throw badRequest(
        'ContainerAppInvalidRevisionName',
        `Revision name has an invalid value '${name}'. ${REVISION_NAME_RULE}`
      )
    }
    if (creating && creating.toLowerCase() === name.toLowerCase()) continue
    const rev = ctx.store.get(`${appId}/revisions/${name}`)
    if (!rev) {
      throw badRequest(
        'ContainerAppTrafficRevisionNotFound',
        `Traffic weight names revision '${name}', which does not exist in container app '${appName}'.`
      )
    }
    if (objectAt(rev.body, 'properties')?.['active'] !== true) {
      throw badRequest(
        'ContainerAppTrafficRevisionNotActive',
        `Traffic weight names revision '${name}', which is not active. Activate it before giving it traffic.`
      )
    }
  }
  if (sum !== 100) {
    throw badRequest(
      'ContainerAppInvalidTrafficWeightSum',
      `The traffic weights of container app '${appName}' add up to ${sum}; they must add up to 100.`
    )
  }
}

export function registerContainerApps(
  ctx: EmulatorContext,
  router: Router,
  lifecycle: RevisionLifecycle
): void {
  const appId = routedResourceId(ctx, NS, 'containerApps', 'app')

  /** Shared by PUT and PATCH: validate, decide on a new revision, store, start the operation. */
  const write: ContainerWrite = (req, id, name, desired, existing, kind) => {
    const v = validate(ctx, desired, existing)
    const suffix = asString(v.template['revisionSuffix'])
    if (
      suffix !== undefined &&
      suffix !== '' &&
      (!SUFFIX.test(suffix) || suffix.includes('--') || name.length + suffix.length > 54)
    ) {
      throw badRequest(
        'ContainerAppInvalidRevisionName',
        `Revision name has an invalid value '${suffix}'. ${REVISION_NAME_RULE}`
      )
    }
    const previous = existing ? appState(existing) : undefined
    const latest = previous?.latestRevisionName
      ? ctx.store.get(`${id}/revisions/${previous.latestRevisionName}`)
      : undefined
    const needsRevision = !latest || !jsonEqual(objectAt(latest.body, 'properties', 'template'), v.template)
    let revisionName: string | undefined
    if (needsRevision) {
      revisionName = `${name}--${suffix || ctx.ids.revisionSuffix(id)}`
      if (ctx.store.get(`${id}/revisions/${revisionName}`)) {
        if (suffix) {
          throw badRequest(
            'ContainerAppRevisionSuffixConflict',
            `Revision with suffix '${suffix}' already exists for container app '${name}' with a different template. Use a new revisionSuffix for a template change.`
          )
        }
        while (ctx.store.get(`${id}/revisions/${revisionName}`))
          revisionName = `${name}--${ctx.ids.revisionSuffix(id)}`
      }
    }

    validateTraffic(ctx, id, name, v.spec, revisionName)
    const record = storeWrite(ctx, req, { type: APP_TYPE, id, name, existing }, desired, v)
    setAppState(record, {
      provisioningState: 'InProgress',
      ...(revisionName ? { latestRevisionName: revisionName, runningStatus: 'Progressing' } : {})
    })
    renderApp(ctx, record)
    if (revisionName) lifecycle.create(record, revisionName, v.template)
    return startLro(ctx, req, {
      ...LRO,
      location: v.location,
      shape: kind === 'put' ? 'aao' : 'both',
      kind: 'containerApps.write',
      resourceId: id,
      durationMs: ctx.latency.ms(kind === 'put' ? 'containerAppPut' : 'containerAppPatch'),
      result: 'resource',
      data: { revision: revisionName ?? null, previousLatest: previous?.latestRevisionName ?? '' }
    }).headers
  }

  registerContainerWrites(ctx, router, BASE, {
    param: 'app',
    idOf: appId,
    invalidName: invalidAppName,
    readOnly: READ_ONLY,
    current: currentDesired,
    write
  })

  router.add('GET', `${BASE}/{app}`, (req): ArmResponse => {
    const app = requireRecord(ctx, appId(req), resourceGroupName(ctx, req))
    renderApp(ctx, app)
    return { status: 200, body: app.body }
  })

  router.add('GET', BASE, (req): ArmResponse => {
    const apps = inResourceGroup(ctx, req, APP_TYPE)
    for (const app of apps) renderApp(ctx, app)
    return listAnswer(apps.map((a) => a.body))
  })

  router.add('POST', `${BASE}/{app}/listSecrets`, (req): ArmResponse => {
    const app = requireRecord(ctx, appId(req), resourceGroupName(ctx, req))
    const names = objectsOf(objectAt(appSpec(app), 'properties', 'configuration')?.['secrets']).map(
      (s) => asString(s['name']) ?? ''
    )
    return { status: 200, body: { value: names.map((name) => ({ name, value: app.secrets[name] ?? '' })) } }
  })

  router.add('DELETE', `${BASE}/{app}`, (req): ArmResponse => {
    const app = ctx.store.get(appId(req))
    if (!app) return { status: 204 }
    assertIdle(ctx, req, app.id)
    setAppState(app, { provisioningState: 'Deleting' })
    renderApp(ctx, app)
    const { headers } = startLro(ctx, req, {
      ...LRO,
      location: asString(app.body['location']) ?? 'eastus',
      shape: 'location',
      kind: 'containerApps.delete',
      resourceId: app.id,
      durationMs: ctx.latency.ms('containerAppDelete'),
      result: 'noContent'
    })
    return { status: 202, headers }
  })

  ctx.lro.onComplete('containerApps.write', (op) => {
    const app = ctx.store.get(op.resourceId)
    if (!app) return
    const revisionName = asString(op.data['revision'])
    const rev = revisionName ? ctx.store.get(`${app.id}/revisions/${revisionName}`) : undefined
    if (op.status === 'Succeeded') {
      setAppState(app, { provisioningState: 'Succeeded' })
      if (rev) lifecycle.start(rev)
      // New weights route new requests from now on; requests in flight finish where they are.
      lifecycle.applyTraffic(app)
    } else {
      // A failed write leaves no half-made revision behind, so a retried PUT creates it again.
      if (rev) ctx.store.removeTree(rev.id)
      setAppState(app, {
        provisioningState: 'Failed',
        ...(revisionName ? { latestRevisionName: asString(op.data['previousLatest']) ?? '' } : {})
      })
    }
    renderApp(ctx, app)
  })

  ctx.lro.onComplete('containerApps.delete', (op) => {
    const app = ctx.store.get(op.resourceId)
    if (!app) return
    if (op.status === 'Succeeded') ctx.store.removeTree(app.id)
    else {
      setAppState(app, { provisioningState: 'Failed' })
      renderApp(ctx, app)
    }
  })
}
