/**
 * The local Azure's PostgreSQL flexible server gives its admin what Azure gives it, no more: the
 * REAL `@azure/arm-postgresql-flexible` client creates a server and databases, then `pg` connects
 * with the admin login through the emulator's local address (`--runtime mlflow`, real clusters).
 *
 * - The admin is LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE REPLICATION, member of
 *   azure_pg_admin; only azuresu is a superuser (learn.microsoft.com how-to-create-users).
 * - The SQL the action runs for a per-PR database works as that admin, and shuts the PR's role out
 *   of the databases it does not own.
 * - A B1ms server takes 35 connections of roles that are not superusers (concepts-limits:
 *   max_connections 50, 15 reserved), and reports max_connections through ARM.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { startEmulator, type Emulator } from '../helpers/emulator.js'
import { armError, fastLro as lro, sdkClients, type SdkClients } from '../helpers/sdk.js'

const LOCATION = 'westeurope'
const RG = 'rg-pg-roles'
const SERVER = 'pg-roles-1'
const ADMIN = 'mlflowadmin'
const PASSWORD = `Pw-${randomBytes(12).toString('hex')}`
const PR_PASSWORD = `Pr-${randomBytes(12).toString('hex')}`
const DATABASES = ['mlflow', 'mlflow_pr_1', 'mlflow_other']

describe('PostgreSQL roles and connection limits as on Azure (--runtime mlflow)', () => {
  let emu: Emulator
  let c: SdkClients
  let ca: string
  let address: { host: string; port: number }
  const open: pg.Client[] = []

  /** A connected client (closed after the test unless closed before). */
  async function connect(user: string, password: string, database: string): Promise<pg.Client> {
    const client = new pg.Client({ ...address, user, password, database, ssl: { ca } })
    client.on('error', () => undefined)
    await client.connect()
    open.push(client)
    return client
  }

  async function closeAll(): Promise<void> {
    await Promise.all(open.splice(0).map((client) => client.end().catch(() => undefined)))
  }

  const asAdmin = (database = 'postgres') => connect(ADMIN, PASSWORD, database)

  beforeAll(async () => {
    emu = await startEmulator({ timeScale: 0.002, runtime: 'mlflow' })
    c = sdkClients(emu)
    ca = readFileSync(emu.caCertPath, 'utf8')
    await c.rm.resourceGroups.createOrUpdate(RG, { location: LOCATION })
    const server = await c.pg.servers.beginCreateOrUpdateAndWait(
      RG,
      SERVER,
      {
        location: LOCATION,
        sku: { name: 'Standard_B1ms', tier: 'Burstable' },
        administratorLogin: ADMIN,
        administratorLoginPassword: PASSWORD,
        version: '16',
        storage: { storageSizeGB: 32 }
      },
      lro
    )
    expect(server.state).toBe('Ready')
    for (const database of DATABASES) {
      await c.pg.databases.beginCreateAndWait(RG, SERVER, database, { charset: 'UTF8' }, lro)
    }
    const found = (await emu.runtimeInfo()).postgres[SERVER]
    if (!found) throw new Error(`the emulator does not expose ${SERVER}`)
    address = found
  }, 180_000)

  afterEach(closeAll)

  afterAll(async () => {
    await closeAll()
    await emu?.stop()
  }, 60_000)

  it('gives the admin Azure attributes: not a superuser, member of azure_pg_admin; azuresu is the superuser', async () => {
    const admin = await asAdmin()
    const me = await admin.query(
      `SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
              pg_has_role(current_user, 'azure_pg_admin', 'MEMBER') AS in_admin_group
         FROM pg_roles WHERE rolname = current_user`
    )
    expect(me.rows).toEqual([
      {
        rolsuper: false,
        rolinherit: true,
        rolcreaterole: true,
        rolcreatedb: true,
        rolcanlogin: true,
        rolreplication: true,
        rolbypassrls: false,
        in_admin_group: true
      }
    ])
    const supers = await admin.query('SELECT rolname FROM pg_roles WHERE rolsuper ORDER BY rolname')
    expect(supers.rows).toEqual([{ rolname: 'azuresu' }])
    const group = await admin.query(
      "SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'azure_pg_admin'"
    )
    expect(group.rows).toEqual([{ rolcanlogin: false, rolsuper: false }])

    await expect(admin.query(`ALTER ROLE ${ADMIN} SUPERUSER`)).rejects.toThrow(/permission denied/)
    await expect(admin.query('CREATE ROLE would_be_super SUPERUSER')).rejects.toThrow(/permission denied/)
    await expect(admin.query('SELECT pg_read_file($1)', ['postgresql.conf'])).rejects.toThrow(
      /permission denied/
    )
  })

  it('lets the admin create roles and tables in a database created through ARM', async () => {
    const admin = await asAdmin('mlflow')
    const owner = await admin.query(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()'
    )
    expect(owner.rows).toEqual([{ owner: ADMIN }])
    await admin.query('CREATE TABLE experiments_probe (id int PRIMARY KEY, name text)')
    await admin.query("INSERT INTO experiments_probe VALUES (1, 'x')")
    expect((await admin.query('SELECT count(*)::int AS n FROM experiments_probe')).rows).toEqual([{ n: 1 }])
    await admin.query('CREATE ROLE reader_probe NOLOGIN')
    await admin.query('DROP ROLE reader_probe')
  })

  it('runs the per-PR SQL as the admin; the PR role owns its database and is shut out of the others', async () => {
    const admin = await asAdmin()
    const id = (name: string): string => admin.escapeIdentifier(name)
    await admin.query(`CREATE ROLE pr_1 LOGIN PASSWORD ${admin.escapeLiteral(PR_PASSWORD)}`)
    await admin.query(`GRANT pr_1 TO ${id(ADMIN)}`)
    await admin.query('ALTER DATABASE mlflow_pr_1 OWNER TO pr_1')
    await admin.query('REVOKE ALL ON DATABASE mlflow_pr_1 FROM PUBLIC')
    await admin.query('REVOKE CONNECT ON DATABASE mlflow_other FROM PUBLIC')

    const pr = await connect('pr_1', PR_PASSWORD, 'mlflow_pr_1')
    await pr.query('CREATE TABLE runs_probe (id int)')
    await pr.query('INSERT INTO runs_probe VALUES (1)')
    const owner = await pr.query(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()'
    )
    expect(owner.rows).toEqual([{ owner: 'pr_1' }])
    await expect(connect('pr_1', PR_PASSWORD, 'mlflow_other')).rejects.toThrow(
      /permission denied for database "mlflow_other"/
    )
    // The admin still reaches the database it shut PUBLIC out of.
    await (await asAdmin('mlflow_other')).query('SELECT 1')
    await closeAll()

    // The PR's database goes through ARM (as azuresu, even with the PR role connected); the admin
    // then drops the role.
    await connect('pr_1', PR_PASSWORD, 'mlflow_pr_1')
    await c.pg.databases.beginDeleteAndWait(RG, SERVER, 'mlflow_pr_1', lro)
    await closeAll()
    const again = await asAdmin()
    await again.query('DROP ROLE pr_1')
    expect((await again.query("SELECT 1 FROM pg_roles WHERE rolname = 'pr_1'")).rowCount).toBe(0)
    const left: string[] = []
    for await (const db of c.pg.databases.listByServer(RG, SERVER)) left.push(db.name ?? '')
    expect(left.sort()).toEqual(['mlflow', 'mlflow_other'])
  }, 60_000)

  it('takes max_connections - 15 connections of roles that are not superusers (B1ms: 35)', async () => {
    const clients: pg.Client[] = []
    for (let i = 0; i < 35; i++) clients.push(await asAdmin())
    expect(clients).toHaveLength(35)
    const err = await connect(ADMIN, PASSWORD, 'postgres').then(
      () => undefined,
      (e: Error) => e
    )
    expect(err?.message).toMatch(/remaining connection slots are reserved/)
    // The emulator's own work (azuresu) still gets through: ARM creates a database meanwhile.
    await c.pg.databases.beginCreateAndWait(RG, SERVER, 'mlflow_busy', { charset: 'UTF8' }, lro)
    await closeAll()
    await (await asAdmin('mlflow_busy')).query('SELECT 1')
  }, 60_000)

  it('reports the cluster max_connections and the reserved slots through ARM', async () => {
    const max = await c.pg.configurations.get(RG, SERVER, 'max_connections')
    expect(max).toMatchObject({
      name: 'max_connections',
      type: 'Microsoft.DBforPostgreSQL/flexibleServers/configurations',
      value: '50',
      defaultValue: '50',
      dataType: 'Integer',
      allowedValues: '25-5000',
      source: 'system-default',
      isReadOnly: false,
      isDynamicConfig: false,
      isConfigPendingRestart: false
    })
    const shown = await (await asAdmin()).query('SHOW max_connections')
    expect(shown.rows).toEqual([{ max_connections: max.value }])
    expect((await c.pg.configurations.get(RG, SERVER, 'superuser_reserved_connections')).value).toBe('10')
    expect((await c.pg.configurations.get(RG, SERVER, 'reserved_connections')).value).toBe('5')
    const all: string[] = []
    for await (const conf of c.pg.configurations.listByServer(RG, SERVER)) all.push(conf.name ?? '')
    expect(all).toEqual(expect.arrayContaining(['max_connections', 'superuser_reserved_connections']))
    expect(await armError(c.pg.configurations.get(RG, SERVER, 'no_such_parameter'))).toMatchObject({
      statusCode: 404,
      code: 'ConfigurationNotExists'
    })
  })
})
