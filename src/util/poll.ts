/**
 * Polls until `check` returns a value, or gives up at the deadline with a message saying what was
 * awaited and the last thing seen. The interval is a poll rate, not a guess at how long to wait.
 */
export class PollTimeoutError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PollTimeoutError'
  }
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function pollUntil<T>(
  check: () => Promise<{ done: true; value: T } | { done: false; status: string }>,
  opts: { intervalMs: number; timeoutMs: number; what: string; now?: () => number }
): Promise<T> {
  const now = opts.now ?? Date.now
  const deadline = now() + opts.timeoutMs
  for (;;) {
    const result = await check()
    if (result.done) return result.value
    if (now() >= deadline) {
      throw new PollTimeoutError(
        `Timed out after ${Math.round(opts.timeoutMs / 1000)}s waiting for ${opts.what}; last seen: ${result.status}`
      )
    }
    await delay(opts.intervalMs)
  }
}
