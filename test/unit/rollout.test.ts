/**
 * The rollout as pure policy: which change makes a new revision, its suffix, when the database is
 * migrated, which downgrades are refused, the steps and their order, and rollback's rules.
 */
import { describe, expect, it } from '@jest/globals'
import type { Observed, RevisionState } from '../../src/azure/port.js'
import { parseInputs, type DeployConfig } from '../../src/config/inputs.js'
import { countChanges, plan, type PlanEntry } from '../../src/engine/plan.js'
import { desiredState, type DesiredResource } from '../../src/stack/desired.js'
import type { Facts } from '../../src/stack/facts.js'
import {
  downgradeRefusal,
  isValidSuffix,
  revisionSuffix,
  schemaStep,
  secretsDigest,
  versionOfImage,
  withSecretsDigest
} from '../../src/stack/rollout.js'
import {
  describeAppPlan,
  planApp,
  planRollback,
  planSteps,
  PREVIOUS_REVISION_TAG
} from '../../src/stack/steps.js'
import { STACK, type ActualState } from '../../src/stack/graph.js'

const SUB = '00000000-0000-4000-8000-000000000001'
const v = (s: string) => {
  const [major, minor, patch] = s.split('.').map(Number) as [number, number, number]
  return { major, minor, patch }
}
const run = { runId: '12345678901', runAttempt: '1', nowSeconds: 0 }

function config(extra: Record<string, string> = {}): DeployConfig {
  const inputs: Record<string, string> = {
    'stack-name': 'team-a',
    location: 'westeurope',
    'subscription-id': SUB,
    'admin-password': 'an-admin-password',
    ...extra
  }
  return parseInputs((n) => inputs[n] ?? '') as DeployConfig
}
const facts: Facts = {
  workspaceCustomerId: 'cust',
  workspaceSharedKey: 'k',
  environmentDefaultDomain: 'blue.westeurope.azurecontainerapps.io',
  storageKey: 'storage-key',
  postgresPassword: 'pg-password',
  postgresPasswordIsNew: false,
  postgresServerExists: true,
  flaskSecretKey: 'flask'
}

const appOf = (c: DeployConfig, f: Facts = facts) =>
  desiredState(c, f).find((d) => d.key === 'containerApp') as DesiredResource<'containerApp'>

/** A revision that runs exactly what `c` asks for, as Azure reports it. */
function revisionFor(c: DeployConfig, name: string, extra: Partial<RevisionState> = {}): RevisionState {
  const spec = appOf(c).spec
  return {
    name,
    createdTime: '2026-12-01T10:00:00.000Z',
    fqdn: `${name}.blue.westeurope.azurecontainerapps.io`,
    container: withSecretsDigest(spec.container, secretsDigest(spec.container, spec.secrets)),
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
    provisioningState: 'Provisioned',
    runningState: 'Running',
    healthState: 'Healthy',
    active: true,
    trafficWeight: 100,
    image: spec.container.image,
    ...extra
  }
}

function observedApp(c: DeployConfig): Observed<'containerApp'> {
  const spec = appOf(c).spec
  return {
    kind: 'containerApp',
    id: 'app',
    name: 'team-a-mlflow',
    provisioningState: 'Succeeded',
    spec: JSON.parse(JSON.stringify(spec)) as typeof spec,
    outputs: {
      fqdn: 'team-a-mlflow.blue.westeurope.azurecontainerapps.io',
      latestRevisionName: 'team-a-mlflow--old',
      latestReadyRevisionName: 'team-a-mlflow--old',
      runningStatus: 'Running',
      traffic: [{ revisionName: 'team-a-mlflow--old', weight: 100 }],
      eventStreamEndpoint: ''
    }
  }
}

function appPlanFor(
  now: DeployConfig,
  serving?: RevisionState,
  extra: { allowDowngrade?: boolean; was?: DeployConfig } = {}
) {
  const observed = serving ? observedApp(extra.was ?? now) : undefined
  const desired = appOf(now)
  const entries = plan(desiredState(now, facts), (observed ? { containerApp: observed } : {}) as ActualState)
  return planApp({
    desired,
    observed,
    revisions: serving ? [serving] : [],
    configChanges: entries.find((e) => e.key === 'containerApp')!.changes,
    version: now.image.version,
    run,
    allowDowngrade: extra.allowDowngrade ?? false
  })
}

