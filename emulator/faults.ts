/**
 * Seeded fault injection on ARM requests. Each decision is a pure function of (seed, method, path,
 * n) where n counts earlier requests with the same method and path, so parallel clients that issue
 * the same requests in a different interleaving still meet the same faults.
 */
import { createHash } from 'node:crypto'
import { subscriptionFree } from './random.js'

export const FAULT_KINDS = ['429', '503', '500', '409', 'lro-fail', 'reset'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]
export type FaultSpec = Partial<Record<FaultKind, number>>
export type FaultDecision = FaultKind | 'none'

export function parseFaultSpec(text: string | undefined): FaultSpec {
  const spec: FaultSpec = {}
  if (!text) return spec
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [kind, value] = part.split('=')
    const p = Number(value)
    if (!FAULT_KINDS.includes(kind as FaultKind) || !Number.isFinite(p) || p < 0 || p > 1) {
      throw new Error(
        `--faults: '${part}' is not <kind>=<probability 0..1> with kind one of ${FAULT_KINDS.join(', ')}`
      )
    }
    spec[kind as FaultKind] = p
  }
  const total = Object.values(spec).reduce((a, b) => a + b, 0)
  if (total > 1) throw new Error(`--faults: probabilities add up to ${total}, more than 1`)
  return spec
}

// getAuthToken hands out a token and changes nothing on the resource.
const READ_ACTIONS = ['listkeys', 'listsecrets', 'sharedkeys', 'checknameavailability', 'getauthtoken']

/** Writes are what a 409 can hit: PUT/PATCH/DELETE and POST actions that change something. */
export function isWrite(method: string, path: string): boolean {
  const m = method.toUpperCase()
  if (m === 'PUT' || m === 'PATCH' || m === 'DELETE') return true
  if (m !== 'POST') return false
  const action = path.split('?')[0]?.split('/').filter(Boolean).pop()?.toLowerCase() ?? ''
  return !READ_ACTIONS.includes(action)
}

export class FaultInjector {
  private readonly counts = new Map<string, number>()

  constructor(
    private readonly spec: FaultSpec,
    private readonly seed: number
  ) {}

  /** Replays earlier requests (from the persisted log) so n keeps counting across a restart. */
  prime(requests: { method: string; path: string }[]): void {
    for (const r of requests) this.bump(this.key(r.method, r.path))
  }

  get enabled(): boolean {
    return Object.values(this.spec).some((p) => p > 0)
  }

  decide(method: string, path: string): FaultDecision {
    const key = this.key(method, path)
    const n = this.bump(key) - 1
    if (!this.enabled) return 'none'
    const hash = createHash('sha256').update(`${this.seed}|${key}|${n}`).digest()
    const draw = hash.readUIntBE(0, 6) / 2 ** 48
    let edge = 0
    for (const kind of FAULT_KINDS) {
      edge += this.spec[kind] ?? 0
      if (draw < edge) {
        if (kind === '409' && !isWrite(method, path)) return 'none'
        return kind
      }
    }
    return 'none'
  }

  private key(method: string, path: string): string {
    return `${method.toUpperCase()} ${subscriptionFree(path.split('?')[0] ?? path)}`
  }

  private bump(key: string): number {
    const n = (this.counts.get(key) ?? 0) + 1
    this.counts.set(key, n)
    return n
  }
}
