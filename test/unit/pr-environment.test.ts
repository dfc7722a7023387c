import { describe, expect, it } from '@jest/globals'
import { InputError } from '../../src/config/errors.js'
import { parseInputs, type DeployConfig, type PrDownConfig } from '../../src/config/inputs.js'
import { deriveNames, prAppName, prDatabaseRole, prNames } from '../../src/config/naming.js'
import {
  checkConnectionBudget,
  connectionsPerReplica,
  JOB_CONNECTIONS
} from '../../src/stack/connectionBudget.js'
import { desiredState, type AnyDesired } from '../../src/stack/desired.js'
import type { Facts } from '../../src/stack/facts.js'
import {
  adminDatabaseUri,
  BASE_KEYS,
  gcDecisions,
  prDropRoleContainer
} from '../../src/stack/prEnvironment.js'
import type { ContainerAppSpec, JobSpec } from '../../src/stack/specs.js'

const SUB = '00000000-0000-4000-8000-000000000001'
const APP = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/

function parse(extra: Record<string, string>, event?: Parameters<typeof parseInputs>[2]) {
  const inputs: Record<string, string> = {
    'stack-name': 'team-a',
    location: 'westeurope',
    'subscription-id': SUB,
    'admin-password': 'a-long-admin-password',
    ...extra
  }
  return parseInputs((n) => inputs[n] ?? '', { GITHUB_REPOSITORY: 'acme/models' }, event)
}

describe('PR environment names', () => {
  const stacks = ['abc', 'team-a', 'a'.repeat(24), 'team-analytics-mlflow-24', 'x1-y2-z3-w4-v5-u6-t7-s88']
  const numbers = [1, 42, 999, 12345, 1234567, 99999999]
  it('are valid container app and job names for every stack name and PR number', () => {
    for (const stack of stacks)
      for (const n of numbers) {
        const app = prAppName(stack, n)
        expect(app).toMatch(APP)
        expect(app).not.toContain('--')
        expect(app.length).toBeLessThanOrEqual(29)
        expect(`${app}-db`.length).toBeLessThanOrEqual(32)
        expect(app.endsWith(`-pr${n}`)).toBe(true)
      }
  })
  it('keep two long stack names that share a prefix apart', () => {
    expect(prAppName('team-analytics-mlflow-24', 1234567)).not.toBe(
      prAppName('team-analytics-mlflow-25', 1234567)
    )
    expect(prAppName('team-a', 42)).toBe('team-a-pr42')
  })
  it('give the PR its own database, role, container and role assignment', () => {
    const base = deriveNames({ stackName: 'team-a', subscriptionId: SUB })
    const pr = prNames(base, { stackName: 'team-a', subscriptionId: SUB, prNumber: 42 })
    expect(pr).toMatchObject({
      postgresDatabase: 'mlflow_pr_42',
      authDatabase: 'mlflow_auth_pr_42',
      blobContainer: 'mlflow-artifacts-pr42',
      containerApp: 'team-a-pr42',
      migrationJob: 'team-a-pr42-db',
      identity: 'team-a-pr42-id',
      blobRoleScope: `${base.storageAccount}/blobServices/default/containers/mlflow-artifacts-pr42`
    })
    expect(prDatabaseRole(42)).toBe('mlflow_pr_42')
    // Shared with the base, by construction.
    for (const k of ['resourceGroup', 'postgresServer', 'storageAccount', 'managedEnvironment'] as const)
      expect(pr[k]).toBe(base[k])
    expect(pr.blobRole).not.toBe(base.blobRole)
  })
})

