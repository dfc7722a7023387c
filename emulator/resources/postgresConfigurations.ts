/**
 * Server parameters of a PostgreSQL flexible server (`…/flexibleServers/{server}/configurations`,
 * Microsoft.DBforPostgreSQL 2025-08-01; examples ConfigurationsGet.json and
 * ConfigurationsListByServer.json): GET one, GET the list. Only the parameters below are known;
 * any other name answers 404 `ConfigurationNotExists` "The configuration '<name>' does not exist
 * for <server> server version <version>." (the service's words, Azure/azure-cli#30691; 404 per a
 * client that handles it, stricter than guessing any other status).
 *
 * A parameter's `value` is the running cluster's `pg_settings.setting` when the server runs here
 * (`--runtime mlflow`), else what the cluster would start with. `source` is `system-default` while
 * the value is the default, `user-override` otherwise (ConfigurationsListByServer.json shows both).
 *
 * Writes (PUT Configurations_Put, PATCH Configurations_Update) are not emulated: they answer 405
 * MethodNotAllowed, stricter than Azure, which accepts them (and needs a restart for a static
 * parameter such as max_connections). The action never writes a server parameter.
 *
 * While the server is still being created, Azure has answered a configuration GET with 500
 * InternalServerError (Azure/azure-rest-api-specs#20424, open); the emulator does the same
 * [unverified whether it still does: stricter].
 */
import type { EmulatorContext } from '../context.js'
import { ArmError, parentResourceNotFound } from '../errors.js'
import { asNumber, asString, stringAt, type JsonObject } from '../json.js'
import { param, type ArmRequest, type ArmResponse, type Router } from '../router.js'
import type { ResourceRecord } from '../store.js'
import { listAnswer } from './common.js'

export const CONFIGURATION_TYPE = 'Microsoft.DBforPostgreSQL/flexibleServers/configurations'

/**
 * The default `max_connections` of each compute (learn.microsoft.com/azure/postgresql/
 * flexible-server/concepts-limits, "Maximum connections"), by the SKU name without `Standard_`,
 * lower case. A compute the table does not list gets the smallest, 50 [unverified: stricter].
 */
const MAX_CONNECTIONS: Record<string, number> = (() => {
  const table: Record<string, number> = {
    b1ms: 50,
    b2s: 429,
    b2ms: 859,
    b4ms: 1718,
    b8ms: 3437,
    b12ms: 5000,
    b16ms: 5000,
    b20ms: 5000
  }
  const four = ['s_v3', 'ds_v4', 'ds_v5', 'ads_v5']
  const rows: [string, number, string[]][] = [
    ['d2', 859, four],
    ['d4', 1718, four],
    ['d8', 3437, four],
    ['d16', 5000, four],
    ['d32', 5000, four],
    ['d48', 5000, four],
    ['d64', 5000, four],
    ['d96', 5000, ['ds_v5', 'ads_v5']],
    ['e2', 1718, four],
    ['e4', 3437, four],
    ['e8', 5000, four],
    ['e16', 5000, four],
    ['e20', 5000, ['ds_v4', 'ds_v5', 'ads_v5']],
    ['e32', 5000, four],
    ['e48', 5000, four],
    ['e64', 5000, four],
    ['e96', 5000, ['ds_v5', 'ads_v5']]
  ]
  for (const [size, max, suffixes] of rows) for (const suffix of suffixes) table[`${size}${suffix}`] = max
  return table
})()
const SMALLEST_MAX_CONNECTIONS = 50

export function defaultMaxConnections(skuName: string | undefined): number {
  const key = (skuName ?? '').replace(/^Standard_/i, '').toLowerCase()
  return MAX_CONNECTIONS[key] ?? SMALLEST_MAX_CONNECTIONS
}

/**
 * The server's `max_connections`: computed from its compute when it was created and kept ("Any
 * subsequent changes of product selection to the compute that supports the instance won't have
 * any effect on the default value for the max_connections server parameter", concepts-limits).
 * A server stored by an earlier emulator gets it from its current compute.
 */
export function serverMaxConnections(server: ResourceRecord): number {
  const kept = asNumber(server.internal['maxConnections'])
  if (kept !== undefined) return kept
  const computed = defaultMaxConnections(stringAt(server.body, 'sku', 'name'))
  server.internal['maxConnections'] = computed
  return computed
}

interface Parameter {
  name: string
  description: string
  dataType: 'Boolean' | 'Integer'
  allowedValues: string
  /** The value the server starts with. */
  defaultValue: (server: ResourceRecord) => string
  isDynamicConfig: boolean
  isReadOnly: boolean
  /** Page and anchor under https://www.postgresql.org/docs/<version>/. */
  documentation: string
  /** The first major version that has the parameter. */
  since?: number
}

