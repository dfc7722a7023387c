/**
 * One comment per pull request and purpose, created once and then edited in place: the comment is
 * found again by the HTML-comment marker its body starts with.
 */
import { toGitHubError, type GitHubTarget, type Octokit } from './client.js'

export interface StickyCommentResult {
  id: number
  url: string
  action: 'created' | 'updated' | 'unchanged'
}

interface ListedComment {
  id: number
  body?: string | null
  html_url: string
  created_at: string
}

/**
 * Finds the comment that carries `marker` (an HTML comment like
 * <!-- mlflow-azure-action:pr-env:<stack> -->) on the issue/PR, through all pages
 * (octokit.paginate(octokit.rest.issues.listComments, { per_page: 100 })), edits it when found
 * (issues.updateComment) — only when the body differs — or creates it (issues.createComment).
 * Returns its id and html_url, and what was done.
 */
export async function upsertStickyComment(
  client: Octokit,
  target: GitHubTarget,
  issueNumber: number,
  marker: string,
  body: string
): Promise<StickyCommentResult> {
  if (marker.trim() === '') throw new Error('upsertStickyComment: the marker is empty')
  // Only a body that starts with the marker is found again by the next run.
  const text = body.startsWith(marker) ? body : `${marker}\n${body}`
  const { owner, repo } = target
  const where = `PR #${issueNumber} in ${owner}/${repo}`

  let comments: ListedComment[]
  try {
    comments = await client.paginate(client.rest.issues.listComments, {
      owner,
      repo,
      issue_number: issueNumber,
      per_page: 100
    })
  } catch (err) {
    throw toGitHubError(`listing the comments of ${where}`, err)
  }

  // Two runs racing may both have created one: keep editing the oldest, leave the others be.
  const existing = comments
    .filter((c) => (c.body ?? '').startsWith(marker))
    .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id)[0]

  if (existing) {
    if (existing.body === text) return { id: existing.id, url: existing.html_url, action: 'unchanged' }
    try {
      const { data } = await client.rest.issues.updateComment({
        owner,
        repo,
        comment_id: existing.id,
        body: text
      })
      return { id: data.id, url: data.html_url, action: 'updated' }
    } catch (err) {
      throw toGitHubError(`editing comment ${existing.id} on ${where}`, err)
    }
  }

  try {
    const { data } = await client.rest.issues.createComment({
      owner,
      repo,
      issue_number: issueNumber,
      body: text
    })
    return { id: data.id, url: data.html_url, action: 'created' }
  } catch (err) {
    throw toGitHubError(`creating the comment on ${where}`, err)
  }
}