describe('pr-up, pr-down and gc inputs', () => {
  it('take the PR number from the event, default to scale-to-zero, one worker and 72 hours', () => {
    const c = parse(
      { command: 'pr-up' },
      { event: { number: 7, baseRepository: 'acme/models', headRepository: 'acme/models', fromFork: false } }
    ) as DeployConfig
    expect(c.pr?.number).toBe(7)
    expect(c.minReplicas).toBe(0)
    expect(c.workers).toBe(1)
    expect(c.pr?.expiresAfterHours).toBe(72)
    expect(c.pr?.repository).toBe('acme/models')
    expect(c.names.containerApp).toBe('team-a-pr7')
    expect(c.pr?.demo).toBe(false)
  })
  it('keep the base stack at min = max replicas and two workers', () => {
    const c = parse({ command: 'deploy', replicas: '2' }) as DeployConfig
    expect(c.minReplicas).toBe(2)
    expect(c.workers).toBe(2)
  })
  it('refuse a missing or malformed PR number, and expires-after out of range, naming the input', () => {
    expect(() => parse({ command: 'pr-up' })).toThrow(/pr-number.*required outside a pull_request event/s)
    expect(() => parse({ command: 'pr-down', 'pr-number': '0' })).toThrow(InputError)
    expect(() => parse({ command: 'pr-down', 'pr-number': '12a' })).toThrow(/pr-number.*'12a'/s)
    expect(() => parse({ command: 'pr-up', 'pr-number': '3', 'expires-after': '721' })).toThrow(
      /expires-after/
    )
    expect(() => parse({ command: 'pr-up', 'pr-number': '3', 'expires-after': '-1' })).toThrow(
      /expires-after/
    )
    const soon = parse({ command: 'pr-up', 'pr-number': '3', 'expires-after': '0.5' }) as DeployConfig
    expect(Date.parse(soon.pr!.expiresAt) - Date.now()).toBeLessThanOrEqual(1_800_000)
    expect(() => parse({ command: 'pr-up', 'pr-number': '3', 'min-replicas': '2' })).toThrow(/min-replicas/)
  })
  it('destroy with a pr-number removes that PR environment only; smoke-test with one tests it', () => {
    const down = parse({ command: 'destroy', 'pr-number': '12' }) as PrDownConfig
    expect(down.command).toBe('pr-down')
    expect(down.pr.number).toBe(12)
    expect(parse({ command: 'destroy' }).command).toBe('destroy')
    const smoke = parse({ command: 'smoke-test', 'pr-number': '12' })
    expect(smoke.command === 'smoke-test' && smoke.names?.containerApp).toBe('team-a-pr12')
    expect(() => parse({ command: 'smoke-test', 'pr-number': 'x' })).toThrow(/pr-number/)
  })
  it('refuse a PR from a fork before anything else', () => {
    const event = {
      number: 9,
      baseRepository: 'acme/models',
      headRepository: 'someone/models',
      fromFork: true
    }
    expect(() => parse({ command: 'pr-up' }, { event })).toThrow(/fork/)
    const down = parse({ command: 'pr-down' }, { event: { ...event, fromFork: false } }) as PrDownConfig
    expect(down.pr.number).toBe(9)
  })
})

const facts: Facts = {
  workspaceCustomerId: 'cust-1',
  workspaceSharedKey: 'shared',
  environmentDefaultDomain: 'blue-1.westeurope.azurecontainerapps.io',
  storageKey: 'storage-key',
  postgresPassword: 'pr-role-password',
  postgresPasswordIsNew: false,
  postgresServerExists: true,
  adminDatabaseUri:
    'postgresql+psycopg2://mlflowadmin:admin-pw@srv.postgres.database.azure.com:5432/postgres?sslmode=require',
  identityClientId: 'client',
  identityPrincipalId: 'principal'
}
const spec = <T>(graph: AnyDesired[], key: string) => graph.find((d) => d.key === key)!.spec as T

describe('desired state of a PR environment', () => {
  const config = parse({
    command: 'pr-up',
    'pr-number': '42',
    'storage-auth': 'managed-identity'
  }) as DeployConfig
  const graph = desiredState(config, facts)
  it("never manages the base's shared resources", () => {
    for (const d of graph) expect(d.managed).toBe(!BASE_KEYS.includes(d.key))
  })
  it('connects as its own role to its own databases, and its identity reaches its own container only', () => {
    const app = spec<ContainerAppSpec>(graph, 'containerApp')
    const uri = new URL(app.secrets.find((s) => s.name === 'backend-store-uri')!.value)
    expect(uri.username).toBe('mlflow_pr_42')
    expect(uri.pathname).toBe('/mlflow_pr_42')
    expect(app.secrets.some((s) => s.value.includes('admin-pw'))).toBe(false)
    expect(app.tags).toMatchObject({
      'mlflow-pr': '42',
      'mlflow-pr-repository': 'acme/models',
      'mlflow-stack': 'team-a'
    })
    expect(app.minReplicas).toBe(0)
    const role = spec<{ scope: string }>(graph, 'blobRole')
    expect(role.scope).toMatch(/\/blobServices\/default\/containers\/mlflow-artifacts-pr42$/)
  })
  it("gives only the job the admin's URI, and the job makes the role before it migrates", () => {
    const job = spec<JobSpec>(graph, 'migrationJob')
    expect(job.secrets.map((s) => s.name)).toEqual([
      'admin-database-uri',
      'auth-database-uri',
      'backend-store-uri'
    ])
    const script = job.container.args.join('\n')
    expect(script.indexOf('CREATE')).toBeGreaterThanOrEqual(0)
    expect(script.indexOf('CREATE')).toBeLessThan(script.indexOf('mlflow.db'))
    expect(job.container.env).toEqual(
      expect.arrayContaining([
        { name: 'MLFLOW_ADMIN_DATABASE_URI', secretRef: 'admin-database-uri' },
        { name: 'MLFLOW_PR_DATABASES', value: 'mlflow_pr_42,mlflow_auth_pr_42' },
        { name: 'MLFLOW_BASE_DATABASES', value: 'mlflow,mlflow_auth' }
      ])
    )
    // No secret value on any command line.
    expect(script).not.toContain('admin-pw')
    expect(script).not.toContain('pr-role-password')
    const drop = prDropRoleContainer(job.container)
    expect(drop.env).toContainEqual({ name: 'MLFLOW_PR_DATABASE_ACTION', value: 'drop' })
  })
  it("points the admin's URI at the postgres database", () => {
    expect(adminDatabaseUri('postgresql+psycopg2://a:b@h:5432/mlflow?sslmode=require')).toBe(
      'postgresql+psycopg2://a:b@h:5432/postgres?sslmode=require'
    )
  })
})

