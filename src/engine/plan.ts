/**
 * `plan(desired, actual)`: what a deploy would do to each resource and which fields it would change.
 * Pure, so the same function serves `plan`, `deploy` and the tests.
 */
import type { Observed } from '../azure/port.js'
import type { AnyDesired } from '../stack/desired.js'
import type { ActualState, StackKey } from '../stack/graph.js'
import { WRITE_ONLY_FIELDS, type ResourceKind } from '../stack/specs.js'
import { changedFields } from './diff.js'

export type Action = 'create' | 'update' | 'noop'

export interface PlanEntry {
  key: StackKey
  kind: ResourceKind
  name: string
  action: Action
  /** Dotted paths of the fields that change; empty for create and noop. */
  changes: string[]
}

const TERMINAL_BAD_STATES = ['failed', 'canceled']

export function planResource(desired: AnyDesired, actual: Observed<ResourceKind> | undefined): PlanEntry {
  const base = { key: desired.key, kind: desired.kind, name: desired.address.name }
  if (!actual) return { ...base, action: 'create', changes: [] }
  if (!desired.managed) return { ...base, action: 'noop', changes: [] }

  const changes = changedFields(desired.spec, actual.spec, WRITE_ONLY_FIELDS[desired.kind] ?? [])
  // A password is only in the spec when this run had to make a new one: the old one is lost, so
  // the server must be told the new one even though the field cannot be compared.
  if (desired.kind === 'postgresServer' && desired.spec.administratorLoginPassword !== undefined) {
    changes.push('administratorLoginPassword')
  }
  // A resource left failed by an earlier run is rewritten even when its fields look right.
  if (TERMINAL_BAD_STATES.includes((actual.provisioningState ?? '').toLowerCase())) {
    changes.push(`provisioningState (${actual.provisioningState})`)
  }
  return { ...base, action: changes.length > 0 ? 'update' : 'noop', changes }
}

export function plan(desired: AnyDesired[], actual: ActualState): PlanEntry[] {
  return desired.map((d) => planResource(d, actual[d.key]))
}

export function countChanges(entries: PlanEntry[]): number {
  return entries.filter((e) => e.action !== 'noop').length
}
