/**
 * Resource groups (`@azure/arm-resources` 2025-04-01): synchronous PUT, HEAD for existence, and an
 * LRO delete (202 + Location; the Location answers 200, never 204, once done) that takes every
 * resource of the group with it.
 */
import type { EmulatorContext } from '../context.js'
import { ArmError, badRequest, conflict, resourceGroupNotFound } from '../errors.js'
import { RESOURCE_GROUP_TYPE, resourceGroupId } from '../ids.js'
import { asObject, asString, stringAt, type JsonObject } from '../json.js'
import { SUBSCRIPTION_RESULTS } from '../lro.js'
import { param, type ArmRequest, type ArmResponse, type Router } from '../router.js'
import { newRecord, requireBody, startLro, subscriptionOf, tagsOf } from './common.js'
import { findRegion, regionNames, sameRegion } from '../regions.js'
import { locationRequired } from '../errors.js'

const RG_NAME = /^[-\w._()]{1,90}$/u

const PATTERN = '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}'

export function registerResourceGroups(ctx: EmulatorContext, router: Router): void {
  const own = { ownsResourceGroup: true }

  const lookup = (req: ArmRequest) =>
    ctx.store.get(resourceGroupId(subscriptionOf(req), param(req, 'resourceGroupName')))

  router.add(
    'PUT',
    PATTERN,
    (req): ArmResponse => {
      const name = param(req, 'resourceGroupName')
      if (!RG_NAME.test(name) || name.endsWith('.')) {
        throw badRequest(
          'InvalidResourceGroupName',
          `Resource group name '${name}' is invalid. It can contain alphanumeric, underscore, parentheses, hyphen, period (except at end), and Unicode characters that match the allowed characters, and be at most 90 characters long.`
        )
      }
      const body = requireBody(req)
      const given = asString(body['location'])
      if (!given) throw locationRequired()
      const region = findRegion(given)
      if (!region) {
        // cloud-barista/cb-spider#527
        throw badRequest(
          'LocationNotAvailableForResourceGroup',
          `The provided location '${given}' is not available for resource group. List of available regions is '${regionNames().join(',')}'.`
        )
      }
      // Resource groups answer the name, not the display name (vscode-azurefunctions#889).
      const location = region.name
      const existing = lookup(req)
      if (existing) {
        const state = stringAt(existing.body, 'properties', 'provisioningState')
        if (state === 'Deleting') {
          throw conflict(
            'ResourceGroupBeingDeleted',
            `The resource group '${name}' is in deprovisioning state and cannot perform this operation.`
          )
        }
        const current = asString(existing.body['location']) ?? ''
        if (!sameRegion(current, location)) {
          // 409, the requested value echoed as sent (microsoft/bedrock#100, vscode-azurefunctions#889).
          throw conflict(
            'InvalidResourceGroupLocation',
            `Invalid resource group location '${given}'. The Resource group already exists in location '${current}'.`
          )
        }
        existing.body['tags'] = tagsOf(body)
        if (body['managedBy'] !== undefined) existing.body['managedBy'] = body['managedBy']
        existing.body['properties'] = { provisioningState: 'Succeeded' }
        return { status: 200, body: existing.body, delayMs: ctx.latency.ms('resourceGroupPut') }
      }
      const id = resourceGroupId(subscriptionOf(req), name)
      const view: JsonObject = {
        id,
        name,
        type: RESOURCE_GROUP_TYPE,
        location,
        tags: tagsOf(body),
        properties: { provisioningState: 'Succeeded' }
      }
      if (body['managedBy'] !== undefined) view['managedBy'] = body['managedBy']
      ctx.store.put(newRecord(id, RESOURCE_GROUP_TYPE, view))
      return { status: 201, body: view, delayMs: ctx.latency.ms('resourceGroupPut') }
    },
    own
  )

  router.add(
    'GET',
    PATTERN,
    (req): ArmResponse => {
      const record = lookup(req)
      if (!record) throw resourceGroupNotFound(param(req, 'resourceGroupName'))
      return { status: 200, body: record.body }
    },
    own
  )

  router.add('HEAD', PATTERN, (req): ArmResponse => ({ status: lookup(req) ? 204 : 404 }), own)

  router.add(
    'PATCH',
    PATTERN,
    (req): ArmResponse => {
      const record = lookup(req)
      if (!record) throw resourceGroupNotFound(param(req, 'resourceGroupName'))
      const body = requireBody(req)
      if (body['tags'] !== undefined) record.body['tags'] = tagsOf(body)
      return { status: 200, body: record.body }
    },
    own
  )

  router.add(
    'DELETE',
    PATTERN,
    (req): ArmResponse => {
      const record = lookup(req)
      if (!record) throw resourceGroupNotFound(param(req, 'resourceGroupName'))
      const running = ctx.lro.inFlight(record.id)
      if (running) {
        // ARM answers a repeated delete with the same pending operation.
        return { status: 202, headers: { Location: ctx.lro.resultUrl(req.origin, running) } }
      }
      record.body['properties'] = { provisioningState: 'Deleting' }
      const { headers } = startLro(ctx, req, {
        namespace: 'Microsoft.Resources',
        location: asString(record.body['location']) ?? 'global',
        statusSegment: SUBSCRIPTION_RESULTS,
        resultSegment: SUBSCRIPTION_RESULTS,
        shape: 'location',
        kind: 'resourceGroups.delete',
        resourceId: record.id,
        durationMs: ctx.latency.ms('resourceGroupDelete'),
        result: 'emptyOk'
      })
      return { status: 202, headers }
    },
    own
  )

  router.add(
    'GET',
    '/subscriptions/{subscriptionId}/resourcegroups',
    (req): ArmResponse => {
      const prefix = `/subscriptions/${subscriptionOf(req)}/resourcegroups/`.toLowerCase()
      const matches = tagFilter(req.query.get('$filter'))
      const top = Number(req.query.get('$top') ?? Infinity)
      const groups = ctx.store
        .byType(RESOURCE_GROUP_TYPE)
        .filter((r) => r.id.toLowerCase().startsWith(prefix) && matches(r.body))
        .slice(0, Number.isFinite(top) && top > 0 ? top : undefined)
        .map((r) => r.body)
      return { status: 200, body: { value: groups } }
    },
    own
  )

  router.add(
    'GET',
    `/subscriptions/{subscriptionId}/${SUBSCRIPTION_RESULTS}/{operationId}`,
    (req): ArmResponse => {
      const op = ctx.lro.get(param(req, 'operationId'))
      if (!op) throw new ArmError(404, 'NotFound', `Operation '${param(req, 'operationId')}' was not found.`)
      return ctx.lro.resultAnswer(op)
    },
    own
  )

  ctx.lro.onComplete('resourceGroups.delete', (op) => {
    const record = ctx.store.get(op.resourceId)
    if (!record) return
    if (op.status !== 'Succeeded') {
      record.body['properties'] = { provisioningState: 'Failed' }
      return
    }
    ctx.lro.cancelUnder(record.id, `The resource group '${asString(record.body['name'])}' was deleted.`)
    ctx.store.removeTree(record.id)
  })
}

/**
 * The `$filter` forms ARM supports on resource-group lists: `tagName eq 'k'` optionally followed
 * by `and tagValue eq 'v'` (tag names compare case-insensitively, values exactly).
 */
function tagFilter(filter: string | null): (group: JsonObject) => boolean {
  if (!filter) return () => true
  const m = /^\s*tagName\s+eq\s+'([^']*)'(?:\s+and\s+tagValue\s+eq\s+'([^']*)')?\s*$/i.exec(filter)
  if (!m)
    throw badRequest(
      'InvalidFilterInQueryString',
      `Invalid $filter '${filter}' specified in the query string.`
    )
  const [, name = '', value] = m
  return (group) => {
    const tags = asObject(group['tags']) ?? {}
    const key = Object.keys(tags).find((k) => k.toLowerCase() === name.toLowerCase())
    return key !== undefined && (value === undefined || tags[key] === value)
  }
}
