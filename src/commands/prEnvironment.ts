/**
 * What `pr-up` checks and reads from the base stack before it plans: the base exists, the PR's
 * number is not another repository's, the storage mode fits the base's account, and the base's
 * PostgreSQL server has room for one more server's connections. All of it before any write.
 */
import type { AzurePort, Observed } from '../azure/port.js'
import type { DeployConfig, PrSettings } from '../config/inputs.js'
import { checkConnectionBudget, connectionsPerReplica, type BudgetServer } from '../stack/connectionBudget.js'
import type { AnyDesired, DesiredResource } from '../stack/desired.js'
import { stackAddresses, type ActualState } from '../stack/graph.js'
import { SECRET_BACKEND_STORE_URI, SECRET_STORAGE_KEY } from '../stack/mlflowContainer.js'
import { BASE_KEYS, PR_REPOSITORY_TAG, PR_TAG, adminDatabaseUri } from '../stack/prEnvironment.js'
import type { Log } from './log.js'

/** The PR environment cannot be made as asked; nothing was written. */
export class PrEnvironmentRefusedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PrEnvironmentRefusedError'
  }
}

export interface BaseFacts {
  /** The base server admin's URI to the `postgres` database (for the PR's role job). */
  adminDatabaseUri: string
  /** The storage key the base app serves with (key mode): the PR app uses the same. */
  storageKey?: string
  baseApp: Observed<'containerApp'>
}

function secret(app: Observed<'containerApp'>, name: string): string | undefined {
  return app.spec.secrets.find((s) => s.name === name)?.value
}

export type PrConfig = DeployConfig & { pr: PrSettings }

/** Reads the base app and refuses a PR environment that has no base to stand on. */
export async function readBase(
  config: PrConfig,
  port: AzurePort,
  actual: ActualState,
  log: Log
): Promise<BaseFacts> {
  const base = stackAddresses(config.pr.baseNames)
  const missing = BASE_KEYS.filter((k) => !actual[k]).map((k) => `${k} ${base[k].name}`)
  const baseApp = missing.length === 0 ? await port.handlers.containerApp.get(base.containerApp) : undefined
  if (!baseApp) missing.push(`containerApp ${config.pr.baseNames.containerApp}`)
  if (missing.length > 0 || !baseApp) {
    throw new PrEnvironmentRefusedError(
      `PR environment #${config.pr.number} refused before any change: its base stack ${config.stackName} is not ` +
        `deployed in ${config.names.resourceGroup} (missing: ${missing.join(', ')}). Run deploy for the base ` +
        'stack first, with the same stack-name, resource-group and storage-account-name.'
    )
  }
  for (const s of baseApp.spec.secrets) log.mask(s.value)
  const uri = secret(baseApp, SECRET_BACKEND_STORE_URI)
  if (!uri) {
    throw new PrEnvironmentRefusedError(
      `PR environment #${config.pr.number} refused: the base app ${baseApp.name} holds no ${SECRET_BACKEND_STORE_URI} ` +
        'secret (was it deployed by this action?).'
    )
  }
  const adminUri = adminDatabaseUri(uri)
  log.mask(adminUri)
  const key = secret(baseApp, SECRET_STORAGE_KEY)
  return { adminDatabaseUri: adminUri, ...(key ? { storageKey: key } : {}), baseApp }
}

/** Refusals that need only what was read: another repository's PR, a storage mode the base forbids. */
export function prRefusals(config: PrConfig, actual: ActualState): string[] {
  const out: string[] = []
  const owner =
    actual.containerApp?.spec.tags[PR_REPOSITORY_TAG] ?? actual.migrationJob?.spec.tags[PR_REPOSITORY_TAG]
  if (owner && config.pr.repository && owner.toLowerCase() !== config.pr.repository.toLowerCase()) {
    out.push(
      `PR environment #${config.pr.number} on stack ${config.stackName} belongs to ${owner}, not ${config.pr.repository}: ` +
        'one base stack serves the pull requests of one repository (give this repository a base stack of its own).'
    )
  }
  if (
    config.storageAuth === 'access-key' &&
    actual.storageAccount &&
    !actual.storageAccount.spec.allowSharedKeyAccess
  ) {
    out.push(
      `storage-auth 'access-key' cannot work on base stack ${config.stackName}: its storage account ` +
        `${config.names.storageAccount} takes no shared keys (the base is keyless). Use storage-auth: managed-identity.`
    )
  }
  return out
}

/** The other servers on the base's PostgreSQL server, and whether this PR's still fits. */
export async function checkBudget(
  config: PrConfig,
  port: AzurePort,
  actual: ActualState,
  base: BaseFacts,
  desired: readonly AnyDesired[]
): Promise<string | undefined> {
  const server = actual.postgresServer!
  const [maxConnections, apps] = await Promise.all([
    port.getPostgresMaxConnections(stackAddresses(config.pr.baseNames).postgresServer),
    port.listContainerApps(config.names.resourceGroup)
  ])
  const serving = (app: Observed<'containerApp'>): BudgetServer => ({
    label:
      app.name === base.baseApp.name
        ? `the base app ${app.name}`
        : `PR #${app.spec.tags[PR_TAG]} (${app.name})`,
    connections: app.spec.maxReplicas * connectionsPerReplica(app.spec.container)
  })
  const others = apps.filter(
    (a) =>
      a.spec.tags['mlflow-stack'] === config.stackName &&
      a.spec.tags[PR_TAG] !== undefined &&
      a.name !== config.names.containerApp
  )
  const app = (desired.find((d) => d.key === 'containerApp') as DesiredResource<'containerApp'>).spec
  const check = checkConnectionBudget({
    serverName: server.name,
    sku: server.spec.skuName,
    maxConnections,
    existing: [serving(base.baseApp), ...others.map(serving)],
    adding: {
      label: `this PR environment #${config.pr.number}`,
      connections: app.maxReplicas * connectionsPerReplica(app.container)
    }
  })
  if (check.fits) return undefined
  return (
    `PR environment #${config.pr.number} refused before any change: the connection budget would be exceeded. ` +
    `${check.description}. Fix: give the base stack a bigger postgres-sku (Standard_B2s accepts 414 user ` +
    `connections), or remove PR environments (pr-down, or gc for expired and closed ones).`
  )
}
