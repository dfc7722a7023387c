/**
 * Per-PR environments on a base stack, against the local Azure with the stand-in runtime (what is
 * proved here is the action's own logic: names, isolation by construction, the connection budget,
 * the sticky comment through the real `@actions/github` client against a local GitHub, removal and
 * gc; the real MLflow and PostgreSQL side is in e2e-mlflow.test.ts). The stack name is 24
 * characters, the longest allowed, so every derived name is at its limit.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deriveNames, prNames } from '../../src/config/naming.js'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { isWrite, startEmulator, type Emulator, type RequestRecord } from '../helpers/emulator.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fakeGitHub.js'
import { grantDeployerBlobData, identityClients } from '../helpers/identityClients.js'
import { sdkClients, type SdkClients } from '../helpers/sdk.js'

const STACK = 'team-analytics-mlflow-24'
const REPO = 'acme/models'
const ADMIN_PASSWORD = 'pr-admin-password-1'
const TOKEN = 'test-token'
/** Seven digits: with the 24-character stack name the app name needs the cut-and-hash form. */
const BIG = 1234567
let emulator: Emulator
let github: FakeGitHub
let c: SdkClients
let names: ReturnType<typeof deriveNames>
const runs: ActionRun[] = []
const dir = mkdtempSync(join(tmpdir(), 'pr-env-events-'))

const base: Record<string, string> = {
  'stack-name': STACK,
  location: 'westeurope',
  'image-tag': 'v3.17.2',
  'admin-password': ADMIN_PASSWORD,
  'storage-auth': 'managed-identity'
}

/** A `pull_request` event payload as the runner writes it (GITHUB_EVENT_PATH). */
function event(n: number, opts: { action?: string; head?: string; state?: 'open' | 'closed' } = {}): string {
  const path = join(
    dir,
    `event-${n}-${opts.action ?? 'opened'}-${(opts.head ?? REPO).replace('/', '_')}.json`
  )
  const repo = (full: string) => ({
    full_name: full,
    name: full.split('/')[1],
    owner: { login: full.split('/')[0] }
  })
  writeFileSync(
    path,
    JSON.stringify({
      action: opts.action ?? 'opened',
      number: n,
      pull_request: {
        number: n,
        state: opts.state ?? 'open',
        head: { repo: repo(opts.head ?? REPO) },
        base: { repo: repo(REPO) }
      },
      repository: repo(REPO)
    })
  )
  return path
}

function gitHubEnv(n?: number, opts: Parameters<typeof event>[1] = {}): Record<string, string> {
  return {
    GITHUB_API_URL: github.url,
    GITHUB_REPOSITORY: REPO,
    GITHUB_RUN_ID: '4242',
    GITHUB_SERVER_URL: 'https://github.com',
    ...(n !== undefined
      ? { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: event(n, opts) }
      : { GITHUB_EVENT_NAME: 'schedule' })
  }
}

