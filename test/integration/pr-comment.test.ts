/**
 * The sticky PR comment and the PR states through the real `@actions/github` client (src/github)
 * against the local fake GitHub, checked on the requests the fake saw.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { GitHubError, gitHubClient, gitHubTarget, type GitHubTarget } from '../../src/github/client.js'
import { pullRequestStates } from '../../src/github/pullRequests.js'
import { upsertStickyComment } from '../../src/github/stickyComment.js'
import { prEnvironmentComment, prEnvironmentMarker } from '../../src/report/prComment.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fakeGitHub.js'

const REPO = 'octo/mlflow'
let gh: FakeGitHub

beforeAll(async () => {
  gh = await startFakeGitHub({
    tokens: { 'write-token': 'write', 'fork-token': 'read' },
    pulls: {
      [REPO]: {
        1: { state: 'open' },
        2: { state: 'open' },
        3: { state: 'open' },
        4: { state: 'open', head: 'mallory/mlflow' },
        5: { state: 'closed' },
        6: { state: 'open' }
      }
    }
  })
})
afterAll(async () => {
  await gh?.close()
})

function target(token: string): GitHubTarget {
  const t = gitHubTarget({ GITHUB_API_URL: gh.url, GITHUB_REPOSITORY: REPO }, token)
  if (!t) throw new Error('no target')
  return t
}

/** The requests made by `run`, from the fake's log. */
async function requestsOf(
  run: () => Promise<unknown>
): Promise<{ method: string; path: string; status: number }[]> {
  const from = gh.requests.length
  await run().catch(() => undefined)
  return gh.requests.slice(from).map(({ method, path, status }) => ({ method, path, status }))
}

const marker = prEnvironmentMarker('pr-1')
const body = (revision: string): string =>
  prEnvironmentComment({
    stackName: 'pr-1',
    prNumber: 1,
    state: 'ready',
    appName: 'pr-1-mlflow',
    revision,
    trackingUri: 'https://pr-1.example.io'
  })

describe('upsertStickyComment', () => {
  it('creates the comment once, then edits it in place, and leaves an unchanged body alone', async () => {
    const t = target('write-token')
    const client = gitHubClient(t)
    const botComment = gh.addComment(REPO, 1, 'Coverage: 93 %', 'codecov[bot]')

    let created: Awaited<ReturnType<typeof upsertStickyComment>> | undefined
    const first = await requestsOf(async () => {
      created = await upsertStickyComment(client, t, 1, marker, body('r1'))
    })
    expect(created?.action).toBe('created')
    expect(created?.url).toBe(`https://github.com/${REPO}/pull/1#issuecomment-${created?.id}`)
    expect(first).toEqual([
      { method: 'GET', path: '/repos/octo/mlflow/issues/1/comments?per_page=100', status: 200 },
      { method: 'POST', path: '/repos/octo/mlflow/issues/1/comments', status: 201 }
    ])

    let updated: Awaited<ReturnType<typeof upsertStickyComment>> | undefined
    const second = await requestsOf(async () => {
      updated = await upsertStickyComment(client, t, 1, marker, body('r2'))
    })
    expect(updated).toEqual({ id: created?.id, url: created?.url, action: 'updated' })
    expect(second).toEqual([
      { method: 'GET', path: '/repos/octo/mlflow/issues/1/comments?per_page=100', status: 200 },
      { method: 'PATCH', path: `/repos/octo/mlflow/issues/comments/${created?.id}`, status: 200 }
    ])

    const third = await requestsOf(async () => {
      expect((await upsertStickyComment(client, t, 1, marker, body('r2'))).action).toBe('unchanged')
    })
    expect(third.map((r) => r.method)).toEqual(['GET'])

    // One comment of ours, with the latest body; the other bot's comment untouched.
    const comments = gh.comments(REPO, 1)
    expect(comments).toEqual([
      { id: botComment, body: 'Coverage: 93 %', user: 'codecov[bot]' },
      { id: created?.id, body: body('r2'), user: 'github-actions[bot]' }
    ])
    expect(comments[1]?.body.startsWith(marker)).toBe(true)
  })

  it('prepends the marker to a body without it', async () => {
    const t = target('write-token')
    const r = await upsertStickyComment(gitHubClient(t), t, 6, marker, 'hello')
    expect(gh.comments(REPO, 6)).toEqual([
      { id: r.id, body: `${marker}\nhello`, user: 'github-actions[bot]' }
    ])
  })

  it('finds the marker comment on page 2 of 3 and edits only it', async () => {
    const t = target('write-token')
    for (let i = 0; i < 150; i++) gh.addComment(REPO, 2, `review note ${i}`)
    // Quoting the marker is not carrying it: only a body that starts with it counts.
    gh.addComment(REPO, 2, `> ${marker}\nquoted by a human`)
    const ours = gh.addComment(REPO, 2, `${marker}\nold`, 'github-actions[bot]')
    for (let i = 0; i < 60; i++) gh.addComment(REPO, 2, `later note ${i}`)

    const log = await requestsOf(async () => {
      expect(await upsertStickyComment(gitHubClient(t), t, 2, marker, `${marker}\nnew`)).toMatchObject({
        id: ours,
        action: 'updated'
      })
    })
    expect(log).toEqual([
      { method: 'GET', path: '/repos/octo/mlflow/issues/2/comments?per_page=100', status: 200 },
      { method: 'GET', path: '/repos/octo/mlflow/issues/2/comments?per_page=100&page=2', status: 200 },
      { method: 'GET', path: '/repos/octo/mlflow/issues/2/comments?per_page=100&page=3', status: 200 },
      { method: 'PATCH', path: `/repos/octo/mlflow/issues/comments/${ours}`, status: 200 }
    ])
    const changed = gh.comments(REPO, 2).filter((c) => c.body.includes('new') || c.body.includes('old'))
    expect(changed).toEqual([{ id: ours, body: `${marker}\nnew`, user: 'github-actions[bot]' }])
  })

  it('edits the oldest when a race left two', async () => {
    const t = target('write-token')
    const oldest = gh.addComment(REPO, 3, `${marker}\nfirst`, 'github-actions[bot]')
    const twin = gh.addComment(REPO, 3, `${marker}\nsecond`, 'github-actions[bot]')
    const log = await requestsOf(() => upsertStickyComment(gitHubClient(t), t, 3, marker, `${marker}\nthird`))
    expect(log.filter((r) => r.method !== 'GET')).toEqual([
      { method: 'PATCH', path: `/repos/octo/mlflow/issues/comments/${oldest}`, status: 200 }
    ])
    expect(gh.comments(REPO, 3).map((c) => [c.id, c.body])).toEqual([
      [oldest, `${marker}\nthird`],
      [twin, `${marker}\nsecond`]
    ])
  })

  it('with a read-only (fork) token fails with a GitHubError naming the 403 and the fork cause', async () => {
    const t = target('fork-token')
    let error: unknown
    const log = await requestsOf(async () => {
      error = await upsertStickyComment(gitHubClient(t), t, 4, marker, body('r1')).catch((e: unknown) => e)
    })
    expect(error).toBeInstanceOf(GitHubError)
    const e = error as GitHubError
    expect(e.status).toBe(403)
    expect(e.message).toContain('Creating the comment on PR #4 in octo/mlflow failed: HTTP 403')
    expect(e.message).toContain('Resource not accessible by integration')
    expect(e.message).toContain('fork')
    expect(e.message).toContain('pull-requests: write')
    expect(log).toEqual([
      { method: 'GET', path: '/repos/octo/mlflow/issues/4/comments?per_page=100', status: 200 },
      { method: 'POST', path: '/repos/octo/mlflow/issues/4/comments', status: 403 }
    ])
    expect(gh.comments(REPO, 4)).toEqual([])
  })

  it('with an unknown token fails with the 401', async () => {
    const t = target('stolen-token')
    let error: unknown
    const log = await requestsOf(async () => {
      error = await upsertStickyComment(gitHubClient(t), t, 1, marker, body('r9')).catch((e: unknown) => e)
    })
    expect(error).toBeInstanceOf(GitHubError)
    expect((error as GitHubError).status).toBe(401)
    expect((error as GitHubError).message).toMatch(
      /^Listing the comments of PR #1 in octo\/mlflow failed: HTTP 401 Bad credentials/
    )
    expect(log).toEqual([
      { method: 'GET', path: '/repos/octo/mlflow/issues/1/comments?per_page=100', status: 401 }
    ])
  })
})

