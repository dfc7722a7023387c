/**
 * Storage key policy as pure functions: which key a deploy keeps, which key a revision holds, and
 * what rotate-keys does from every state an interrupted rotation can leave in Azure — never
 * regenerating the key the serving revision holds.
 */
import { describe, expect, it } from '@jest/globals'
import type { Observed, RevisionState } from '../../src/azure/port.js'
import { parseInputs, type DeployConfig } from '../../src/config/inputs.js'
import { plan } from '../../src/engine/plan.js'
import { desiredState, type DesiredResource } from '../../src/stack/desired.js'
import type { Facts } from '../../src/stack/facts.js'
import type { ActualState } from '../../src/stack/graph.js'
import { withRolloutMarkers } from '../../src/stack/rollout.js'
import { planApp, planSteps, PREVIOUS_REVISION_TAG } from '../../src/stack/steps.js'
import {
  KEY_TO_RETIRE_TAG,
  keyFingerprint,
  keyForDeploy,
  keyHeldBy,
  otherKey,
  planRotation,
  type KeyState
} from '../../src/stack/storageKeys.js'

const keys = { key1: 'K1-value', key2: 'K2-value' }

describe('which key', () => {
  it('a deploy keeps the key the app holds, and takes key1 when it holds neither', () => {
    expect(keyForDeploy(keys, 'K2-value')).toBe('key2')
    expect(keyForDeploy(keys, 'K1-value')).toBe('key1')
    expect(keyForDeploy(keys, 'a regenerated value')).toBe('key1')
    expect(keyForDeploy(keys, undefined)).toBe('key1')
  })

  it('a revision holds the key whose fingerprint its template carries', () => {
    const container = withRolloutMarkers(
      { name: 'mlflow', image: 'i', command: [], args: [], env: [], cpu: 1, memory: '2Gi', probes: [] },
      [{ name: 'storage-access-key', value: 'K2-value' }]
    )
    expect(keyHeldBy(keys, container)).toBe('key2')
    expect(keyHeldBy({ key1: 'K1-value', key2: 'new' }, container)).toBeUndefined()
    expect(JSON.stringify(container)).not.toContain('K2-value')
    expect(container.env.map((e) => e.value)).toContain(keyFingerprint('K2-value'))
  })
})

describe('rotate-keys from each state Azure can hold', () => {
  const state = (s: Partial<KeyState>): KeyState => ({ keys, ...s })

  it('fresh: regenerate the other key, move to it, then regenerate the one in use', () => {
    expect(planRotation(state({ appSecret: 'K1-value', live: 'key1' }))).toMatchObject({
      regenerate: 'key2',
      switchTo: 'key2',
      retire: 'key1'
    })
    expect(planRotation(state({ appSecret: 'K2-value', live: 'key2' }))).toMatchObject({
      regenerate: 'key1',
      switchTo: 'key1',
      retire: 'key2'
    })
  })

  it('stopped after regenerating, before the secret changed: regenerating the unused key again is safe', () => {
    // The app still holds key1; key2 has a new value no one uses.
    expect(planRotation(state({ appSecret: 'K1-value', live: 'key1' })).regenerate).toBe('key2')
  })

  it('stopped after the secret changed (revision written or gated, traffic not moved): resume, no regenerate', () => {
    const p = planRotation(state({ appSecret: 'K2-value', live: 'key1' }))
    expect(p).toMatchObject({ switchTo: 'key2', retire: 'key1' })
    expect(p.regenerate).toBeUndefined()
  })

  it('stopped after the traffic moved, before the old key was regenerated: only that is left', () => {
    const p = planRotation(state({ appSecret: 'K2-value', live: 'key2', toRetire: 'key1' }))
    expect(p).toEqual(expect.objectContaining({ retire: 'key1' }))
    expect(p.regenerate).toBeUndefined()
    expect(p.switchTo).toBeUndefined()
  })

  it('never regenerates the key the serving revision holds', () => {
    for (const live of ['key1', 'key2'] as const)
      for (const appSecret of ['K1-value', 'K2-value', 'other'])
        for (const toRetire of [undefined, 'key1', 'key2'] as const) {
          const p = planRotation(state({ live, appSecret, ...(toRetire ? { toRetire } : {}) }))
          expect(p.regenerate).not.toBe(live)
          // Only once a new revision has taken the traffic off it.
          if (p.retire === live) expect(p.switchTo).toBe(otherKey(live))
        }
  })

  it('refuses when the serving revision holds neither key', () => {
    expect(planRotation(state({ appSecret: 'K1-value' })).refusal).toMatch(
      /holds neither storage key.*Run deploy first/s
    )
  })
})

