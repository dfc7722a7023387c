/**
 * PostgreSQL flexible server with private access (delegated `db` subnet + private DNS zone). The admin
 * password is write-only: sent on create and on recovery, never read back.
 */
import type { Server } from '@azure/arm-postgresql-flexible'
import type { PostgresServerSpec } from '../stack/specs.js'
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

export function toArm(spec: PostgresServerSpec): Server {
  const server: Server = {
    location: spec.location,
    tags: tagsForArm(spec.tags),
    sku: { name: spec.skuName, tier: spec.skuTier },
    administratorLogin: spec.administratorLogin,
    version: spec.version,
    storage: { storageSizeGB: spec.storageSizeGB },
    network: {
      publicNetworkAccess: spec.publicNetworkAccess,
      delegatedSubnetResourceId: spec.delegatedSubnetId,
      privateDnsZoneArmResourceId: spec.privateDnsZoneId
    },
    highAvailability: { mode: spec.highAvailability }
  }
  if (spec.administratorLoginPassword !== undefined)
    server.administratorLoginPassword = spec.administratorLoginPassword
  return server
}

/** The server reports `state` instead of `provisioningState`; `Ready` is the provisioned state. */
export function provisioningStateOf(state: string | undefined): string | undefined {
  if (state === undefined) return undefined
  return state.toLowerCase() === 'ready' ? 'Succeeded' : state
}

export function fromArm(server: Server, address?: ResourceAddress): Observed<'postgresServer'> {
  return {
    kind: 'postgresServer',
    id: server.id ?? '',
    name: server.name ?? address?.name ?? '',
    provisioningState: provisioningStateOf(server.state),
    spec: {
      location: normalizeLocation(server.location),
      tags: normalizeTags(server.tags),
      skuName: server.sku?.name ?? '',
      skuTier: server.sku?.tier ?? '',
      version: server.version === undefined ? '' : String(server.version),
      storageSizeGB: server.storage?.storageSizeGB ?? 0,
      administratorLogin: server.administratorLogin ?? '',
      delegatedSubnetId: server.network?.delegatedSubnetResourceId ?? '',
      privateDnsZoneId: server.network?.privateDnsZoneArmResourceId ?? '',
      publicNetworkAccess: (server.network?.publicNetworkAccess ?? 'Disabled') as 'Disabled',
      highAvailability: (server.highAvailability?.mode ?? 'Disabled') as 'Disabled'
    },
    outputs: { fqdn: server.fullyQualifiedDomainName ?? '', state: server.state ?? '' }
  }
}

export function postgresServerHandler(clients: AzureClients): ResourceHandler<'postgresServer'> {
  const ops = clients.postgres.servers
  return {
    kind: 'postgresServer',
    async get(address) {
      const server = await getOrUndefined(() => ops.get(address.resourceGroup, address.name))
      return server && fromArm(server, address)
    },
    async put(address, spec) {
      const server = await ops.beginCreateOrUpdateAndWait(
        address.resourceGroup,
        address.name,
        toArm(spec),
        lro(clients.pollIntervalMs)
      )
      // The AutoRest client yields `{}` when the final response has no body; read the server then.
      return fromArm(server?.id ? server : await ops.get(address.resourceGroup, address.name), address)
    },
    async delete(address) {
      await deleteIgnoringNotFound(() =>
        ops.beginDeleteAndWait(address.resourceGroup, address.name, lro(clients.pollIntervalMs))
      )
    }
  }
}

/** PATCH with only the admin password: the recovery path when the password is no longer known. */
export async function setPassword(
  clients: AzureClients,
  address: ResourceAddress,
  password: string
): Promise<void> {
  await clients.postgres.servers.beginUpdateAndWait(
    address.resourceGroup,
    address.name,
    { administratorLoginPassword: password },
    lro(clients.pollIntervalMs)
  )
}

/** The server's earliest point-in-time restore moment (its `backup.earliestRestoreDate`). */
export async function getRestoreWindow(
  clients: AzureClients,
  address: ResourceAddress
): Promise<{ earliest?: string }> {
  const server = await clients.postgres.servers.get(address.resourceGroup, address.name)
  const earliest = server.backup?.earliestRestoreDate
  return earliest ? { earliest: new Date(earliest).toISOString() } : {}
}

/** The server parameter `max_connections` (static: it changes only with a restart). */
export async function getMaxConnections(clients: AzureClients, server: ResourceAddress): Promise<number> {
  const c = await clients.postgres.configurations.get(server.resourceGroup, server.name, 'max_connections')
  const n = Number(c.value)
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(
      `PostgreSQL server ${server.name} reports max_connections '${c.value ?? ''}', not a number`
    )
  return n
}
