/**
 * Virtual networks with their subnets (Microsoft.Network 2026-01-01). PUT answers 201/200 with
 * `provisioningState: Updating` and an Azure-AsyncOperation monitor; deletes answer 202 with
 * Location + monitor. Subnets live inside their VNet record (as on the wire), so a subnet write
 * locks its VNet like the network RP does.
 */
import type { EmulatorContext } from '../context.js'
import { addressIn, contains, overlaps, parseCidr, type Cidr } from '../cidr.js'
import { badRequest, resourceNotFound } from '../errors.js'
import { parseResourceId, providerResourceId } from '../ids.js'
import {
  asArray,
  asString,
  clone,
  jsonEqual,
  objectAt,
  objectsOf,
  stringAt,
  type JsonObject
} from '../json.js'
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
  resolveLocation,
  requireRecord,
  resourceGroupName,
  startLro,
  subscriptionOf,
  tagsOf,
  addStoredReads
} from './common.js'
import { subnetUsers } from './references.js'

export const VNET_TYPE = 'Microsoft.Network/virtualNetworks'
export const SUBNET_TYPE = 'Microsoft.Network/virtualNetworks/subnets'
const NS = 'Microsoft.Network'
const BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/virtualNetworks'

const VNET_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,62}[a-zA-Z0-9_])?$/
const SUBNET_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,78}[a-zA-Z0-9_])?$/

const DELEGATION_ACTIONS: Record<string, string[]> = {
  'microsoft.app/environments': ['Microsoft.Network/virtualNetworks/subnets/join/action'],
  'microsoft.dbforpostgresql/flexibleservers': ['Microsoft.Network/virtualNetworks/subnets/join/action']
}

function invalidName(name: string, max: number): never {
  throw badRequest(
    'InvalidResourceName',
    `Resource name ${name} is invalid. The name can be up to ${max} characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.`
  )
}

export interface SubnetRef {
  vnet: ResourceRecord
  subnet: JsonObject
}

/** The subnet an id names, found case-insensitively inside its VNet. */
export function findSubnet(ctx: EmulatorContext, subnetId: string): SubnetRef | undefined {
  const parsed = parseResourceId(subnetId)
  const [vnetSeg, subnetSeg] = parsed?.segments ?? []
  if (!parsed || parsed.segments.length !== 2 || !vnetSeg || !subnetSeg) return undefined
  if (vnetSeg.type.toLowerCase() !== 'virtualnetworks' || subnetSeg.type.toLowerCase() !== 'subnets')
    return undefined
  const vnet = ctx.store.get(
    providerResourceId(parsed.subscriptionId, parsed.resourceGroup, NS, ['virtualNetworks', vnetSeg.name])
  )
  if (!vnet) return undefined
  const subnet = subnetsOf(vnet).find(
    (s) => asString(s['name'])?.toLowerCase() === subnetSeg.name.toLowerCase()
  )
  return subnet ? { vnet, subnet } : undefined
}

export function subnetsOf(vnet: ResourceRecord): JsonObject[] {
  return objectsOf(objectAt(vnet.body, 'properties')?.['subnets'])
}

export function subnetPrefix(subnet: JsonObject): string | undefined {
  return (
    stringAt(subnet, 'properties', 'addressPrefix') ??
    asString(asArray(objectAt(subnet, 'properties')?.['addressPrefixes'])?.[0])
  )
}

export function delegationServices(subnet: JsonObject): string[] {
  return objectsOf(objectAt(subnet, 'properties')?.['delegations'])
    .map((d) => stringAt(d, 'properties', 'serviceName') ?? asString(d['serviceName']) ?? '')
    .filter(Boolean)
}

/** A private address in the subnet, for things that sit in it (an internal environment's static IP). */
export function addressInSubnet(subnet: JsonObject, offset: number): string | undefined {
  const cidr = parseCidr(subnetPrefix(subnet) ?? '')
  return cidr ? addressIn(cidr, offset) : undefined
}

