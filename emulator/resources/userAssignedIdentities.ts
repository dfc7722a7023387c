/**
 * User-assigned managed identities (Microsoft.ManagedIdentity, api 2024-11-30 as `@azure/arm-msi`
 * 2.2.0 sends it; the spec's newer stable 2026-04-30 and 2026-05-31 answer the same):
 * PUT 201 (new) / 200 (existing), synchronous; GET; PATCH 200 (tags, `isolationScope`); DELETE
 * 200 / 204; list by resource group and by subscription. `properties: {tenantId, principalId,
 * clientId, isolationScope}` (example stable/2026-05-31/examples/IdentityCreate.json;
 * reference/next-capabilities.md §4.4). The principal and client ids are new GUIDs at each create:
 * an identity deleted and made again under the same name is a new principal, whose role
 * assignments must be made again (as on Azure). Its service principal is not replicated at once
 * (`propagation.ts`, kind `principal`): see roleAssignments.ts.
 */
import type { EmulatorContext } from '../context.js'
import { badRequest } from '../errors.js'
import { asObject, asString, ensureObject, objectAt, stringAt, type JsonObject } from '../json.js'
import { randomGuid, tenantOf } from '../random.js'
import { param, type ArmResponse, type Router } from '../router.js'
import type { ResourceRecord } from '../store.js'
import {
  inResourceGroup,
  listAnswer,
  newRecord,
  requireBody,
  requireRecord,
  resolveLocation,
  resourceGroupName,
  subscriptionOf,
  tagsOf,
  routedResourceId
} from './common.js'

export const IDENTITY_TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities'
const NS = 'Microsoft.ManagedIdentity'
const BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities'
/**
 * `resourceName` in the spec's `UserAssignedIdentities_CreateOrUpdate`: 3–128 characters, letters,
 * digits, `-` and `_`, starting with a letter or digit [unverified: pattern as remembered from the
 * spec; the code is ARM's usual one for a bad name].
 */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/
const ISOLATION_SCOPES = ['None', 'Regional']

function isolationScope(value: unknown): string {
  const given = asString(value)
  if (given === undefined) return 'None'
  const known = ISOLATION_SCOPES.find((s) => s.toLowerCase() === given.toLowerCase())
  if (!known) {
    throw badRequest(
      'InvalidRequestContent',
      `The value '${given}' of properties.isolationScope is not one of ${ISOLATION_SCOPES.join(', ')}.`
    )
  }
  return known
}

/** The identity record an id names, if it exists. */
export function identityRecord(ctx: EmulatorContext, id: string): ResourceRecord | undefined {
  const record = ctx.store.get(id)
  return record?.type === IDENTITY_TYPE ? record : undefined
}

/** When the identity (its principal) was made, epoch ms. */
export function identityCreatedAt(record: ResourceRecord): number {
  const at = record.internal['createdAt']
  return typeof at === 'number' ? at : 0
}

const IDENTITY_TYPES = ['None', 'SystemAssigned', 'UserAssigned', 'SystemAssigned,UserAssigned']

/**
 * `identity` of a container app or job (spec `ManagedServiceIdentity`: `None`, `SystemAssigned`,
 * `UserAssigned`, `SystemAssigned,UserAssigned`; Job_CreateorUpdate.json): each user-assigned id
 * must name an identity that exists, and its `clientId`/`principalId` are that identity's; a
 * system-assigned one gets a principal of its own (kept across writes) and the tenant. Refusals:
 * an unknown type, `UserAssigned` without identities or identities without `UserAssigned`: 400
 * `InvalidIdentityType` [unverified code]; a missing identity: 400 `FailedIdentityOperation`, the
 * words ARM relays from the identity service [unverified for Container Apps].
 */
