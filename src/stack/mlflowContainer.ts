/**
 * The MLflow server container: how it starts, what it is told through env, and how its health is
 * probed. Secrets only ever arrive through `secretRef` env vars, never in the command line.
 */
import { ADMIN_USERNAME, type AuthSettings } from '../config/auth.js'
import { imageNeedsBlobClientInstall, type MlflowVersion } from '../config/image.js'
import { UNKNOWN } from './facts.js'
import { poolEnv } from './connectionBudget.js'
import type { ContainerSpec, EnvVar, Probe, SecretSpec } from './specs.js'

export const MLFLOW_PORT = 5000
export const SECRET_BACKEND_STORE_URI = 'backend-store-uri'
export const SECRET_STORAGE_KEY = 'storage-access-key'
export const SECRET_ADMIN_PASSWORD = 'admin-password'
export const SECRET_FLASK_KEY = 'flask-secret-key'
export const SECRET_AUTH_DATABASE_URI = 'auth-database-uri'
export const SECRET_OIDC_CLIENT = 'oidc-client-secret'
/**
 * The OIDC plugin is not in the image, so this release is installed at start-up. 10.x and later
 * need Python 3.11, and the -full image runs Python 3.10; 9.0.5 supports MLflow 3.16 and later.
 */
export const OIDC_PLUGIN_PIN = 'mlflow-oidc-auth==9.0.5'

/** The release whose blob client the pre-3.11 images get at start-up (the version MLflow 3.11 ships). */
const BLOB_CLIENT_PIN = 'azure-storage-blob==12.31.1'
/** What MLflow's DefaultAzureCredential path needs; the `-full` image has it from 3.11 on. */
const IDENTITY_CLIENT_PIN = 'azure-identity==1.27.0'

/** How MLflow reaches blob storage: a key in a secret, or the app's managed identity. */
export type StorageAccess = { mode: 'access-key' } | { mode: 'managed-identity'; clientId: string }

export interface MlflowContainerInput {
  image: string
  version: MlflowVersion
  fqdn: string
  /** The names of the app's revisions (`<app>--*.<domain>`): the rollout's gate calls them. */
  revisionHosts: string
  storageAccount: string
  blobContainer: string
  cpu: number
  memory: string
  auth: AuthSettings
  storage: StorageAccess
  /** uvicorn worker processes; each holds its own database pools. */
  workers: number
}

/**
 * The driver is named: SQLAlchemy 2.1 (which the OIDC plugin brings) maps a bare `postgresql://`
 * to psycopg 3, while the image ships psycopg2 (MLflow's `db` extra).
 */
export function backendStoreUri(opts: {
  login: string
  password: string
  host: string
  database: string
}): string {
  return (
    `postgresql+psycopg2://${encodeURIComponent(opts.login)}:${encodeURIComponent(opts.password)}` +
    `@${opts.host}:5432/${opts.database}?sslmode=require`
  )
}

/** Reads the password back out of a backend-store URI written by `backendStoreUri`. */
export function passwordFromBackendStoreUri(uri: string): string | undefined {
  try {
    const url = new URL(uri)
    return url.password === '' ? undefined : decodeURIComponent(url.password)
  } catch {
    return undefined
  }
}

function serverArgs(input: MlflowContainerInput): string[] {
  return [
    'server',
    '--host',
    '0.0.0.0',
    '--port',
    String(MLFLOW_PORT),
    '--artifacts-destination',
    `wasbs://${input.blobContainer}@${input.storageAccount}.blob.core.windows.net/`,
    // The security middleware stays on: only the app's own name may be used to reach it.
    '--allowed-hosts',
    `${input.fqdn},${input.fqdn}:*,${input.revisionHosts},${input.revisionHosts}:*`,
    '--cors-allowed-origins',
    `https://${input.fqdn}`,
    '--workers',
    String(input.workers)
  ]
}