function subnetView(vnetId: string, input: JsonObject, state: string): JsonObject {
  const name = asString(input['name']) ?? ''
  const id = `${vnetId}/subnets/${name}`
  const props = propertiesOf(input)
  const delegations = objectsOf(props['delegations']).map((d): JsonObject => {
    const dname = asString(d['name']) ?? stringAt(d, 'properties', 'serviceName') ?? 'delegation'
    const serviceName = stringAt(d, 'properties', 'serviceName') ?? asString(d['serviceName']) ?? ''
    const actions =
      asArray(objectAt(d, 'properties')?.['actions']) ?? DELEGATION_ACTIONS[serviceName.toLowerCase()] ?? []
    return {
      id: `${id}/delegations/${dname}`,
      name: dname,
      type: 'Microsoft.Network/virtualNetworks/subnets/delegations',
      etag: etag(),
      properties: { serviceName, actions: clone(actions), provisioningState: state }
    }
  })
  return {
    id,
    name,
    type: SUBNET_TYPE,
    etag: etag(),
    properties: {
      privateEndpointNetworkPolicies: 'Disabled',
      privateLinkServiceNetworkPolicies: 'Enabled',
      ...props,
      delegations,
      // Read-only, for delegated subnets: "" in VirtualNetworkCreateSubnetWithDelegation.json and
      // VirtualNetworkGetWithSubnetDelegation.json (2026-01-01); no example sets it otherwise.
      ...(delegations.length > 0 ? { purpose: '' } : {}),
      provisioningState: state
    }
  }
}

function setState(vnet: ResourceRecord, state: string, onlySubnet?: string): void {
  const apply = (subnet: JsonObject): void => {
    const props = objectAt(subnet, 'properties')
    if (!props) return
    props['provisioningState'] = state
    for (const d of objectsOf(props['delegations'])) {
      const dp = objectAt(d, 'properties')
      if (dp) dp['provisioningState'] = state
    }
  }
  const props = objectAt(vnet.body, 'properties')
  if (!props) return
  if (onlySubnet === undefined) props['provisioningState'] = state
  for (const subnet of subnetsOf(vnet)) {
    if (onlySubnet === undefined || asString(subnet['name'])?.toLowerCase() === onlySubnet.toLowerCase())
      apply(subnet)
  }
}

/** The rules the network RP checks on every subnet set: names, ranges inside the VNet, no overlaps. */
function validateSubnets(vnetName: string, space: Cidr[], subnets: JsonObject[]): void {
  const seen: { name: string; cidr: Cidr }[] = []
  for (const subnet of subnets) {
    const name = asString(subnet['name']) ?? ''
    if (!SUBNET_NAME.test(name)) invalidName(name, 80)
    const prefix = subnetPrefix(subnet)
    const cidr = parseCidr(prefix ?? '')
    if (!cidr) {
      throw badRequest(
        'InvalidAddressPrefixFormat',
        `Address prefix ${prefix ?? '(none)'} of subnet ${name} has an invalid format.`
      )
    }
    if (!space.some((s) => contains(s, cidr))) {
      throw badRequest(
        'NetcfgSubnetRangeOutsideVnet',
        `Subnet '${name}' is not valid because its IP address range is outside the IP address range of virtual network '${vnetName}'.`
      )
    }
    const clash = seen.find((s) => overlaps(s.cidr, cidr))
    if (clash) {
      throw badRequest(
        'NetcfgSubnetRangesOverlap',
        `Subnet '${name}' is not valid because its IP address range overlaps with that of an existing subnet '${clash.name}' in virtual network '${vnetName}'.`
      )
    }
    seen.push({ name, cidr })
  }
}

function inUse(ctx: EmulatorContext, subnetId: string, name: string): void {
  const users = subnetUsers(ctx, subnetId)
  if (users.length > 0) {
    throw badRequest(
      'InUseSubnetCannotBeDeleted',
      `Subnet ${name} is in use by ${users[0]} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.`
    )
  }
}

/**
 * An in-use subnet may not change range or delegation under its users: 400
 * `InUseSubnetCannotBeUpdated` (terraform-provider-azurerm#7687) and
 * `SubnetDelegationsCannotChangeWhenSubnetUsedByResource` (azure-docs#39112), in the service's words.
 */
function assertUnchangedInUse(ctx: EmulatorContext, before: JsonObject, after: JsonObject): void {
  const id = asString(before['id']) ?? ''
  const users = subnetUsers(ctx, id)
  if (users.length === 0) return
  if (subnetPrefix(before) !== subnetPrefix(after)) {
    throw badRequest(
      'InUseSubnetCannotBeUpdated',
      `Subnet ${asString(before['name'])} is in use and cannot be updated.`
    )
  }
  const from = delegationServices(before)
  const to = delegationServices(after)
  if (
    !jsonEqual(
      from.map((s) => s.toLowerCase()),
      to.map((s) => s.toLowerCase())
    )
  ) {
    throw badRequest(
      'SubnetDelegationsCannotChangeWhenSubnetUsedByResource',
      `Delegations of subnet ${id} cannot be changed from [${from.join(',')}] to [${to.join(',')}] because it is being used by the resource ${users[0]}.`
    )
  }
}