describe('the rotation as steps', () => {
  const SUB = '00000000-0000-4000-8000-000000000001'
  const inputs: Record<string, string> = {
    'stack-name': 'team-a',
    location: 'westeurope',
    'subscription-id': SUB,
    'admin-password': 'an-admin-password',
    command: 'rotate-keys'
  }
  const config = parseInputs((n) => inputs[n] ?? '') as DeployConfig
  const base: Facts = {
    workspaceCustomerId: 'cust',
    workspaceSharedKey: 'k',
    environmentDefaultDomain: 'blue.westeurope.azurecontainerapps.io',
    storageKey: 'K1-value',
    storageKeys: keys,
    postgresPassword: 'pg-password',
    postgresPasswordIsNew: false,
    postgresServerExists: true,
    flaskSecretKey: 'flask'
  }
  const appOf = (f: Facts) =>
    desiredState(config, f).find((d) => d.key === 'containerApp') as DesiredResource<'containerApp'>
  const servingSpec = appOf(base).spec
  const serving: RevisionState = {
    name: 'team-a-mlflow--old',
    createdTime: '2026-12-01T10:00:00.000Z',
    fqdn: 'team-a-mlflow--old.blue.westeurope.azurecontainerapps.io',
    container: withRolloutMarkers(servingSpec.container, servingSpec.secrets),
    minReplicas: 1,
    maxReplicas: 1,
    provisioningState: 'Provisioned',
    runningState: 'Running',
    healthState: 'Healthy',
    active: true,
    trafficWeight: 100,
    image: servingSpec.container.image
  }
  const observed: Observed<'containerApp'> = {
    kind: 'containerApp',
    id: 'app',
    name: 'team-a-mlflow',
    provisioningState: 'Succeeded',
    spec: JSON.parse(JSON.stringify(servingSpec)) as typeof servingSpec,
    outputs: {
      fqdn: 'team-a-mlflow.blue.westeurope.azurecontainerapps.io',
      latestRevisionName: serving.name,
      latestReadyRevisionName: serving.name,
      runningStatus: 'Running',
      traffic: [{ revisionName: serving.name, weight: 100 }],
      eventStreamEndpoint: ''
    }
  }

  function stepsFor(
    facts: Facts,
    rotation: ReturnType<typeof planRotation>,
    revisions: RevisionState[] = [serving],
    observedApp: Observed<'containerApp'> = observed
  ) {
    const desired = desiredState(config, facts)
    const entries = plan(desired, { containerApp: observedApp } as ActualState)
    const app = planApp({
      desired: appOf(facts),
      observed: observedApp,
      revisions,
      configChanges: entries.find((e) => e.key === 'containerApp')!.changes,
      version: config.image.version,
      run: { runId: '1', nowSeconds: 0 },
      allowDowngrade: false,
      rotation
    })
    return { app, steps: planSteps({ entries, desired, observedApp, app, rotation }) }
  }

  it('a full rotation: regenerate → new revision with the new key → gate → traffic (marks the key to retire) → deactivate → retire', () => {
    const rotation = planRotation({ keys, appSecret: 'K1-value', live: 'key1' })
    const facts: Facts = { ...base }
    delete facts.storageKey
    const { app, steps } = stepsFor(facts, rotation)
    expect(app.reasons).toEqual(['storage key → key2'])
    expect(app.migrate).toBe(false)
    const order = steps.filter((s) => s.kind !== 'put').map((s) => s.key)
    expect(order).toEqual(['regenerateKey', 'revision', 'gate', 'traffic', 'deactivate', 'retireKey'])
    const byKey = Object.fromEntries(steps.map((s) => [s.key, s]))
    expect(byKey['revision']!.dependsOn).toContain('regenerateKey')
    expect(byKey['retireKey']!.dependsOn).toEqual(['deactivate'])
    const traffic = byKey['traffic']!
    expect(traffic.kind === 'shiftTraffic' && traffic.tags[KEY_TO_RETIRE_TAG]).toBe('key1')
    const retire = byKey['retireKey']!
    expect(retire.kind === 'retireKey' && retire.tags[KEY_TO_RETIRE_TAG]).toBe('none')
    expect(retire.kind === 'retireKey' && retire.tags[PREVIOUS_REVISION_TAG]).toBe(serving.name)
    // The new key is only known once regenerated: the plan holds a token, never a value.
    const revision = byKey['revision']!
    expect(revision.kind === 'createRevision' && JSON.stringify(revision.app.secrets)).toContain(
      'known-after-apply.storageKey'
    )
  })

  /** The app as the cut-off run left it: its secret holds key2. */
  const onKey2App: Observed<'containerApp'> = {
    ...observed,
    spec: { ...observed.spec, secrets: appOf({ ...base, storageKey: 'K2-value' }).spec.secrets }
  }
  /** A revision started with the key `value` holds (its template's markers), not serving. */
  const unserved = (name: string, value: string): RevisionState => {
    const spec = appOf({ ...base, storageKey: value }).spec
    return {
      ...serving,
      name,
      createdTime: '2026-12-02T10:00:00.000Z',
      container: withRolloutMarkers(spec.container, spec.secrets),
      trafficWeight: 0
    }
  }

  it('cut off after the traffic moved, the old revision still active: it is deactivated, and has stopped before its key is retired', () => {
    // The revision on key2 serves; the one on key1 kept running at 0 %.
    const onKey2 = { ...unserved('team-a-mlflow--new', 'K2-value'), trafficWeight: 100 }
    const old = { ...serving, trafficWeight: 0 }
    const rotation = planRotation({ keys, appSecret: 'K2-value', live: 'key2', toRetire: 'key1' })
    const { app, steps } = stepsFor({ ...base, storageKey: 'K2-value' }, rotation, [old, onKey2], onKey2App)
    expect(app).toMatchObject({ kind: 'none', leftovers: [old.name] })
    expect(steps.filter((s) => s.kind !== 'put').map((s) => [s.key, s.dependsOn, s.drain])).toEqual([
      ['deactivateLeftover1', [], undefined],
      ['retireKey', ['deactivateLeftover1'], [old.name]]
    ])
  })

  it('cut off after the new revision was written: the rotation resumes with it (no second revision), then retires the old key', () => {
    const made = unserved('team-a-mlflow--v1-a1', 'K2-value')
    const rotation = planRotation({ keys, appSecret: 'K2-value', live: 'key1' })
    const { app, steps } = stepsFor({ ...base, storageKey: 'K2-value' }, rotation, [serving, made], onKey2App)
    expect(app).toMatchObject({ kind: 'revision', existing: true, revision: made.name, leftovers: [] })
    expect(app.reasons).toEqual(['storage key → key2'])
    expect(steps.filter((s) => s.kind !== 'put').map((s) => [s.key, s.drain])).toEqual([
      ['gate', undefined],
      ['traffic', undefined],
      ['deactivate', undefined],
      ['retireKey', [serving.name]]
    ])
    // A revision that holds the old key is no resume: it is deactivated, and drained before the retire.
    const stale = unserved('team-a-mlflow--stale', 'K1-value')
    const other = stepsFor({ ...base, storageKey: 'K2-value' }, rotation, [serving, stale], onKey2App)
    expect(other.app).toMatchObject({ kind: 'revision', leftovers: [stale.name] })
    expect(other.app.existing).toBeUndefined()
    const retire = other.steps.find((s) => s.key === 'retireKey')!
    expect([retire.dependsOn, retire.drain]).toEqual([
      ['deactivate', 'deactivateLeftover1'],
      [serving.name, stale.name]
    ])
  })

  it('finishing an interrupted rotation: only the retire step, no revision', () => {
    const rotation = planRotation({ keys, appSecret: 'K1-value', live: 'key1', toRetire: 'key2' })
    const { steps } = stepsFor(base, rotation)
    expect(steps.filter((s) => s.kind !== 'put').map((s) => [s.key, s.dependsOn])).toEqual([
      ['retireKey', []]
    ])
  })
})
