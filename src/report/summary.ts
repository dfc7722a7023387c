/**
 * The job summary as markdown: the plan as a table, a timeline of what ran when, and the URLs.
 * Pure functions of the command results; they never see a secret value.
 */
import type { DeployResult } from '../commands/deploy.js'
import type { DestroyResult } from '../commands/destroy.js'
import type { PrDownResult } from '../commands/prDown.js'
import type { GcResult } from '../commands/gc.js'
import type { SmokeResult } from '../commands/smokeTest.js'
import type { TimelineEntry } from '../engine/dag.js'
import { shownAction, type PlanEntry } from '../engine/plan.js'
import type { RolloutRecord } from '../commands/rollout.js'
import type { Step } from '../stack/steps.js'
import { formatVersion } from '../config/image.js'
import { formatChanges } from './changes.js'

const ICON: Record<string, string> = {
  create: '🟢 create',
  update: '🟡 update',
  replace: '⛔ replace required',
  noop: '⚪ no change',
  delete: '🔴 delete',
  absent: '⚪ absent',
  kept: '⚪ kept'
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

export function planTable(entries: PlanEntry[]): string {
  const rows = entries.map((e) => {
    const detail = [formatChanges(e), e.note ? `(${e.note})` : '', e.rollout ? `— ${e.rollout}` : '']
      .filter(Boolean)
      .join(' ')
    return `| ${e.kind} | \`${escapeCell(e.name)}\` | ${ICON[shownAction(e)]} | ${escapeCell(detail) || '—'} |`
  })
  return ['| resource | name | action | changes |', '|---|---|---|---|', ...rows].join('\n')
}

export function timelineGantt(timeline: TimelineEntry<string>[]): string {
  if (timeline.length === 0) return ''
  const sorted = [...timeline].sort((a, b) => a.startMs - b.startMs)
  const lines = sorted.map((t) => {
    // Mermaid needs a non-zero width to draw a bar.
    const end = Math.max(t.endMs, t.startMs + 1)
    const tag = t.status === 'failed' ? 'crit, ' : t.status === 'skipped' ? 'done, ' : ''
    return `    ${t.key} : ${tag}${t.key}, ${Math.round(t.startMs)}, ${Math.round(end)}`
  })
  return [
    '```mermaid',
    'gantt',
    '    dateFormat x',
    '    axisFormat %M:%S',
    '    section apply',
    ...lines,
    '```'
  ].join('\n')
}

export function deploySummary(r: DeployResult): string {
  const title = `MLflow stack ${r.command}`
  const parts = [`## ${title}: \`${r.appName}\` in \`${r.resourceGroup}\``]
  const missing = r.providers.filter((p) => p.action !== 'registered')
  if (missing.length > 0) {
    parts.push(
      `Resource providers: ${missing.map((p) => `${p.namespace} (${p.action === 'register' ? 'to register' : 'registered now'})`).join(', ')}`
    )
  }
  parts.push(
    r.changes === 0
      ? 'No changes: the stack matches the inputs.'
      : `${r.changes} resource(s) to create or update.`,
    planTable(r.entries)
  )
  if (r.blocked.length > 0) {
    parts.push(
      '### Replace required',
      'Azure cannot make these changes in place, so deploy refuses to start:',
      r.blocked.map((b) => `- ${b}`).join('\n')
    )
  }
  const rollout = r.steps.filter((s) => s.kind !== 'put')
  if (rollout.length > 0) {
    parts.push(
      r.command === 'plan' ? '### Rollout steps' : '### Rollout',
      rolloutTable(rollout, r.timeline, r.record)
    )
  }
  if (r.record?.restorePoint) parts.push(restorePointLine(r.record.restorePoint))
  if (r.timeline.length > 0) parts.push('### Timeline', timelineGantt(r.timeline))
  if (r.trackingUri)
    parts.push(
      `Tracking URI: ${r.trackingUri}${r.revision ? ` (revision \`${r.revision}\`` : ''}` +
        `${r.revision && r.previousRevision ? `, previous \`${r.previousRevision}\`` : ''}${r.revision ? ')' : ''}`
    )
  if (r.storageKey)
    parts.push(
      `Storage key in use: \`${r.storageKey.active}\`${r.revision ? ` (held by revision \`${r.revision}\`)` : ''}` +
        (r.storageKey.rotatedAt
          ? `; last rotated ${r.storageKey.rotatedAt}.`
          : '; never rotated by the action.')
    )
  parts.push(`Took ${(r.durationMs / 1000).toFixed(1)} s.`)
  return parts.join('\n\n') + '\n'
}

export function destroySummary(r: DestroyResult): string {
  const rows = r.entries.map(
    (e) =>
      `| ${e.kind} | \`${escapeCell(e.name)}\` | ${ICON[e.action]} | ${escapeCell(e.reason ?? '') || '—'} |`
  )
  const parts = [
    `## MLflow stack destroy: \`${r.appName}\` in \`${r.resourceGroup}\``,
    r.changes === 0 ? 'Nothing to delete.' : `${r.changes} deletion(s).`,
    ['| resource | name | action | note |', '|---|---|---|---|', ...rows].join('\n')
  ]
  if (r.timeline.length > 0) parts.push('### Timeline', timelineGantt(r.timeline))
  return parts.join('\n\n') + '\n'
}

export function prDownSummary(r: PrDownResult): string {
  const rows = r.entries.map(
    (e) =>
      `| ${e.kind} | \`${escapeCell(e.name)}\` | ${ICON[e.action]} | ${escapeCell(e.reason ?? '') || '—'} |`
  )
  const parts = [
    `## MLflow PR environment #${r.prNumber} removed: \`${r.appName}\` in \`${r.resourceGroup}\``,
    r.changes === 0
      ? 'Nothing to remove: the PR has no environment.'
      : `${r.changes} removal(s)${r.roleDropped ? ', its PostgreSQL role dropped' : ''}. The base stack was not touched.`,
    ['| resource | name | action | note |', '|---|---|---|---|', ...rows].join('\n')
  ]
  if (r.timeline.length > 0) parts.push('### Timeline', timelineGantt(r.timeline))
  return parts.join('\n\n') + '\n'
}

export function gcSummary(r: GcResult): string {
  const rows = r.decisions.map(
    (d) => `| #${d.number} | ${d.remove ? '🔴 removed' : '⚪ kept'} | ${escapeCell(d.reason)} |`
  )
  return (
    [
      `## MLflow PR environments swept in \`${r.resourceGroup}\``,
      r.decisions.length === 0
        ? 'No PR environments.'
        : `${r.removed.length} of ${r.decisions.length} removed (${r.changes} deletion(s)).`,
      ...(rows.length > 0 ? [['| PR | action | why |', '|---|---|---|', ...rows].join('\n')] : []),
      `Took ${(r.durationMs / 1000).toFixed(1)} s.`
    ].join('\n\n') + '\n'
  )
}

const STEP_ICON = { passed: '✅ passed', failed: '❌ failed', skipped: '⏭️ skipped' } as const

export function smokeSummary(r: SmokeResult): string {
  const rows = r.steps.map(
    (s) =>
      `| ${s.name} | ${STEP_ICON[s.status]} | ${(s.durationMs / 1000).toFixed(1)} s | ${escapeCell(s.detail)} |`
  )
  return (
    [
      `## MLflow smoke test: ${r.passed ? 'passed' : 'failed'}`,
      `Server: ${r.trackingUri}${r.version ? ` (MLflow ${r.version})` : ''}${r.target ? ` — ${r.target}` : ''}`,
      ['| step | result | time | detail |', '|---|---|---|---|', ...rows].join('\n')
    ].join('\n\n') + '\n'
  )
}

function stepLabel(s: Step): string {
  switch (s.kind) {
    case 'migrate':
      return `migrate the database${s.from ? ` from ${formatVersion(s.from)}` : ''} to MLflow ${formatVersion(s.to)} (job)`
    case 'createRevision':
      return `new revision \`${s.revision}\`${s.create ? ' (all traffic: nothing serves yet)' : ' at 0 % traffic'}`
    case 'activate':
      return `activate \`${s.revision}\``
    case 'gate':
      return `gate \`${s.revision}\`: running, /health, /version ${formatVersion(s.version)}, artifact write and read`
    case 'shiftTraffic':
      return `traffic 100 % → \`${s.revision}\``
    case 'deactivate':
      return `deactivate \`${s.revision}\`${s.leftover ? ' (active with no traffic: left by an interrupted run)' : ''}`
    case 'patchApp':
      return 'configuration in place (no new revision)'
    case 'put':
      return `${s.key}`
    case 'regenerateKey':
      return `regenerate storage ${s.keyName}, wait until the blob service accepts it`
    case 'retireKey':
      return `regenerate storage ${s.keyName} (the key the old revision held stops working)`
    case 'disableSharedKey':
      return 'turn off shared-key access on the storage account (keyless from here on)'
    case 'detachIdentity':
      return 'detach the managed identity from the app'
  }
}

/** The rollout as steps with their times (and, after a run, what each found). */
export function rolloutTable(
  steps: Step[],
  timeline: { key: string; status: string; startMs: number; endMs: number }[],
  record?: RolloutRecord
): string {
  const rows = steps.map((s) => {
    const t = timeline.find((x) => x.key === s.key)
    const time = t ? `${((t.endMs - t.startMs) / 1000).toFixed(1)} s` : '—'
    const status = t ? t.status : 'planned'
    const detail = record?.details[s.key] ?? ''
    return `| ${s.key} | ${escapeCell(stepLabel(s))} | ${status} | ${time} | ${escapeCell(detail) || '—'} |`
  })
  return ['| step | what | status | time | detail |', '|---|---|---|---|---|', ...rows].join('\n')
}

function restorePointLine(p: { earliest?: string; latest: string }): string {
  return (
    `Restore point: before the migration the PostgreSQL server could be restored to any moment from ` +
    `${p.earliest ?? 'its first backup'} to ${p.latest}; to undo the migration, restore to ${p.latest} ` +
    `(\`az postgres flexible-server restore --restore-time ${p.latest}\`) and deploy the previous image-tag.`
  )
}

export function failureSummary(
  config: { names: { containerApp: string; resourceGroup: string } },
  record: RolloutRecord,
  message: string
): string {
  const parts = [
    `## MLflow stack deploy failed: \`${config.names.containerApp}\` in \`${config.names.resourceGroup}\``
  ]
  parts.push('```\n' + message + '\n```')
  if (record.migration)
    parts.push(`Migration job execution \`${record.migration.execution}\`: ${record.migration.status}.`)
  if (record.restorePoint) parts.push(restorePointLine(record.restorePoint))
  return parts.join('\n\n') + '\n'
}