describe('pullRequestStates', () => {
  it('gives open, closed, and closed for a PR GitHub does not know', async () => {
    const t = target('write-token')
    gh.setPull(REPO, 3, 'closed')
    const log = await requestsOf(async () => {
      const states = await pullRequestStates(gitHubClient(t), t, [1, 3, 5, 404, 1])
      expect([...states.entries()]).toEqual([
        [1, { state: 'open' }],
        [3, { state: 'closed' }],
        [5, { state: 'closed' }],
        [404, { state: 'closed', reason: 'PR #404 not found (404)' }]
      ])
    })
    // One GET per distinct number.
    expect(log.map((r) => `${r.method} ${r.path} ${r.status}`).sort()).toEqual([
      'GET /repos/octo/mlflow/pulls/1 200',
      'GET /repos/octo/mlflow/pulls/3 200',
      'GET /repos/octo/mlflow/pulls/404 404',
      'GET /repos/octo/mlflow/pulls/5 200'
    ])
  })

  it('says unknown, with the 401, for an unknown token', async () => {
    const t = target('stolen-token')
    const states = await pullRequestStates(gitHubClient(t), t, [1])
    expect(states.get(1)?.state).toBe('unknown')
    expect(states.get(1)?.reason).toContain('HTTP 401 Bad credentials')
  })
})

describe('the fake GitHub', () => {
  it('lists open pull requests page by page, newest first, as GitHub does', async () => {
    const t = target('write-token')
    const client = gitHubClient(t)
    const log = await requestsOf(async () => {
      const open = await client.paginate(client.rest.pulls.list, {
        owner: 'octo',
        repo: 'mlflow',
        state: 'open',
        per_page: 2
      })
      expect(open.map((p) => [p.number, p.head.repo?.full_name])).toEqual([
        [6, REPO],
        [4, 'mallory/mlflow'],
        [2, REPO],
        [1, REPO]
      ])
    })
    expect(log.map((r) => r.path)).toEqual([
      '/repos/octo/mlflow/pulls?state=open&per_page=2',
      '/repos/octo/mlflow/pulls?state=open&per_page=2&page=2'
    ])
  })
})
