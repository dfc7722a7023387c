/**
 * Which pull requests are still open, for the garbage collector of PR environments: a PR whose
 * environment outlived it is one GitHub calls closed (merged included) or no longer knows.
 */
import { toGitHubError, type GitHubTarget, type Octokit } from './client.js'

/** `reason` says why a PR is 'closed' without being seen closed (404) or why it is 'unknown'. */
export interface PullRequestState {
  state: 'open' | 'closed' | 'unknown'
  reason?: string
}

/** At most this many `pulls.get` in flight at once. */
const PARALLEL = 4

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const response = (err as { response?: { status?: unknown } }).response
  return typeof response?.status === 'number' ? response.status : undefined
}

/**
 * State of each PR number ('open' | 'closed'), asked with pulls.get per number (in parallel, at most
 * 4 at a time); a 404 → 'closed' (the PR is gone), other errors → 'unknown' with the reason.
 */
export async function pullRequestStates(
  client: Octokit,
  target: GitHubTarget,
  numbers: number[]
): Promise<Map<number, PullRequestState>> {
  const { owner, repo } = target
  const todo = [...new Set(numbers)]
  const states = new Map<number, PullRequestState>()

  const ask = async (pull_number: number): Promise<PullRequestState> => {
    try {
      const { data } = await client.rest.pulls.get({ owner, repo, pull_number })
      return data.state === 'open' ? { state: 'open' } : { state: 'closed' }
    } catch (err) {
      if (statusOf(err) === 404) return { state: 'closed', reason: `PR #${pull_number} not found (404)` }
      return {
        state: 'unknown',
        reason: toGitHubError(`reading PR #${pull_number} in ${owner}/${repo}`, err).message
      }
    }
  }

  let next = 0
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const n = todo[next++] as number
      states.set(n, await ask(n))
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL, todo.length) }, worker))

  // In the order asked, whatever order the answers came in.
  return new Map(todo.map((n) => [n, states.get(n) as PullRequestState]))
}
