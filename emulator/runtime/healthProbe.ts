/**
 * Decides a revision's health the way ACA's probes do: GET the health path until it answers 200,
 * giving up at a deadline or as soon as the process is known to be gone.
 */
import { request } from 'node:http'

export type ProbeResult = { healthy: true } | { healthy: false; reason: string }

export interface ProbeOptions {
  url: string
  deadlineMs: number
  intervalMs?: number
  /** Set when the process exited: stop probing at once with its reason. */
  gone: () => string | undefined
}

function probeOnce(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: 2000 }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(0))
    req.end()
  })
}

export async function waitForHealthy(options: ProbeOptions): Promise<ProbeResult> {
  const deadline = Date.now() + options.deadlineMs
  const interval = options.intervalMs ?? 25
  for (;;) {
    const goneReason = options.gone()
    if (goneReason) return { healthy: false, reason: goneReason }
    const lastStatus = await probeOnce(options.url)
    if (lastStatus === 200) return { healthy: true }
    if (Date.now() >= deadline) {
      const seen = lastStatus ? `last answer HTTP ${lastStatus}` : 'no answer'
      return {
        healthy: false,
        reason: `Health probe GET ${new URL(options.url).pathname} did not succeed within ${Math.round(options.deadlineMs / 1000)}s (${seen})`
      }
    }
    await new Promise((r) => setTimeout(r, interval))
  }
}