/**
 * What Container Apps accepts for a probe, intersected across its sources so that no region or API
 * version refuses it: the 2026-07-01 spec (`ContainerAppProbe`: failureThreshold 1–10,
 * initialDelaySeconds 1–60, periodSeconds 1–240, timeoutSeconds 1–240) and the service's
 * `ContainerAppProbeFailureThresholdOutOfRange` "must be in the range of ['1', '30']"
 * (microsoft/azure-container-apps#1100), which we apply to every value.
 */
export const PROBE_LIMITS = {
  failureThreshold: [1, 10],
  initialDelaySeconds: [1, 30],
  periodSeconds: [1, 30],
  timeoutSeconds: [1, 30]
} as const satisfies Record<string, readonly [number, number]>

export function probes(): Probe[] {
  const probe = (
    type: Probe['type'],
    t: Pick<Probe, 'initialDelaySeconds' | 'periodSeconds' | 'failureThreshold'>
  ): Probe => ({ type, path: '/health', port: MLFLOW_PORT, timeoutSeconds: 5, ...t })
  return [
    // A first start migrates an empty database and may pip install: it may take 10 + 30 × 10 =
    // 310 s. The window comes from a long period, not from more failures than Azure allows.
    probe('Startup', { initialDelaySeconds: 10, periodSeconds: 30, failureThreshold: 10 }),
    probe('Liveness', { initialDelaySeconds: 1, periodSeconds: 30, failureThreshold: 3 }),
    probe('Readiness', { initialDelaySeconds: 1, periodSeconds: 10, failureThreshold: 3 })
  ]
}

/** Quotes a word for bash, so hosts like `x:*` are never globbed or split. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/**
 * Basic auth reads its database URI only from an INI file, and its admin password only when the
 * admin user is first created. This start-up step writes the INI from the secret env vars (so the
 * password-bearing URI is never in the command line) and keeps the admin password in step with
 * the secret, so a changed `admin-password` input takes effect on the next revision start.
 */
export const BASIC_AUTH_BOOTSTRAP = [
  'import os',
  'from pathlib import Path',
  'uri = os.environ["MLFLOW_AUTH_DATABASE_URI"]',
  'password = os.environ["MLFLOW_AUTH_ADMIN_PASSWORD"]',
  // MLflow up to 3.15 reads the admin password only from this file (config["mlflow"]["admin_password"],
  // a KeyError when absent); later releases prefer the environment. The file is the container's own,
  // readable by its user alone, and the value never reaches a command line.
  'config = Path(os.environ["MLFLOW_AUTH_CONFIG_PATH"])',
  'config.touch(mode=0o600)',
  'config.write_text(',
  '    "[mlflow]\\ndefault_permission = READ\\ndatabase_uri = " + uri.replace("%", "%%")',
  `    + "\\nadmin_username = ${ADMIN_USERNAME}\\nadmin_password = " + password.replace("%", "%%") + "\\n"`,
  ')',
  'from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore',
  'store = SqlAlchemyStore()',
  'store.init_db(uri)',
  `if store.has_user("${ADMIN_USERNAME}") and not store.authenticate_user("${ADMIN_USERNAME}", password):`,
  `    store.update_user("${ADMIN_USERNAME}", password=password)`,
  `    print("mlflow-azure-action: updated the password of MLflow user ${ADMIN_USERNAME}")`
].join('\n')

function authEnv(input: MlflowContainerInput): EnvVar[] {
  const { auth } = input
  switch (auth.mode) {
    case 'none':
      return []
    case 'basic':
      return [
        { name: 'MLFLOW_AUTH_ADMIN_USERNAME', value: ADMIN_USERNAME },
        { name: 'MLFLOW_AUTH_ADMIN_PASSWORD', secretRef: SECRET_ADMIN_PASSWORD },
        { name: 'MLFLOW_AUTH_DATABASE_URI', secretRef: SECRET_AUTH_DATABASE_URI },
        // CSRF tokens must verify on every replica, so the key is one shared secret.
        { name: 'MLFLOW_FLASK_SERVER_SECRET_KEY', secretRef: SECRET_FLASK_KEY }
      ]
    case 'oidc':
      return [
        { name: 'OIDC_DISCOVERY_URL', value: auth.discoveryUrl },
        { name: 'OIDC_CLIENT_ID', value: auth.clientId },
        { name: 'OIDC_CLIENT_SECRET', secretRef: SECRET_OIDC_CLIENT },
        { name: 'OIDC_REDIRECT_URI', value: `https://${input.fqdn}/callback` },
        { name: 'OIDC_SCOPE', value: auth.scope },
        { name: 'OIDC_GROUP_NAME', value: auth.userGroup },
        { name: 'OIDC_ADMIN_GROUP_NAME', value: auth.adminGroup },
        { name: 'OIDC_PROVIDER_DISPLAY_NAME', value: auth.providerName },
        { name: 'OIDC_USERS_DB_URI', secretRef: SECRET_AUTH_DATABASE_URI },
        { name: 'SECRET_KEY', secretRef: SECRET_FLASK_KEY }
      ]
  }
}

