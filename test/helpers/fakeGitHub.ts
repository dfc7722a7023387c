/**
 * A local GitHub REST API on 127.0.0.1 for the few endpoints the action uses (issue comments, pull
 * requests), answering as GitHub does: JSON bodies, `{ message, documentation_url }` errors,
 * `Link`-header pagination (`per_page` default 30, max 100), numeric ids, `html_url`,
 * `created_at`/`updated_at` without milliseconds. Tokens are known or not (401 `Bad credentials`);
 * a read-only token (a fork PR's GITHUB_TOKEN) has its writes answered 403 `Resource not accessible
 * by integration`. It is no more lenient than GitHub: a comment on an issue it does not know is 404.
 *
 * Sources: docs.github.com/rest/issues/comments, docs.github.com/rest/pulls/pulls,
 * docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api,
 * docs.github.com/rest/using-the-rest-api/troubleshooting-the-rest-api.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { LoopbackServer } from '../../emulator/listen.js'

export type TokenAccess = 'write' | 'read'

export interface FakeGitHubOptions {
  /** Known tokens; default `{ 'test-token': 'write' }`. */
  tokens?: Record<string, TokenAccess>
  /** Pull requests per `owner/repo`; `head` is the head repository's `owner/repo` (default: the base). */
  pulls?: Record<string, Record<number, { state: 'open' | 'closed'; head?: string }>>
}

export interface FakeRequest {
  method: string
  /** Path and query as sent, e.g. `/repos/o/r/issues/1/comments?per_page=100&page=2`. */
  path: string
  /** The status answered. */
  status: number
  /** The token's access, or undefined for an unknown or missing token. */
  access?: TokenAccess
}

export interface FakeGitHub {
  url: string
  requests: FakeRequest[]
  /** The comments on an issue/PR, oldest first. */
  comments(repo: string, issue: number): { id: number; body: string; user: string }[]
  /** Seeds a comment (and the issue, if new); `user` defaults to `someone`. Returns its id. */
  addComment(repo: string, issue: number, body: string, user?: string): number
  /** Adds or changes a pull request. */
  setPull(repo: string, n: number, state: 'open' | 'closed', head?: string): void
  close(): Promise<void>
}

interface Comment {
  id: number
  repo: string
  issue: number
  body: string
  user: string
  createdAt: string
  updatedAt: string
}

interface Pull {
  id: number
  state: 'open' | 'closed'
  head: string
  createdAt: string
}

const DOCS = 'https://docs.github.com/rest'
/** What the action's token posts as. */
const TOKEN_USER = 'github-actions[bot]'

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly documentationUrl: string = DOCS
  ) {
    super(message)
  }
}

/** GitHub's timestamp format: ISO 8601 in UTC without milliseconds. */
function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function userObject(login: string): Record<string, unknown> {
  let id = 0
  for (const ch of login) id = (id * 31 + ch.charCodeAt(0)) % 100_000_000
  return {
    login,
    id,
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    html_url: `https://github.com/${login.replace(/\[bot\]$/, '')}`
  }
}

