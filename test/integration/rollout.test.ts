/**
 * The gated rollout on the local Azure (stand-in runtime, so each case takes seconds): every change
 * the server must see is a new revision at 0 %, gated, then given the traffic; a version change
 * migrates the database once, first; a bad tag or a crash loop leaves the old revision serving with
 * the reason; downgrades across a schema change are refused; rollback goes back. A client polls the
 * app throughout the changes that promise no downtime.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { deriveNames } from '../../src/config/naming.js'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { isWrite, startEmulator, type Emulator, type RequestRecord } from '../helpers/emulator.js'
import { whilePolling as pollDuring } from '../helpers/ingress.js'
import { fastLro, sdkClients, type SdkClients } from '../helpers/sdk.js'

const STACK = 'bump'
const BROKEN = 'v3.17.0'
let emulator: Emulator
let c: SdkClients
let names: ReturnType<typeof deriveNames>
const base: Record<string, string> = {
  command: 'deploy',
  'stack-name': STACK,
  location: 'westeurope',
  'admin-password': 'bump-admin-password-1',
  'image-tag': 'v3.16.1'
}

async function run(extra: Record<string, string> = {}): Promise<{ run: ActionRun; log: RequestRecord[] }> {
  const before = (await emulator.requests()).length
  const result = await runAction({ ...base, ...extra }, emulator.env)
  return { run: result, log: (await emulator.requests()).slice(before) }
}

function expectSuccess(r: ActionRun): void {
  if (r.exitCode !== 0)
    throw new Error(`action failed (${r.exitCode}):\n${errorsOf(r)}\n${r.stdout.slice(-4000)}`)
}

const jobStarts = (log: RequestRecord[]) =>
  log.filter((q) => q.method === 'POST' && new RegExp(`/jobs/${names.migrationJob}/start$`, 'i').test(q.path))

async function revisions(): Promise<{ name: string; active: boolean; weight: number }[]> {
  const out: { name: string; active: boolean; weight: number }[] = []
  for await (const r of c.aca.containerAppsRevisions.listRevisions(names.resourceGroup, names.containerApp)) {
    out.push({ name: r.name!, active: r.active ?? false, weight: r.trafficWeight ?? 0 })
  }
  return out
}

async function whilePolling<T>(
  work: () => Promise<T>
): Promise<{ result: T; sent: number; failed: string[] }> {
  const app = await c.aca.containerApps.get(names.resourceGroup, names.containerApp)
  return pollDuring(emulator, app.configuration!.ingress!.fqdn!, '/health', work, { maxMs: 300_000 })
}

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: 0.002, crashImages: [`ghcr.io/mlflow/mlflow:${BROKEN}-full`] })
  c = sdkClients(emulator)
  names = deriveNames({ stackName: STACK, subscriptionId: emulator.subscriptionId })
}, 120_000)

afterAll(async () => {
  await emulator?.stop()
})

describe('gated rollout', () => {
  let first = ''

  it('a cold deploy migrates the empty database first, then the first revision takes the traffic', async () => {
    const { run: r, log } = await run()
    expectSuccess(r)
    first = r.outputs.revision!
    expect(first).toMatch(new RegExp(`^${names.containerApp}--v3-16-1-[a-z0-9]+$`))
    expect(r.outputs.migrated).toBe('true')
    expect(jobStarts(log)).toHaveLength(1)
    const app = await c.aca.containerApps.get(names.resourceGroup, names.containerApp)
    expect(app.configuration?.activeRevisionsMode).toBe('Multiple')
    expect(app.configuration?.ingress?.traffic).toEqual([{ revisionName: first, weight: 100 }])
  }, 120_000)

  it('plan of a bump says so and lists the rollout steps, and writes nothing', async () => {
    const { run: r, log } = await run({ command: 'plan', 'image-tag': 'v3.17.2' })
    expectSuccess(r)
    expect(log.filter(isWrite)).toEqual([])
    expect(r.summary).toMatch(
      /new revision bump-mlflow--v3-17-2-[a-z0-9]+: bump v3\.16\.1 → v3\.17\.2; migrate the database first \(job\)/
    )
    expect(r.summary).toContain('### Rollout steps')
    for (const step of ['migrate', 'revision', 'gate', 'traffic', 'deactivate'])
      expect(r.summary).toMatch(new RegExp(`\\| ${step} \\|.*\\| planned \\|`))
  }, 120_000)

  it('a bump migrates once, gates the new revision at 0 %, moves the traffic, deactivates the old, with no failed request', async () => {
    const { result, sent, failed } = await whilePolling(() => run({ 'image-tag': 'v3.17.2' }))
    expectSuccess(result.run)
    expect(failed).toEqual([])
    expect(sent).toBeGreaterThan(5)
    const r = result.run
    expect(r.outputs.revision).toMatch(/^bump-mlflow--v3-17-2-/)
    expect(r.outputs['previous-revision']).toBe(first)
    expect(r.outputs.migrated).toBe('true')
    const log = result.log
    expect(jobStarts(log)).toHaveLength(1)
    const at = (re: RegExp) => log.findIndex((q) => isWrite(q) && re.test(`${q.method} ${q.path}`))
    const start = at(/^POST .*\/jobs\/[^/]+\/start$/i)
    const create = at(/^PUT .*\/containerApps\/bump-mlflow$/i)
    const traffic = at(/^PATCH .*\/containerApps\/bump-mlflow$/i)
    const deactivate = at(/^POST .*\/revisions\/[^/]+\/deactivate$/i)
    expect([start, create, traffic, deactivate].every((i) => i >= 0)).toBe(true)
    expect(start).toBeLessThan(create)
    expect(create).toBeLessThan(traffic)
    expect(traffic).toBeLessThan(deactivate)
    const revs = await revisions()
    expect(revs.find((x) => x.name === first)).toMatchObject({ active: false, weight: 0 })
    expect(revs.find((x) => x.name === r.outputs.revision)).toMatchObject({ active: true, weight: 100 })
    expect(r.summary).toMatch(/\| migrate \|.*\| done \|/)
    expect(r.summary).toMatch(/Restore point: before the migration/)
    base['image-tag'] = 'v3.17.2'
  }, 180_000)

  it('a rerun with the same inputs writes nothing and starts no job', async () => {
    const { run: r, log } = await run()
    expectSuccess(r)
    expect(log.filter(isWrite)).toEqual([])
    expect(r.outputs.migrated).toBe('false')
  }, 120_000)

  it('new secret values (a new admin password) roll out as a new revision, no migration, no failed request', async () => {
    const before = (await revisions()).find((x) => x.weight === 100)!.name
    const { result, failed } = await whilePolling(() => run({ 'admin-password': 'bump-admin-password-2' }))
    expectSuccess(result.run)
    expect(failed).toEqual([])
    expect(result.run.outputs.revision).not.toBe(before)
    expect(result.run.outputs.migrated).toBe('false')
    expect(jobStarts(result.log)).toEqual([])
    base['admin-password'] = 'bump-admin-password-2'
  }, 180_000)

  it('an ingress change is made in place: no revision', async () => {
    const before = (await revisions()).length
    const { run: r, log } = await run({ 'allowed-ips': '0.0.0.0/0' })
    expectSuccess(r)
    expect((await revisions()).length).toBe(before)
    expect(log.filter(isWrite).map((q) => q.method)).toEqual(['PATCH'])
    base['allowed-ips'] = '0.0.0.0/0'
  }, 120_000)

  it('a tag with no such release: the old revision keeps all traffic, the action names the reason; a good deploy converges', async () => {
    const serving = (await revisions()).find((x) => x.weight === 100)!.name
    const { result, failed } = await whilePolling(() => run({ 'image-tag': 'v3.17.9' }))
    const r = result.run
    expect(r.exitCode).not.toBe(0)
    expect(failed).toEqual([])
    // The migration runs the new image first: it cannot be pulled, so nothing else is changed.
    expect(errorsOf(r)).toMatch(
      /The database migration to MLflow 3\.17\.9 failed \(job bump-migrate, execution \S+: Failed.*manifest unknown/
    )
    expect(errorsOf(r)).toMatch(/the serving revision keeps all traffic/)
    const revs = await revisions()
    expect(revs.find((x) => x.weight === 100)?.name).toBe(serving)
    expect(revs.some((x) => x.name.startsWith('bump-mlflow--v3-17-9'))).toBe(false)
    const again = await run()
    expectSuccess(again.run)
    expect(again.run.outputs.revision).toBe(serving)
  }, 180_000)

  it('a crash-looping release: the old revision keeps all traffic; the failure shows its last log lines', async () => {
    const serving = (await revisions()).find((x) => x.weight === 100)!.name
    const { run: r } = await run({ 'image-tag': BROKEN, 'allow-downgrade': 'true' })
    expect(r.exitCode).not.toBe(0)
    expect(errorsOf(r)).toMatch(/Revision bump-mlflow--v3-17-0-\S+ did not pass the health gate/)
    expect(errorsOf(r)).toMatch(/Last log lines:\n\s+\S/)
    expect((await revisions()).find((x) => x.weight === 100)?.name).toBe(serving)
  }, 180_000)

  it('a downgrade across a schema change is refused before any write', async () => {
    const { run: r, log } = await run({ 'image-tag': 'v3.16.1' })
    expect(r.exitCode).not.toBe(0)
    expect(errorsOf(r)).toMatch(
      /`image-tag` v3\.17\.2 → v3\.16\.1 is a downgrade across a database schema change/
    )
    expect(log.filter(isWrite)).toEqual([])
  }, 120_000)

  it('rollback returns the traffic to the revision before, gated; across a schema change it is refused', async () => {
    // Same schema: 3.17.2 → 3.17.2 with a changed template, then back.
    const { run: bumped } = await run({ replicas: '2' })
    expectSuccess(bumped)
    const current = bumped.outputs.revision!
    const previous = bumped.outputs['previous-revision']!
    const { run: back } = await run({ command: 'rollback' })
    expectSuccess(back)
    expect(back.outputs.revision).toBe(previous)
    expect(back.outputs['previous-revision']).toBe(current)
    const revs = await revisions()
    expect(revs.find((x) => x.name === previous)).toMatchObject({ active: true, weight: 100 })
    expect(revs.find((x) => x.name === current)).toMatchObject({ active: false, weight: 0 })

    // Rolling back again would go to 3.17.2 (same schema): allowed. Onto the 3.16.1 revision: refused.
    const older = (await revisions()).find((x) => x.name === first)!
    const app = await c.aca.containerApps.get(names.resourceGroup, names.containerApp)
    await c.aca.containerApps.update(
      names.resourceGroup,
      names.containerApp,
      { location: app.location, tags: { ...app.tags, 'mlflow-previous-revision': older.name } },
      { updateIntervalInMs: 20 }
    )
    const { run: refused, log } = await run({ command: 'rollback' })
    expect(refused.exitCode).not.toBe(0)
    expect(errorsOf(refused)).toMatch(
      /Rollback to bump-mlflow--v3-16-1-\S+ \(MLflow v3\.16\.1\) refused: the database was migrated for v3\.17\.2.*restore the PostgreSQL server/
    )
    expect(log.filter(isWrite)).toEqual([])
  }, 240_000)
})

/**
 * A run cut off between its writes leaves a revision active without traffic: the old one when it
 * was killed after its traffic move, its new one when killed before. The next run under the lock
 * deactivates such a leftover, or, when it runs exactly what that run would start, resumes with it.
 */
