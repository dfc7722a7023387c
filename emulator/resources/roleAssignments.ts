/**
 * Role assignments (Microsoft.Authorization 2022-04-01, `@azure/arm-authorization` 9.0.0) at any
 * scope: the subscription, a resource group, or a resource (nested ones too, e.g. a blob
 * container). `PUT /{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}` 201, 200 for
 * the same assignment again; GET; DELETE 200 (the assignment) / 204; list for a scope (no filter:
 * at, above and below it; `$filter=atScope()`: at and above; `principalId eq '<id>'` and
 * `assignedTo('<id>')`: that principal's, at, above and below). Wire shape:
 * RoleAssignments_CreateForResource.json (stable/2022-04-01), next-capabilities §4.5.
 *
 * Refusals:
 * - a name that is no GUID: 400 `InvalidRoleAssignmentId` [unverified code];
 * - a role definition id not of the form `[/subscriptions/<sub>]/providers/Microsoft.Authorization/
 *   roleDefinitions/<guid>`: 400 `InvalidRoleDefinitionId` "The role definition ID '<x>' is not
 *   valid." (hashicorp/terraform-provider-azurerm#8547); a GUID that is no built-in role here: 400
 *   `RoleDefinitionDoesNotExist` (JulianHayward/AzAPICall#23; wording [unverified]). Custom roles
 *   are not emulated;
 * - a principal the directory does not know (no identity, system-assigned identity or the deploying
 *   principal has that object id), or one made so recently it has not replicated (`propagation.ts`,
 *   kind `principal`) when the request does not say `principalType`: 400 `PrincipalNotFound` with
 *   Azure's message (https://aka.ms/docs-principaltype; reference/next-capabilities.md §4.5; the id
 *   shown without hyphens [unverified]). With
 *   `principalType` the replication is not waited for (the documented fix); a principalType that is
 *   not the principal's: 400 `UnmatchedPrincipalType` [unverified wording];
 * - the same principal, role and scope under another name: 409 `RoleAssignmentExists` "The role
 *   assignment already exists." (terraform-provider-azurerm#28694);
 * - the same name with another principal, role or scope: 400 `RoleAssignmentUpdateNotPermitted`
 *   "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."
 *   (Azure-Samples/graphrag-accelerator#168, Azure/Azure-Landing-Zones#2040);
 * - a resource scope that does not exist: 404 `ResourceNotFound` [unverified: stricter than an
 *   assignment left dangling].
 *
 * An assignment is honoured by the data plane only after a seeded while (kind `roleAssignment`,
 * "may take up to 30 minutes to propagate"); a deleted one stops at once (stricter).
 */
import type { EmulatorContext } from '../context.js'
import { ArmError, badRequest, conflict, resourceNotFound } from '../errors.js'
import { GUID_PATTERN, idKey, resourceGroupId } from '../ids.js'
import { asString, objectAt, stringAt, type JsonObject } from '../json.js'
import type { ArmRequest, ArmResponse, Router } from '../router.js'
import type { ResourceRecord } from '../store.js'
import { iso, listAnswer, newRecord, requireBody } from './common.js'

export const ROLE_ASSIGNMENT_TYPE = 'Microsoft.Authorization/roleAssignments'
const SUFFIX = '/providers/Microsoft.Authorization/roleAssignments'

/** Built-in roles by GUID (MicrosoftDocs role-based-access-control/built-in-roles.md). */
export const BUILT_IN_ROLES: Record<string, string> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  'acdd72a7-3385-48ef-bd42-f606fba81ae7': 'Reader',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  '17d1049b-9a84-46fb-8f53-869881c3d3ab': 'Storage Account Contributor',
  '81a9662b-bebf-436f-a333-f67b29880f12': 'Storage Account Key Operator Service Role',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1': 'Storage Blob Data Reader',
  'db58b8e5-c6ad-4a2a-8342-4190687cbf4a': 'Storage Blob Delegator'
}

const PRINCIPAL_TYPES = ['User', 'Group', 'ServicePrincipal', 'ForeignGroup', 'Device']
const ROLE_DEFINITION =
  /^(?:\/subscriptions\/([^/]+))?\/providers\/Microsoft\.Authorization\/roleDefinitions\/([^/]+)$/i

/** A principal the emulated directory knows: its type and when it is replicated everywhere. */
export interface KnownPrincipal {
  type: 'ServicePrincipal'
  replicatedAt: number
}

