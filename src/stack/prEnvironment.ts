/**
 * A pull request's own MLflow on a base stack: which resources are shared and which are its own,
 * how they are tagged, the job that gives it a PostgreSQL role of its own, and which environments
 * `gc` removes. Pure.
 */
import type { AuthSettings } from '../config/auth.js'
import type { PrSettings } from '../config/inputs.js'
import type { StackKey } from './graph.js'
import {
  MIGRATION_SCRIPT,
  migrationContainer,
  migrationSecrets,
  shellQuote,
  sortSecrets
} from './mlflowContainer.js'
import type { ContainerSpec, SecretSpec, Tags } from './specs.js'

/** The base stack's resources a PR environment uses and never writes. */
export const BASE_KEYS: readonly StackKey[] = [
  'resourceGroup',
  'virtualNetwork',
  'dbSubnet',
  'acaSubnet',
  'privateDnsZone',
  'privateDnsLink',
  'logAnalytics',
  'storageAccount',
  'postgresServer',
  'managedEnvironment'
]

/** The PR environment's own resources, in the order `pr-down` may remove them. */
export const PR_KEYS: readonly StackKey[] = [
  'containerApp',
  'postgresDatabase',
  'authDatabase',
  'migrationJob',
  'blobRole',
  'identity',
  'blobContainer'
]

export const PR_TAG = 'mlflow-pr'
export const PR_REPOSITORY_TAG = 'mlflow-pr-repository'
export const PR_EXPIRES_TAG = 'mlflow-pr-expires'

/** Tags of the PR's app, job and identity (databases take no tags in ARM). */
export function prTags(base: Tags, pr: PrSettings, withExpiry: boolean): Tags {
  return {
    ...base,
    [PR_TAG]: String(pr.number),
    ...(pr.repository ? { [PR_REPOSITORY_TAG]: pr.repository } : {}),
    ...(withExpiry ? { [PR_EXPIRES_TAG]: pr.expiresAt } : {})
  }
}

/**
 * The same on the blob container, as metadata: names must be C# identifiers (Storage naming rules
 * for metadata), so no hyphens.
 */
export function prMetadata(pr: PrSettings): Tags {
  return {
    mlflow_pr: String(pr.number),
    ...(pr.repository ? { mlflow_pr_repository: pr.repository } : {}),
    mlflow_pr_expires: pr.expiresAt
  }
}

/** The admin's URI (kept by the base app) pointed at the `postgres` database, for role DDL. */
export function adminDatabaseUri(baseBackendStoreUri: string): string {
  return baseBackendStoreUri.replace(/(:\d+)\/[^/?]+(\?|$)/, '$1/postgres$2')
}

export const SECRET_ADMIN_DATABASE_URI = 'admin-database-uri'

/**
 * Run as the server admin (NOSUPERUSER, CREATEROLE, CREATEDB, member of azure_pg_admin on Azure):
 * makes the PR's role with the password in its own URI, gives it its databases, and shuts PUBLIC
 * (which every role is in) out of the PR's databases and the base's, so that a PR server cannot
 * connect to anyone else's data. `drop` removes the role once its databases are gone.
 *  - PostgreSQL 16: a CREATEROLE user gets ADMIN (not SET) on the roles it creates, and `ALTER
 *    DATABASE … OWNER TO` needs SET on the new owner, hence the GRANT to CURRENT_USER
 *    (postgresql.org/docs/16/sql-alterdatabase.html, sql-createrole.html).
 *  - PUBLIC may CONNECT to every database by default (postgresql.org/docs/16/ddl-priv.html).
 *  - The role's password is sent as a SCRAM-SHA-256 verifier (RFC 5802 / RFC 7677, the form
 *    `pg_authid` stores), never as text: a statement that fails is written to the server's log
 *    (`log_min_error_statement` ERROR), which only the superuser could turn off.
 */