describe('revision suffix', () => {
  it('is readable, from the version and the run, and within the naming rules', () => {
    const s = revisionSuffix('team-a-mlflow', v('3.17.2'), run, [])
    expect(s).toBe(`v3-17-2-${BigInt('12345678901').toString(36)}`)
    expect(isValidSuffix('team-a-mlflow', s)).toBe(true)
  })

  it('is unique: a re-run attempt and a second rollout in the same run get their own', () => {
    const first = revisionSuffix('app', v('3.17.2'), run, [])
    const attempt = revisionSuffix('app', v('3.17.2'), { ...run, runAttempt: '2' }, [])
    expect(attempt).toBe(`${first}-a2`)
    expect(revisionSuffix('app', v('3.17.2'), run, [`app--${first}`])).toBe(`${first}-2`)
  })

  it('fits the 54-character name with the longest app name, and works without a run id', () => {
    const app = 'abcdefghijklmnopqrstuvwx-mlflow' // 31: a 24-character stack
    for (const r of [
      run,
      { nowSeconds: 1_800_000_000 },
      { ...run, runId: '9'.repeat(19), runAttempt: '12' }
    ]) {
      const s = revisionSuffix(app, v('13.117.112'), r, [])
      expect(isValidSuffix(app, s)).toBe(true)
    }
  })
})

describe('schema and downgrades', () => {
  it('a patch release keeps the schema; a minor or major change changes it', () => {
    expect(schemaStep(v('3.16.0'), v('3.16.1'))).toBe('none')
    expect(schemaStep(v('3.16.1'), v('3.17.2'))).toBe('upgrade')
    expect(schemaStep(v('3.17.2'), v('3.16.1'))).toBe('downgrade')
    expect(schemaStep(undefined, v('3.17.2'))).toBe('upgrade')
  })

  it('refuses a downgrade across a schema change unless allowed', () => {
    expect(downgradeRefusal(v('3.17.2'), v('3.16.1'), false)).toMatch(
      /^`image-tag` v3\.17\.2 → v3\.16\.1 is a downgrade across a database schema change/
    )
    expect(downgradeRefusal(v('3.17.2'), v('3.16.1'), true)).toBeUndefined()
    expect(downgradeRefusal(v('3.17.2'), v('3.17.0'), false)).toBeUndefined()
  })

  it('reads the version from the image', () => {
    expect(versionOfImage('ghcr.io/mlflow/mlflow:v3.16.1-full')).toEqual(v('3.16.1'))
    expect(versionOfImage('example.azurecr.io/mlflow:latest')).toBeUndefined()
  })
})

describe('which change makes a new revision', () => {
  const before = config({ 'image-tag': 'v3.16.1' })
  const serving = revisionFor(before, 'team-a-mlflow--old')

  it('nothing changed: no revision, no step', () => {
    const app = appPlanFor(before, serving)
    expect(app.kind).toBe('none')
    expect(describeAppPlan(app)).toBeUndefined()
  })

  it('an image bump: a new revision, the database migrated first, and the plan says bump', () => {
    const app = appPlanFor(config({ 'image-tag': 'v3.17.2' }), serving)
    expect(app).toMatchObject({ kind: 'revision', migrate: true, schema: 'upgrade' })
    expect(describeAppPlan(app)).toMatch(
      /^new revision team-a-mlflow--v3-17-2-\w+: bump v3\.16\.1 → v3\.17\.2; migrate the database first \(job\)$/
    )
  })

  it('new secret values: a new revision, no migration', () => {
    const app = appPlanFor(
      before,
      revisionFor(before, 'team-a-mlflow--old', {
        container: withSecretsDigest(appOf(before).spec.container, 'an-older-digest')
      })
    )
    expect(app).toMatchObject({ kind: 'revision', migrate: false })
    expect(app.reasons).toEqual(['secret values changed'])
  })

  it('scale and resources are template changes: a new revision, as on Azure', () => {
    const app = appPlanFor(config({ 'image-tag': 'v3.16.1', replicas: '2', cpu: '2' }), serving)
    expect(app.kind).toBe('revision')
    expect(app.templateChanges.map((c) => c.path).sort()).toEqual([
      'container.cpu',
      'container.memory',
      'maxReplicas',
      'minReplicas'
    ])
  })

  it('ingress only: in place, no revision', () => {
    expect(
      appPlanFor(config({ 'image-tag': 'v3.16.1', 'allowed-ips': '203.0.113.7' }), serving, { was: before })
        .kind
    ).toBe('config')
  })

  it('no app yet: the first revision, after the database is prepared', () => {
    expect(appPlanFor(before)).toMatchObject({ kind: 'create', migrate: true })
  })

  it('a downgrade across a schema change is refused before any write', () => {
    const newer = revisionFor(config({ 'image-tag': 'v3.17.2' }), 'team-a-mlflow--new')
    expect(appPlanFor(before, newer).refusal).toMatch(/downgrade across a database schema change/)
    expect(appPlanFor(before, newer, { allowDowngrade: true }).refusal).toBeUndefined()
  })
})

