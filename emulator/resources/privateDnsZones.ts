/**
 * Private DNS zones and their virtual-network links (Microsoft.Network 2024-06-01). Zones are
 * `global`; writes answer with Location + Azure-AsyncOperation (the RP exposes both
 * privateDnsOperationStatuses and privateDnsOperationResults). A zone with links cannot be deleted.
 */
import type { EmulatorContext } from '../context.js'
import { ArmError, badRequest, conflict, parentResourceNotFound } from '../errors.js'
import { idKey } from '../ids.js'
import { asBoolean, asString, objectAt, stringAt, type JsonObject } from '../json.js'
import { randomGuid } from '../random.js'
import { param, type ArmRequest, type ArmResponse, type Router } from '../router.js'
import type { ResourceRecord } from '../store.js'
import {
  assertIdle,
  canonicalName,
  etag,
  listAnswer,
  newRecord,
  propertiesOf,
  requireBody,
  requireRecord,
  resourceGroupName,
  startLro,
  tagsOf,
  routedResourceId,
  addStoredReads
} from './common.js'
import { VNET_TYPE } from './virtualNetworks.js'

export const ZONE_TYPE = 'Microsoft.Network/privateDnsZones'
export const LINK_TYPE = 'Microsoft.Network/privateDnsZones/virtualNetworkLinks'
const NS = 'Microsoft.Network'
const BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/privateDnsZones'
const LABEL = /^[a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?$/
const LINK_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,78}[a-zA-Z0-9_])?$/

const LRO = {
  namespace: NS,
  location: 'global',
  statusSegment: 'privateDnsOperationStatuses',
  resultSegment: 'privateDnsOperationResults'
}

function validZoneName(name: string): boolean {
  const labels = name.replace(/\.$/, '').split('.')
  return name.length <= 253 && labels.length >= 2 && labels.every((l) => LABEL.test(l))
}

function requireGlobal(body: JsonObject, type: string): void {
  const location = asString(body['location'])
  if (location !== undefined && location.toLowerCase() !== 'global') {
    throw badRequest(
      'LocationNotAvailableForResourceType',
      `The provided location '${location}' is not available for resource type '${type}'. List of available regions for the resource type is 'global'.`
    )
  }
}

/** If-Match / If-None-Match as the SDK's `ifMatch` / `ifNoneMatch` options send them. */
function checkPreconditions(req: ArmRequest, existing: ResourceRecord | undefined): void {
  const ifNoneMatch = req.headers['if-none-match']
  const ifMatch = req.headers['if-match']
  if (ifNoneMatch === '*' && existing) {
    throw new ArmError(
      412,
      'PreconditionFailed',
      'The resource already exists and If-None-Match: * was given.'
    )
  }
  if (typeof ifMatch === 'string' && ifMatch !== '*' && ifMatch !== asString(existing?.body['etag'])) {
    throw new ArmError(
      412,
      'PreconditionFailed',
      `The etag '${ifMatch}' does not match the resource's current etag.`
    )
  }
}

export function linksOf(ctx: EmulatorContext, zoneId: string): ResourceRecord[] {
  return ctx.store.descendants(zoneId, LINK_TYPE)
}

function refreshCounts(ctx: EmulatorContext, zone: ResourceRecord): void {
  const links = linksOf(ctx, zone.id)
  const props = objectAt(zone.body, 'properties')
  if (!props) return
  props['numberOfVirtualNetworkLinks'] = links.length
  props['numberOfVirtualNetworkLinksWithRegistration'] = links.filter((l) =>
    asBoolean(objectAt(l.body, 'properties')?.['registrationEnabled'])
  ).length
}