/**
 * MLflow's AzureBlobArtifactRepository takes a key when `AZURE_STORAGE_ACCESS_KEY` is set at all,
 * else DefaultAzureCredential (next-capabilities §4.1): keyless mode sets no key variable, names
 * the user-assigned identity by its client id (azure-identity reads AZURE_CLIENT_ID) and keeps the
 * credential chain to managed identity.
 */
function storageEnv(storage: StorageAccess): EnvVar[] {
  if (storage.mode === 'access-key')
    return [{ name: 'AZURE_STORAGE_ACCESS_KEY', secretRef: SECRET_STORAGE_KEY }]
  return [
    { name: 'AZURE_CLIENT_ID', value: storage.clientId },
    { name: 'AZURE_TOKEN_CREDENTIALS', value: 'ManagedIdentityCredential' }
  ]
}

/** How a container (as written, or as a revision runs it) reaches blob storage, if at all. */
export function storageAccessOf(container: ContainerSpec): StorageAccess['mode'] | undefined {
  if (container.env.some((e) => e.name === 'AZURE_STORAGE_ACCESS_KEY')) return 'access-key'
  if (container.env.some((e) => e.name === 'AZURE_CLIENT_ID')) return 'managed-identity'
  return undefined
}

export function mlflowContainer(input: MlflowContainerInput): ContainerSpec {
  const env: EnvVar[] = [
    { name: 'MLFLOW_BACKEND_STORE_URI', secretRef: SECRET_BACKEND_STORE_URI },
    ...storageEnv(input.storage),
    // The job runner starts several extra processes that a small container cannot hold.
    { name: 'MLFLOW_SERVER_ENABLE_JOB_EXECUTION', value: 'false' },
    // Bounded pools: the servers of a stack and its PR environments share one connection limit.
    ...poolEnv(),
    ...authEnv(input)
  ]
  const appName =
    input.auth.mode === 'basic'
      ? ['--app-name', 'basic-auth']
      : input.auth.mode === 'oidc'
        ? ['--app-name', 'oidc-auth']
        : []
  const args = [...serverArgs(input), ...appName]

  const setup: string[] = []
  const pip = [
    ...(imageNeedsBlobClientInstall(input.version) ? [BLOB_CLIENT_PIN] : []),
    ...(imageNeedsBlobClientInstall(input.version) && input.storage.mode === 'managed-identity'
      ? [IDENTITY_CLIENT_PIN]
      : []),
    ...(input.auth.mode === 'oidc' ? [OIDC_PLUGIN_PIN] : [])
  ]
  if (pip.length > 0) setup.push(`pip install --no-cache-dir ${pip.join(' ')}`)
  if (input.auth.mode === 'basic') {
    setup.push('export MLFLOW_AUTH_CONFIG_PATH="$(mktemp -d)/basic_auth.ini"')
    setup.push(`python -c ${shellQuote(BASIC_AUTH_BOOTSTRAP)}`)
  }
  if (setup.length === 0) return base(input, ['mlflow'], args, env)
  const script = ['set -e', ...setup, `exec mlflow ${args.map(shellQuote).join(' ')}`].join('\n')
  return base(input, ['/bin/bash', '-c'], [script], env)
}

