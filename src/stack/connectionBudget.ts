/**
 * How many PostgreSQL connections an MLflow server may open, and whether one more server still fits
 * on the base stack's PostgreSQL server. Pure: fed with the containers and the server's setting.
 *
 * Each uvicorn worker of `mlflow server` is its own process with its own SQLAlchemy engines: the
 * tracking store and the model registry store each keep one per database URI (`_engine_map` in
 * `mlflow/store/tracking/sqlalchemy_store.py` and `mlflow/store/model_registry/sqlalchemy_store.py`,
 * 3.15–3.17), and basic auth one more (`mlflow/server/auth/sqlalchemy_store.py`). An engine's pool
 * holds at most `pool_size + max_overflow` connections; MLflow sets them from
 * `MLFLOW_SQLALCHEMYSTORE_POOL_SIZE` / `MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW` only when they are
 * truthy (`create_sqlalchemy_engine` in `mlflow/store/db/utils.py`: a 0 is ignored), else
 * SQLAlchemy's QueuePool defaults 5 + 10 apply.
 */
import type { ContainerSpec, EnvVar } from './specs.js'

export const POOL_SIZE = 1
/** At least 1: MLflow ignores a 0 and SQLAlchemy's default overflow of 10 would apply. */
export const POOL_MAX_OVERFLOW = 1
const SQLALCHEMY_DEFAULT_POOL = 5
const SQLALCHEMY_DEFAULT_OVERFLOW = 10
/** `mlflow server` without `--workers` starts 4 (reference/mlflow-server.md). */
const MLFLOW_DEFAULT_WORKERS = 4
/**
 * Azure keeps 15 of `max_connections` for replication and monitoring: users get the rest
 * (learn.microsoft.com/azure/postgresql/flexible-server/concepts-limits, "Maximum connections").
 */
export const AZURE_RESERVED_CONNECTIONS = 15
/**
 * A running migration or PR database job: its own connections (the admin's and the new role's).
 * Jobs run under the stack's lock, one at a time.
 */
export const JOB_CONNECTIONS = 2

/** Bounded pools for every MLflow container the action writes. */
export function poolEnv(): EnvVar[] {
  return [
    { name: 'MLFLOW_SQLALCHEMYSTORE_POOL_SIZE', value: String(POOL_SIZE) },
    { name: 'MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW', value: String(POOL_MAX_OVERFLOW) }
  ]
}

function positiveEnv(container: ContainerSpec, name: string): number | undefined {
  const value = container.env.find((e) => e.name === name)?.value
  const n = value === undefined ? NaN : Number(value)
  return Number.isInteger(n) && n > 0 ? n : undefined
}

/** The most connections one replica of this container can hold open. */
export function connectionsPerReplica(container: ContainerSpec): number {
  const line = [...container.command, ...container.args].join(' ')
  const workers = Number(/--workers['"\s=]+(\d+)/.exec(line)?.[1] ?? MLFLOW_DEFAULT_WORKERS)
  const perEngine =
    (positiveEnv(container, 'MLFLOW_SQLALCHEMYSTORE_POOL_SIZE') ?? SQLALCHEMY_DEFAULT_POOL) +
    (positiveEnv(container, 'MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW') ?? SQLALCHEMY_DEFAULT_OVERFLOW)
  // The OIDC plugin's user store is its own engine with SQLAlchemy's defaults [unverified: the
  // plugin's pool settings were not read]; counted at the default, which only over-counts.
  const auth = /--app-name['"\s=]+basic-auth/.test(line)
    ? perEngine
    : /--app-name['"\s=]+oidc-auth/.test(line)
      ? SQLALCHEMY_DEFAULT_POOL + SQLALCHEMY_DEFAULT_OVERFLOW
      : 0
  return workers * (2 * perEngine + auth)
}

export interface BudgetServer {
  /** Shown to the user: `base app team-a-mlflow`, `PR #12 (team-a-pr12)`. */
  label: string
  connections: number
}

export interface BudgetCheck {
  fits: boolean
  available: number
  needed: number
  /** One paragraph with every number, for the refusal and the log. */
  description: string
}

/**
 * Every server at its most (replicas × its per-replica maximum) plus one job: they must fit in the
 * user connections the PostgreSQL server accepts, else a server fails to connect under load.
 */
export function checkConnectionBudget(opts: {
  serverName: string
  sku: string
  maxConnections: number
  existing: readonly BudgetServer[]
  adding: BudgetServer
}): BudgetCheck {
  const available = opts.maxConnections - AZURE_RESERVED_CONNECTIONS
  const used = opts.existing.reduce((sum, s) => sum + s.connections, 0)
  const needed = used + JOB_CONNECTIONS + opts.adding.connections
  const parts = [
    ...opts.existing.map((s) => `${s.label} up to ${s.connections}`),
    `a migration job ${JOB_CONNECTIONS}`,
    `${opts.adding.label} ${opts.adding.connections}`
  ]
  const description =
    `PostgreSQL server ${opts.serverName} (${opts.sku}) accepts ${available} user connections ` +
    `(max_connections ${opts.maxConnections} − ${AZURE_RESERVED_CONNECTIONS} reserved by Azure); ` +
    `${parts.join(', ')}: ${needed} ${needed <= available ? '≤' : '>'} ${available}`
  return { fits: needed <= available, available, needed, description }
}
