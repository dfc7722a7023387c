/**
 * Requests the ingress is proxying, per revision: a revision that stops getting traffic (deactivated,
 * superseded, replaced by a restart) is stopped only once the requests already sent to it have
 * ended, as ACA drains a replica before it terminates it, within a bound (its termination grace
 * period).
 */
import { idKey } from './ids.js'

export class InFlightRequests {
  private readonly counts = new Map<string, number>()
  private readonly waiters = new Map<string, (() => void)[]>()

  begin(key: string): void {
    const k = idKey(key)
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1)
  }

  end(key: string): void {
    const k = idKey(key)
    const n = (this.counts.get(k) ?? 1) - 1
    if (n > 0) {
      this.counts.set(k, n)
      return
    }
    this.counts.delete(k)
    for (const wake of this.waiters.get(k) ?? []) wake()
    this.waiters.delete(k)
  }

  count(key: string): number {
    return this.counts.get(idKey(key)) ?? 0
  }

  /** Resolves once nothing is in flight to `key`, or after `boundMs`, whichever is first. */
  drained(key: string, boundMs: number): Promise<void> {
    const k = idKey(key)
    if (!this.counts.get(k)) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, boundMs)
      const list = this.waiters.get(k) ?? []
      list.push(() => {
        clearTimeout(timer)
        resolve()
      })
      this.waiters.set(k, list)
    })
  }
}
