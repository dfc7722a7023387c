/**
 * Log Analytics workspaces (Microsoft.OperationalInsights 2025-07-01). The PUT answers 201/200 with
 * a non-terminal `provisioningState` and no polling headers: the SDK polls the resource itself
 * ("Body" mode) until it reads Succeeded. `customerId` and the shared keys feed the environment.
 */
import type { EmulatorContext } from '../context.js'
import { badRequest } from '../errors.js'
import { asBoolean, asNumber, asString, objectAt, stringAt, type JsonObject } from '../json.js'
import { randomGuid, randomKey } from '../random.js'
import { param, type ArmResponse, type Router } from '../router.js'
import type { ResourceRecord } from '../store.js'
import {
  assertIdle,
  iso,
  newRecord,
  propertiesOf,
  requireBody,
  resolveLocation,
  requireRecord,
  resourceGroupName,
  startLro,
  tagsOf,
  routedResourceId,
  addStoredReads
} from './common.js'

export const WORKSPACE_TYPE = 'Microsoft.OperationalInsights/workspaces'
const NS = 'Microsoft.OperationalInsights'
const BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.OperationalInsights/workspaces'
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$/

export function sharedKeysOf(record: ResourceRecord): {
  primarySharedKey: string
  secondarySharedKey: string
} {
  record.secrets['primarySharedKey'] ??= randomKey()
  record.secrets['secondarySharedKey'] ??= randomKey()
  return {
    primarySharedKey: record.secrets['primarySharedKey'],
    secondarySharedKey: record.secrets['secondarySharedKey']
  }
}

/**
 * Workspace replication as WorkspacesGet.json shows it (2025-07-01): the given `enabled`/`location`
 * plus read-only `createdDate`, `lastModifiedDate` and `provisioningState` (Enabling/Disabling
 * while the write runs), and, once replication is on, the read-only `failover` state — `Inactive`
 * until a failover (`POST .../failover`, not emulated) makes it Active.
 */
function replicationView(props: JsonObject, existing: ResourceRecord | undefined, now: string): JsonObject {
  const given = objectAt(props, 'replication')
  if (!given) return {}
  const before = objectAt(existing?.body, 'properties', 'replication')
  const enabled = asBoolean(given['enabled']) ?? false
  const changed =
    !before ||
    asBoolean(before['enabled']) !== enabled ||
    asString(before['location']) !== asString(given['location'])
  const createdDate = asString(before?.['createdDate']) ?? now
  const replication: JsonObject = {
    ...given,
    enabled,
    createdDate,
    lastModifiedDate: changed ? now : (asString(before?.['lastModifiedDate']) ?? now),
    provisioningState: enabled ? 'Enabling' : 'Disabling'
  }
  if (!enabled) return { replication }
  const failover = objectAt(existing?.body, 'properties', 'failover')
  return {
    replication,
    failover: {
      state: asString(failover?.['state']) ?? 'Inactive',
      lastModifiedDate: asString(failover?.['lastModifiedDate']) ?? createdDate
    }
  }
}