export const PR_DATABASE_SCRIPT = [
  'import base64, hashlib, hmac, os, re',
  'from urllib.parse import unquote, urlparse',
  'import psycopg2',
  'from psycopg2 import sql',
  "dsn = lambda uri: re.sub(r'^postgresql\\+\\w+://', 'postgresql://', uri)",
  "own = urlparse(dsn(os.environ['MLFLOW_BACKEND_STORE_URI']))",
  'role, password = unquote(own.username), unquote(own.password)',
  'def verifier(text):',
  '    salt, rounds = os.urandom(16), 4096',
  "    salted = hashlib.pbkdf2_hmac('sha256', text.encode(), salt, rounds)",
  "    client = hmac.new(salted, b'Client Key', 'sha256').digest()",
  "    server = hmac.new(salted, b'Server Key', 'sha256').digest()",
  '    b64 = lambda b: base64.b64encode(b).decode()',
  "    return f'SCRAM-SHA-256${rounds}:{b64(salt)}${b64(hashlib.sha256(client).digest())}:{b64(server)}'",
  "conn = psycopg2.connect(dsn(os.environ['MLFLOW_ADMIN_DATABASE_URI']))",
  'conn.autocommit = True',
  'cur = conn.cursor()',
  'run = lambda text, *names: cur.execute(sql.SQL(text).format(*[sql.Identifier(n) for n in names]))',
  "names = lambda var: [d for d in os.environ.get(var, '').split(',') if d]",
  "if os.environ.get('MLFLOW_PR_DATABASE_ACTION') == 'drop':",
  "    run('DROP ROLE IF EXISTS {}', role)",
  "    print(f'mlflow-azure-action: role {role} dropped')",
  'else:',
  "    cur.execute('SELECT 1 FROM pg_roles WHERE rolname = %s', (role,))",
  "    verb = 'ALTER' if cur.fetchone() else 'CREATE'",
  "    cur.execute(sql.SQL(verb + ' ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD {}').format(sql.Identifier(role), sql.Literal(verifier(password))))",
  "    run('GRANT {} TO CURRENT_USER', role)",
  "    for db in names('MLFLOW_PR_DATABASES'):",
  "        run('ALTER DATABASE {} OWNER TO {}', db, role)",
  "        run('REVOKE ALL ON DATABASE {} FROM PUBLIC', db)",
  "    for db in names('MLFLOW_BASE_DATABASES'):",
  "        run('REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC', db)",
  "    print(f'mlflow-azure-action: role {role} owns ' + ', '.join(names('MLFLOW_PR_DATABASES')))"
].join('\n')

export interface PrJobInput {
  image: string
  auth: AuthSettings
  databases: string[]
  baseDatabases: string[]
}

/** The PR's job: its role first, then the same migration as the base stack's job. */
export function prJobContainer(input: PrJobInput): ContainerSpec {
  const migration = migrationContainer(input.image, input.auth)
  const script = [
    'set -e',
    `python -c ${shellQuote(PR_DATABASE_SCRIPT)}`,
    ...MIGRATION_SCRIPT.split('\n').filter((l) => l !== 'set -e')
  ].join('\n')
  return {
    ...migration,
    args: [script],
    env: [
      ...migration.env,
      { name: 'MLFLOW_ADMIN_DATABASE_URI', secretRef: SECRET_ADMIN_DATABASE_URI },
      { name: 'MLFLOW_PR_DATABASES', value: input.databases.join(',') },
      { name: 'MLFLOW_BASE_DATABASES', value: input.baseDatabases.join(',') }
    ]
  }
}

/** The same container told to drop the role (a job execution's template override, `pr-down`). */
export function prDropRoleContainer(job: ContainerSpec): ContainerSpec {
  return {
    ...job,
    command: ['python', '-c'],
    args: [PR_DATABASE_SCRIPT],
    env: [
      ...job.env.filter((e) => e.name !== 'MLFLOW_PR_DATABASE_ACTION'),
      { name: 'MLFLOW_PR_DATABASE_ACTION', value: 'drop' }
    ]
  }
}

export function prJobSecrets(all: readonly SecretSpec[], auth: AuthSettings, adminUri: string): SecretSpec[] {
  return sortSecrets([...migrationSecrets(all, auth), { name: SECRET_ADMIN_DATABASE_URI, value: adminUri }])
}

/** A PR environment as `gc` finds it: from any of its parts that still exist. */
export interface FoundPrEnvironment {
  number: number
  repository?: string
  expiresAt?: string
  /** Which of its parts exist (app, job, databases, container, identity). */
  parts: string[]
}

export interface GcDecision {
  number: number
  remove: boolean
  reason: string
}

/**
 * What `gc` does with each PR environment: remove it when it expired, when its PR is closed, or
 * when its app is gone (a pr-up cut off before the app; pr-up holds the stack's lock, as gc does,
 * so nothing is half-made while gc looks). An open PR's environment within its time stays.
 */
export function gcDecisions(
  envs: readonly FoundPrEnvironment[],
  opts: {
    now: number
    /** What GitHub said of each PR (asked of the repository the environment was made for). */
    prStates: ReadonlyMap<number, { state: 'open' | 'closed' | 'unknown'; reason?: string }>
  }
): GcDecision[] {
  return envs.map((env) => {
    const expires = env.expiresAt ? Date.parse(env.expiresAt) : NaN
    if (!env.parts.includes('app'))
      return {
        number: env.number,
        remove: true,
        reason: `no app (left by an interrupted run): ${env.parts.join(', ')}`
      }
    if (!Number.isNaN(expires) && expires <= opts.now)
      return { number: env.number, remove: true, reason: `expired at ${env.expiresAt}` }
    const pr = opts.prStates.get(env.number)
    if (pr?.state === 'closed')
      return { number: env.number, remove: true, reason: `PR #${env.number} is closed` }
    const until = env.expiresAt ? `expires ${env.expiresAt}` : 'no expiry recorded'
    const state = pr
      ? pr.state === 'open'
        ? 'PR open'
        : `PR state unknown (${pr.reason ?? 'not asked'})`
      : 'PR state not asked (no github-token or repository)'
    return { number: env.number, remove: false, reason: `${state}; ${until}` }
  })
}
