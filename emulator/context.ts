/** What every resource module gets: the state, the clocks and the shared machinery. */
import type { Backends } from './backends/index.js'
import type { FaultSpec } from './faults.js'
import { idKey, typeOfId } from './ids.js'
import type { InFlightRequests } from './inflight.js'
import type { JsonObject } from './json.js'
import type { Latency } from './latency.js'
import type { LroManager } from './lro.js'
import type { Propagation, PropagationKind } from './propagation.js'
import type { IdFactory } from './random.js'
import type { RevisionRuntime } from './runtime/types.js'
import type { Store } from './store.js'

export type RuntimeKind = 'standin' | 'mlflow'

export interface EmulatorConfig {
  stateDir: string
  port?: number
  timeScale: number
  faults: FaultSpec
  seed: number
  runtime: RuntimeKind
  unregistered: string[]
  takenNames: string[]
  /** Stand-in images whose container crashes at start, before it is ever healthy (`--crash-images`). */
  crashImages: string[]
  /** Operation kind → error code every operation of that kind fails with (`--fail-operations`). */
  failOperations: Record<string, string>
  /** Propagation whiles fixed by `--propagation` (realistic seconds, scaled); others are seeded draws. */
  propagation: Partial<Record<PropagationKind, number>>
  /**
   * The runner's public address (`--client-ip`): every connection from outside the managed
   * environments appears to the apps' ingress from it (`networkRules.ts`).
   */
  clientIp: string
  /** ARM actions the deploying principal lacks (`--deny-actions`, `*` wildcards): 403 `AuthorizationFailed`. */
  denyActions: string[]
}

export interface ProviderCheck {
  isRegistered(subscriptionId: string, namespace: string): boolean
}

export interface EmulatorContext {
  readonly config: EmulatorConfig
  readonly store: Store
  readonly lro: LroManager
  readonly latency: Latency
  readonly ids: IdFactory
  readonly views: Views
  readonly runtime: RevisionRuntime
  /** Real services behind resources (PostgreSQL, Azurite); empty with the stand-in runtime. */
  readonly backends: Backends
  /** Requests the ingress is proxying, per revision id (drained before a revision stops). */
  readonly inFlight: InFlightRequests
  /** Seeded propagation whiles (regenerated keys, role assignments, new principals). */
  readonly propagation: Propagation
  now(): number
}

type Resolver = (id: string) => JsonObject | undefined

/**
 * GET views by resource type. Most records store their view directly; nested things that are not
 * records of their own (subnets live inside their VNet) register a resolver.
 */
export class Views {
  private readonly resolvers = new Map<string, Resolver>()

  constructor(private readonly store: Store) {}

  register(type: string, resolver: Resolver): void {
    this.resolvers.set(type.toLowerCase(), resolver)
  }

  get(id: string): JsonObject | undefined {
    const resolver = this.resolvers.get(typeOfId(id).toLowerCase())
    if (resolver) return resolver(id)
    return this.store.state.resources[idKey(id)]?.body
  }
}
