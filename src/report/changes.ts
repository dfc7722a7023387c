/**
 * One changed field as a person reads it, like a Terraform plan: `minReplicas 1 → 3`. Sensitive
 * values never get here (the plan has already replaced them by `(sensitive)`); long ones are cut.
 */
import type { FieldChange, PlanEntry } from '../engine/plan.js'
import { showTokens } from '../stack/facts.js'

const MAX_VALUE = 60

export function formatValue(value: unknown): string {
  if (value === undefined) return '(none)'
  const text = showTokens(typeof value === 'string' ? value : JSON.stringify(value))
  const oneLine = text.replace(/\s*\n\s*/g, ' ')
  return oneLine.length > MAX_VALUE ? `${oneLine.slice(0, MAX_VALUE - 1)}…` : oneLine
}

export function formatChange(c: FieldChange): string {
  if (c.sensitive) {
    if (c.before === undefined) return `${c.path} added (sensitive)`
    if (c.after === undefined) return `${c.path} removed`
    return `${c.path} (sensitive)`
  }
  return `${c.path} ${formatValue(c.before)} → ${formatValue(c.after)}`
}

/** All of an entry's changes on one line (the plan table's last column). */
export function formatChanges(entry: PlanEntry): string {
  return entry.changes.map(formatChange).join('; ')
}