export function registerWorkspaces(ctx: EmulatorContext, router: Router): void {
  const wsId = routedResourceId(ctx, NS, 'workspaces', 'workspace')

  router.add(
    'PUT',
    `${BASE}/{workspace}`,
    (req): ArmResponse => {
      const name = param(req, 'workspace')
      if (!NAME.test(name)) {
        throw badRequest(
          'InvalidWorkspaceName',
          `Workspace name '${name}' is invalid. The name must be 4 to 63 characters long, contain only letters, digits and '-', and start and end with a letter or digit.`
        )
      }
      const body = requireBody(req)
      const id = wsId(req)
      const existing = ctx.store.get(id)
      const location = resolveLocation(body, WORKSPACE_TYPE, existing)
      assertIdle(ctx, req, id)
      const props = propertiesOf(body)
      const now = iso(ctx.now())
      const sku = objectAt(props, 'sku') ?? { name: 'PerGB2018' }
      const replication = replicationView(props, existing, now)
      const view: JsonObject = {
        id,
        name: existing ? (asString(existing.body['name']) ?? name) : name,
        type: WORKSPACE_TYPE,
        location,
        tags: tagsOf(body),
        properties: {
          publicNetworkAccessForIngestion: 'Enabled',
          publicNetworkAccessForQuery: 'Enabled',
          ...props,
          sku: {
            ...sku,
            lastSkuUpdate: stringAt(existing?.body, 'properties', 'sku', 'lastSkuUpdate') ?? now
          },
          retentionInDays: asNumber(props['retentionInDays']) ?? 30,
          features: { legacy: 0, searchVersion: 1, enableLogAccessUsingOnlyResourcePermissions: true },
          workspaceCapping: { dailyQuotaGb: -1, dataIngestionStatus: 'RespectQuota' },
          ...replication,
          customerId: stringAt(existing?.body, 'properties', 'customerId') ?? randomGuid(),
          createdDate: stringAt(existing?.body, 'properties', 'createdDate') ?? now,
          modifiedDate: now,
          provisioningState: existing ? 'Updating' : 'Creating'
        }
      }
      const record = existing ?? ctx.store.put(newRecord(id, WORKSPACE_TYPE, view))
      record.body = view
      sharedKeysOf(record)
      // No headers on purpose: the SDK then polls the resource URL for a terminal provisioningState.
      startLro(ctx, req, {
        namespace: NS,
        location,
        statusSegment: 'operationStatuses',
        resultSegment: 'operationResults',
        shape: 'aao',
        kind: 'workspaces.put',
        resourceId: id,
        durationMs: ctx.latency.ms('workspacePut'),
        result: 'resource'
      })
      return { status: existing ? 200 : 201, body: view }
    },
    { namespace: NS }
  )

  addStoredReads(ctx, router, { base: BASE, nameParam: 'workspace', idOf: wsId, type: WORKSPACE_TYPE })

  router.add('PATCH', `${BASE}/{workspace}`, (req): ArmResponse => {
    const record = requireRecord(ctx, wsId(req), resourceGroupName(ctx, req))
    assertIdle(ctx, req, record.id)
    const body = requireBody(req)
    if (body['tags'] !== undefined) record.body['tags'] = tagsOf(body)
    const props = objectAt(record.body, 'properties')
    const patch = propertiesOf(body)
    if (props) {
      for (const key of [
        'retentionInDays',
        'sku',
        'publicNetworkAccessForIngestion',
        'publicNetworkAccessForQuery'
      ]) {
        if (patch[key] !== undefined) props[key] = patch[key]
      }
      props['modifiedDate'] = iso(ctx.now())
    }
    return { status: 200, body: record.body }
  })

  router.add('DELETE', `${BASE}/{workspace}`, (req): ArmResponse => {
    const record = ctx.store.get(wsId(req))
    if (!record) return { status: 204 }
    assertIdle(ctx, req, record.id)
    const props = objectAt(record.body, 'properties')
    if (props) props['provisioningState'] = 'Deleting'
    const { headers } = startLro(ctx, req, {
      namespace: NS,
      location: asString(record.body['location']) ?? 'global',
      statusSegment: 'operationStatuses',
      resultSegment: 'operationResults',
      shape: 'both',
      kind: 'workspaces.delete',
      resourceId: record.id,
      durationMs: ctx.latency.ms('workspaceDelete'),
      result: 'noContent'
    })
    return { status: 202, headers }
  })

  router.add('POST', `${BASE}/{workspace}/sharedKeys`, (req): ArmResponse => {
    const record = requireRecord(ctx, wsId(req), resourceGroupName(ctx, req))
    return { status: 200, body: sharedKeysOf(record) }
  })

  router.add('POST', `${BASE}/{workspace}/regenerateSharedKey`, (req): ArmResponse => {
    const record = requireRecord(ctx, wsId(req), resourceGroupName(ctx, req))
    record.secrets['primarySharedKey'] = randomKey()
    return { status: 200, body: sharedKeysOf(record) }
  })

  ctx.lro.onComplete('workspaces.put', (op) => {
    const props = objectAt(ctx.store.get(op.resourceId)?.body, 'properties')
    if (!props) return
    const state = op.status === 'Succeeded' ? 'Succeeded' : 'Failed'
    props['provisioningState'] = state
    const replication = objectAt(props, 'replication')
    if (replication) replication['provisioningState'] = state
  })
  ctx.lro.onComplete('workspaces.delete', (op) => {
    const record = ctx.store.get(op.resourceId)
    if (!record) return
    if (op.status === 'Succeeded') ctx.store.removeTree(record.id)
    else {
      const props = objectAt(record.body, 'properties')
      if (props) props['provisioningState'] = 'Failed'
    }
  })
}
