/**
 * The action's one retry layer above the SDK pipeline. The pipeline already retries 429/503 (after
 * their Retry-After), 408, other 5xx and dropped connections, up to its `maxRetries`; retrying
 * those again here would multiply the attempts (once up to ~30 HTTP requests for one operation).
 * This layer adds only what the pipeline cannot know: a 409 that means "busy, try later", and a
 * long-running operation that failed for a reason Azure calls transient. Delays are jittered at
 * random (so parallel runners do not retry in step) and bounded by a total deadline per operation.
 */
import { isRestError, parseLroFailure } from './errors.js'

/** 409 codes that mean "busy, try again later" (`reference/azure-arm-contract.md` §7). */
const BUSY_CODES = new Set(
  [
    'ContainerAppLockConflict',
    'ContainerAppsJobOperationInProgress',
    'ManagedEnvironmentOperationInProgress',
    'AnotherOperationInProgress',
    'OperationInProgress',
    'ServerBusy',
    'ServerIsBusy',
    'RetryableError',
    'OperationNotAllowed_OperationInProgress'
  ].map((c) => c.toLowerCase())
)

/**
 * Codes of a failed long-running operation that name a passing platform fault. Everything else —
 * quota, policy, validation, a name taken, a missing prerequisite — fails the same way again, and
 * re-sending a create (a PostgreSQL server!) for it only repeats minutes of work before the same
 * error: those fail at once with Azure's reason.
 */
const TRANSIENT_LRO_CODES = new Set(
  [
    'InternalServerError',
    'InternalOperationError',
    'InternalError',
    'ServiceUnavailable',
    'ServerTimeout',
    'GatewayTimeout',
    'RetryableError',
    'TooManyRequests'
  ].map((c) => c.toLowerCase())
)

function isBusyConflict(status: number | undefined, code: string, message: string): boolean {
  if (status !== 409) return false
  if (BUSY_CODES.has(code.toLowerCase())) return true
  // Some RPs answer a generic `Conflict` for "another operation is in progress".
  return (code === '' || code.toLowerCase() === 'conflict') && /another operation|in progress/i.test(message)
}

/** Why an error is worth another attempt at this layer, or undefined when it is not. */
export function retryReason(err: unknown): string | undefined {
  if (isRestError(err)) {
    return isBusyConflict(err.statusCode, err.code ?? '', err.message) ? `busy (${err.code})` : undefined
  }
  const lro = parseLroFailure(err)
  if (!lro) return undefined
  if (BUSY_CODES.has(lro.code.toLowerCase())) return `busy (${lro.code})`
  if (TRANSIENT_LRO_CODES.has(lro.code.toLowerCase())) return `operation failed (${lro.code})`
  return undefined
}

export function isRetryable(err: unknown): boolean {
  return retryReason(err) !== undefined
}

export interface RetryInfo {
  label: string
  /** The attempt that failed (1-based). */
  attempt: number
  delayMs: number
  reason: string
  error: unknown
}

export interface RetryOptions {
  label: string
  /** Total attempts including the first; default 6. */
  attempts?: number
  baseDelayMs: number
  /** Upper bound of one wait; default 30 s. */
  maxDelayMs?: number
  /** No new attempt starts after this long from the first (ms); default 20 minutes. */
  deadlineMs?: number
  onRetry?: (info: RetryInfo) => void
  /** Injected for tests; defaults to a real timer, the clock and `Math.random`. */
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  random?: () => number
}

/** Delay before attempt `attempt + 1`: exponential from `baseDelayMs`, jittered to 50–100 %, capped. */
export function backoffDelay(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: number
): number {
  const exp = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(exp * (0.5 + 0.5 * random))
}

/** The server's `Retry-After` (seconds) / `retry-after-ms` on a busy response, in ms. */
export function retryAfterMs(err: unknown): number | undefined {
  if (!isRestError(err)) return undefined
  const headers = err.response?.headers
  if (!headers || typeof headers.get !== 'function') return undefined
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const v = Number(headers.get(name))
    if (Number.isFinite(v) && v > 0) return v
  }
  const ra = headers.get('retry-after')
  if (ra === undefined) return undefined
  const secs = Number(ra)
  if (Number.isFinite(secs) && secs > 0) return secs * 1000
  const date = Date.parse(ra)
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function withRetry<T>(op: () => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 6)
  const maxDelayMs = options.maxDelayMs ?? 30_000
  const sleep = options.sleep ?? realSleep
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const deadline = now() + (options.deadlineMs ?? 20 * 60_000)
  for (let attempt = 1; ; attempt++) {
    try {
      return await op()
    } catch (error) {
      const reason = retryReason(error)
      if (reason === undefined || attempt >= attempts) throw error
      let delayMs = backoffDelay(attempt, options.baseDelayMs, maxDelayMs, random())
      const serverDelay = retryAfterMs(error)
      if (serverDelay !== undefined) delayMs = Math.min(maxDelayMs, Math.max(delayMs, serverDelay))
      if (now() + delayMs > deadline) throw error
      options.onRetry?.({ label: options.label, attempt, delayMs, reason, error })
      await sleep(delayMs)
    }
  }
}