async function action(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun> {
  const r = await runAction({ ...base, 'github-token': TOKEN, ...inputs }, { ...emulator.env, ...env })
  runs.push(r)
  return r
}

function expectSuccess(r: ActionRun): void {
  if (r.exitCode !== 0)
    throw new Error(`action failed (${r.exitCode}):\n${errorsOf(r)}\n${r.stdout.slice(-4000)}`)
}

/** The requests a piece of work sent, from the local Azure's request log. */
async function during<T>(work: () => Promise<T>): Promise<{ value: T; requests: RequestRecord[] }> {
  const before = (await emulator.requests()).length
  const value = await work()
  return { value, requests: (await emulator.requests()).slice(before) }
}

const pr = (n: number) =>
  prNames(names, { stackName: STACK, subscriptionId: emulator.subscriptionId, prNumber: n })

/** Writes to the base stack's own resources (the PR's parts live beside them in the group). */
function baseWrites(requests: RequestRecord[]): RequestRecord[] {
  const own = [7, 8, BIG, 10, 11, 20].flatMap((n) => {
    const p = pr(n)
    return [
      p.containerApp,
      p.migrationJob,
      p.identity,
      p.blobContainer,
      p.postgresDatabase,
      p.authDatabase,
      p.blobRole
    ]
  })
  return requests.filter(
    (r) => isWrite(r) && !own.some((name) => r.path.toLowerCase().includes(`/${name.toLowerCase()}`))
  )
}

beforeAll(async () => {
  emulator = await startEmulator({
    timeScale: 0.002,
    propagation: { storageKey: 0, roleAssignment: 0, principal: 0 }
  })
  github = await startFakeGitHub({
    tokens: { [TOKEN]: 'write', 'fork-token': 'read' },
    pulls: {
      [REPO]: { 7: { state: 'open' }, 8: { state: 'open' }, [BIG]: { state: 'open' }, 10: { state: 'open' } }
    }
  })
  c = sdkClients(emulator)
  names = deriveNames({ stackName: STACK, subscriptionId: emulator.subscriptionId })
  await grantDeployerBlobData(emulator)
}, 120_000)

afterAll(async () => {
  await github?.close()
  await emulator?.stop()
})

describe('PR environments on a base stack', () => {
  it('refuses a PR environment without a base stack, before any write', async () => {
    const { value: r, requests } = await during(() =>
      action({ command: 'pr-up', 'pr-number': '7' }, gitHubEnv())
    )
    expect(r.exitCode).not.toBe(0)
    expect(errorsOf(r)).toMatch(/not deployed/)
    expect(requests.filter(isWrite)).toEqual([])
  }, 300_000)

  it('deploys the base stack', async () => {
    expectSuccess(await action({ command: 'deploy' }, gitHubEnv()))
  }, 600_000)

  it('three PR environments at once: own app, job, databases, container, identity; nothing of the base written', async () => {
    const { value: results, requests } = await during(() =>
      Promise.all([7, 8, BIG].map((n) => action({ command: 'pr-up' }, gitHubEnv(n))))
    )
    for (const r of results) expectSuccess(r)
    expect(baseWrites(requests)).toEqual([])
    process.stderr.write(
      `[pr] three pr-up at once: ${requests.filter(isWrite).length} writes, ${requests.length} requests, 0 to the base\n`
    )
    for (const [i, n] of [7, 8, BIG].entries()) {
      const r = results[i]!
      const p = pr(n)
      expect(r.outputs['app-name']).toBe(p.containerApp)
      expect(p.containerApp.length).toBeLessThanOrEqual(32)
      expect(p.migrationJob.length).toBeLessThanOrEqual(32)
      expect(p.containerApp).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/)
      expect(p.containerApp).not.toContain('--')
      if (n === BIG) expect(p.containerApp).toMatch(/^team-analytics-[0-9a-f]{4}-pr1234567$/)
      expect(r.outputs['smoke-result']).toBe('passed')
      expect(r.outputs['tracking-uri']).toMatch(new RegExp(`^https://${p.containerApp}\\.`))
      const app = await c.aca.containerApps.get(names.resourceGroup, p.containerApp)
      expect(app.tags).toMatchObject({
        'mlflow-pr': String(n),
        'mlflow-pr-repository': REPO,
        'mlflow-stack': STACK
      })
      expect(Date.parse(app.tags!['mlflow-pr-expires']!)).toBeGreaterThan(Date.now() + 71 * 3600_000)
      expect(app.template!.scale!.minReplicas).toBe(0)
      await c.pg.databases.get(names.resourceGroup, names.postgresServer, p.postgresDatabase)
      await c.pg.databases.get(names.resourceGroup, names.postgresServer, p.authDatabase)
      const container = await c.st.blobContainers.get(
        names.resourceGroup,
        names.storageAccount,
        p.blobContainer
      )
      expect(container.metadata).toMatchObject({ mlflow_pr: String(n), mlflow_pr_repository: REPO })
      // Its identity's data role reaches its own container only.
      const role = await identityClients(emulator).auth.roleAssignments.get(
        `subscriptions/${emulator.subscriptionId}/resourceGroups/${names.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${p.blobRoleScope}`,
        p.blobRole
      )
      expect(role.scope).toMatch(new RegExp(`/containers/${p.blobContainer}$`))
      // The app's database URI names its own role and database, not the admin's.
      const { value } = await c.aca.containerApps.listSecrets(names.resourceGroup, p.containerApp)
      const uri = new URL(value.find((s) => s.name === 'backend-store-uri')!.value!)
      expect(uri.username).toBe(`mlflow_pr_${n}`)
      expect(uri.pathname).toBe(`/${p.postgresDatabase}`)
      const comments = github.comments(REPO, n)
      expect(comments).toHaveLength(1)
      expect(comments[0]!.body).toContain(r.outputs['tracking-uri'])
      expect(r.outputs['comment-id']).toBe(String(comments[0]!.id))
    }
  }, 900_000)

  it('a second pr-up (a new push) edits the same comment and writes nothing but the later expiry', async () => {
    const before = github.comments(REPO, 7)[0]!
    const { value: r, requests } = await during(() =>
      action({ command: 'pr-up' }, gitHubEnv(7, { action: 'synchronize' }))
    )
    expectSuccess(r)
    const after = github.comments(REPO, 7)
    expect(after).toHaveLength(1)
    expect(after[0]!.id).toBe(before.id)
    expect(r.outputs['comment-id']).toBe(String(before.id))
    // Only the PR's own app (its expiry tag) and its container's metadata are written.
    const writes = requests.filter(isWrite)
    process.stderr.write(
      `[pr] second pr-up: ${writes.map((w) => `${w.method} ${w.path.split('?')[0]}`).join(', ')}\n`
    )
    expect(writes.length).toBeLessThanOrEqual(2)
    expect(baseWrites(requests)).toEqual([])
    const posts = github.requests.filter((q) => q.method === 'POST' && q.path.includes('/issues/7/comments'))
    expect(posts).toHaveLength(1)
  }, 600_000)

  it('refuses the environment that would exceed the connection budget, naming the numbers, before any write', async () => {
    const { value: r, requests } = await during(() => action({ command: 'pr-up' }, gitHubEnv(10)))
    expect(r.exitCode).not.toBe(0)
    const message = errorsOf(r)
    expect(message).toMatch(/connection budget/)
    expect(message).toMatch(/accepts 35 user connections \(max_connections 50 − 15 reserved by Azure\)/)
    expect(message).toMatch(/38 > 35/)
    expect(message).toMatch(/bigger postgres-sku/)
    expect(requests.filter(isWrite)).toEqual([])
  }, 300_000)

  it('refuses a PR from a fork before any request to Azure', async () => {
    const { value: r, requests } = await during(() =>
      action(
        { command: 'pr-up' },
        { ...gitHubEnv(11, { head: 'someone/models' }), GITHUB_EVENT_NAME: 'pull_request' }
      )
    )
    expect(r.exitCode).not.toBe(0)
    expect(errorsOf(r)).toMatch(/fork/)
    expect(errorsOf(r)).toMatch(/OIDC|id-token/)
    expect(requests).toEqual([])
    expect(github.comments(REPO, 11)).toEqual([])
  }, 300_000)

  it('refuses a PR number another repository already has an environment for', async () => {
    const { value: r, requests } = await during(() =>
      action({ command: 'pr-up', 'pr-number': '8' }, { ...gitHubEnv(), GITHUB_REPOSITORY: 'acme/other' })
    )
    expect(r.exitCode).not.toBe(0)
    expect(errorsOf(r)).toMatch(/belongs to acme\/models/)
    expect(requests.filter(isWrite)).toEqual([])
  }, 300_000)

  it('pr-down removes one environment and nothing else; its comment says so; a second pr-down writes nothing', async () => {
    const p = pr(BIG)
    const { value: r, requests } = await during(() =>
      action({ command: 'pr-down' }, gitHubEnv(BIG, { action: 'closed', state: 'closed' }))
    )
    expectSuccess(r)
    expect(baseWrites(requests)).toEqual([])
    const deleted = requests.filter((q) => q.method === 'DELETE').map((q) => q.path)
    for (const name of [
      p.containerApp,
      p.migrationJob,
      p.identity,
      p.blobContainer,
      p.postgresDatabase,
      p.authDatabase
    ])
      expect(deleted.some((d) => d.includes(`/${name}`))).toBe(true)
    // The role was dropped by a run of its job (a start with another command).
    expect(
      requests.some((q) => q.method === 'POST' && q.path.includes(`/jobs/${p.migrationJob}/start`))
    ).toBe(true)
    await expect(c.aca.containerApps.get(names.resourceGroup, p.containerApp)).rejects.toMatchObject({
      statusCode: 404
    })
    for (const n of [7, 8]) await c.aca.containerApps.get(names.resourceGroup, pr(n).containerApp)
    await c.aca.containerApps.get(names.resourceGroup, names.containerApp)
    const comment = github.comments(REPO, BIG)
    expect(comment).toHaveLength(1)
    expect(comment[0]!.body).toMatch(/removed/i)
    const { value: again, requests: second } = await during(() =>
      action({ command: 'pr-down', 'pr-number': String(BIG) }, gitHubEnv())
    )
    expectSuccess(again)
    expect(again.outputs.changes).toBe('0')
    expect(second.filter(isWrite)).toEqual([])
    process.stderr.write(`[pr] pr-down: ${requests.filter(isWrite).length} writes; again: 0 writes\n`)
  }, 600_000)

  it('gc removes exactly the expired, the closed and the half-made environments', async () => {
    // #10 now fits again; #11 is left half-made (a database only, as an interrupted pr-up leaves it).
    expectSuccess(await action({ command: 'pr-up' }, gitHubEnv(10)))
    await c.pg.databases.beginCreateAndWait(
      names.resourceGroup,
      names.postgresServer,
      pr(11).postgresDatabase,
      { charset: 'UTF8', collation: 'en_US.utf8' },
      { updateIntervalInMs: 50 }
    )
    // #8's PR was closed while no run saw it; #10's time ran out.
    github.setPull(REPO, 8, 'closed')
    const app10 = await c.aca.containerApps.get(names.resourceGroup, pr(10).containerApp)
    await c.aca.containerApps.beginUpdateAndWait(
      names.resourceGroup,
      pr(10).containerApp,
      {
        location: app10.location!,
        tags: { ...app10.tags, 'mlflow-pr-expires': new Date(Date.now() - 60_000).toISOString() }
      },
      { updateIntervalInMs: 50 }
    )
    const { value: r, requests } = await during(() => action({ command: 'gc' }, gitHubEnv()))
    expectSuccess(r)
    expect(baseWrites(requests)).toEqual([])
    const apps = (await listAll(c.aca.containerApps.listByResourceGroup(names.resourceGroup))).map(
      (a) => a.name
    )
    expect(apps.sort()).toEqual([names.containerApp, pr(7).containerApp].sort())
    const dbs = (await listAll(c.pg.databases.listByServer(names.resourceGroup, names.postgresServer))).map(
      (d) => d.name
    )
    expect(dbs).not.toContain(pr(11).postgresDatabase)
    expect(dbs).toContain(pr(7).postgresDatabase)
    expect(dbs).toContain(names.postgresDatabase)
    expect(r.summary).toMatch(/#8 \| 🔴 removed \| PR #8 is closed/)
    expect(r.summary).toMatch(/#10 \| 🔴 removed \| expired/)
    expect(r.summary).toMatch(/#7 \| ⚪ kept/)
    expect(github.comments(REPO, 8)[0]!.body).toMatch(/removed/i)
  }, 900_000)

  it('plan on a pull request posts the base stack plan as a sticky comment', async () => {
    const r1 = await action(
      { command: 'plan', 'image-tag': 'v3.16.1' },
      gitHubEnv(7, { action: 'synchronize' })
    )
    expectSuccess(r1)
    const r2 = await action(
      { command: 'plan', 'image-tag': 'v3.16.1' },
      gitHubEnv(7, { action: 'synchronize' })
    )
    expectSuccess(r2)
    const plans = github.comments(REPO, 7).filter((k) => k.body.includes('mlflow-azure-action:plan:'))
    expect(plans).toHaveLength(1)
    expect(plans[0]!.body).toMatch(/v3\.16\.1/)
    expect(r2.outputs['comment-id']).toBe(String(plans[0]!.id))
  }, 600_000)

  it('smoke-test with a pr-number tests that PR environment; destroy with a pr-number removes only it', async () => {
    const smoke = await action(
      { command: 'smoke-test', 'pr-number': '7', 'mlflow-demo': 'false' },
      gitHubEnv()
    )
    expectSuccess(smoke)
    expect(smoke.outputs['tracking-uri']).toMatch(new RegExp(`^https://${pr(7).containerApp}\\.`))
    expectSuccess(await action({ command: 'pr-up', 'pr-number': '20' }, gitHubEnv()))
    const { value: r, requests } = await during(() =>
      action({ command: 'destroy', 'pr-number': '20' }, gitHubEnv())
    )
    expectSuccess(r)
    expect(r.outputs['app-name']).toBe(pr(20).containerApp)
    expect(requests.some((q) => q.method === 'DELETE' && /\/resourcegroups\/[^/]+$/i.test(q.path))).toBe(
      false
    )
    expect(baseWrites(requests)).toEqual([])
    await expect(c.aca.containerApps.get(names.resourceGroup, pr(20).containerApp)).rejects.toMatchObject({
      statusCode: 404
    })
    await c.aca.containerApps.get(names.resourceGroup, names.containerApp)
    await c.aca.containerApps.get(names.resourceGroup, pr(7).containerApp)
  }, 600_000)

  it('no secret value appears in any log, output, summary or PR comment', async () => {
    const secrets: string[] = []
    for (const app of [names.containerApp, pr(7).containerApp]) {
      const { value } = await c.aca.containerApps.listSecrets(names.resourceGroup, app)
      secrets.push(...value.map((s) => s.value!))
      const uri = value.find((s) => s.name === 'backend-store-uri')!.value!
      secrets.push(decodeURIComponent(new URL(uri).password))
    }
    const comments = [7, 8, BIG, 10].flatMap((n) => github.comments(REPO, n).map((k) => k.body))
    for (const s of secrets) {
      for (const r of runs) expect(r.everything).not.toContain(s)
      for (const body of comments) expect(body).not.toContain(s)
    }
    for (const body of comments) expect(body).not.toContain(TOKEN)
  }, 120_000)
})

async function listAll<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}