/**
 * What the emulator knows: the connection limits it enforces, with Azure's attributes (server
 * parameters pages "Connections and Authentication / Connection Settings" for PostgreSQL 16-18:
 * max_connections static, 25-5000; superuser_reserved_connections 10 and reserved_connections 5,
 * read-only; descriptions as Azure words them), and array_nulls, as ConfigurationsGet.json shows it.
 */
const PARAMETERS: Parameter[] = [
  {
    name: 'array_nulls',
    description:
      "Enables input of NULL (case insensitive) to be considered as NULL value rather than the literal String 'NULL'.",
    dataType: 'Boolean',
    allowedValues: 'on,off',
    defaultValue: () => 'on',
    isDynamicConfig: true,
    isReadOnly: false,
    documentation: 'runtime-config-compatible.html#GUC-ARRAY-NULLS'
  },
  {
    name: 'max_connections',
    description: 'Sets the maximum number of concurrent connections.',
    dataType: 'Integer',
    allowedValues: '25-5000',
    defaultValue: (server) => String(serverMaxConnections(server)),
    isDynamicConfig: false,
    isReadOnly: false,
    documentation: 'runtime-config-connection.html#GUC-MAX-CONNECTIONS'
  },
  {
    name: 'reserved_connections',
    description:
      'Sets the number of connection slots reserved for roles with privileges of pg_use_reserved_connections.',
    dataType: 'Integer',
    allowedValues: '5',
    defaultValue: () => '5',
    isDynamicConfig: false,
    isReadOnly: true,
    documentation: 'runtime-config-connection.html#GUC-RESERVED-CONNECTIONS',
    since: 16
  },
  {
    name: 'superuser_reserved_connections',
    description: 'Sets the number of connection slots reserved for superusers.',
    dataType: 'Integer',
    allowedValues: '10',
    defaultValue: () => '10',
    isDynamicConfig: false,
    isReadOnly: true,
    documentation: 'runtime-config-connection.html#GUC-SUPERUSER-RESERVED-CONNECTIONS'
  }
]

function versionOf(server: ResourceRecord): string {
  return stringAt(server.body, 'properties', 'version') ?? '16'
}

function parametersOf(server: ResourceRecord): Parameter[] {
  const major = Number(versionOf(server))
  return PARAMETERS.filter((p) => !p.since || !Number.isFinite(major) || major >= p.since)
}

function configurationView(
  server: ResourceRecord,
  parameter: Parameter,
  actual: Record<string, string> | undefined
): JsonObject {
  const defaultValue = parameter.defaultValue(server)
  const value = actual?.[parameter.name] ?? defaultValue
  return {
    id: `${server.id}/configurations/${parameter.name}`,
    name: parameter.name,
    type: CONFIGURATION_TYPE,
    properties: {
      value,
      description: parameter.description,
      defaultValue,
      dataType: parameter.dataType,
      allowedValues: parameter.allowedValues,
      source: value === defaultValue ? 'system-default' : 'user-override',
      isDynamicConfig: parameter.isDynamicConfig,
      isReadOnly: parameter.isReadOnly,
      isConfigPendingRestart: false,
      documentationLink: `https://www.postgresql.org/docs/${versionOf(server)}/${parameter.documentation}`
    }
  }
}

export function registerPostgresConfigurations(
  ctx: EmulatorContext,
  router: Router,
  base: string,
  serverIdOf: (req: ArmRequest) => string
): void {
  const serverOf = (req: ArmRequest): ResourceRecord => {
    const id = serverIdOf(req)
    const server = ctx.store.get(id)
    if (!server) throw parentResourceNotFound(id)
    if (stringAt(server.body, 'properties', 'state') === 'Provisioning') {
      throw new ArmError(
        500,
        'InternalServerError',
        'An unexpected error occured while processing the request.'
      )
    }
    return server
  }
  /** The running cluster's values, when there is one. */
  const actual = async (server: ResourceRecord, names: string[]) =>
    ctx.backends.postgres?.settings(asString(server.body['name']) ?? '', names).catch(() => undefined)

  router.add('GET', `${base}/{server}/configurations/{configuration}`, async (req): Promise<ArmResponse> => {
    const server = serverOf(req)
    const name = param(req, 'configuration')
    const parameter = parametersOf(server).find((p) => p.name === name.toLowerCase())
    if (!parameter) {
      throw new ArmError(
        404,
        'ConfigurationNotExists',
        `The configuration '${name}' does not exist for ${asString(server.body['name'])} server version ${versionOf(server)}.`
      )
    }
    const view = configurationView(server, parameter, await actual(server, [parameter.name]))
    return { status: 200, body: view }
  })

  router.add('GET', `${base}/{server}/configurations`, async (req): Promise<ArmResponse> => {
    const server = serverOf(req)
    const parameters = parametersOf(server)
    const values = await actual(
      server,
      parameters.map((p) => p.name)
    )
    return listAnswer(parameters.map((p) => configurationView(server, p, values)))
  })
}
