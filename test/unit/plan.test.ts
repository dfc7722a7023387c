import { describe, expect, it } from '@jest/globals'
import type { Observed } from '../../src/azure/port.js'
import { openServer } from '../helpers/config.js'
import { changedFields } from '../../src/engine/diff.js'
import { normalizeLocation } from '../../src/azure/common.js'
import { blockers, countChanges, plan } from '../../src/engine/plan.js'
import { formatChange, formatChanges } from '../../src/report/changes.js'
import { immutableChanges } from '../../src/stack/replacements.js'
import type { ActualState } from '../../src/stack/graph.js'
import { desiredState, type AnyDesired } from '../../src/stack/desired.js'
import type { Facts } from '../../src/stack/facts.js'
import type { ResourceKind } from '../../src/stack/specs.js'

const config = openServer
const facts: Facts = {
  workspaceCustomerId: 'cust',
  workspaceSharedKey: 'k',
  environmentDefaultDomain: 'd.example',
  storageKey: 's',
  postgresPassword: 'p',
  postgresPasswordIsNew: false,
  postgresServerExists: true
}

/** What Azure would report back for a graph that was applied as is. */
function applied(graph: AnyDesired[]): ActualState {
  const actual: Record<string, Observed<ResourceKind>> = {}
  for (const d of graph) {
    const spec = JSON.parse(JSON.stringify(d.spec)) as Record<string, unknown>
    delete spec.administratorLoginPassword
    delete spec.logAnalyticsSharedKey
    actual[d.key] = {
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
    expect(countChanges(entries)).toBe(14)
  })

  it('is a no-op when Azure matches', () => {
    const graph = desiredState(config(), facts)
    expect(countChanges(plan(graph, applied(graph)))).toBe(0)
  })

  it('leaves the template to the rollout: a replica change is no change to the app resource itself', () => {
    const actual = applied(desiredState(config(), facts))
    const entries = plan(desiredState(config({ replicas: '2' }), facts), actual)
    expect(entries.filter((e) => e.action !== 'noop')).toEqual([])
  })

  it('shows an ingress change of the app with old and new values', () => {
    const actual = applied(desiredState(config(), facts))
    const entries = plan(desiredState(config({ 'allowed-ips': '203.0.113.0/24' }), facts), actual)
    const app = entries.find((e) => e.key === 'containerApp')!
    expect(app.action).toBe('update')
    expect(formatChanges(app)).toBe(
      'ingress.ipSecurityRestrictions [] → [{"name":"allow-1","ipAddressRange":"203.0.113.0/24","actio…'
    )
  })

  it('names a changed secret without its value', () => {
    const actual = applied(desiredState(config(), facts))
    const entries = plan(desiredState(config(), { ...facts, storageKey: 'rotated-secret' }), actual)
    const app = entries.find((e) => e.kind === 'containerApp')!
    expect(app.changes).toEqual([
      { path: 'secrets.storage-access-key', before: '(sensitive)', after: '(sensitive)', sensitive: true }
    ])
    expect(formatChanges(app)).toBe('secrets.storage-access-key (sensitive)')
    expect(JSON.stringify(entries)).not.toContain('rotated-secret')
    expect(JSON.stringify(entries)).not.toContain("'s'")
  })

  it('rewrites a resource an earlier run left failed', () => {
    const graph = desiredState(config(), facts)
    const actual = applied(graph)
    actual.postgresServer!.provisioningState = 'Failed'
    const entry = plan(graph, actual).find((e) => e.kind === 'postgresServer')!
    expect(entry.action).toBe('update')
    expect(formatChanges(entry)).toBe('provisioningState Failed → Succeeded')
  })

  it('resets a postgres password that is no longer known', () => {
    const actual = applied(desiredState(config(), facts))
    const entries = plan(desiredState(config(), { ...facts, postgresPasswordIsNew: true }), actual)
    expect(formatChanges(entries.find((e) => e.kind === 'postgresServer')!)).toBe(
      'administratorLoginPassword (sensitive)'
    )
  })

  it('leaves a user-given resource group alone', () => {
    const graph = desiredState(config({ 'resource-group': 'theirs', tags: 'x=1' }), facts)
    const actual = applied(desiredState(config({ 'resource-group': 'theirs' }), facts))
    graph[0]!.managed = false
    expect(plan(graph, actual)[0]!.action).toBe('noop')
  })

  it('shows each changed value like a Terraform plan, long values cut and tags by name', () => {
    const actual = applied(desiredState(config({ tags: 'team=a' }), facts))
    const entries = plan(desiredState(config({ tags: 'team=b,cost.center=42', cpu: '2' }), facts), actual)
    const rg = entries.find((e) => e.key === 'resourceGroup')!
    expect(formatChanges(rg)).toBe('tags.team a → b; tags.cost.center (none) → 42')
    for (const e of entries) for (const c of e.changes) expect(formatChange(c).length).toBeLessThan(160)
  })

  it('compares regions normalized, as adapters read them back', () => {
    expect(normalizeLocation('West Europe')).toBe('westeurope')
    expect(normalizeLocation('westeurope')).toBe('westeurope')
  })
})

