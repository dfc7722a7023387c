/**
 * The pull request a run is about, read from the event payload the runner writes to
 * GITHUB_EVENT_PATH, and whether it comes from a fork.
 */
import { readFileSync } from 'node:fs'

export interface PullRequestEvent {
  number: number
  /** owner/repo of the repository the PR targets. */
  baseRepository: string
  /** owner/repo the PR's branch lives in; undefined when the payload does not say (issue_comment). */
  headRepository?: string
  fromFork: boolean
  state?: 'open' | 'closed'
  /** The event's activity type: opened, synchronize, closed, created… */
  action?: string
}

type Json = Record<string, unknown>

function obj(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function prNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined
}

function prState(value: unknown): 'open' | 'closed' | undefined {
  return value === 'open' || value === 'closed' ? value : undefined
}

/** The payload, or undefined when the file is missing; a file that is not JSON is an error. */
function readPayload(path: string): Json | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  try {
    return obj(JSON.parse(text))
  } catch (err) {
    throw new Error(`GITHUB_EVENT_PATH ${path} is not a JSON event payload: ${(err as Error).message}`, {
      cause: err
    })
  }
}

function fromPullRequest(payload: Json): PullRequestEvent | undefined {
  const pr = obj(payload['pull_request'])
  const number = prNumber(pr?.['number'])
  if (!pr || number === undefined) return undefined
  const base =
    str(obj(obj(pr['base'])?.['repo'])?.['full_name']) ?? str(obj(payload['repository'])?.['full_name'])
  if (!base) return undefined
  const head = obj(pr['head'])
  // `head.repo` is null when the fork was deleted: treat it as a fork, since it is not the base.
  const headRepository = str(obj(head?.['repo'])?.['full_name'])
  const fromFork = headRepository === undefined || headRepository.toLowerCase() !== base.toLowerCase()
  return {
    number,
    baseRepository: base,
    ...(headRepository !== undefined ? { headRepository } : {}),
    fromFork,
    ...optional(prState(pr['state']), str(payload['action']))
  }
}

function fromIssueComment(payload: Json): PullRequestEvent | undefined {
  const issue = obj(payload['issue'])
  const number = prNumber(issue?.['number'])
  // A comment on a plain issue carries no `issue.pull_request`.
  if (!issue || number === undefined || !obj(issue['pull_request'])) return undefined
  const base = str(obj(payload['repository'])?.['full_name'])
  if (!base) return undefined
  // The payload does not name the PR's head repository. The run itself is a base-repository run
  // (default-branch workflow, the repository's token), so it is not refused as a fork run here.
  return {
    number,
    baseRepository: base,
    fromFork: false,
    ...optional(prState(issue['state']), str(payload['action']))
  }
}

function optional(
  state: 'open' | 'closed' | undefined,
  action: string | undefined
): Pick<PullRequestEvent, 'state' | 'action'> {
  return { ...(state ? { state } : {}), ...(action ? { action } : {}) }
}

/**
 * Reads GITHUB_EVENT_NAME / GITHUB_EVENT_PATH (the event payload JSON); a PR event is pull_request,
 * pull_request_target (payload.pull_request), or issue_comment on a PR. undefined when the event is
 * not about a PR or the file is missing.
 */
export function readPullRequestEvent(env: {
  GITHUB_EVENT_NAME?: string
  GITHUB_EVENT_PATH?: string
}): PullRequestEvent | undefined {
  const name = env.GITHUB_EVENT_NAME
  const path = env.GITHUB_EVENT_PATH
  if (!name || !path) return undefined
  if (name !== 'pull_request' && name !== 'pull_request_target' && name !== 'issue_comment') return undefined
  const payload = readPayload(path)
  if (!payload) return undefined
  return name === 'issue_comment' ? fromIssueComment(payload) : fromPullRequest(payload)
}

/**
 * Why a fork PR gets no environment. Fork PRs run with `id-token: none` (no OIDC login to Azure) and
 * a read-only GITHUB_TOKEN (`issues: read`, `pull-requests: read`, so no comment): see the column
 * "Maximum access for pull requests from public forked repositories" in
 * https://docs.github.com/en/actions/reference/github_token-reference (Dependabot PRs run alike).
 */
export function forkRefusal(event: PullRequestEvent): string {
  const head = event.headRepository ? `the fork ${event.headRepository}` : 'a fork that no longer exists'
  return (
    `PR #${event.number} comes from ${head}, not from ${event.baseRepository}. ` +
    'Pull requests from forks get no OIDC token (id-token: none) and a read-only GITHUB_TOKEN, ' +
    'so they get no MLflow environment and no comment. To preview it, a maintainer can push the ' +
    'branch to the repository and open the PR from there, or skip fork PRs with the guard ' +
    '`if: github.event.pull_request.head.repo.full_name == github.repository`.'
  )
}