export async function startFakeGitHub(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const tokens = opts.tokens ?? { 'test-token': 'write' }
  const requests: FakeRequest[] = []
  const comments = new Map<number, Comment>()
  const pulls = new Map<string, Map<number, Pull>>() // repo (lower case) → number → pull
  const issues = new Set<string>() // `${repo lower}#${n}` for issues that are not pulls
  const repoNames = new Map<string, string>() // lower case → as given
  let nextId = 1_000_001
  // A clock that moves forward one second per event, so `created_at` orders as ids do.
  let clock = Date.parse('2026-12-01T09:00:00Z')
  const now = (): string => timestamp((clock += 1000))

  const key = (repo: string): string => {
    const lower = repo.toLowerCase()
    if (!repoNames.has(lower)) repoNames.set(lower, repo)
    return lower
  }
  const setPull = (repo: string, n: number, state: 'open' | 'closed', head?: string): void => {
    const k = key(repo)
    const byNumber = pulls.get(k) ?? new Map<number, Pull>()
    pulls.set(k, byNumber)
    const old = byNumber.get(n)
    byNumber.set(n, {
      id: old?.id ?? nextId++,
      state,
      head: head ?? old?.head ?? repo,
      createdAt: old?.createdAt ?? now()
    })
  }
  for (const [repo, byNumber] of Object.entries(opts.pulls ?? {})) {
    for (const [n, p] of Object.entries(byNumber)) setPull(repo, Number(n), p.state, p.head)
  }

  const isPull = (repo: string, n: number): boolean => pulls.get(repo)?.has(n) ?? false
  const issueExists = (repo: string, n: number): boolean => isPull(repo, n) || issues.has(`${repo}#${n}`)
  const addComment = (repo: string, issue: number, body: string, user = 'someone'): number => {
    const k = key(repo)
    if (!isPull(k, issue)) issues.add(`${k}#${issue}`)
    const at = now()
    const c: Comment = { id: nextId++, repo: k, issue, body, user, createdAt: at, updatedAt: at }
    comments.set(c.id, c)
    return c.id
  }

  let base = ''
  const commentJson = (c: Comment): Record<string, unknown> => {
    const repo = repoNames.get(c.repo) ?? c.repo
    const kind = isPull(c.repo, c.issue) ? 'pull' : 'issues'
    return {
      id: c.id,
      node_id: `IC_${c.id}`,
      url: `${base}/repos/${repo}/issues/comments/${c.id}`,
      html_url: `https://github.com/${repo}/${kind}/${c.issue}#issuecomment-${c.id}`,
      issue_url: `${base}/repos/${repo}/issues/${c.issue}`,
      body: c.body,
      user: userObject(c.user),
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      author_association: c.user === TOKEN_USER ? 'NONE' : 'CONTRIBUTOR'
    }
  }
  const pullJson = (repo: string, n: number, p: Pull): Record<string, unknown> => {
    const name = repoNames.get(repo) ?? repo
    const repoJson = (fullName: string): Record<string, unknown> => ({
      full_name: fullName,
      name: fullName.split('/')[1],
      owner: userObject(fullName.split('/')[0] ?? '')
    })
    return {
      id: p.id,
      number: n,
      state: p.state,
      url: `${base}/repos/${name}/pulls/${n}`,
      html_url: `https://github.com/${name}/pull/${n}`,
      created_at: p.createdAt,
      updated_at: p.createdAt,
      head: { ref: `pr-${n}`, repo: repoJson(p.head) },
      base: { ref: 'main', repo: repoJson(name) }
    }
  }

  /** One page of `items` with GitHub's `Link` header (first/prev/next/last, absolute URLs). */
  const page = (url: URL, items: unknown[], res: ServerResponse): unknown[] => {
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30))
    const pageNo = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1)
    const last = Math.max(1, Math.ceil(items.length / perPage))
    const at = (p: number): string => {
      const u = new URL(url.pathname + url.search, base)
      u.searchParams.set('per_page', String(perPage))
      u.searchParams.set('page', String(p))
      return `<${u.toString()}>`
    }
    const links: string[] = []
    if (pageNo > 1) links.push(`${at(pageNo - 1)}; rel="prev"`)
    if (pageNo < last) links.push(`${at(pageNo + 1)}; rel="next"`, `${at(last)}; rel="last"`)
    if (pageNo > 1) links.push(`${at(1)}; rel="first"`)
    if (links.length > 0) res.setHeader('Link', links.join(', '))
    return items.slice((pageNo - 1) * perPage, pageNo * perPage)
  }

  const readBody = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    if (text === '') return {}
    try {
      const parsed: unknown = JSON.parse(text)
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        return parsed as Record<string, unknown>
      }
    } catch {
      // answered below
    }
    throw new HttpError(400, 'Problems parsing JSON')
  }
  const bodyField = (json: Record<string, unknown>, docs: string): string => {
    const body = json['body']
    if (typeof body !== 'string')
      throw new HttpError(422, 'Invalid request.\n\n"body" wasn\'t supplied.', docs)
    if (body.length > 65536) throw new HttpError(422, 'Validation Failed', docs)
    return body
  }

  const route = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    access: TokenAccess
  ): Promise<{ status: number; json?: unknown }> => {
    const method = req.method ?? 'GET'
    const write = method !== 'GET' && method !== 'HEAD'
    const denyReadOnly = (docs: string): void => {
      if (write && access === 'read') throw new HttpError(403, 'Resource not accessible by integration', docs)
    }
    const notFound = (docs = DOCS): HttpError => new HttpError(404, 'Not Found', docs)

    let m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(url.pathname)
    if (m) {
      const repo = key(`${m[1]}/${m[2]}`)
      const issue = Number(m[3])
      const docs = `${DOCS}/issues/comments#${method === 'POST' ? 'create-an-issue-comment' : 'list-issue-comments'}`
      if (method !== 'GET' && method !== 'POST') throw notFound()
      denyReadOnly(docs)
      if (!issueExists(repo, issue)) throw notFound(docs)
      if (method === 'GET') {
        const list = [...comments.values()]
          .filter((c) => c.repo === repo && c.issue === issue)
          .map(commentJson)
        return { status: 200, json: page(url, list, res) }
      }
      const id = addComment(repo, issue, bodyField(await readBody(req), docs), TOKEN_USER)
      const created = comments.get(id) as Comment
      res.setHeader('Location', commentJson(created)['url'] as string)
      return { status: 201, json: commentJson(created) }
    }

    m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname)
    if (m) {
      const repo = key(`${m[1]}/${m[2]}`)
      const c = comments.get(Number(m[3]))
      const docs = `${DOCS}/issues/comments`
      if (method !== 'GET' && method !== 'PATCH' && method !== 'DELETE') throw notFound()
      denyReadOnly(docs)
      if (!c || c.repo !== repo) throw notFound(docs)
      if (method === 'GET') return { status: 200, json: commentJson(c) }
      if (method === 'DELETE') {
        comments.delete(c.id)
        return { status: 204 }
      }
      c.body = bodyField(await readBody(req), `${docs}#update-an-issue-comment`)
      c.updatedAt = now()
      return { status: 200, json: commentJson(c) }
    }

    m = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/.exec(url.pathname)
    if (m && method === 'GET') {
      const repo = key(`${m[1]}/${m[2]}`)
      const n = Number(m[3])
      const p = pulls.get(repo)?.get(n)
      if (!p) throw notFound(`${DOCS}/pulls/pulls#get-a-pull-request`)
      return { status: 200, json: pullJson(repo, n, p) }
    }

    m = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(url.pathname)
    if (m && method === 'GET') {
      const repo = key(`${m[1]}/${m[2]}`)
      const state = url.searchParams.get('state') ?? 'open'
      if (!['open', 'closed', 'all'].includes(state)) {
        throw new HttpError(422, 'Validation Failed', `${DOCS}/pulls/pulls#list-pull-requests`)
      }
      // GitHub lists the newest first by default.
      const list = [...(pulls.get(repo) ?? new Map<number, Pull>()).entries()]
        .filter(([, p]) => state === 'all' || p.state === state)
        .sort(([a], [b]) => b - a)
        .map(([n, p]) => pullJson(repo, n, p))
      return { status: 200, json: page(url, list, res) }
    }

    throw notFound()
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base)
    const entry: FakeRequest = { method: req.method ?? 'GET', path: url.pathname + url.search, status: 0 }
    requests.push(entry)
    const send = (status: number, json?: unknown): void => {
      entry.status = status
      res.statusCode = status
      res.setHeader('X-GitHub-Request-Id', `FAKE:${requests.length}`)
      if (json === undefined) {
        res.end()
        return
      }
      res.setHeader('Content-Type', 'application/json; charset=utf-8')
      res.end(JSON.stringify(json))
    }
    const fail = (err: unknown): void => {
      if (err instanceof HttpError)
        send(err.status, { message: err.message, documentation_url: err.documentationUrl })
      else send(500, { message: `fake GitHub: ${String(err)}`, documentation_url: DOCS })
    }

    const auth = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '')
    if (!auth) {
      req.resume()
      fail(new HttpError(401, 'Requires authentication', DOCS))
      return
    }
    const access = tokens[auth[1] as string]
    if (!access) {
      req.resume()
      fail(new HttpError(401, 'Bad credentials', DOCS))
      return
    }
    entry.access = access
    route(req, res, url, access).then(
      (r) => send(r.status, r.json),
      (err: unknown) => {
        req.resume()
        fail(err)
      }
    )
  })
  const loopback = new LoopbackServer(server)
  const port = await loopback.listen(0)
  base = `http://127.0.0.1:${port}`

  return {
    url: base,
    requests,
    comments: (repo, issue) =>
      [...comments.values()]
        .filter((c) => c.repo === repo.toLowerCase() && c.issue === issue)
        .map((c) => ({ id: c.id, body: c.body, user: c.user })),
    addComment,
    setPull,
    close: () => loopback.close()
  }
}
