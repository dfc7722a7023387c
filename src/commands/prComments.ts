/**
 * The sticky PR comments: the PR environment's (URL, revision, smoke test, expiry; removal) and the
 * base stack's plan. A comment that cannot be posted is a warning, never a failed deploy: the
 * environment works without it, and the log says why (a read-only token, most often).
 */
import type { CommonConfig } from '../config/inputs.js'
import { gitHubClient, gitHubTarget } from '../github/client.js'
import { upsertStickyComment } from '../github/stickyComment.js'
import {
  planComment,
  planMarker,
  prEnvironmentComment,
  prEnvironmentMarker,
  type PrEnvironmentComment
} from '../report/prComment.js'
import type { Log } from './log.js'

export interface PostedComment {
  id: number
  url: string
}

type Where = Pick<CommonConfig, 'github' | 'stackName'>

/** Every value the run masked, replaced: a comment is as public as the PR. */
export type Scrub = (text: string) => string

async function post(
  config: Where,
  issue: number,
  marker: string,
  body: string,
  log: Log,
  scrub: Scrub
): Promise<PostedComment | undefined> {
  const target = gitHubTarget(
    {
      GITHUB_API_URL: config.github.apiUrl,
      ...(config.github.repository ? { GITHUB_REPOSITORY: config.github.repository } : {})
    },
    config.github.token
  )
  if (!target) {
    log.info('No github-token or repository (not a GitHub run): no PR comment.')
    return undefined
  }
  try {
    const done = await upsertStickyComment(gitHubClient(target), target, issue, marker, scrub(body))
    log.info(`PR #${issue} comment ${done.action}: ${done.url}`)
    return { id: done.id, url: done.url }
  } catch (error) {
    log.warning(
      `The PR comment could not be posted: ${error instanceof Error ? error.message : String(error)}`
    )
    return undefined
  }
}

export function postPrEnvironmentComment(
  config: Where,
  comment: Omit<PrEnvironmentComment, 'stackName' | 'runUrl'>,
  log: Log,
  scrub: Scrub
): Promise<PostedComment | undefined> {
  const body = prEnvironmentComment({
    ...comment,
    stackName: config.stackName,
    ...(config.github.runUrl ? { runUrl: config.github.runUrl } : {})
  })
  return post(config, comment.prNumber, prEnvironmentMarker(config.stackName), body, log, scrub)
}

/** `plan` on a pull request: what merging would change in the base stack, posted on the PR. */
export function postPlanComment(
  config: Where,
  plan: { markdown: string; changes: number },
  log: Log,
  scrub: Scrub
): Promise<PostedComment | undefined> {
  const event = config.github.event
  if (!event) return Promise.resolve(undefined)
  if (event.fromFork) {
    log.info(
      `PR #${event.number} comes from a fork: its token may not comment; the plan is in the job summary.`
    )
    return Promise.resolve(undefined)
  }
  const body = planComment({
    stackName: config.stackName,
    planMarkdown: plan.markdown,
    changes: plan.changes,
    ...(config.github.runUrl ? { runUrl: config.github.runUrl } : {})
  })
  return post(config, event.number, planMarker(config.stackName), body, log, scrub)
}