export function registerPrivateDnsZones(ctx: EmulatorContext, router: Router): void {
  const ns = { namespace: NS }
  const zoneId = routedResourceId(ctx, NS, 'privateDnsZones', 'zone')
  const linkId = (req: ArmRequest): string => {
    const zone = zoneId(req)
    return `${zone}/virtualNetworkLinks/${canonicalName(ctx, `${zone}/virtualNetworkLinks/${param(req, 'link')}`, param(req, 'link'))}`
  }
  const setState = (record: ResourceRecord, state: string): void => {
    const props = objectAt(record.body, 'properties')
    if (props) props['provisioningState'] = state
  }

  router.add(
    'PUT',
    `${BASE}/{zone}`,
    (req): ArmResponse => {
      const name = param(req, 'zone')
      if (!validZoneName(name)) {
        throw badRequest(
          'InvalidResourceName',
          `The zone name '${name}' is not a valid DNS name: it needs at least two labels of letters, digits, '-' or '_' (each at most 63 characters).`
        )
      }
      const body = requireBody(req)
      requireGlobal(body, ZONE_TYPE)
      const id = zoneId(req)
      const existing = ctx.store.get(id)
      checkPreconditions(req, existing)
      assertIdle(ctx, req, id)
      const view: JsonObject = {
        id,
        name: existing ? (asString(existing.body['name']) ?? name) : name,
        type: ZONE_TYPE,
        etag: etag(),
        location: 'global',
        tags: tagsOf(body),
        properties: {
          maxNumberOfRecordSets: 25000,
          maxNumberOfVirtualNetworkLinks: 1000,
          maxNumberOfVirtualNetworkLinksWithRegistration: 100,
          numberOfRecordSets: 1,
          numberOfVirtualNetworkLinks: 0,
          numberOfVirtualNetworkLinksWithRegistration: 0,
          internalId: stringAt(existing?.body, 'properties', 'internalId') ?? randomGuid(),
          provisioningState: existing ? 'Updating' : 'Creating'
        }
      }
      const record = existing ?? ctx.store.put(newRecord(id, ZONE_TYPE, view))
      record.body = view
      refreshCounts(ctx, record)
      const { headers } = startLro(ctx, req, {
        ...LRO,
        shape: 'both',
        kind: 'privateDnsZones.put',
        resourceId: id,
        durationMs: ctx.latency.ms('privateDnsZonePut'),
        result: 'resource'
      })
      return { status: existing ? 200 : 201, body: view, headers }
    },
    ns
  )

  addStoredReads(ctx, router, { base: BASE, nameParam: 'zone', idOf: zoneId, type: ZONE_TYPE })

  router.add('PATCH', `${BASE}/{zone}`, (req): ArmResponse => {
    const record = requireRecord(ctx, zoneId(req), resourceGroupName(ctx, req))
    checkPreconditions(req, record)
    assertIdle(ctx, req, record.id)
    const body = requireBody(req)
    if (body['tags'] !== undefined) record.body['tags'] = tagsOf(body)
    record.body['etag'] = etag()
    setState(record, 'Updating')
    const { headers } = startLro(ctx, req, {
      ...LRO,
      shape: 'both',
      kind: 'privateDnsZones.put',
      resourceId: record.id,
      durationMs: ctx.latency.ms('privateDnsZonePut'),
      result: 'resource'
    })
    return { status: 202, headers }
  })

  router.add('DELETE', `${BASE}/{zone}`, (req): ArmResponse => {
    const record = ctx.store.get(zoneId(req))
    if (!record) return { status: 204 }
    assertIdle(ctx, req, record.id)
    if (linksOf(ctx, record.id).length > 0) {
      throw conflict('CannotDeleteResource', 'Can not delete resource before nested resources are deleted.')
    }
    setState(record, 'Deleting')
    const { headers } = startLro(ctx, req, {
      ...LRO,
      shape: 'both',
      kind: 'privateDnsZones.delete',
      resourceId: record.id,
      durationMs: ctx.latency.ms('privateDnsZoneDelete'),
      result: 'noContent'
    })
    return { status: 202, headers }
  })

  router.add(
    'PUT',
    `${BASE}/{zone}/virtualNetworkLinks/{link}`,
    (req): ArmResponse => {
      const zone = ctx.store.get(zoneId(req))
      if (!zone) throw parentResourceNotFound(zoneId(req))
      const name = param(req, 'link')
      if (!LINK_NAME.test(name)) {
        throw badRequest(
          'InvalidResourceName',
          `Resource name ${name} is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.`
        )
      }
      const body = requireBody(req)
      requireGlobal(body, LINK_TYPE)
      const id = linkId(req)
      const existing = ctx.store.get(id)
      checkPreconditions(req, existing)
      assertIdle(ctx, req, id)
      const props = propertiesOf(body)
      const vnetRef = stringAt(props, 'virtualNetwork', 'id')
      const vnet = vnetRef ? ctx.store.get(vnetRef) : undefined
      if (!vnetRef || !vnet || vnet.type !== VNET_TYPE) {
        throw badRequest(
          'VirtualNetworkNotFound',
          `Virtual network resource not found for '${vnetRef ?? '(none)'}'.`
        )
      }
      const twin = linksOf(ctx, zone.id).find(
        (l) =>
          idKey(l.id) !== idKey(id) &&
          idKey(stringAt(l.body, 'properties', 'virtualNetwork', 'id') ?? '') === idKey(vnet.id)
      )
      if (twin) {
        throw conflict(
          'Conflict',
          `A virtual network cannot be linked to the same Private DNS zone more than once. It is already linked by '${asString(twin.body['name'])}'.`
        )
      }
      const view: JsonObject = {
        id,
        name: existing ? (asString(existing.body['name']) ?? name) : name,
        type: LINK_TYPE,
        etag: etag(),
        location: 'global',
        tags: tagsOf(body),
        properties: {
          ...props,
          registrationEnabled: asBoolean(props['registrationEnabled']) ?? false,
          virtualNetworkLinkState: 'InProgress',
          provisioningState: existing ? 'Updating' : 'Creating'
        }
      }
      const record = existing ?? ctx.store.put(newRecord(id, LINK_TYPE, view))
      record.body = view
      refreshCounts(ctx, zone)
      const { headers } = startLro(ctx, req, {
        ...LRO,
        shape: 'both',
        kind: 'privateDnsLinks.put',
        resourceId: id,
        durationMs: ctx.latency.ms('privateDnsLinkPut'),
        result: 'resource'
      })
      return { status: existing ? 200 : 201, body: view, headers }
    },
    ns
  )

  router.add('GET', `${BASE}/{zone}/virtualNetworkLinks/{link}`, (req): ArmResponse => {
    return { status: 200, body: requireRecord(ctx, linkId(req), resourceGroupName(ctx, req)).body }
  })

  router.add('GET', `${BASE}/{zone}/virtualNetworkLinks`, (req): ArmResponse => {
    const zone = requireRecord(ctx, zoneId(req), resourceGroupName(ctx, req))
    return listAnswer(linksOf(ctx, zone.id).map((r) => r.body))
  })

  router.add('DELETE', `${BASE}/{zone}/virtualNetworkLinks/{link}`, (req): ArmResponse => {
    const record = ctx.store.get(linkId(req))
    if (!record) return { status: 204 }
    assertIdle(ctx, req, record.id)
    setState(record, 'Deleting')
    const { headers } = startLro(ctx, req, {
      ...LRO,
      shape: 'both',
      kind: 'privateDnsLinks.delete',
      resourceId: record.id,
      durationMs: ctx.latency.ms('privateDnsLinkDelete'),
      result: 'noContent'
    })
    return { status: 202, headers }
  })

  ctx.lro.onComplete('privateDnsZones.put', (op) => {
    const zone = ctx.store.get(op.resourceId)
    if (zone) setState(zone, op.status === 'Succeeded' ? 'Succeeded' : 'Failed')
  })
  ctx.lro.onComplete('privateDnsZones.delete', (op) => {
    const zone = ctx.store.get(op.resourceId)
    if (!zone) return
    if (op.status === 'Succeeded') ctx.store.removeTree(zone.id)
    else setState(zone, 'Failed')
  })
  ctx.lro.onComplete('privateDnsLinks.put', (op) => {
    const link = ctx.store.get(op.resourceId)
    if (!link) return
    const props = objectAt(link.body, 'properties')
    if (!props) return
    props['provisioningState'] = op.status === 'Succeeded' ? 'Succeeded' : 'Failed'
    props['virtualNetworkLinkState'] = op.status === 'Succeeded' ? 'Completed' : 'InProgress'
  })
  ctx.lro.onComplete('privateDnsLinks.delete', (op) => {
    const link = ctx.store.get(op.resourceId)
    if (!link) return
    if (op.status !== 'Succeeded') return setState(link, 'Failed')
    const zoneIdOfLink = link.id.replace(/\/virtualNetworkLinks\/[^/]+$/i, '')
    ctx.store.removeTree(link.id)
    const zone = ctx.store.get(zoneIdOfLink)
    if (zone) refreshCounts(ctx, zone)
  })
}
