/**
 * `plan(desired, actual)`: what a deploy would do to each resource, with each changed field's old
 * and new value (sensitive ones shown only as such), and the changes Azure cannot make in place.
 * Pure, so the same function serves `plan`, `deploy` and the tests.
 */
import type { Observed } from '../azure/port.js'
import type { AnyDesired } from '../stack/desired.js'
import type { ActualState, StackKey } from '../stack/graph.js'
import { WRITE_ONLY_FIELDS, type ResourceKind } from '../stack/specs.js'
import { differences } from './diff.js'

/** `replace`: Azure cannot make the change in place; deploy refuses it before any write. */
export type Action = 'create' | 'update' | 'noop' | 'replace'

export interface FieldChange {
  /** Dotted path in the spec, e.g. `minReplicas` or `secrets.admin-password`. */
  path: string
  before: unknown
  after: unknown
  /** Values of sensitive fields never leave the plan: they render as `(sensitive)`. */
  sensitive: boolean
}

export interface PlanEntry {
  key: StackKey
  kind: ResourceKind
  name: string
  action: Action
  /** The fields that change; empty for create and noop. */
  changes: FieldChange[]
  /** For `replace`: why the change cannot be made in place and what to do, one line each. */
  blocked: string[]
  /** What the service says about the resource's state (a failed earlier create, say). */
  note?: string
  /** For the app: what happens to the running server (`new revision …: bump v3.16.1 → v3.17.2`). */
  rollout?: string
}

/** Decides which changes Azure cannot make in place (stack policy, passed in by the caller). */
export type ReplacementRule = (desired: AnyDesired, actual: Observed<ResourceKind>) => string[]

/** Fields whose values are secrets: compared, never shown. */
export const SENSITIVE_FIELDS: { [K in ResourceKind]?: string[] } = {
  containerApp: ['secrets'],
  postgresServer: ['administratorLoginPassword'],
  managedEnvironment: ['logAnalyticsSharedKey']
}

const TERMINAL_BAD_STATES = ['failed', 'canceled']

function isSensitive(kind: ResourceKind, path: string): boolean {
  return (SENSITIVE_FIELDS[kind] ?? []).some((p) => path === p || path.startsWith(`${p}.`))
}

interface Named {
  name: string
  value?: unknown
}

/** A changed list of named secrets, one change per secret that was added, removed or changed. */
function secretChanges(path: string, before: unknown, after: unknown): FieldChange[] {
  const list = (v: unknown): Named[] => (Array.isArray(v) ? (v as Named[]) : [])
  const old = new Map(list(before).map((s) => [s.name, s.value]))
  const now = new Map(list(after).map((s) => [s.name, s.value]))
  const names = [...new Set([...old.keys(), ...now.keys()])].sort()
  return names
    .filter((n) => old.get(n) !== now.get(n))
    .map((n) => ({
      path: `${path}.${n}`,
      before: old.has(n) ? '(sensitive)' : undefined,
      after: now.has(n) ? '(sensitive)' : undefined,
      sensitive: true
    }))
}

export function fieldChanges(kind: ResourceKind, desired: unknown, observed: unknown): FieldChange[] {
  return differences(desired, observed, WRITE_ONLY_FIELDS[kind] ?? []).flatMap(({ path, before, after }) => {
    if (!isSensitive(kind, path)) return [{ path, before, after, sensitive: false }]
    if (Array.isArray(before) || Array.isArray(after)) return secretChanges(path, before, after)
    return [{ path, before: '(sensitive)', after: '(sensitive)', sensitive: true }]
  })
}

export function planResource(
  desired: AnyDesired,
  actual: Observed<ResourceKind> | undefined,
  replacements: ReplacementRule = () => []
): PlanEntry {
  const base = { key: desired.key, kind: desired.kind, name: desired.address.name, blocked: [] }
  if (!actual) return { ...base, action: 'create', changes: [] }
  if (!desired.managed) return { ...base, action: 'noop', changes: [] }

  const changes = fieldChanges(desired.kind, desired.spec, actual.spec)
  // A password is only in the spec when this run had to make a new one: the old one is lost, so
  // the server must be told the new one even though the field cannot be compared.
  if (desired.kind === 'postgresServer' && desired.spec.administratorLoginPassword !== undefined) {
    changes.push({
      path: 'administratorLoginPassword',
      before: '(sensitive)',
      after: '(sensitive)',
      sensitive: true
    })
  }
  const note = actual.statusDetail
  // A resource left failed by an earlier run is rewritten even when its fields look right.
  const state = actual.provisioningState ?? ''
  if (TERMINAL_BAD_STATES.includes(state.toLowerCase())) {
    changes.push({ path: 'provisioningState', before: state, after: 'Succeeded', sensitive: false })
  }
  const blocked = changes.length > 0 ? replacements(desired, actual) : []
  const action = blocked.length > 0 ? 'replace' : changes.length > 0 ? 'update' : 'noop'
  return { ...base, action, changes, blocked, ...(note ? { note } : {}) }
}

export function plan(
  desired: AnyDesired[],
  actual: ActualState,
  replacements?: ReplacementRule
): PlanEntry[] {
  return desired.map((d) => planResource(d, actual[d.key], replacements))
}

/**
 * What the plan shows and counts for an entry: one whose fields stay as they are but whose running
 * server changes (its `rollout`: a revision an interrupted run left active is deactivated) is an
 * update all the same.
 */
export function shownAction(entry: PlanEntry): Action {
  return entry.action === 'noop' && entry.rollout !== undefined ? 'update' : entry.action
}

export function countChanges(entries: PlanEntry[]): number {
  return entries.filter((e) => shownAction(e) !== 'noop').length
}

/** Every reason the plan cannot be applied, one per line. */
export function blockers(entries: PlanEntry[]): string[] {
  // The same input (a new location, say) blocks several resources with the same words.
  return [...new Set(entries.flatMap((e) => e.blocked))]
}