describe('connection budget', () => {
  const base = desiredState(parse({ command: 'deploy' }) as DeployConfig, facts)
  const pr = desiredState(parse({ command: 'pr-up', 'pr-number': '1' }) as DeployConfig, facts)
  const per = (g: AnyDesired[]) => connectionsPerReplica(spec<ContainerAppSpec>(g, 'containerApp').container)
  it('counts workers × engines × bounded pool', () => {
    expect(per(base)).toBe(2 * 3 * 2)
    expect(per(pr)).toBe(1 * 3 * 2)
    const open = desiredState(
      parse({ command: 'deploy', auth: 'none', 'allow-anonymous': 'true' }) as DeployConfig,
      facts
    )
    expect(per(open)).toBe(2 * 2 * 2)
  })
  it("counts a server without bounded pools at SQLAlchemy's defaults", () => {
    const c = spec<ContainerAppSpec>(base, 'containerApp').container
    const unbounded = { ...c, env: c.env.filter((e) => !e.name.startsWith('MLFLOW_SQLALCHEMYSTORE_')) }
    expect(connectionsPerReplica(unbounded)).toBe(2 * 3 * 15)
  })
  it('fits the base and three PR environments on a B1ms, and refuses the fourth with every number', () => {
    const existing = [
      { label: 'base', connections: 12 },
      ...[1, 2, 3].map((n) => ({ label: `PR #${n}`, connections: 6 }))
    ]
    const third = checkConnectionBudget({
      serverName: 's',
      sku: 'Standard_B1ms',
      maxConnections: 50,
      existing: existing.slice(0, 3),
      adding: { label: 'PR #3', connections: 6 }
    })
    expect(third.fits).toBe(true)
    expect(third.needed).toBe(12 + 6 + 6 + JOB_CONNECTIONS + 6)
    const fourth = checkConnectionBudget({
      serverName: 's',
      sku: 'Standard_B1ms',
      maxConnections: 50,
      existing,
      adding: { label: 'PR #4', connections: 6 }
    })
    expect(fourth.fits).toBe(false)
    expect(fourth.description).toMatch(
      /accepts 35 user connections \(max_connections 50 − 15 reserved by Azure\).*38 > 35/
    )
  })
})

describe('gc decisions', () => {
  const now = Date.parse('2026-12-03T12:00:00Z')
  const states = new Map([
    [1, { state: 'open' as const }],
    [2, { state: 'closed' as const }],
    [3, { state: 'open' as const }],
    [5, { state: 'unknown' as const, reason: '500' }]
  ])
  const env = (
    number: number,
    extra: Partial<{ expiresAt: string; repository: string; parts: string[] }> = {}
  ) => ({
    number,
    parts: ['app', 'job'],
    repository: 'acme/models',
    expiresAt: '2026-12-04T00:00:00Z',
    ...extra
  })
  it('removes the expired, the closed and the half-made, keeps open ones in time and what it cannot ask about', () => {
    const d = gcDecisions(
      [
        env(1),
        env(2),
        env(3, { expiresAt: '2026-12-03T11:00:00Z' }),
        env(4, { parts: ['database mlflow_pr_4'] }),
        env(5),
        env(6, { repository: 'acme/other' })
      ],
      { now, prStates: states }
    )
    expect(d.map((x) => [x.number, x.remove])).toEqual([
      [1, false],
      [2, true],
      [3, true],
      [4, true],
      [5, false],
      [6, false]
    ])
  })
})