describe('steps', () => {
  const before = config({ 'image-tag': 'v3.16.1' })
  const serving = revisionFor(before, 'team-a-mlflow--old')

  function stepsFor(now: DeployConfig, with_: RevisionState | undefined) {
    const observed = with_ ? observedApp(before) : undefined
    const desired = desiredState(now, facts)
    const actual = (observed ? { containerApp: observed } : {}) as ActualState
    const entries = plan(desired, actual)
    const app = appPlanFor(now, with_, { was: before })
    return planSteps({ entries, desired, observedApp: observed, app })
  }

  it('a bump: migrate, new revision at 0 %, gate, traffic, deactivate — in that order', () => {
    const steps = stepsFor(config({ 'image-tag': 'v3.17.2' }), serving).filter((s) => s.kind !== 'put')
    expect(
      steps.map((s) => [s.key, s.dependsOn.filter((d) => !/[A-Z]|Database|Job|identity/.test(d))])
    ).toEqual([
      ['migrate', []],
      ['revision', ['migrate']],
      ['gate', ['revision']],
      ['traffic', ['gate']],
      ['deactivate', ['traffic']]
    ])
    const revision = steps.find((s) => s.kind === 'createRevision')!
    expect(revision.kind === 'createRevision' && revision.app.traffic).toEqual([
      { revisionName: 'team-a-mlflow--old', weight: 100 }
    ])
    const traffic = steps.find((s) => s.kind === 'shiftTraffic')!
    expect(traffic.kind === 'shiftTraffic' && traffic.tags[PREVIOUS_REVISION_TAG]).toBe('team-a-mlflow--old')
  })

  it('a cold deploy: the first revision takes all traffic, and nothing is deactivated', () => {
    const steps = stepsFor(before, undefined).filter((s) => s.kind !== 'put')
    expect(steps.map((s) => s.key)).toEqual(['migrate', 'revision', 'gate'])
    const revision = steps.find((s) => s.kind === 'createRevision')!
    expect(revision.kind === 'createRevision' && revision.app.traffic).toEqual([
      { revisionName: revision.kind === 'createRevision' ? revision.revision : '', weight: 100 }
    ])
  })

  it('ingress only: one patch of the configuration, the traffic kept as it is', () => {
    const steps = stepsFor(config({ 'image-tag': 'v3.16.1', 'allowed-ips': '203.0.113.7' }), serving)
    const config_ = steps.find((s) => s.kind === 'patchApp')!
    expect(steps.filter((s) => s.kind !== 'put').map((s) => s.key)).toEqual(['appConfig'])
    expect(config_.kind === 'patchApp' && config_.app.traffic).toEqual([
      { revisionName: 'team-a-mlflow--old', weight: 100 }
    ])
  })
})

