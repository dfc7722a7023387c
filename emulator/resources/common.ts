/** Small helpers every resource module uses: lookups with ARM's 404s, locks, envelopes, LRO starts. */
import { randomUUID } from 'node:crypto'
import type { EmulatorContext } from '../context.js'
import {
  invalidRequestContent,
  invalidResourceLocation,
  locationRequired,
  operationInProgress,
  resourceNotFound
} from '../errors.js'
import { findRegion, locationAsAnswered, locationNotAvailable, sameRegion } from '../regions.js'
import { parseResourceId, providerResourceId, resourceGroupId } from '../ids.js'
import { asObject, asString, clone, isObject, type JsonObject, type JsonValue } from '../json.js'
import type { LroShape } from '../lro.js'
import { param, type ArmRequest, type ArmResponse, type Router } from '../router.js'
import type { OperationRecord, ResourceRecord } from '../store.js'
import { derivedGuid, randomGuid, tenantOf } from '../random.js'

export const subscriptionOf = (req: ArmRequest): string => param(req, 'subscriptionId')

/** The resource group's name as it was created (ids are answered in canonical case). */
export function resourceGroupName(ctx: EmulatorContext, req: ArmRequest): string {
  const given = param(req, 'resourceGroupName')
  const record = ctx.store.get(resourceGroupId(subscriptionOf(req), given))
  return asString(record?.body['name']) ?? given
}

/** The stored name when the resource exists (keeps the creator's casing), else the name as given. */
export function canonicalName(ctx: EmulatorContext, id: string, given: string): string {
  return asString(ctx.store.get(id)?.body['name']) ?? given
}

/**
 * The id of the top-level resource a route names (`…/providers/<namespace>/<type>/{<name param>}`),
 * in the casing its creator gave it when it exists (ARM answers ids in canonical case).
 */
export function routedResourceId(
  ctx: EmulatorContext,
  namespace: string,
  type: string,
  nameParam: string
): (req: ArmRequest) => string {
  return (req) => {
    const rg = resourceGroupName(ctx, req)
    const given = providerResourceId(subscriptionOf(req), rg, namespace, [type, param(req, nameParam)])
    return providerResourceId(subscriptionOf(req), rg, namespace, [
      type,
      canonicalName(ctx, given, param(req, nameParam))
    ])
  }
}

export function requireRecord(ctx: EmulatorContext, id: string, resourceGroup: string): ResourceRecord {
  const record = ctx.store.get(id)
  if (!record) throw resourceNotFound(id, resourceGroup)
  return record
}

/** A second write while an operation holds the resource gets the type's own "busy" 409. */
export function assertIdle(ctx: EmulatorContext, req: ArmRequest, lockId: string): void {
  const op = ctx.lro.inFlight(lockId)
  if (op) throw operationInProgress(lockId, req.origin, op.id)
}

export function requireBody(req: ArmRequest): JsonObject {
  if (!req.body) throw invalidRequestContent('a JSON object body is required')
  return req.body
}

/**
 * The `location` of a PUT body as the RP of `type` stores and answers it: a known region (in either
 * form), the same region as the existing resource's, written as that RP writes it.
 */
export function resolveLocation(body: JsonObject, type: string, existing?: ResourceRecord): string {
  const given = asString(body['location'])
  if (!given) throw locationRequired()
  const region = findRegion(given)
  if (!region) throw locationNotAvailable(given, type)
  if (existing) {
    const current = asString(existing.body['location']) ?? ''
    if (!sameRegion(current, given)) {
      const name = asString(existing.body['name']) ?? ''
      const rg = parseResourceId(existing.id)?.resourceGroup ?? ''
      throw invalidResourceLocation(name, findRegion(current)?.name ?? current, rg, given)
    }
  }
  return locationAsAnswered(type, region.name)
}

export function propertiesOf(body: JsonObject | undefined): JsonObject {
  return clone(asObject(body?.['properties']) ?? {})
}

