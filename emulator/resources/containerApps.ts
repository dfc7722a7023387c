/**
 * Container apps (Microsoft.App 2026-07-01). PUT answers 201/200 + Azure-AsyncOperation with
 * `provisioningState: InProgress`; PATCH is a JSON merge patch answered 202 + Location (+ monitor).
 * A template change creates a revision `<app>--<suffix>`; configuration-only changes (secrets,
 * ingress) do not. Secrets are stored with their values but GET shows names only; listSecrets
 * reveals them.
 */
import type { EmulatorContext } from '../context.js'
import { badRequest, operationInProgress } from '../errors.js'
import { providerResourceId } from '../ids.js'
import {
  asString,
  clone,
  jsonEqual,
  mergePatch,
  objectAt,
  objectsOf,
  stringAt,
  without,
  type JsonObject
} from '../json.js'
import { param, type ArmRequest, type ArmResponse, type Router } from '../router.js'
import type { ResourceRecord } from '../store.js'
import {
  assertIdle,
  canonicalName,
  identityView,
  inResourceGroup,
  listAnswer,
  newRecord,
  requireBody,
  resolveLocation,
  requireRecord,
  resourceGroupName,
  startLro,
  subscriptionOf
} from './common.js'
import { RevisionLifecycle } from './containerAppRevisions.js'
import { validateContainers } from './containerTemplate.js'
import { APP_TYPE, appSpec, appState, environmentIdOf, renderApp, setAppState } from './containerAppView.js'

const NS = 'Microsoft.App'
const BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.App/containerApps'
const APP_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/
const SUFFIX = /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/
const SECRET_NAME = /^[a-z0-9](?:[a-z0-9-]{0,251}[a-z0-9])?$/

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
  const spec = clone(appSpec(app))
  const configuration = objectAt(spec, 'properties', 'configuration')
  if (configuration) {
    configuration['secrets'] = objectsOf(configuration['secrets']).map((s) => {
      const name = asString(s['name']) ?? ''
      return { ...s, name, value: app.secrets[name] ?? '' }
    })
  }
  return spec
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
  const envId = environmentIdOf(desired)
  if (!envId) {
    throw badRequest(
      'InvalidRequestParameterWithDetails',
      'properties.environmentId is required: the managed environment the app runs in.'
    )
  }
  const env = ctx.store.get(envId)
  if (!env || env.type !== 'Microsoft.App/managedEnvironments') {
    throw badRequest('ManagedEnvironmentNotFound', `The managed environment '${envId}' was not found.`)
  }
  const envState = stringAt(env.body, 'properties', 'provisioningState')
  if (envState === 'Failed' || envState === 'Canceled' || envState === 'UpgradeFailed') {
    // microsoft/azure-container-apps#868, #1208, #1778.
    throw badRequest(
      'ManagedEnvironmentNotProvisioned',
      `The environment '${env.id}' has not been provisioned successfully.`
    )
  }
  if (envState !== 'Succeeded') throw operationInProgress(env.id)
  props['environmentId'] = env.id

  const configuration = objectAt(props, 'configuration') ?? {}
  const secrets: Record<string, string> = {}
  const secretNames: JsonObject[] = []
  for (const s of objectsOf(configuration['secrets'])) {
    const name = asString(s['name']) ?? ''
    if (!SECRET_NAME.test(name)) {
      throw badRequest(
        'ContainerAppInvalidSecretName',
        `Secret name has an invalid value '${name}'. A value must consist of lower case alphanumeric characters, '-', and must start and end with an alphanumeric character. The length must not be more than 253 characters.`
      )
    }
    const value = asString(s['value']) ?? existing?.secrets[name]
    if (value === undefined && !asString(s['keyVaultUrl'])) {
      throw badRequest('ContainerAppSecretInvalid', `Secret '${name}' has no value and no keyVaultUrl.`)
    }
    secrets[name] = value ?? ''
    const shown: JsonObject = { ...s, name }
    delete shown['value']
    secretNames.push(shown)
  }
  if (objectAt(props, 'configuration')) configuration['secrets'] = secretNames

  const template = objectAt(props, 'template') ?? {}
  // A container without resources gets the service's default share (0.5 CPU, 1Gi; Container Apps
  // docs "Containers"), which every answer then shows (ContainerApps_ManagedBy_CreateOrUpdate.json).
  for (const c of [...objectsOf(template['containers']), ...objectsOf(template['initContainers'])]) {
    if (c['resources'] === undefined) c['resources'] = { cpu: 0.5, memory: '1Gi' }
  }
  const containers = objectsOf(template['containers'])
  if (containers.length === 0) {
    throw badRequest(
      'InvalidRequestParameterWithDetails',
      'properties.template.containers must contain at least one container.'
    )
  }
  validateContainers(template, asString(props['workloadProfileName']))
  for (const container of containers) {
    for (const env of objectsOf(container['env'])) {
      const ref = asString(env['secretRef'])
      if (ref !== undefined && secrets[ref] === undefined) {
        throw badRequest(
          'ContainerAppSecretRefNotFound',
          `Container '${asString(container['name'])}' has environment variable '${asString(env['name'])}' referencing secret '${ref}', which is not defined in configuration.secrets.`
        )
      }
    }
  }
  return { location, spec: clean, secrets, template }
}

