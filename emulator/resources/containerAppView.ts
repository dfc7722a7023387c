/**
 * What GET answers for a container app and its revisions. The app's record keeps the writable spec
 * (secrets by name only) plus its read-only state; the view adds what the service derives: FQDNs
 * from the environment's default domain, outbound IPs, and the latest revision's FQDN.
 */
import type { EmulatorContext } from '../context.js'
import { asArray, asBoolean, asString, clone, objectAt, stringAt, type JsonObject } from '../json.js'
import type { ResourceRecord } from '../store.js'

export const APP_TYPE = 'Microsoft.App/containerApps'
export const REVISION_TYPE = 'Microsoft.App/containerApps/revisions'

export interface AppState {
  provisioningState: string
  runningStatus: string
  latestRevisionName: string
  latestReadyRevisionName: string
}

export function appSpec(app: ResourceRecord): JsonObject {
  return objectAt(app.internal, 'spec') ?? {}
}

export function appState(app: ResourceRecord): AppState {
  const s = objectAt(app.internal, 'state') ?? {}
  return {
    provisioningState: asString(s['provisioningState']) ?? 'InProgress',
    runningStatus: asString(s['runningStatus']) ?? 'Progressing',
    latestRevisionName: asString(s['latestRevisionName']) ?? '',
    latestReadyRevisionName: asString(s['latestReadyRevisionName']) ?? ''
  }
}

export function setAppState(app: ResourceRecord, patch: Partial<AppState>): void {
  app.internal['state'] = { ...appState(app), ...patch }
}

export function environmentIdOf(spec: JsonObject): string | undefined {
  return stringAt(spec, 'properties', 'environmentId') ?? stringAt(spec, 'properties', 'managedEnvironmentId')
}

/** `<name>.<domain>`, or `<name>.internal.<domain>` behind internal-only ingress. */
export function hostFor(ctx: EmulatorContext, spec: JsonObject, name: string): string | undefined {
  const ingress = objectAt(spec, 'properties', 'configuration', 'ingress')
  if (!ingress) return undefined
  const envId = environmentIdOf(spec)
  const domain = envId ? stringAt(ctx.store.get(envId)?.body, 'properties', 'defaultDomain') : undefined
  if (!domain) return undefined
  return asBoolean(ingress['external']) === false ? `${name}.internal.${domain}` : `${name}.${domain}`
}

export function renderApp(ctx: EmulatorContext, app: ResourceRecord): void {
  const spec = appSpec(app)
  const state = appState(app)
  const name = asString(app.body['name']) ?? ''
  const envId = environmentIdOf(spec)
  const env = envId ? ctx.store.get(envId) : undefined
  const properties: JsonObject = clone(objectAt(spec, 'properties') ?? {})
  const ingress = objectAt(properties, 'configuration', 'ingress')
  const appHost = hostFor(ctx, spec, name)
  if (ingress && appHost) ingress['fqdn'] = appHost
  const latestHost = state.latestRevisionName ? hostFor(ctx, spec, state.latestRevisionName) : undefined
  const view: JsonObject = {
    id: app.id,
    name,
    type: APP_TYPE,
    location: spec['location'],
    tags: clone(objectAt(spec, 'tags') ?? {}),
    properties: {
      ...properties,
      environmentId: envId,
      managedEnvironmentId: envId,
      provisioningState: state.provisioningState,
      runningStatus: state.runningStatus,
      latestRevisionName: state.latestRevisionName,
      latestReadyRevisionName: state.latestReadyRevisionName,
      latestRevisionFqdn: latestHost ?? '',
      outboundIpAddresses: clone(asArray(env?.internal['outboundIpAddresses']) ?? []),
      customDomainVerificationId:
        stringAt(env?.body, 'properties', 'customDomainConfiguration', 'customDomainVerificationId') ?? '',
      eventStreamEndpoint: `https://${String(spec['location'] ?? '')
        .toLowerCase()
        .replace(
          /\s+/g,
          ''
        )}.azurecontainerapps.dev${app.id.replace(/\/providers\/Microsoft\.App/i, '')}/eventstream`
    }
  }
  // Echoed as given (ContainerApps_ManagedBy_CreateOrUpdate.json).
  const managedBy = asString(spec['managedBy'])
  if (managedBy) view['managedBy'] = managedBy
  // The identity with its principal/client ids, made on write (common.ts identityView).
  const identity = objectAt(app.internal, 'identity')
  if (identity) view['identity'] = clone(identity)
  app.body = view
}

export interface RevisionState {
  active: boolean
  replicas: number
  trafficWeight: number
  provisioningState: string
  runningState: string
  healthState: string
  provisioningError?: string
  runningStateDetails?: string
}

export function revisionProps(rev: ResourceRecord): JsonObject {
  const props = objectAt(rev.body, 'properties')
  if (props) return props
  const created: JsonObject = {}
  rev.body['properties'] = created
  return created
}

export function updateRevision(
  ctx: EmulatorContext,
  rev: ResourceRecord,
  patch: Partial<RevisionState>
): void {
  const props = revisionProps(rev)
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete props[key]
    else props[key] = value
  }
  if (patch.runningState === 'Running' || patch.active === true)
    props['lastActiveTime'] = new Date(ctx.now()).toISOString()
}