function base(input: MlflowContainerInput, command: string[], args: string[], env: EnvVar[]): ContainerSpec {
  return {
    name: 'mlflow',
    image: input.image,
    command,
    args,
    env,
    cpu: input.cpu,
    memory: input.memory,
    probes: probes()
  }
}

export function appSecrets(opts: {
  backendStoreUri: string
  /** Absent in keyless mode: the app then holds no key at all. */
  storageKey?: string
  auth: AuthSettings
  authDatabaseUri: string
  flaskSecretKey: string
  /** The password the app holds now: kept when the input does not give one (plan). */
  currentAdminPassword?: string
}): SecretSpec[] {
  const secrets: SecretSpec[] = [
    { name: SECRET_BACKEND_STORE_URI, value: opts.backendStoreUri },
    ...(opts.storageKey !== undefined ? [{ name: SECRET_STORAGE_KEY, value: opts.storageKey }] : [])
  ]
  if (opts.auth.mode !== 'none') {
    secrets.push(
      { name: SECRET_AUTH_DATABASE_URI, value: opts.authDatabaseUri },
      { name: SECRET_FLASK_KEY, value: opts.flaskSecretKey }
    )
  }
  if (opts.auth.mode === 'basic') {
    const value = opts.auth.adminPassword ?? opts.currentAdminPassword ?? UNKNOWN
    secrets.push({ name: SECRET_ADMIN_PASSWORD, value })
  }
  if (opts.auth.mode === 'oidc') secrets.push({ name: SECRET_OIDC_CLIENT, value: opts.auth.clientSecret })
  return sortSecrets(secrets)
}

/**
 * The one order of secrets everywhere (what the service answers, what the plan compares, what is
 * written): by name, in code-unit order, which does not depend on the runner's locale.
 */
export function sortSecrets<T extends { name: string }>(secrets: readonly T[]): T[] {
  return [...secrets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/**
 * The migration the job runs with the new image: `mlflow db upgrade` (empty database → all tables,
 * else `alembic upgrade heads`) on the tracking database, then the basic-auth store's own
 * `init_db`, which migrates `mlflow_auth` the way the server does at start. Both are called in
 * process with the URIs read from the environment, so no password is ever on a command line.
 */
export const MIGRATION_SCRIPT = [
  'set -e',
  'echo "mlflow-azure-action: migrating the tracking database with MLflow $(python -c \'import mlflow; print(mlflow.__version__)\')"',
  `python -c ${shellQuote('import os; from mlflow.db import upgrade; upgrade.main(args=[os.environ["MLFLOW_BACKEND_STORE_URI"]], standalone_mode=False)')}`,
  'if [ -n "${MLFLOW_AUTH_DATABASE_URI:-}" ]; then',
  '  echo "mlflow-azure-action: migrating the basic-auth database"',
  `  python -c ${shellQuote('import os; from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore; SqlAlchemyStore().init_db(os.environ["MLFLOW_AUTH_DATABASE_URI"])')}`,
  'fi',
  'echo "mlflow-azure-action: migration done"'
].join('\n')

/** The job's one container: the app's image and database secrets, a migration for a command. */
export function migrationContainer(image: string, auth: AuthSettings): ContainerSpec {
  return {
    name: 'migrate',
    image,
    command: ['/bin/bash', '-c'],
    args: [MIGRATION_SCRIPT],
    env: [
      { name: 'MLFLOW_BACKEND_STORE_URI', secretRef: SECRET_BACKEND_STORE_URI },
      ...(auth.mode === 'basic'
        ? [{ name: 'MLFLOW_AUTH_DATABASE_URI', secretRef: SECRET_AUTH_DATABASE_URI }]
        : [])
    ],
    cpu: 0.5,
    memory: '1Gi',
    probes: []
  }
}

/** The job holds only the secrets its container references: the database URIs. */
export function migrationSecrets(all: readonly SecretSpec[], auth: AuthSettings): SecretSpec[] {
  const wanted = new Set([
    SECRET_BACKEND_STORE_URI,
    ...(auth.mode === 'basic' ? [SECRET_AUTH_DATABASE_URI] : [])
  ])
  return sortSecrets(all.filter((s) => wanted.has(s.name)))
}
