/** Database on the flexible server (`address.parent` = server name). */
import type { Database } from '@azure/arm-postgresql-flexible'
import type { PostgresDatabaseSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import { deleteIgnoringNotFound, getOrUndefined, lro, requireParent } from './common.js'
import type { Observed, ResourceAddress, ResourceHandler } from './port.js'

export function toArm(spec: PostgresDatabaseSpec): Database {
  return { charset: spec.charset, collation: spec.collation }
}

/** The server name from a database id `.../flexibleServers/<server>/databases/<db>`. */
function serverFromId(id: string | undefined): string | undefined {
  const m = id ? /\/flexibleServers\/([^/]+)\/databases\//i.exec(id) : null
  return m?.[1]
}

export function fromArm(
  db: Database,
  extras: { serverName?: string; address?: ResourceAddress } = {}
): Observed<'postgresDatabase'> {
  return {
    kind: 'postgresDatabase',
    id: db.id ?? '',
    name: db.name ?? extras.address?.name ?? '',
    provisioningState: undefined,
    spec: {
      serverName: extras.serverName ?? extras.address?.parent ?? serverFromId(db.id) ?? '',
      charset: db.charset ?? '',
      collation: db.collation ?? ''
    },
    outputs: {}
  }
}

export function postgresDatabaseHandler(clients: AzureClients): ResourceHandler<'postgresDatabase'> {
  const ops = clients.postgres.databases
  return {
    kind: 'postgresDatabase',
    async get(address) {
      const server = requireParent(address, 'postgres database')
      const db = await getOrUndefined(() => ops.get(address.resourceGroup, server, address.name))
      return db && fromArm(db, { serverName: server, address })
    },
    async put(address, spec) {
      const server = address.parent ?? spec.serverName
      const created = await ops.beginCreateAndWait(
        address.resourceGroup,
        server,
        address.name,
        toArm(spec),
        lro(clients.pollIntervalMs)
      )
      const db = created?.id ? created : await ops.get(address.resourceGroup, server, address.name)
      return fromArm(db, { serverName: server, address })
    },
    async delete(address) {
      const server = requireParent(address, 'postgres database')
      await deleteIgnoringNotFound(() =>
        ops.beginDeleteAndWait(address.resourceGroup, server, address.name, lro(clients.pollIntervalMs))
      )
    }
  }
}

/** The names of the server's databases. */
export async function listDatabases(clients: AzureClients, server: ResourceAddress): Promise<string[]> {
  const out: string[] = []
  for await (const db of clients.postgres.databases.listByServer(server.resourceGroup, server.name))
    if (db.name) out.push(db.name)
  return out
}
