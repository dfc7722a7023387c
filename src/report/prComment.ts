/**
 * The sticky pull-request comments as markdown: the PR environment (where MLflow runs, whether its
 * smoke test passed, when it goes away) and the plan. Pure; callers scrub secrets, these functions
 * neutralise @mentions and HTML in free text so a comment can neither ping people nor inject markup.
 */

/** GitHub refuses comment bodies over 65 536 characters; stay well below. */
const MAX_BODY = 60_000
/** Free text (a reason, a step's detail) is cut here: the log has the whole story. */
const MAX_FREE_TEXT = 600
/** A plan longer than this many lines is folded into <details>. */
const FOLD_LINES = 15

function markerName(stackName: string): string {
  // Stack names are validated by config; this only guards the HTML comment against a stray `-->`.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(stackName)) {
    throw new Error(`stack name "${stackName}" cannot go into a comment marker`)
  }
  return stackName
}

export function prEnvironmentMarker(stackName: string): string {
  return `<!-- mlflow-azure-action:pr-env:${markerName(stackName)} -->`
}

export function planMarker(stackName: string): string {
  return `<!-- mlflow-azure-action:plan:${markerName(stackName)} -->`
}

export interface PrEnvironmentComment {
  stackName: string
  prNumber: number
  state: 'ready' | 'failed' | 'removed'
  trackingUri?: string
  appName: string
  revision?: string
  smoke?: {
    passed: boolean
    steps: { name: string; status: 'passed' | 'failed' | 'skipped'; detail?: string }[]
  }
  /** ISO */
  expiresAt?: string
  /** ISO */
  removedAt?: string
  /** Why it failed / why it was removed (PR closed, expired, pr-down). */
  reason?: string
  runUrl?: string
}

/**
 * Free text made inert: HTML escaped (no tags, no comments, no marker), `@mention` and `@org/team`
 * broken with a zero-width space, link and image brackets escaped, on one line (safe in a table
 * cell), cut to `max` characters.
 */
export function neutralise(text: string, max = MAX_FREE_TEXT): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  const cut = oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine
  return cut
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@(?=[A-Za-z0-9])/g, '@\u200b')
    .replace(/[|[\]]/g, (ch) => `\\${ch}`)
}

/** An inline code span that holds any text (fenced with more backticks than it contains). */
function code(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  const longest = Math.max(0, ...(oneLine.match(/`+/g) ?? []).map((run) => run.length))
  const fence = '`'.repeat(longest + 1)
  const pad = oneLine.startsWith('`') || oneLine.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${oneLine.replace(/\|/g, '\\|')}${pad}${fence}`
}

/** A link when `url` is a plain http(s) URL, else the text as code. */
function link(url: string, label = url): string {
  return /^https?:\/\/[^\s<>()[\]|`]+$/.test(url) ? `[${label.replace(/[[\]|]/g, '')}](${url})` : code(url)
}

/** `2026-12-01 14:05 UTC`, or the text as given when it is not a date. */
export function utc(iso: string): string {
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return neutralise(iso)
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

function smokeCell(smoke: NonNullable<PrEnvironmentComment['smoke']>): string {
  if (smoke.passed) {
    const skipped = smoke.steps.filter((s) => s.status === 'skipped').length
    return `✅ passed${skipped > 0 ? ` (${skipped} skipped)` : ''}`
  }
  const failed = smoke.steps.find((s) => s.status === 'failed')
  if (!failed) return '❌ failed'
  return `❌ failed at ${neutralise(failed.name, 80)}${failed.detail ? `: ${neutralise(failed.detail, 200)}` : ''}`
}

function footer(runUrl: string | undefined): string {
  return runUrl
    ? `<sub>${link(runUrl, 'Workflow run')} · mlflow-azure-action</sub>`
    : '<sub>mlflow-azure-action</sub>'
}

/**
 * Markdown starting with the marker: a heading "MLflow for PR #n", a small table (URL, revision,
 * app, smoke test, expiry in UTC); for 'removed' when and why, for 'failed' the reason; a footer
 * linking the run.
 */
export function prEnvironmentComment(c: PrEnvironmentComment): string {
  const parts = [prEnvironmentMarker(c.stackName), `### MLflow for PR #${c.prNumber}`]
  const reason = c.reason ? neutralise(c.reason) : undefined

  if (c.state === 'removed') {
    const when = c.removedAt ? ` on ${utc(c.removedAt)}` : ''
    parts.push(
      `🗑️ The MLflow environment ${code(c.appName)} of this PR was removed${when}${reason ? `: ${reason}` : '.'}`
    )
    parts.push(footer(c.runUrl))
    return parts.join('\n\n')
  }

  if (c.state === 'failed') {
    parts.push(`⚠️ The MLflow environment could not be brought up${reason ? `: ${reason}` : '.'}`)
  }

  const rows: [string, string][] = []
  if (c.trackingUri) rows.push(['MLflow URL', link(c.trackingUri)])
  rows.push(['App', code(c.appName)])
  if (c.revision) rows.push(['Revision', code(c.revision)])
  if (c.smoke) rows.push(['Smoke test', smokeCell(c.smoke)])
  if (c.expiresAt) rows.push(['Expires', utc(c.expiresAt)])
  parts.push(['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n'))
  parts.push(footer(c.runUrl))
  return parts.join('\n\n')
}

/**
 * The marker, "Plan for MLflow stack <stack>: N changes", then the plan markdown (a trusted render
 * of the plan), folded into <details> when long and cut to fit a comment.
 */
export function planComment(c: {
  stackName: string
  planMarkdown: string
  runUrl?: string
  changes: number
}): string {
  const count = c.changes === 0 ? 'no changes' : c.changes === 1 ? '1 change' : `${c.changes} changes`
  const head = [planMarker(c.stackName), `### Plan for MLflow stack ${code(c.stackName)}: ${count}`]
  const foot = footer(c.runUrl)
  const room = MAX_BODY - head.join('\n\n').length - foot.length - 200
  let plan = c.planMarkdown.trim()
  if (plan.length > room) {
    const lines = plan.slice(0, room).split('\n')
    lines.pop() // a cut line
    // Close a code fence (a mermaid timeline) the cut left open.
    const fences = lines.filter((line) => line.trimStart().startsWith('```')).length
    if (fences % 2 === 1) lines.push('```')
    plan = `${lines.join('\n')}\n\n_…cut to fit a comment; the job summary has the whole plan._`
  }
  const body =
    plan === ''
      ? []
      : plan.split('\n').length > FOLD_LINES
        ? [`<details><summary>Show the plan</summary>\n\n${plan}\n\n</details>`]
        : [plan]
  return [...head, ...body, foot].join('\n\n')
}