export function attachedIdentityView(
  ctx: EmulatorContext,
  given: unknown,
  existing: unknown,
  subscriptionId: string
): JsonObject | undefined {
  const identity = asObject(given)
  if (!identity) return undefined
  const rawType = asString(identity['type']) ?? 'None'
  const type = IDENTITY_TYPES.find((t) => t.toLowerCase() === rawType.replace(/\s+/g, '').toLowerCase())
  if (!type) {
    throw badRequest(
      'InvalidIdentityType',
      `The identity type '${rawType}' is not supported. Supported types: ${IDENTITY_TYPES.join(', ')}.`
    )
  }
  const users = asObject(identity['userAssignedIdentities']) ?? {}
  const wantsUsers = type.includes('UserAssigned')
  if (wantsUsers !== Object.keys(users).length > 0) {
    throw badRequest(
      'InvalidIdentityType',
      wantsUsers
        ? `The identity type '${type}' requires userAssignedIdentities.`
        : `userAssignedIdentities can only be given with the identity type 'UserAssigned'.`
    )
  }
  const view: JsonObject = { type }
  if (type.includes('SystemAssigned')) {
    view['principalId'] = asString(asObject(existing)?.['principalId']) ?? randomGuid()
    view['tenantId'] = tenantOf(subscriptionId)
  }
  if (wantsUsers) {
    const shown: JsonObject = {}
    for (const id of Object.keys(users)) {
      const record = identityRecord(ctx, id)
      if (!record) {
        throw badRequest(
          'FailedIdentityOperation',
          `Identity operation for resource failed with error 'Failed to perform resource identity operation. Status: 'NotFound'. Response: {"error":{"code":"NotFound","message":"Resource '${id}' does not exist or one of its queried reference-property objects are not present."}}'.`
        )
      }
      // Keyed as the request wrote the id (Job_CreateorUpdate.json answers `resourcegroups` as sent).
      shown[id] = {
        clientId: stringAt(record.body, 'properties', 'clientId') ?? '',
        principalId: stringAt(record.body, 'properties', 'principalId') ?? ''
      }
    }
    view['userAssignedIdentities'] = shown
  }
  return view
}

export function registerUserAssignedIdentities(ctx: EmulatorContext, router: Router): void {
  const identityId = routedResourceId(ctx, NS, 'userAssignedIdentities', 'name')

  router.add(
    'PUT',
    `${BASE}/{name}`,
    (req): ArmResponse => {
      const name = param(req, 'name')
      if (!NAME.test(name)) {
        throw badRequest(
          'InvalidResourceName',
          `Resource name '${name}' is invalid. The name can contain only letters, numbers, hyphens and underscores, must start with a letter or number and be 3 to 128 characters long.`
        )
      }
      const body = requireBody(req)
      const id = identityId(req)
      const existing = identityRecord(ctx, id)
      const location = resolveLocation(body, IDENTITY_TYPE, existing)
      const props = objectAt(body, 'properties') ?? {}
      const before = objectAt(existing?.body, 'properties')
      const view: JsonObject = {
        id,
        name: asString(existing?.body['name']) ?? name,
        type: IDENTITY_TYPE,
        location,
        tags: tagsOf(body),
        properties: {
          tenantId: tenantOf(subscriptionOf(req)),
          principalId: asString(before?.['principalId']) ?? randomGuid(),
          clientId: asString(before?.['clientId']) ?? randomGuid(),
          isolationScope: isolationScope(props['isolationScope'] ?? before?.['isolationScope'])
        }
      }
      if (existing) {
        existing.body = view
        return { status: 200, body: view }
      }
      const record = ctx.store.put(newRecord(id, IDENTITY_TYPE, view))
      record.internal['createdAt'] = ctx.now()
      record.internal['replicatedAt'] = ctx.now() + ctx.propagation.delayMs('principal', id)
      return { status: 201, body: view }
    },
    { namespace: NS }
  )

  router.add('GET', `${BASE}/{name}`, (req): ArmResponse => {
    const record = requireRecord(ctx, identityId(req), resourceGroupName(ctx, req))
    return { status: 200, body: record.body }
  })

  router.add('PATCH', `${BASE}/{name}`, (req): ArmResponse => {
    const record = requireRecord(ctx, identityId(req), resourceGroupName(ctx, req))
    const body = requireBody(req)
    if (body['tags'] !== undefined) record.body['tags'] = tagsOf(body)
    const props = objectAt(body, 'properties')
    if (props?.['isolationScope'] !== undefined) {
      ensureObject(record.body, 'properties')['isolationScope'] = isolationScope(props['isolationScope'])
    }
    return { status: 200, body: record.body }
  })

  router.add('DELETE', `${BASE}/{name}`, (req): ArmResponse => {
    const record = identityRecord(ctx, identityId(req))
    if (!record) return { status: 204 }
    ctx.store.removeTree(record.id)
    return { status: 200 }
  })

  router.add('GET', BASE, (req): ArmResponse =>
    listAnswer(inResourceGroup(ctx, req, IDENTITY_TYPE).map((r) => r.body))
  )

  router.add(
    'GET',
    '/subscriptions/{subscriptionId}/providers/Microsoft.ManagedIdentity/userAssignedIdentities',
    (req): ArmResponse =>
      listAnswer(
        ctx.store
          .byType(IDENTITY_TYPE)
          .filter((r) =>
            r.id.toLowerCase().startsWith(`/subscriptions/${subscriptionOf(req).toLowerCase()}/`)
          )
          .map((r) => r.body)
      )
  )
}