describe('changes Azure cannot make in place', () => {
  const blocked = (
    from: Record<string, string>,
    to: Record<string, string>,
    mutate?: (a: ActualState) => void
  ) => {
    const actual = applied(desiredState(config(from), facts))
    mutate?.(actual)
    const entries = plan(desiredState(config(to), facts), actual, immutableChanges)
    return { entries, reasons: blockers(entries) }
  }

  it('a PostgreSQL major version: up needs its own upgrade, down is impossible', () => {
    const up = blocked({ 'postgres-version': '16' }, { 'postgres-version': '17' })
    expect(up.entries.find((e) => e.key === 'postgresServer')!.action).toBe('replace')
    expect(up.reasons).toEqual([
      expect.stringMatching(
        /^`postgres-version` 16 → 17 needs a major-version upgrade, which is its own operation on Azure: .*az postgres flexible-server upgrade --version 17/
      )
    ])
    expect(blocked({ 'postgres-version': '16' }, { 'postgres-version': '15' }).reasons[0]).toMatch(
      /^`postgres-version` 16 → 15 cannot be applied: PostgreSQL cannot go back/
    )
  })

  it('storage may grow but not shrink', () => {
    expect(blocked({ 'postgres-storage-gb': '64' }, { 'postgres-storage-gb': '128' }).reasons).toEqual([])
    expect(blocked({ 'postgres-storage-gb': '64' }, { 'postgres-storage-gb': '32' }).reasons).toEqual([
      "`postgres-storage-gb` 64 → 32 cannot be applied: the server's storage can grow but never shrink; keep 64 GB or more."
    ])
  })

  it('a region: one line for the whole stack', () => {
    const { entries, reasons } = blocked({}, { location: 'northeurope' })
    expect(entries.filter((e) => e.action === 'replace').length).toBeGreaterThan(5)
    expect(reasons).toHaveLength(1)
    expect(reasons[0]).toMatch(/^`location` westeurope → northeurope cannot be applied/)
  })

  it('the VNet address space, while its subnets hold the server and the environment', () => {
    const { reasons } = blocked({}, { 'vnet-address-space': '10.60.0.0/16' })
    expect(reasons).toContain(
      "`vnet-address-space` 10.42.0.0/16 → 10.60.0.0/16 cannot be applied: the stack's subnets are in use by its PostgreSQL server and Container Apps environment, which cannot move to other subnets; destroy the stack and deploy it again (its data goes with it), or keep the current value."
    )
  })

  it('fields no input sets: named by resource and field', () => {
    const { reasons } = blocked({}, {}, (a) => {
      a.postgresServer!.spec.administratorLogin = 'someone'
      a.managedEnvironment!.spec.internal = true
    })
    expect(reasons).toEqual([
      expect.stringMatching(
        /^postgresServer team-a-pg-\w+: administratorLogin someone → mlflowadmin cannot change in place/
      ),
      expect.stringMatching(/^managedEnvironment team-a-env: internal true → false cannot change in place/)
    ])
  })

  it('ingress internal on the app is an in-place change', () => {
    const { entries, reasons } = blocked({}, { ingress: 'internal' })
    expect(reasons).toEqual([])
    expect(entries.find((e) => e.key === 'containerApp')!.action).toBe('update')
  })
})
