/**
 * What container apps and Container Apps jobs share: their name rule, PUT and PATCH, the
 * environment they run in, their secrets (stored with values, answered by name only), the
 * service's defaults for container resources, the `secretRef` check, the container the runtime
 * gets, and the region host of their event and log streams.
 */
import type { EmulatorContext } from '../context.js'
import { badRequest, operationInProgress } from '../errors.js'
import {
  asArray,
  asNumber,
  asString,
  mergePatch,
  objectAt,
  objectsOf,
  stringAt,
  without,
  type JsonObject
} from '../json.js'
import { identityEnv } from '../identity.js'
import { param, type ArmRequest, type ArmResponse, type Router } from '../router.js'
import type { RevisionContainer } from '../runtime/types.js'
import type { ResourceRecord } from '../store.js'
import {
  assertIdle,
  newRecord,
  requireBody,
  requireRecord,
  resourceGroupName,
  subscriptionOf
} from './common.js'
import { attachedIdentityView } from './userAssignedIdentities.js'

export const ENVIRONMENT_TYPE = 'Microsoft.App/managedEnvironments'
const SECRET_NAME = /^[a-z0-9](?:[a-z0-9-]{0,251}[a-z0-9])?$/
/** The container-app name rule (ContainerAppInvalidName's words): jobs share it. */
const CONTAINER_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/

/** Where PUT and PATCH of an app and of a job differ. */
export interface ContainerWrites {
  /** The path parameter that names the resource. */
  param: string
  idOf(req: ArmRequest): string
  /** The refusal of a name that breaks the container-app name rule, in the resource's own words. */
  invalidName(name: string): never
  /** Fields the service fills in: a PATCH that sends them back (as the SDKs do) changes nothing. */
  readOnly: string[]
  /** The resource as a client would PUT it, secrets with values: what a merge patch applies to. */
  current(record: ResourceRecord): JsonObject
  write: ContainerWrite
}

/** Validates and stores a write, starts its operation and answers the operation's headers. */
export type ContainerWrite = (
  req: ArmRequest,
  id: string,
  name: string,
  desired: JsonObject,
  existing: ResourceRecord | undefined,
  kind: 'put' | 'patch'
) => Record<string, string>

/**
 * PUT answers 201 (200 on update) with the resource; PATCH is a JSON merge patch over the resource
 * as last written, answered 202; both are refused while an operation runs on the resource. The
 * name stays as first written: ARM names are case-insensitive, and a PUT in other case is the same
 * resource.
 */
export function registerContainerWrites(
  ctx: EmulatorContext,
  router: Router,
  base: string,
  w: ContainerWrites
): void {
  router.add(
    'PUT',
    `${base}/{${w.param}}`,
    (req): ArmResponse => {
      const name = param(req, w.param)
      if (!CONTAINER_NAME.test(name) || name.includes('--')) w.invalidName(name)
      const id = w.idOf(req)
      const existing = ctx.store.get(id)
      assertIdle(ctx, req, id)
      const headers = w.write(
        req,
        id,
        existing ? (asString(existing.body['name']) ?? name) : name,
        requireBody(req),
        existing,
        'put'
      )
      return { status: existing ? 200 : 201, body: ctx.store.get(id)?.body, headers }
    },
    { namespace: 'Microsoft.App' }
  )

  router.add('PATCH', `${base}/{${w.param}}`, (req): ArmResponse => {
    const existing = requireRecord(ctx, w.idOf(req), resourceGroupName(ctx, req))
    assertIdle(ctx, req, existing.id)
    const merged = mergePatch(w.current(existing), without(requireBody(req), w.readOnly)) as JsonObject
    const headers = w.write(
      req,
      existing.id,
      asString(existing.body['name']) ?? '',
      merged,
      existing,
      'patch'
    )
    return { status: 202, headers }
  })
}

/**
 * Stores a validated write of an app or job: what GET shows comes from here (`internal.spec`,
 * `internal.identity`), the secrets' values apart. The identity is resolved before anything is
 * stored, so that one naming an identity that does not exist leaves the resource as it was.
 */
export function storeWrite(
  ctx: EmulatorContext,
  req: ArmRequest,
  target: { type: string; id: string; name: string; existing: ResourceRecord | undefined },
  desired: JsonObject,
  written: { location: string; spec: JsonObject; secrets: Record<string, string> }
): ResourceRecord {
  const { type, id, name, existing } = target
  const identity = attachedIdentityView(
    ctx,
    desired['identity'],
    existing?.internal['identity'],
    subscriptionOf(req)
  )
  const record = existing ?? ctx.store.put(newRecord(id, type, { id, name, type }))
  record.body['name'] = name
  record.body['location'] = written.location
  record.internal['spec'] = written.spec
  if (identity) record.internal['identity'] = identity
  else delete record.internal['identity']
  record.secrets = written.secrets
  return record
}

/**
 * The managed environment an app or job names: it must exist (`ManagedEnvironmentNotFound`) and be
 * provisioned (`ManagedEnvironmentNotProvisioned`, microsoft/azure-container-apps#868, #1208,
 * #1778); one still provisioning answers its own busy 409.
 */
