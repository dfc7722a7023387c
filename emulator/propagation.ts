/**
 * Azure's eventual consistency as seeded whiles: a regenerated storage key, a role assignment and a
 * freshly made principal each take a while before the service that checks them sees them. Each
 * while is drawn from `sha256(seed, kind, subject, n)` (the subject without its subscription, `n`
 * a persisted counter per kind and subject) between the kind's bounds in realistic seconds, then
 * scaled by `--time-scale`; so two runs with the same seed wait the same whiles, and a failure that
 * depends on one reproduces. `--propagation kind=SECONDS` fixes a kind's while instead (still
 * scaled), e.g. `storageKey=0` for tests that are not about it.
 */
import { createHash } from 'node:crypto'
import { subscriptionFree } from './random.js'
import type { Store } from './store.js'

export const PROPAGATION_KINDS = ['storageKey', 'roleAssignment', 'principal'] as const
export type PropagationKind = (typeof PROPAGATION_KINDS)[number]

/**
 * Bounds in realistic seconds.
 * - storageKey: how long the blob front ends take to accept a regenerated key. No Microsoft page
 *   gives a figure; the rotation procedure (storage-account-keys-manage.md) only says to switch
 *   clients to the other key first. 5–30 s is chosen [unverified]: a client must tolerate a new key
 *   being refused for a while, which is the strict side.
 * - roleAssignment: "Azure role assignments may take up to 30 minutes to propagate"
 *   (MicrosoftDocs, storage/blobs/assign-azure-role-data-access.md and the RBAC troubleshooting
 *   page; reference/next-capabilities.md §4.5) [unverified page]. Drawn over 10 s–30 min.
 * - principal: a new managed identity's service principal is not yet replicated to every
 *   directory replica, so a role assignment without `principalType` fails with PrincipalNotFound
 *   for a while (https://aka.ms/docs-principaltype; Azure/AgentBaker#8251). 5–60 s [unverified].
 */
export const PROPAGATION_SECONDS: Record<PropagationKind, { min: number; max: number }> = {
  storageKey: { min: 5, max: 30 },
  roleAssignment: { min: 10, max: 1800 },
  principal: { min: 5, max: 60 }
}

export function parsePropagation(text: string | undefined): Partial<Record<PropagationKind, number>> {
  const out: Partial<Record<PropagationKind, number>> = {}
  for (const part of (text ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [kind, value] = part.split('=')
    const seconds = Number(value)
    if (!PROPAGATION_KINDS.includes(kind as PropagationKind) || !Number.isFinite(seconds) || seconds < 0) {
      throw new Error(
        `--propagation: '${part}' is not <kind>=<seconds ≥ 0> with kind one of ${PROPAGATION_KINDS.join(', ')}`
      )
    }
    out[kind as PropagationKind] = seconds
  }
  return out
}

export class Propagation {
  constructor(
    private readonly seed: number,
    private readonly store: Store,
    private readonly timeScale: number,
    private readonly fixed: Partial<Record<PropagationKind, number>>
  ) {}

  /** How long (ms, scaled) until `subject` (a resource id, or id + key name) is seen everywhere. */
  delayMs(kind: PropagationKind, subject: string): number {
    const fixed = this.fixed[kind]
    let seconds: number
    if (fixed !== undefined) seconds = fixed
    else {
      const key = `propagation:${kind}:${subscriptionFree(subject)}`
      const n = this.store.nextCounter(key)
      const hash = createHash('sha256').update(`${this.seed}|${key}|${n}`).digest()
      const draw = hash.readUIntBE(0, 6) / 2 ** 48
      const { min, max } = PROPAGATION_SECONDS[kind]
      seconds = min + draw * (max - min)
    }
    return Math.round(seconds * 1000 * this.timeScale)
  }
}
