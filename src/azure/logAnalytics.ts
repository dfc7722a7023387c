/** Log Analytics workspace (container logs of the Container Apps environment). */
import type { Workspace } from '@azure/arm-operationalinsights'
import type { LogAnalyticsSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import {
  deleteIgnoringNotFound,
  getOrUndefined,
  lro,
  normalizeLocation,
  normalizeTags,
  tagsForArm
} from './common.js'
import type { Observed, ResourceAddress, ResourceHandler } from './port.js'

export function toArm(spec: LogAnalyticsSpec): Workspace {
  return {
    location: spec.location,
    tags: tagsForArm(spec.tags),
    sku: { name: spec.sku },
    retentionInDays: spec.retentionInDays
  }
}

export function fromArm(ws: Workspace, address?: ResourceAddress): Observed<'logAnalytics'> {
  return {
    kind: 'logAnalytics',
    id: ws.id ?? '',
    name: ws.name ?? address?.name ?? '',
    provisioningState: ws.provisioningState,
    spec: {
      location: normalizeLocation(ws.location),
      tags: normalizeTags(ws.tags),
      sku: ws.sku?.name ?? '',
      retentionInDays: ws.retentionInDays ?? 30
    },
    outputs: { customerId: ws.customerId ?? '' }
  }
}

export function logAnalyticsHandler(clients: AzureClients): ResourceHandler<'logAnalytics'> {
  const ops = clients.operationalInsights.workspaces
  return {
    kind: 'logAnalytics',
    async get(address) {
      const ws = await getOrUndefined(() => ops.get(address.resourceGroup, address.name))
      return ws && fromArm(ws, address)
    },
    async put(address, spec) {
      const ws = await ops.createOrUpdate(
        address.resourceGroup,
        address.name,
        toArm(spec),
        lro(clients.pollIntervalMs)
      )
      return fromArm(ws, address)
    },
    async delete(address) {
      // `force` frees the name at once instead of reserving it for 14 days.
      await deleteIgnoringNotFound(() =>
        ops.delete(address.resourceGroup, address.name, { ...lro(clients.pollIntervalMs), force: true })
      )
    }
  }
}

/** The workspace's primary shared key (POST .../sharedKeys; a read). */
export async function getSharedKey(clients: AzureClients, address: ResourceAddress): Promise<string> {
  const keys = await clients.operationalInsights.sharedKeys.getSharedKeys(address.resourceGroup, address.name)
  if (!keys.primarySharedKey) throw new Error(`workspace '${address.name}' returned no primary shared key`)
  return keys.primarySharedKey
}
