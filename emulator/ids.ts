/**
 * ARM resource ids: building them in canonical case and reading them back case-insensitively
 * (clients feed ids from one resource into another, in whatever case they were given).
 */

const NAMESPACES = [
  'Microsoft.Resources',
  'Microsoft.App',
  'Microsoft.Network',
  'Microsoft.Storage',
  'Microsoft.DBforPostgreSQL',
  'Microsoft.OperationalInsights',
  'Microsoft.ManagedIdentity',
  'Microsoft.Authorization',
  'Microsoft.MachineLearningServices'
]

export const RESOURCE_GROUP_TYPE = 'Microsoft.Resources/resourceGroups'

export function canonicalNamespace(ns: string): string {
  return NAMESPACES.find((n) => n.toLowerCase() === ns.toLowerCase()) ?? ns
}

export const idKey = (id: string): string => id.toLowerCase().replace(/\/+$/, '')

export function resourceGroupId(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`
}

/** `segments` alternate type and name: ['virtualNetworks', 'vnet1', 'subnets', 'aca']. */
export function providerResourceId(
  subscriptionId: string,
  resourceGroup: string,
  namespace: string,
  segments: string[]
): string {
  return `${resourceGroupId(subscriptionId, resourceGroup)}/providers/${namespace}/${segments.join('/')}`
}

export interface ParsedId {
  subscriptionId: string
  resourceGroup: string
  namespace: string
  /** type/name pairs below the namespace, e.g. [{type:'virtualNetworks',name:'v'},{type:'subnets',name:'s'}] */
  segments: { type: string; name: string }[]
}

export function parseResourceId(id: string): ParsedId | undefined {
  const parts = id.split('/').filter(Boolean)
  if (parts.length < 8 || parts.length % 2 !== 0) return undefined
  const [subs, subscriptionId, rgs, resourceGroup, providers, namespace, ...rest] = parts
  if (subs?.toLowerCase() !== 'subscriptions' || rgs?.toLowerCase() !== 'resourcegroups') return undefined
  if (providers?.toLowerCase() !== 'providers' || !subscriptionId || !resourceGroup || !namespace)
    return undefined
  const segments: { type: string; name: string }[] = []
  for (let i = 0; i < rest.length; i += 2) segments.push({ type: rest[i] ?? '', name: rest[i + 1] ?? '' })
  return { subscriptionId, resourceGroup, namespace, segments }
}

/** `Microsoft.App/containerApps/app/revisions/r` — the part ARM quotes in its error messages. */
export function resourcePath(id: string): string {
  const i = id.toLowerCase().indexOf('/providers/')
  if (i >= 0) return id.slice(i + '/providers/'.length)
  const rg = /\/resourceGroups\/([^/]+)$/i.exec(id)
  return rg ? `Microsoft.Resources/resourceGroups/${rg[1]}` : id
}

/** Canonical-ish type of an id: `Microsoft.Network/virtualNetworks/subnets` (case as given). */
export function typeOfId(id: string): string {
  const parsed = parseResourceId(id)
  if (!parsed) return RESOURCE_GROUP_TYPE
  return [parsed.namespace, ...parsed.segments.map((s) => s.type)].join('/')
}

export function sameId(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && idKey(a) === idKey(b)
}

/** The id one level up: a subnet's VNet, a VNet's resource group. */
export function parentId(id: string): string {
  const parts = id.split('/').filter(Boolean)
  const providersAt = parts.findIndex((p) => p.toLowerCase() === 'providers')
  if (providersAt >= 0 && parts.length - providersAt <= 4) return `/${parts.slice(0, providersAt).join('/')}`
  return `/${parts.slice(0, -2).join('/')}`
}

export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