describe('revisions an interrupted run left active without traffic', () => {
  const inputs: Record<string, string> = {
    command: 'deploy',
    'stack-name': 'resume',
    location: 'westeurope',
    'admin-password': 'resume-admin-password-1',
    'image-tag': 'v3.17.2'
  }
  let n: ReturnType<typeof deriveNames>
  let first = ''
  let second = ''

  async function act(extra: Record<string, string> = {}): Promise<{ run: ActionRun; writes: string[] }> {
    const before = (await emulator.requests()).length
    const result = await runAction({ ...inputs, ...extra }, emulator.env)
    const log = (await emulator.requests()).slice(before)
    return { run: result, writes: log.filter(isWrite).map((q) => `${q.method} ${q.path.split('?')[0]}`) }
  }
  async function revs(): Promise<{ name: string; active: boolean; weight: number }[]> {
    const out: { name: string; active: boolean; weight: number }[] = []
    for await (const r of c.aca.containerAppsRevisions.listRevisions(n.resourceGroup, n.containerApp))
      out.push({ name: r.name!, active: r.active ?? false, weight: r.trafficWeight ?? 0 })
    return out
  }
  const appPath = () =>
    `/subscriptions/${emulator.subscriptionId}/resourceGroups/${n.resourceGroup}/providers/Microsoft.App/containerApps/${n.containerApp}`

  beforeAll(async () => {
    n = deriveNames({ stackName: 'resume', subscriptionId: emulator.subscriptionId })
    const cold = await act()
    expectSuccess(cold.run)
    first = cold.run.outputs.revision!
    // New secret values: a second revision of the same release, the first one deactivated.
    inputs['admin-password'] = 'resume-admin-password-2'
    const next = await act()
    expectSuccess(next.run)
    second = next.run.outputs.revision!
    expect(await revs()).toEqual(
      expect.arrayContaining([
        { name: first, active: false, weight: 0 },
        { name: second, active: true, weight: 100 }
      ])
    )
  }, 180_000)

  it('the old revision left active (killed after its traffic move): plan counts it, deploy only deactivates it, a rerun writes nothing', async () => {
    await c.aca.containerAppsRevisions.activateRevision(n.resourceGroup, n.containerApp, first)
    expect((await revs()).find((x) => x.name === first)).toEqual({ name: first, active: true, weight: 0 })

    const planned = await act({ command: 'plan' })
    expectSuccess(planned.run)
    expect(planned.writes).toEqual([])
    expect(planned.run.outputs.changes).toBe('1')
    expect(planned.run.summary).toContain(
      `deactivate ${first} (active with no traffic: left by an interrupted run)`
    )
    expect(planned.run.summary).toMatch(
      new RegExp(
        `\\| deactivateLeftover1 \\| deactivate \`${first}\` \\(active with no traffic.*\\| planned \\|`
      )
    )

    const deployed = await act()
    expectSuccess(deployed.run)
    expect(deployed.writes).toEqual([`POST ${appPath()}/revisions/${first}/deactivate`])
    expect(deployed.run.outputs.revision).toBe(second)
    expect((await revs()).find((x) => x.name === first)).toMatchObject({ active: false, weight: 0 })

    const again = await act()
    expectSuccess(again.run)
    expect(again.writes).toEqual([])
    expect((await act({ command: 'plan' })).run.outputs.changes).toBe('0')
  }, 180_000)

  it('the new revision written before the traffic moved (killed there) is resumed: gated and given the traffic, not made again', async () => {
    // What a run with replicas: 2 writes first: the app's template, a new revision at 0 %.
    const app = await c.aca.containerApps.get(n.resourceGroup, n.containerApp)
    await c.aca.containerApps.beginUpdateAndWait(
      n.resourceGroup,
      n.containerApp,
      {
        location: app.location,
        template: {
          ...app.template,
          revisionSuffix: 'cut-off',
          scale: { ...app.template?.scale, minReplicas: 2, maxReplicas: 2 }
        }
      },
      fastLro
    )
    const cutOff = `${n.containerApp}--cut-off`
    expect((await revs()).find((x) => x.name === cutOff)).toMatchObject({ active: true, weight: 0 })

    const planned = await act({ command: 'plan', replicas: '2' })
    expectSuccess(planned.run)
    expect(planned.writes).toEqual([])
    expect(planned.run.summary).toContain(`resume with revision ${cutOff} (made by an interrupted run`)

    const deployed = await act({ replicas: '2' })
    expectSuccess(deployed.run)
    expect(deployed.run.outputs.revision).toBe(cutOff)
    expect(deployed.run.outputs['previous-revision']).toBe(second)
    // No new revision: the traffic move and the old revision's deactivation only.
    expect(deployed.writes).toEqual([
      `PATCH ${appPath()}`,
      `POST ${appPath()}/revisions/${second}/deactivate`
    ])
    const after = await revs()
    expect(after.find((x) => x.name === cutOff)).toMatchObject({ active: true, weight: 100 })
    expect(after.find((x) => x.name === second)).toMatchObject({ active: false, weight: 0 })
    expect(after.filter((x) => x.active)).toHaveLength(1)
    inputs['replicas'] = '2'
    expect((await act()).writes).toEqual([])
  }, 180_000)

  it('rollback still goes back to the deactivated revision before', async () => {
    const back = await act({ command: 'rollback' })
    expectSuccess(back.run)
    expect(back.run.outputs.revision).toBe(second)
    const after = await revs()
    expect(after.find((x) => x.name === second)).toMatchObject({ active: true, weight: 100 })
    expect(after.filter((x) => x.active)).toHaveLength(1)
  }, 180_000)
})
