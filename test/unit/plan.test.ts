import { describe, expect, it } from '@jest/globals'
import type { Observed } from '../../src/azure/port.js'
import { parseInputs, type DeployConfig } from '../../src/config/inputs.js'
import { changedFields } from '../../src/engine/diff.js'
import { countChanges, plan } from '../../src/engine/plan.js'
import type { ActualState } from '../../src/stack/graph.js'
import { desiredState, type AnyDesired } from '../../src/stack/desired.js'
import type { Facts } from '../../src/stack/facts.js'
import type { ResourceKind } from '../../src/stack/specs.js'

const SUB = '00000000-0000-4000-8000-000000000001'
function config(extra: Record<string, string> = {}): DeployConfig {
  const inputs: Record<string, string> = {
    'stack-name': 'team-a',
    location: 'westeurope',
    'subscription-id': SUB,
    // Authentication has its own tests; an open server keeps these graphs to the core stack.
    auth: 'none',
    'allow-anonymous': 'true',
    ...extra
  }
  return parseInputs((n) => inputs[n] ?? '') as DeployConfig
}
const facts: Facts = {
  workspaceCustomerId: 'cust',
  workspaceSharedKey: 'k',
  environmentDefaultDomain: 'd.example',
  storageKey: 's',
  postgresPassword: 'p',
  postgresPasswordIsNew: false
}

/** What Azure would report back for a graph that was applied as is. */
function applied(graph: AnyDesired[]): ActualState {
  const actual: Record<string, Observed<ResourceKind>> = {}
  for (const d of graph) {
    const spec = JSON.parse(JSON.stringify(d.spec)) as Record<string, unknown>
    delete spec.administratorLoginPassword
    delete spec.logAnalyticsSharedKey
    actual[d.kind] = {
      kind: d.kind,
      id: `id/${d.kind}`,
      name: d.address.name,
      provisioningState: 'Succeeded',
      spec,
      outputs: {}
    } as unknown as Observed<ResourceKind>
  }
  return actual as ActualState
}

describe('changedFields', () => {
  it('reports nested paths, whole arrays, and ignores absent desired fields', () => {
    expect(
      changedFields(
        { a: 1, b: { c: 2, d: 3 }, e: [1, 2], f: undefined },
        { a: 1, b: { c: 2, d: 4 }, e: [2, 1], f: 9 }
      )
    ).toEqual(['b.d', 'e'])
  })
  it('ignores key order inside array items and the casing of ARM ids', () => {
    expect(
      changedFields(
        { env: [{ name: 'A', secretRef: 'a' }], id: '/subscriptions/S/resourceGroups/RG/x' },
        { env: [{ secretRef: 'a', name: 'A' }], id: '/subscriptions/s/resourcegroups/rg/x' }
      )
    ).toEqual([])
  })
  it('notices a removed tag', () => {
    expect(changedFields({ tags: { a: '1' } }, { tags: { a: '1', b: '2' } })).toEqual(['tags.b'])
  })
  it('skips write-only fields', () => {
    expect(changedFields({ key: 'new', x: 1 }, { x: 1 }, ['key'])).toEqual([])
  })
})

describe('plan', () => {
  it('creates everything on an empty subscription', () => {
    const entries = plan(desiredState(config(), facts), {})
    expect(entries.every((e) => e.action === 'create')).toBe(true)
    expect(countChanges(entries)).toBe(11)
  })

  it('is a no-op when Azure matches', () => {
    const graph = desiredState(config(), facts)
    expect(countChanges(plan(graph, applied(graph)))).toBe(0)
  })

  it('touches only the app when replicas change', () => {
    const actual = applied(desiredState(config(), facts))
    const entries = plan(desiredState(config({ replicas: '2' }), facts), actual)
    expect(entries.filter((e) => e.action !== 'noop')).toEqual([
      {
        key: 'containerApp',
        kind: 'containerApp',
        name: 'team-a-mlflow',
        action: 'update',
        changes: ['minReplicas', 'maxReplicas']
      }
    ])
  })

  it('names a changed secret without its value', () => {
    const actual = applied(desiredState(config(), facts))
    const entries = plan(desiredState(config(), { ...facts, storageKey: 'rotated-secret' }), actual)
    const app = entries.find((e) => e.kind === 'containerApp')!
    expect(app.changes).toEqual(['secrets'])
    expect(JSON.stringify(entries)).not.toContain('rotated-secret')
  })

  it('rewrites a resource an earlier run left failed', () => {
    const graph = desiredState(config(), facts)
    const actual = applied(graph)
    actual.postgresServer!.provisioningState = 'Failed'
    expect(plan(graph, actual).find((e) => e.kind === 'postgresServer')).toMatchObject({
      action: 'update',
      changes: ['provisioningState (Failed)']
    })
  })

  it('resets a postgres password that is no longer known', () => {
    const actual = applied(desiredState(config(), facts))
    const entries = plan(desiredState(config(), { ...facts, postgresPasswordIsNew: true }), actual)
    expect(entries.find((e) => e.kind === 'postgresServer')!.changes).toEqual(['administratorLoginPassword'])
  })

  it('leaves a user-given resource group alone', () => {
    const graph = desiredState(config({ 'resource-group': 'theirs', tags: 'x=1' }), facts)
    const actual = applied(desiredState(config({ 'resource-group': 'theirs' }), facts))
    graph[0]!.managed = false
    expect(plan(graph, actual)[0]!.action).toBe('noop')
  })
})