export function tagsOf(body: JsonObject | undefined): JsonObject {
  return clone(asObject(body?.['tags']) ?? {})
}

export function newRecord(id: string, type: string, body: JsonObject): ResourceRecord {
  return { id, type, body, secrets: {}, internal: {} }
}

export function listAnswer(bodies: (JsonObject | undefined)[]): ArmResponse {
  return { status: 200, body: { value: bodies.filter(isObject) as JsonValue[] } }
}

export const iso = (ms: number): string => new Date(ms).toISOString()

export function etag(): string {
  return `W/"${randomUUID()}"`
}

export interface StartOptions {
  namespace: string
  location: string
  statusSegment: string
  resultSegment: string
  shape: LroShape
  kind: string
  resourceId: string
  lockId?: string
  durationMs: number
  result: OperationRecord['result']
  data?: JsonObject
}

export function startLro(
  ctx: EmulatorContext,
  req: ArmRequest,
  options: StartOptions
): { op: OperationRecord; headers: Record<string, string> } {
  return ctx.lro.start({
    ...options,
    origin: req.origin,
    apiVersion: req.apiVersion,
    subscriptionId: subscriptionOf(req),
    method: req.method,
    failOnCompletion: req.failLro,
    ...(ctx.config.failOperations[options.kind] ? { failWith: ctx.config.failOperations[options.kind] } : {})
  })
}

/** Records of a type inside one resource group (list operations). */
export function inResourceGroup(ctx: EmulatorContext, req: ArmRequest, type: string): ResourceRecord[] {
  const rgId = resourceGroupId(subscriptionOf(req), param(req, 'resourceGroupName'))
  return ctx.store.descendants(rgId, type)
}

/**
 * A managed identity as ARM answers it (common-types `ManagedServiceIdentity`; examples
 * ManagedEnvironments_CreateOrUpdate.json, ContainerApps_Get.json): the type and identities as
 * given, a system-assigned identity's `principalId` (kept across writes) and `tenantId`, and each
 * user-assigned identity's `clientId`/`principalId`. Used for managed environments only, whose
 * user-assigned ids are not checked: those two ids are derived from the identity's id. Apps and
 * jobs use `attachedIdentityView` (userAssignedIdentities.ts), which requires the identity.
 */
export function identityView(
  given: JsonValue | undefined,
  existing: JsonValue | undefined,
  subscriptionId: string
): JsonObject | undefined {
  const identity = asObject(given)
  if (!identity) return undefined
  const type = asString(identity['type']) ?? 'None'
  const kinds = type.split(',').map((t) => t.trim().toLowerCase())
  const view: JsonObject = { type }
  if (kinds.includes('systemassigned')) {
    const before = asObject(existing)
    view['principalId'] = asString(before?.['principalId']) ?? randomGuid()
    view['tenantId'] = tenantOf(subscriptionId)
  }
  const users = asObject(identity['userAssignedIdentities'])
  if (kinds.includes('userassigned') && users) {
    const shown: JsonObject = {}
    for (const id of Object.keys(users)) {
      shown[id] = {
        clientId: derivedGuid('userAssignedIdentity.clientId', id),
        principalId: derivedGuid('userAssignedIdentity.principalId', id)
      }
    }
    view['userAssignedIdentities'] = shown
  }
  return view
}

/**
 * The two reads of a top-level kind that answer its stored body as it is: GET one (ARM's 404 for a
 * missing one or its group) and the list of a resource group.
 */
export function addStoredReads(
  ctx: EmulatorContext,
  router: Router,
  kind: { base: string; nameParam: string; idOf: (req: ArmRequest) => string; type: string }
): void {
  router.add('GET', `${kind.base}/{${kind.nameParam}}`, (req): ArmResponse => {
    return { status: 200, body: requireRecord(ctx, kind.idOf(req), resourceGroupName(ctx, req)).body }
  })
  router.add('GET', kind.base, (req): ArmResponse =>
    listAnswer(inResourceGroup(ctx, req, kind.type).map((r) => r.body))
  )
}