export function registerContainerApps(
  ctx: EmulatorContext,
  router: Router,
  lifecycle: RevisionLifecycle
): void {
  const appId = (req: ArmRequest): string => {
    const rg = resourceGroupName(ctx, req)
    const given = providerResourceId(subscriptionOf(req), rg, NS, ['containerApps', param(req, 'app')])
    return providerResourceId(subscriptionOf(req), rg, NS, [
      'containerApps',
      canonicalName(ctx, given, param(req, 'app'))
    ])
  }

  /** Shared by PUT and PATCH: validate, decide on a new revision, store, start the operation. */
  const write = (
    req: ArmRequest,
    id: string,
    name: string,
    desired: JsonObject,
    existing: ResourceRecord | undefined,
    kind: 'put' | 'patch'
  ) => {
    const v = validate(ctx, desired, existing)
    const suffix = asString(v.template['revisionSuffix'])
    if (
      suffix !== undefined &&
      suffix !== '' &&
      (!SUFFIX.test(suffix) || suffix.includes('--') || name.length + suffix.length > 54)
    ) {
      throw badRequest(
        'ContainerAppInvalidRevisionName',
        `Revision name has an invalid value '${suffix}'. A revision name must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character. The length of the revision name must not be more than a combined 54 characters with the container app name.`
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

    const record = existing ?? ctx.store.put(newRecord(id, APP_TYPE, { id, name, type: APP_TYPE }))
    record.body['name'] = name
    record.body['location'] = v.location
    record.internal['spec'] = v.spec
    const identity = identityView(desired['identity'], record.internal['identity'], subscriptionOf(req))
    if (identity) record.internal['identity'] = identity
    else delete record.internal['identity']
    record.secrets = v.secrets
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
    })
  }

  router.add(
    'PUT',
    `${BASE}/{app}`,
    (req): ArmResponse => {
      const name = param(req, 'app')
      if (!APP_NAME.test(name) || name.includes('--')) invalidAppName(name)
      const id = appId(req)
      const existing = ctx.store.get(id)
      assertIdle(ctx, req, id)
      const { headers } = write(
        req,
        id,
        existing ? (asString(existing.body['name']) ?? name) : name,
        requireBody(req),
        existing,
        'put'
      )
      return { status: existing ? 200 : 201, body: ctx.store.get(id)?.body, headers }
    },
    { namespace: NS }
  )

  router.add('PATCH', `${BASE}/{app}`, (req): ArmResponse => {
    const existing = requireRecord(ctx, appId(req), resourceGroupName(ctx, req))
    assertIdle(ctx, req, existing.id)
    const merged = mergePatch(currentDesired(existing), without(requireBody(req), READ_ONLY)) as JsonObject
    const { headers } = write(
      req,
      existing.id,
      asString(existing.body['name']) ?? '',
      merged,
      existing,
      'patch'
    )
    return { status: 202, headers }
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