describe('revisions an interrupted run left active without traffic', () => {
  const was = config({ 'image-tag': 'v3.16.1' })
  const now = config({ 'image-tag': 'v3.17.2' })
  const later = { createdTime: '2026-12-02T10:00:00.000Z' }

  function planned(
    c: DeployConfig,
    revisions: RevisionState[],
    opts: { single?: boolean; configChanges?: PlanEntry['changes'] } = {}
  ) {
    const base = observedApp(c)
    const observed = opts.single
      ? { ...base, spec: { ...base.spec, activeRevisionsMode: 'Single' as const } }
      : base
    const desired = desiredState(c, facts)
    const entries = plan(desired, { containerApp: observed } as ActualState)
    const app = planApp({
      desired: appOf(c),
      observed,
      revisions,
      configChanges: opts.configChanges ?? entries.find((e) => e.key === 'containerApp')!.changes,
      version: c.image.version,
      run,
      allowDowngrade: false
    })
    const steps = planSteps({ entries, desired, observedApp: observed, app }).filter((s) => s.kind !== 'put')
    return { app, steps, entries }
  }
  const shape = (steps: ReturnType<typeof planned>['steps']) =>
    steps.map((s) => [
      s.key,
      'revision' in s ? s.revision : '',
      // The rollout's own steps (the resources' puts are left out).
      s.dependsOn.filter((d) => !(d in STACK))
    ])

  it('a bump cut off after its traffic move: nothing to roll out, the old revision is deactivated, and the plan counts it', () => {
    const serving = revisionFor(now, 'team-a-mlflow--new', later)
    const old = revisionFor(was, 'team-a-mlflow--old', { trafficWeight: 0 })
    const { app, steps } = planned(now, [old, serving])
    expect(app).toMatchObject({ kind: 'none', leftovers: ['team-a-mlflow--old'] })
    expect(shape(steps)).toEqual([['deactivateLeftover1', 'team-a-mlflow--old', []]])
    expect(steps[0]).toMatchObject({ kind: 'deactivate', leftover: true })
    const rollout = describeAppPlan(app)
    expect(rollout).toBe('deactivate team-a-mlflow--old (active with no traffic: left by an interrupted run)')
    // The app's fields are as desired, but the plan is not "0 changes" while the leftover runs.
    const entry = { ...plan(desiredState(now, facts), {} as ActualState)[0]!, action: 'noop' as const }
    expect(countChanges([entry])).toBe(0)
    expect(countChanges([{ ...entry, rollout: rollout! }])).toBe(1)
  })

  it('a deactivated revision (where rollback goes back to) is no leftover; neither is anything in Single mode', () => {
    const serving = revisionFor(now, 'team-a-mlflow--new', later)
    const old = revisionFor(was, 'team-a-mlflow--old', { active: false, trafficWeight: 0 })
    expect(planned(now, [old, serving])).toMatchObject({ app: { kind: 'none', leftovers: [] }, steps: [] })
    expect(describeAppPlan(planned(now, [old, serving]).app)).toBeUndefined()
    // Single mode: Azure keeps the old revision until the new one is ready, then deactivates it.
    const starting = revisionFor(now, 'team-a-mlflow--starting', { trafficWeight: 0 })
    const single = planned(was, [revisionFor(was, 'team-a-mlflow--old'), starting], { single: true })
    expect(single.app.leftovers).toEqual([])
    expect(single.steps.some((s) => s.kind === 'deactivate')).toBe(false)
  })

  it('a revision of other inputs left at 0 %: this run makes its own, and deactivates the leftover after its traffic move', () => {
    const serving = revisionFor(was, 'team-a-mlflow--old')
    const other = revisionFor(config({ 'image-tag': 'v3.17.2', cpu: '2' }), 'team-a-mlflow--other', {
      ...later,
      trafficWeight: 0
    })
    const { app, steps } = planned(now, [serving, other])
    expect(app).toMatchObject({ kind: 'revision', leftovers: ['team-a-mlflow--other'] })
    expect(app.existing).toBeUndefined()
    expect(app.revision).toMatch(/^team-a-mlflow--v3-17-2-/)
    expect(shape(steps)).toEqual([
      ['migrate', '', []],
      ['revision', app.revision, ['migrate']],
      ['gate', app.revision, ['revision']],
      ['traffic', app.revision, ['gate']],
      ['deactivate', 'team-a-mlflow--old', ['traffic']],
      ['deactivateLeftover1', 'team-a-mlflow--other', ['traffic']]
    ])
    expect(describeAppPlan(app)).toMatch(
      /^new revision team-a-mlflow--v3-17-2-\w+: bump v3\.16\.1 → v3\.17\.2; migrate the database first \(job\); then deactivate team-a-mlflow--other \(active with no traffic: left by an interrupted run\)$/
    )
  })

  it('a revision that runs exactly what this run would start is resumed: migrated for, gated, given the traffic — not made again', () => {
    const serving = revisionFor(was, 'team-a-mlflow--old')
    const made = revisionFor(now, 'team-a-mlflow--v3-17-2-killed', { ...later, trafficWeight: 0 })
    const { app, steps } = planned(now, [serving, made])
    expect(app).toMatchObject({
      kind: 'revision',
      existing: true,
      revision: 'team-a-mlflow--v3-17-2-killed',
      leftovers: [],
      migrate: true
    })
    expect(shape(steps)).toEqual([
      ['migrate', '', []],
      ['gate', made.name, ['migrate']],
      ['traffic', made.name, ['gate']],
      ['deactivate', 'team-a-mlflow--old', ['traffic']]
    ])
    expect(describeAppPlan(app)).toMatch(
      /^resume with revision team-a-mlflow--v3-17-2-killed \(made by an interrupted run, at 0 % traffic\): bump v3\.16\.1 → v3\.17\.2/
    )
  })

  it('not resumed when it failed, when its secret values differ, or when the app has other changes to write', () => {
    const serving = revisionFor(was, 'team-a-mlflow--old')
    const made = (extra: Partial<RevisionState>) =>
      revisionFor(now, 'team-a-mlflow--made', { ...later, trafficWeight: 0, ...extra })
    const failed = made({ provisioningState: 'Failed', runningState: 'Failed' })
    const otherSecrets = made({ container: withSecretsDigest(appOf(now).spec.container, 'older-values') })
    for (const leftover of [failed, otherSecrets]) {
      const { app, steps } = planned(now, [serving, leftover])
      expect(app).toMatchObject({ kind: 'revision', leftovers: ['team-a-mlflow--made'] })
      expect(app.existing).toBeUndefined()
      expect(steps.map((s) => s.key)).toContain('revision')
    }
    const withConfig = planned(now, [serving, made({})], {
      configChanges: [{ path: 'ingress.external', before: false, after: true, sensitive: false }]
    })
    expect(withConfig.app.existing).toBeUndefined()
    expect(withConfig.app.leftovers).toEqual(['team-a-mlflow--made'])
  })

  it('an in-place change: the leftover is deactivated after the configuration patch; several leftovers each get a step', () => {
    const open = config({ 'image-tag': 'v3.16.1', 'allowed-ips': '203.0.113.7' })
    const serving = revisionFor(was, 'team-a-mlflow--old')
    const a = revisionFor(now, 'team-a-mlflow--a', { trafficWeight: 0 })
    const b = revisionFor(now, 'team-a-mlflow--b', { trafficWeight: 0 })
    const base = observedApp(was)
    const desired = desiredState(open, facts)
    const entries = plan(desired, { containerApp: base } as ActualState)
    const app = planApp({
      desired: appOf(open),
      observed: base,
      revisions: [serving, a, b],
      configChanges: entries.find((e) => e.key === 'containerApp')!.changes,
      version: open.image.version,
      run,
      allowDowngrade: false
    })
    expect(app.kind).toBe('config')
    const steps = planSteps({ entries, desired, observedApp: base, app }).filter((s) => s.kind !== 'put')
    expect(shape(steps)).toEqual([
      ['appConfig', '', []],
      ['deactivateLeftover1', 'team-a-mlflow--a', ['appConfig']],
      ['deactivateLeftover2', 'team-a-mlflow--b', ['appConfig']]
    ])
  })
})

