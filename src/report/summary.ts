/**
 * The job summary as markdown: the plan as a table, a timeline of what ran when, and the URLs.
 * Pure functions of the command results; they never see a secret value.
 */
import type { DeployResult } from '../commands/deploy.js'
import type { DestroyResult } from '../commands/destroy.js'
import type { SmokeResult } from '../commands/smokeTest.js'
import type { TimelineEntry } from '../engine/dag.js'
import type { PlanEntry } from '../engine/plan.js'
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
    const detail = [formatChanges(e), e.note ? `(${e.note})` : ''].filter(Boolean).join(' ')
    return `| ${e.kind} | \`${escapeCell(e.name)}\` | ${ICON[e.action]} | ${escapeCell(detail) || '—'} |`
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
  const title = r.command === 'plan' ? 'MLflow stack plan' : 'MLflow stack deploy'
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
  if (r.timeline.length > 0) parts.push('### Timeline', timelineGantt(r.timeline))
  if (r.trackingUri)
    parts.push(`Tracking URI: ${r.trackingUri}${r.revision ? ` (revision \`${r.revision}\`)` : ''}`)
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

const STEP_ICON = { passed: '✅ passed', failed: '❌ failed', skipped: '⏭️ skipped' } as const

export function smokeSummary(r: SmokeResult): string {
  const rows = r.steps.map(
    (s) =>
      `| ${s.name} | ${STEP_ICON[s.status]} | ${(s.durationMs / 1000).toFixed(1)} s | ${escapeCell(s.detail)} |`
  )
  return (
    [
      `## MLflow smoke test: ${r.passed ? 'passed' : 'failed'}`,
      `Server: ${r.trackingUri}${r.version ? ` (MLflow ${r.version})` : ''}`,
      ['| step | result | time | detail |', '|---|---|---|---|', ...rows].join('\n')
    ].join('\n\n') + '\n'
  )
}
