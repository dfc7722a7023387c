/**
 * Action-level retry, on top of the SDK pipeline's own retries: the failures the SDK does not retry
 * (409 "busy" codes, 429 without a retry header, failed long-running operations) or gave up on
 * (5xx and transport errors after its own attempts).
 */
import { errorCode, isRestError, parseLroFailure } from './errors.js'

/** 409 codes that mean "busy, try again later". */
const BUSY_CODES = new Set(
  [
    'ContainerAppLockConflict',
    'ManagedEnvironmentOperationInProgress',
    'AnotherOperationInProgress',
    'OperationInProgress',
    'ServerBusy',
    'RetryableError',
    'OperationNotAllowed_OperationInProgress'
  ].map((c) => c.toLowerCase())
)

/** Transport-level failures (connection dropped, timed out, refused while restarting). */
const TRANSPORT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'REQUEST_SEND_ERROR'
])

const TRANSPORT_MESSAGE =
  /socket hang up|ECONNRESET|ETIMEDOUT|ECONNREFUSED|EPIPE|network socket disconnected/i

/**
 * Codes of failed operations that will fail again the same way (bad input, name taken, missing
 * prerequisite, permissions, quota): retrying only wastes time.
 */
const PERMANENT_CODE =
  /invalid|notfound|conflict|alreadytaken|alreadyexists|notdelegated|badrequest|validation|unauthorized|forbidden|authorization|quota|notsupported|notallowed|missingsubscriptionregistration|disallowed|linkedauthorization/i

function causeCodes(err: unknown): string[] {
  const out: string[] = []
  let cur: unknown = err
  for (let i = 0; i < 4 && typeof cur === 'object' && cur !== null; i++) {
    const c = (cur as { code?: unknown }).code
    if (typeof c === 'string') out.push(c)
    cur = (cur as { cause?: unknown }).cause
  }
  return out
}

function isTransportError(err: unknown): boolean {
  if (causeCodes(err).some((c) => TRANSPORT_CODES.has(c))) return true
  if (isRestError(err) && err.statusCode === undefined && TRANSPORT_MESSAGE.test(err.message)) return true
  return err instanceof Error && !isRestError(err) && TRANSPORT_MESSAGE.test(err.message)
}

/** Why an error is worth another attempt, or undefined when it is not. */
export function retryReason(err: unknown): string | undefined {
  if (isRestError(err)) {
    const status = err.statusCode
    const code = (err.code ?? '').toLowerCase()
    if (status === 409) {
      if (BUSY_CODES.has(code)) return `busy (${err.code})`
      // Some RPs answer a generic `Conflict` for "another operation is in progress".
      if (
        (code === 'conflict' || code === '') &&
        /another operation|in progress|try again/i.test(err.message)
      ) {
        return 'busy (conflict: operation in progress)'
      }
      return undefined
    }
    if (status === 429) return 'throttled'
    if (status === 408) return 'request timeout'
    if (status !== undefined && status >= 500 && status !== 501 && status !== 505)
      return `server error ${status}`
    if (status === undefined && isTransportError(err))
      return `transport error (${errorCode(err) ?? 'connection'})`
    return undefined
  }
  const lro = parseLroFailure(err)
  if (lro) {
    if (BUSY_CODES.has(lro.code.toLowerCase())) return `busy (${lro.code})`
    if (lro.code && PERMANENT_CODE.test(lro.code)) return undefined
    return `operation failed (${lro.code || 'no code'})`
  }
  if (err instanceof Error && err.message === 'Operation was canceled') return 'operation canceled'
  if (isTransportError(err)) return `transport error (${errorCode(err) ?? 'connection'})`
  return undefined
}

export function isRetryable(err: unknown): boolean {
  return retryReason(err) !== undefined
}

export interface RetryInfo {
  label: string
  /** The attempt that failed (1-based). */
  attempt: number
  attempts: number
  delayMs: number
  reason: string
  error: unknown
}

export interface RetryOptions {
  /** Total attempts including the first; default 5. */
  attempts?: number
  baseDelayMs: number
  /** Upper bound of one wait; default 60 s. */
  maxDelayMs?: number
  label: string
  onRetry?: (info: RetryInfo) => void
  /** Injected for tests; defaults to a real timer. */
  sleep?: (ms: number) => Promise<void>
}

/** A stable value in [0, 1) from a label and an attempt number (FNV-1a), used as jitter. */
export function deterministicJitter(label: string, attempt: number): number {
  let h = 0x811c9dc5
  const s = `${label}#${attempt}`
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h / 0x100000000
}

/** Delay before attempt `attempt + 1`: exponential from `baseDelayMs`, jittered to 75–100 %, capped. */
export function backoffDelay(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  label: string
): number {
  const exp = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(exp * (0.75 + 0.25 * deterministicJitter(label, attempt)))
}

/** The server's `Retry-After` (seconds) / `retry-after-ms` on a throttled or busy response, in ms. */
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
  const attempts = Math.max(1, options.attempts ?? 5)
  const maxDelayMs = options.maxDelayMs ?? 60_000
  const sleep = options.sleep ?? realSleep
  for (let attempt = 1; ; attempt++) {
    try {
      return await op()
    } catch (error) {
      const reason = retryReason(error)
      if (reason === undefined || attempt >= attempts) throw error
      let delayMs = backoffDelay(attempt, options.baseDelayMs, maxDelayMs, options.label)
      const serverDelay = retryAfterMs(error)
      if (serverDelay !== undefined) delayMs = Math.min(maxDelayMs, Math.max(delayMs, serverDelay))
      options.onRetry?.({ label: options.label, attempt, attempts, delayMs, reason, error })
      await sleep(delayMs)
    }
  }
}