function addressSpace(name: string, props: JsonObject): Cidr[] {
  const prefixes = (asArray(objectAt(props, 'addressSpace')?.['addressPrefixes']) ?? []).map(
    (p) => asString(p) ?? ''
  )
  return prefixes.map((p) => {
    const cidr = parseCidr(p)
    if (!cidr)
      throw badRequest(
        'InvalidAddressPrefixFormat',
        `Address prefix ${p} of virtual network ${name} has an invalid format.`
      )
    return cidr
  })
}

export function registerVirtualNetworks(ctx: EmulatorContext, router: Router): void {
  const ns = { namespace: NS }
  const vnetId = (req: ArmRequest): string =>
    providerResourceId(subscriptionOf(req), resourceGroupName(ctx, req), NS, [
      'virtualNetworks',
      canonicalName(
        ctx,
        providerResourceId(subscriptionOf(req), resourceGroupName(ctx, req), NS, [
          'virtualNetworks',
          param(req, 'vnet')
        ]),
        param(req, 'vnet')
      )
    ])
  const lroBase = (vnet: ResourceRecord) => ({
    namespace: NS,
    location: asString(vnet.body['location']) ?? 'global',
    statusSegment: 'operations',
    resultSegment: 'operationResults'
  })

  router.add(
    'PUT',
    `${BASE}/{vnet}`,
    (req): ArmResponse => {
      const name = param(req, 'vnet')
      if (!VNET_NAME.test(name)) invalidName(name, 64)
      const body = requireBody(req)
      const id = vnetId(req)
      const existing = ctx.store.get(id)
      const location = resolveLocation(body, VNET_TYPE, existing)
      assertIdle(ctx, req, id)
      const props = propertiesOf(body)
      const space = addressSpace(name, props)
      const incoming = objectsOf(props['subnets'])
      validateSubnets(name, space, incoming)
      const nextSubnets = incoming.map((s) => subnetView(id, s, 'Updating'))
      if (existing) {
        for (const old of subnetsOf(existing)) {
          const replacement = nextSubnets.find(
            (s) => asString(s['name'])?.toLowerCase() === asString(old['name'])?.toLowerCase()
          )
          if (!replacement) inUse(ctx, asString(old['id']) ?? '', asString(old['name']) ?? '')
          else assertUnchangedInUse(ctx, old, replacement)
        }
      }
      const view: JsonObject = {
        id,
        name: existing ? (asString(existing.body['name']) ?? name) : name,
        type: VNET_TYPE,
        location,
        tags: tagsOf(body),
        etag: etag(),
        properties: {
          virtualNetworkPeerings: [],
          enableDdosProtection: false,
          ...props,
          subnets: nextSubnets,
          resourceGuid: stringAt(existing?.body, 'properties', 'resourceGuid') ?? randomGuid(),
          provisioningState: 'Updating'
        }
      }
      const record = existing ?? ctx.store.put(newRecord(id, VNET_TYPE, view))
      record.body = view
      const { headers } = startLro(ctx, req, {
        ...lroBase(record),
        shape: 'aao',
        kind: 'virtualNetworks.put',
        resourceId: id,
        durationMs: ctx.latency.ms('virtualNetworkPut'),
        result: 'resource'
      })
      return { status: existing ? 200 : 201, body: view, headers }
    },
    ns
  )

  addStoredReads(ctx, router, { base: BASE, nameParam: 'vnet', idOf: vnetId, type: VNET_TYPE })

  router.add('PATCH', `${BASE}/{vnet}`, (req): ArmResponse => {
    const record = requireRecord(ctx, vnetId(req), resourceGroupName(ctx, req))
    // UpdateTags is synchronous, but like every write it waits for no one: a running operation on
    // the VNet (a subnet write) makes it 409 AnotherOperationInProgress.
    assertIdle(ctx, req, record.id)
    const body = requireBody(req)
    if (body['tags'] !== undefined) record.body['tags'] = tagsOf(body)
    record.body['etag'] = etag()
    return { status: 200, body: record.body }
  })

  router.add('DELETE', `${BASE}/{vnet}`, (req): ArmResponse => {
    const record = ctx.store.get(vnetId(req))
    if (!record) return { status: 204 }
    assertIdle(ctx, req, record.id)
    for (const subnet of subnetsOf(record))
      inUse(ctx, asString(subnet['id']) ?? '', asString(subnet['name']) ?? '')
    setState(record, 'Deleting')
    const { headers } = startLro(ctx, req, {
      ...lroBase(record),
      shape: 'both',
      kind: 'virtualNetworks.delete',
      resourceId: record.id,
      durationMs: ctx.latency.ms('virtualNetworkDelete'),
      result: 'noContent'
    })
    return { status: 202, headers }
  })

  router.add(
    'PUT',
    `${BASE}/{vnet}/subnets/{subnet}`,
    (req): ArmResponse => {
      const vnet = ctx.store.get(vnetId(req))
      if (!vnet) throw resourceNotFound(vnetId(req), resourceGroupName(ctx, req))
      const name = param(req, 'subnet')
      const body = requireBody(req)
      assertIdle(ctx, req, vnet.id)
      const existing = subnetsOf(vnet).find((s) => asString(s['name'])?.toLowerCase() === name.toLowerCase())
      const subnetName = existing ? (asString(existing['name']) ?? name) : name
      const view = subnetView(vnet.id, { ...body, name: subnetName }, 'Updating')
      const others = subnetsOf(vnet).filter((s) => s !== existing)
      validateSubnets(asString(vnet.body['name']) ?? '', addressSpace('', propertiesOf(vnet.body)), [
        ...others,
        view
      ])
      if (existing) assertUnchangedInUse(ctx, existing, view)
      const props = objectAt(vnet.body, 'properties') ?? {}
      props['subnets'] = existing
        ? subnetsOf(vnet).map((s) => (s === existing ? view : s))
        : [...subnetsOf(vnet), view]
      const { headers } = startLro(ctx, req, {
        ...lroBase(vnet),
        shape: 'aao',
        kind: 'subnets.put',
        resourceId: asString(view['id']) ?? '',
        lockId: vnet.id,
        durationMs: ctx.latency.ms('subnetPut'),
        result: 'resource',
        data: { subnet: subnetName }
      })
      return { status: existing ? 200 : 201, body: view, headers }
    },
    ns
  )

  router.add('GET', `${BASE}/{vnet}/subnets/{subnet}`, (req): ArmResponse => {
    const vnet = requireRecord(ctx, vnetId(req), resourceGroupName(ctx, req))
    const subnet = subnetsOf(vnet).find(
      (s) => asString(s['name'])?.toLowerCase() === param(req, 'subnet').toLowerCase()
    )
    if (!subnet)
      throw resourceNotFound(`${vnet.id}/subnets/${param(req, 'subnet')}`, resourceGroupName(ctx, req))
    return { status: 200, body: subnet }
  })

  router.add('GET', `${BASE}/{vnet}/subnets`, (req): ArmResponse => {
    return listAnswer(subnetsOf(requireRecord(ctx, vnetId(req), resourceGroupName(ctx, req))))
  })

  router.add('DELETE', `${BASE}/{vnet}/subnets/{subnet}`, (req): ArmResponse => {
    const vnet = ctx.store.get(vnetId(req))
    const subnet =
      vnet &&
      subnetsOf(vnet).find((s) => asString(s['name'])?.toLowerCase() === param(req, 'subnet').toLowerCase())
    if (!vnet || !subnet) return { status: 204 }
    assertIdle(ctx, req, vnet.id)
    inUse(ctx, asString(subnet['id']) ?? '', asString(subnet['name']) ?? '')
    const name = asString(subnet['name']) ?? ''
    setState(vnet, 'Deleting', name)
    const { headers } = startLro(ctx, req, {
      ...lroBase(vnet),
      shape: 'both',
      kind: 'subnets.delete',
      resourceId: asString(subnet['id']) ?? '',
      lockId: vnet.id,
      durationMs: ctx.latency.ms('subnetDelete'),
      result: 'noContent',
      data: { subnet: name }
    })
    return { status: 202, headers }
  })

  ctx.views.register(SUBNET_TYPE, (id) => findSubnet(ctx, id)?.subnet)

  ctx.lro.onComplete('virtualNetworks.put', (op) => {
    const vnet = ctx.store.get(op.resourceId)
    if (vnet) setState(vnet, op.status === 'Succeeded' ? 'Succeeded' : 'Failed')
  })
  ctx.lro.onComplete('subnets.put', (op) => {
    const vnet = ctx.store.get(op.lockId)
    if (vnet) setState(vnet, op.status === 'Succeeded' ? 'Succeeded' : 'Failed', asString(op.data['subnet']))
  })
  ctx.lro.onComplete('virtualNetworks.delete', (op) => {
    const vnet = ctx.store.get(op.resourceId)
    if (!vnet) return
    if (op.status === 'Succeeded') ctx.store.removeTree(vnet.id)
    else setState(vnet, 'Failed')
  })
  ctx.lro.onComplete('subnets.delete', (op) => {
    const vnet = ctx.store.get(op.lockId)
    if (!vnet) return
    const name = asString(op.data['subnet'])?.toLowerCase()
    if (op.status !== 'Succeeded') return setState(vnet, 'Failed', name)
    const props = objectAt(vnet.body, 'properties')
    if (props) props['subnets'] = subnetsOf(vnet).filter((s) => asString(s['name'])?.toLowerCase() !== name)
  })
}
