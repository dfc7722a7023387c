/**
 * Azure's view of a revision's health: provisioned, running, and healthy by its probes. ARM's
 * operation can finish while the revision still fails to start, so the revision is watched itself.
 */
import type { AzurePort, ResourceAddress, RevisionState } from '../azure/port.js'
import { pollUntil } from '../util/poll.js'

const RUNNING = ['running', 'runningatmaxscale']

export class RevisionFailedError extends Error {
  constructor(readonly revision: RevisionState) {
    super(
      `Revision ${revision.name} (${revision.image}) failed to start: ` +
        `${revision.provisioningError ?? `${revision.provisioningState}/${revision.runningState}`}. ` +
        'Traffic stays on the previous healthy revision, if there is one.'
    )
    this.name = 'RevisionFailedError'
  }
}

export function revisionVerdict(r: RevisionState): 'ready' | 'failed' | 'pending' {
  if (r.provisioningState.toLowerCase() === 'failed' || r.runningState.toLowerCase() === 'failed')
    return 'failed'
  if (RUNNING.includes(r.runningState.toLowerCase()) && r.healthState.toLowerCase() === 'healthy')
    return 'ready'
  return 'pending'
}

/** Waits until a given revision runs and is healthy (Azure's view: provisioned, running, healthy). */
export async function waitForRevision(
  port: AzurePort,
  app: ResourceAddress,
  name: string,
  opts: { pollMs: number; timeoutMs: number }
): Promise<RevisionState> {
  return pollUntil(
    async () => {
      const r = await port.getRevision(app, name)
      const verdict = revisionVerdict(r)
      if (verdict === 'failed') throw new RevisionFailedError(r)
      return verdict === 'ready'
        ? { done: true, value: r }
        : { done: false, status: `${r.provisioningState}, ${r.runningState}, health ${r.healthState}` }
    },
    {
      intervalMs: opts.pollMs,
      timeoutMs: opts.timeoutMs,
      what: `revision ${name} to run and pass its health probe`
    }
  )
}
