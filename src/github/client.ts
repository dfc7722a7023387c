/**
 * The GitHub port: which repository to talk to, an authenticated `@actions/github` client for it,
 * and one error type that says what failed and why. Takes plain values (never `@actions/core`), so
 * it runs the same from the action, a local run and tests against the fake GitHub.
 */
// `@actions/github` 9.x is ESM-only (`"type": "module"`, an `import`-only `exports` map): a
// namespace import works under ts-jest ESM and ncc alike, as `@actions/core` does in main.ts.
import * as github from '@actions/github'

export interface GitHubTarget {
  apiUrl: string
  token: string
  owner: string
  repo: string
}

/** The client `@actions/github` builds: `@octokit/core` with the REST methods and `paginate`. */
export type Octokit = ReturnType<typeof github.getOctokit>

const DEFAULT_API_URL = 'https://api.github.com'

/**
 * From the runner's env: GITHUB_API_URL (default https://api.github.com), GITHUB_REPOSITORY
 * (owner/repo); undefined when there is no token or repository.
 */
export function gitHubTarget(
  env: { GITHUB_API_URL?: string; GITHUB_REPOSITORY?: string },
  token: string | undefined
): GitHubTarget | undefined {
  if (!token) return undefined
  const [owner, repo, ...rest] = (env.GITHUB_REPOSITORY ?? '').trim().split('/')
  if (!owner || !repo || rest.length > 0) return undefined
  const apiUrl = (env.GITHUB_API_URL?.trim() || DEFAULT_API_URL).replace(/\/+$/, '')
  return { apiUrl, token, owner, repo }
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname.toLowerCase()
    return host === 'localhost' || host.startsWith('127.') || host === '[::1]'
  } catch {
    return false
  }
}

/**
 * An authenticated client for `target.apiUrl`. The base URL is passed explicitly: `@actions/github`
 * reads GITHUB_API_URL once, when it is first imported, into its defaults.
 */
export function gitHubClient(target: GitHubTarget): Octokit {
  // `@actions/github` also picks its proxy-aware fetch once at import, for the import-time base URL
  // (the options are merged shallowly, so `request` here replaces it whole). A loopback API (a local
  // fake) is never proxied (as `@actions/http-client` bypasses loopback hosts), so it gets Node's own fetch.
  const request = isLoopback(target.apiUrl) ? { request: { fetch: globalThis.fetch } } : {}
  return github.getOctokit(target.token, { baseUrl: target.apiUrl, ...request })
}

/** A failed GitHub call, with a message naming the operation, the HTTP status and GitHub's message. */
export class GitHubError extends Error {
  override name = 'GitHubError'
  /** The HTTP status GitHub answered with; undefined when no answer came (network failure). */
  status?: number

  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options)
    this.status = status
  }
}

interface RequestErrorLike {
  status: number
  message: string
  response?: { status?: number; data?: unknown }
}

/** An `@octokit/request-error` RequestError, recognised by shape (several copies may be bundled). */
function isRequestError(err: unknown): err is RequestErrorLike {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as Record<string, unknown>)['status'] === 'number' &&
    typeof (err as Record<string, unknown>)['message'] === 'string'
  )
}

/** GitHub's own `message` from an error body `{ "message": ..., "documentation_url": ... }`. */
function gitHubMessage(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null) {
    const message = (data as Record<string, unknown>)['message']
    if (typeof message === 'string' && message !== '') return message
  }
  if (typeof data === 'string' && data.trim() !== '') return data.trim().slice(0, 300)
  return undefined
}

const READ_ONLY_TOKEN =
  'likely a read-only token: a pull request from a fork or from Dependabot gets a read-only ' +
  'GITHUB_TOKEN, or the workflow lacks `permissions: pull-requests: write`'

/** The likely cause of a status, told to the person reading the log. */
function likelyCause(status: number, message: string): string | undefined {
  if (status === 403 && /resource not accessible by integration/i.test(message)) return READ_ONLY_TOKEN
  if (status === 401) return 'the token is invalid or has expired'
  return undefined
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/**
 * Wraps what an `@actions/github` call threw into a GitHubError whose message names `operation`
 * (e.g. "creating the comment on PR #12 in owner/repo"), the status, GitHub's message and, when
 * known, the likely cause.
 */
export function toGitHubError(operation: string, err: unknown): GitHubError {
  if (err instanceof GitHubError) return err
  const what = capitalise(operation)
  if (isRequestError(err)) {
    if (err.response === undefined) {
      // No answer at all: @octokit/request reports a network failure as status 500 without a response.
      return new GitHubError(`${what} failed: GitHub did not answer (${err.message})`, undefined, {
        cause: err
      })
    }
    const status = err.response.status ?? err.status
    const message = gitHubMessage(err.response.data) ?? err.message
    const cause = likelyCause(status, message)
    return new GitHubError(`${what} failed: HTTP ${status} ${message}${cause ? ` — ${cause}` : ''}`, status, {
      cause: err
    })
  }
  const message = err instanceof Error ? err.message : String(err)
  return new GitHubError(`${what} failed: ${message}`, undefined, { cause: err })
}