export type PrincipalLookup = (principalId: string) => KnownPrincipal | undefined

/** The role GUID of an assignment. */
export function roleOf(assignment: ResourceRecord): string {
  return (
    ROLE_DEFINITION.exec(stringAt(assignment.body, 'properties', 'roleDefinitionId') ?? '')?.[2] ?? ''
  ).toLowerCase()
}

/** When the data plane starts honouring the assignment (epoch ms). */
export function effectiveAt(assignment: ResourceRecord): number {
  const at = assignment.internal['effectiveAt']
  return typeof at === 'number' ? at : 0
}

/** The scope an assignment id sits on (canonical case as stored). */
export function scopeOf(assignment: ResourceRecord): string {
  return stringAt(assignment.body, 'properties', 'scope') ?? ''
}

/** `scope` is `other` or an ancestor of it. */
export function covers(scope: string, other: string): boolean {
  const a = idKey(scope)
  const b = idKey(other)
  return a === b || b.startsWith(`${a}/`)
}

function principalNotFound(principalId: string, tenant: string): ArmError {
  return badRequest(
    'PrincipalNotFound',
    `Principal ${principalId.replace(/-/g, '')} does not exist in the directory ${tenant}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group. See https://aka.ms/docs-principaltype`
  )
}

export function registerRoleAssignments(
  ctx: EmulatorContext,
  router: Router,
  principals: PrincipalLookup,
  tenantOf: (subscriptionId: string) => string
): void {
  /** The scope part of the request path, resolved to the canonical id of what it names. */
  const resolveScope = (req: ArmRequest): string => {
    const raw = `/${req.path.split('/').filter(Boolean).join('/')}`
    const at = raw.toLowerCase().indexOf(SUFFIX.toLowerCase())
    const scope = raw.slice(0, at)
    const sub = req.params['subscriptionId'] ?? ''
    const rg = req.params['resourceGroupName']
    if (rg === undefined) return `/subscriptions/${sub}`
    const group = ctx.store.get(resourceGroupId(sub, rg))
    if (idKey(scope) === idKey(resourceGroupId(sub, rg))) return group?.id ?? scope
    const record = ctx.store.get(scope)
    if (record) return record.id
    if (ctx.views.get(scope)) return scope
    throw resourceNotFound(scope, asString(group?.body['name']) ?? rg)
  }

  const all = (): ResourceRecord[] => ctx.store.byType(ROLE_ASSIGNMENT_TYPE)

  const put = (req: ArmRequest): ArmResponse => {
    const name = req.params['roleAssignmentName'] ?? ''
    if (!GUID_PATTERN.test(name)) {
      throw badRequest(
        'InvalidRoleAssignmentId',
        `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`
      )
    }
    const scope = resolveScope(req)
    const sub = req.params['subscriptionId'] ?? ''
    const props = objectAt(requireBody(req), 'properties') ?? {}
    const roleDefinitionId = asString(props['roleDefinitionId']) ?? ''
    const role = ROLE_DEFINITION.exec(roleDefinitionId)
    if (
      !role ||
      !GUID_PATTERN.test(role[2] ?? '') ||
      (role[1] && role[1].toLowerCase() !== sub.toLowerCase())
    ) {
      throw badRequest(
        'InvalidRoleDefinitionId',
        `The role definition ID '${roleDefinitionId}' is not valid.`
      )
    }
    const roleGuid = (role[2] ?? '').toLowerCase()
    if (!BUILT_IN_ROLES[roleGuid]) {
      throw badRequest(
        'RoleDefinitionDoesNotExist',
        `The specified role definition with ID '${roleGuid}' does not exist.`
      )
    }
    const principalId = (asString(props['principalId']) ?? '').toLowerCase()
    if (!GUID_PATTERN.test(principalId)) {
      throw badRequest(
        'InvalidPrincipalId',
        `The principal ID '${principalId}' is not valid. Principal ID must be a GUID.`
      )
    }
    const givenType = asString(props['principalType'])
    if (givenType !== undefined && !PRINCIPAL_TYPES.includes(givenType)) {
      throw badRequest(
        'InvalidRequestContent',
        `The value '${givenType}' of properties.principalType is not one of ${PRINCIPAL_TYPES.join(', ')}.`
      )
    }
    const principal = principals(principalId)
    if (!principal || (givenType === undefined && ctx.now() < principal.replicatedAt)) {
      throw principalNotFound(principalId, tenantOf(sub))
    }
    if (givenType !== undefined && givenType !== principal.type) {
      throw badRequest(
        'UnmatchedPrincipalType',
        `The PrincipalId '${principalId.replace(/-/g, '')}' has type '${principal.type}' , which is different from specified PrincipalType '${givenType}'.`
      )
    }
    const id = `${scope}${SUFFIX}/${name}`
    const fullRoleId = `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`
    const existing = ctx.store.get(id)
    if (existing) {
      const same =
        roleOf(existing) === roleGuid &&
        stringAt(existing.body, 'properties', 'principalId') === principalId &&
        idKey(scopeOf(existing)) === idKey(scope)
      if (!same) {
        throw badRequest(
          'RoleAssignmentUpdateNotPermitted',
          'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.'
        )
      }
      return { status: 200, body: existing.body }
    }
    const twin = all().find(
      (a) =>
        roleOf(a) === roleGuid &&
        stringAt(a.body, 'properties', 'principalId') === principalId &&
        idKey(scopeOf(a)) === idKey(scope)
    )
    if (twin) throw conflict('RoleAssignmentExists', 'The role assignment already exists.')
    const now = iso(ctx.now())
    const view: JsonObject = {
      properties: {
        roleDefinitionId: fullRoleId,
        principalId,
        principalType: principal.type,
        scope,
        condition: null,
        conditionVersion: null,
        createdOn: now,
        updatedOn: now,
        createdBy: null,
        updatedBy: null,
        delegatedManagedIdentityResourceId: null,
        description: asString(props['description']) ?? null
      },
      id,
      type: ROLE_ASSIGNMENT_TYPE,
      name
    }
    const record = ctx.store.put(newRecord(id, ROLE_ASSIGNMENT_TYPE, view))
    record.internal['effectiveAt'] = ctx.now() + ctx.propagation.delayMs('roleAssignment', id)
    return { status: 201, body: view }
  }

  const get = (req: ArmRequest): ArmResponse => {
    const scope = resolveScope(req)
    const name = req.params['roleAssignmentName'] ?? ''
    const record = ctx.store.get(`${scope}${SUFFIX}/${name}`)
    if (!record) {
      throw new ArmError(404, 'RoleAssignmentNotFound', `The role assignment '${name}' is not found.`)
    }
    return { status: 200, body: record.body }
  }

  const remove = (req: ArmRequest): ArmResponse => {
    const scope = resolveScope(req)
    const record = ctx.store.get(`${scope}${SUFFIX}/${req.params['roleAssignmentName'] ?? ''}`)
    if (!record) return { status: 204 }
    ctx.store.removeTree(record.id)
    return { status: 200, body: record.body }
  }

  const list = (req: ArmRequest): ArmResponse => {
    const scope = resolveScope(req)
    const filter = (req.query.get('$filter') ?? '').trim()
    const principal = /^(?:principalId\s+eq\s+'([^']+)'|assignedTo\('([^']+)'\))$/i.exec(filter)
    const atScope = /^atScope\(\)$/i.test(filter)
    if (filter && !principal && !atScope) {
      throw badRequest('InvalidFilterInQueryString', `The filter '${filter}' is not supported.`)
    }
    const wanted = (principal?.[1] ?? principal?.[2])?.toLowerCase()
    const chosen = all().filter((a) => {
      const s = scopeOf(a)
      const above = covers(s, scope)
      if (atScope) return above
      if (!above && !covers(scope, s)) return false
      return !wanted || stringAt(a.body, 'properties', 'principalId') === wanted
    })
    return listAnswer(chosen.map((a) => a.body))
  }

  const scopes = [
    '/subscriptions/{subscriptionId}',
    '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}',
    '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/{ns}/{t1}/{n1}',
    '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/{ns}/{t1}/{n1}/{t2}/{n2}',
    '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/{ns}/{t1}/{n1}/{t2}/{n2}/{t3}/{n3}'
  ]
  for (const scope of scopes) {
    router.add('PUT', `${scope}${SUFFIX}/{roleAssignmentName}`, put)
    router.add('GET', `${scope}${SUFFIX}/{roleAssignmentName}`, get)
    router.add('DELETE', `${scope}${SUFFIX}/{roleAssignmentName}`, remove)
    router.add('GET', `${scope}${SUFFIX}`, list)
  }
}