describe('rollback', () => {
  const old = revisionFor(config({ 'image-tag': 'v3.17.0' }), 'app--old', { active: false, trafficWeight: 0 })
  const cur = revisionFor(config({ 'image-tag': 'v3.17.2' }), 'app--cur', {
    createdTime: '2026-12-02T00:00:00.000Z'
  })

  it('activates, gates, shifts traffic to, and deactivates, in that order', () => {
    const p = planRollback({ revisions: [old, cur], previous: 'app--old', tags: {}, restoreHint: '' })
    expect(p.refusal).toBeUndefined()
    expect(p.steps.map((s) => `${s.kind} ${'revision' in s ? s.revision : ''}`)).toEqual([
      'activate app--old',
      'gate app--old',
      'shiftTraffic app--old',
      'deactivate app--cur'
    ])
  })

  it('refuses when nothing is recorded, and across a schema change with the restore hint', () => {
    expect(planRollback({ revisions: [cur], tags: {}, restoreHint: '' }).refusal).toMatch(
      /nothing to roll back to/
    )
    const older = revisionFor(config({ 'image-tag': 'v3.16.1' }), 'app--older', {
      active: false,
      trafficWeight: 0
    })
    const p = planRollback({
      revisions: [older, cur],
      previous: 'app--older',
      tags: {},
      restoreHint: 'RESTORE HINT'
    })
    expect(p.refusal).toMatch(/^Rollback to app--older \(MLflow v3\.16\.1\) refused: .* RESTORE HINT$/)
  })
})