export function requireEnvironment(ctx: EmulatorContext, envId: string | undefined): ResourceRecord {
  if (!envId) {
    throw badRequest(
      'InvalidRequestParameterWithDetails',
      'properties.environmentId is required: the managed environment the resource runs in.'
    )
  }
  const env = ctx.store.get(envId)
  if (!env || env.type !== ENVIRONMENT_TYPE) {
    throw badRequest('ManagedEnvironmentNotFound', `The managed environment '${envId}' was not found.`)
  }
  const state = stringAt(env.body, 'properties', 'provisioningState')
  if (state === 'Failed' || state === 'Canceled' || state === 'UpgradeFailed') {
    throw badRequest(
      'ManagedEnvironmentNotProvisioned',
      `The environment '${env.id}' has not been provisioned successfully.`
    )
  }
  if (state !== 'Succeeded') throw operationInProgress(env.id)
  return env
}

/**
 * `configuration.secrets`: names as the service allows them (`ContainerAppInvalidSecretName`), each
 * with a value or a Key Vault URL (`ContainerAppSecretInvalid`); a secret given without a value keeps
 * the stored value of the same name. Returns the values and the list as GET shows it (no values).
 */
export function validateSecrets(
  configuration: JsonObject,
  stored: Record<string, string> | undefined
): { secrets: Record<string, string>; shown: JsonObject[] } {
  const secrets: Record<string, string> = {}
  const shown: JsonObject[] = []
  for (const s of objectsOf(configuration['secrets'])) {
    const name = asString(s['name']) ?? ''
    if (!SECRET_NAME.test(name)) {
      throw badRequest(
        'ContainerAppInvalidSecretName',
        `Secret name has an invalid value '${name}'. A value must consist of lower case alphanumeric characters, '-', and must start and end with an alphanumeric character. The length must not be more than 253 characters.`
      )
    }
    const value = asString(s['value']) ?? stored?.[name]
    if (value === undefined && !asString(s['keyVaultUrl'])) {
      throw badRequest('ContainerAppSecretInvalid', `Secret '${name}' has no value and no keyVaultUrl.`)
    }
    secrets[name] = value ?? ''
    const view: JsonObject = { ...s, name }
    delete view['value']
    shown.push(view)
  }
  return { secrets, shown }
}

/** The stored spec with each secret's value put back: what a merge patch applies to. */
export function withSecretValues(spec: JsonObject, secrets: Record<string, string>): JsonObject {
  const configuration = objectAt(spec, 'properties', 'configuration')
  if (configuration) {
    configuration['secrets'] = objectsOf(configuration['secrets']).map((s) => {
      const name = asString(s['name']) ?? ''
      return { ...s, name, value: secrets[name] ?? '' }
    })
  }
  return spec
}

/**
 * A container without resources gets the service's default share (0.5 CPU, 1Gi; Container Apps
 * docs "Containers"), which every answer then shows (ContainerApps_ManagedBy_CreateOrUpdate.json).
 */
export function applyDefaultResources(containers: JsonObject[]): void {
  for (const c of containers) if (c['resources'] === undefined) c['resources'] = { cpu: 0.5, memory: '1Gi' }
}

/** Every `env[].secretRef` must name a secret of the app or job (`ContainerAppSecretRefNotFound`). */
export function validateSecretRefs(containers: JsonObject[], secrets: Record<string, string>): void {
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
}

/** The container as the runtime runs it: secrets resolved (and marked), probes in seconds. */
export function runtimeContainer(
  container: JsonObject,
  secrets: Record<string, string>,
  targetPort?: number
): RevisionContainer {
  const strings = (v: unknown): string[] => (asArray(v) ?? []).map((x) => asString(x) ?? '')
  return {
    name: asString(container['name']) ?? '',
    image: asString(container['image']) ?? '',
    command: strings(container['command']),
    args: strings(container['args']),
    env: objectsOf(container['env']).map((e) => {
      const ref = asString(e['secretRef'])
      return {
        name: asString(e['name']) ?? '',
        value: ref ? (secrets[ref] ?? '') : (asString(e['value']) ?? ''),
        ...(ref ? { secret: true } : {})
      }
    }),
    ...(targetPort !== undefined ? { targetPort } : {}),
    probes: objectsOf(container['probes']).map((p) => ({
      type: asString(p['type']) ?? '',
      path: stringAt(p, 'httpGet', 'path'),
      port: asNumber(objectAt(p, 'httpGet')?.['port']),
      initialDelaySeconds: asNumber(p['initialDelaySeconds']),
      periodSeconds: asNumber(p['periodSeconds']),
      failureThreshold: asNumber(p['failureThreshold'])
    }))
  }
}

/** `West Europe` → `westeurope`: the region as it appears in host names. */
export const regionHostPart = (location: string): string => location.toLowerCase().replace(/\s+/g, '')

/**
 * The region's streaming host, `https://<region>.azurecontainerapps.dev`: an app's
 * `eventStreamEndpoint` (ContainerApps_Get.json) and its replicas' `logStreamEndpoint` live there.
 */
export function streamOrigin(location: string): string {
  return `https://${regionHostPart(location)}.azurecontainerapps.dev`
}

/** `/subscriptions/{sub}/resourceGroups/{rg}/containerApps/{app}`: an id without its provider part. */
export function streamPath(resourceId: string): string {
  return resourceId.replace(/\/providers\/Microsoft\.App/i, '')
}

/**
 * A replica of an app or job with a managed identity finds its token endpoint in its env
 * (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`; identity.ts); the container's own variables of those
 * names win, as a container's env does over the platform's [unverified].
 */
export function withIdentityEnv(
  container: RevisionContainer,
  ctx: EmulatorContext,
  record: ResourceRecord
): RevisionContainer {
  const own = new Set(container.env.map((e) => e.name))
  return {
    ...container,
    env: [...identityEnv(ctx, record).filter((e) => !own.has(e.name)), ...container.env]
  }
}
