/**
 * Long-running operations: the status monitor (`Azure-AsyncOperation`, always 200 with a status)
 * and result (`Location`, 202 until done, then the final answer) URLs on the emulator's own
 * origin, completion at a stored end time (so operations in flight survive a restart), and the
 * per-kind completion handlers that move resources to their terminal state.
 */
import { ArmError } from './errors.js'
import { idKey } from './ids.js'
import type { JsonObject, JsonValue } from './json.js'
import type { IdFactory } from './random.js'
import type { OperationRecord, Store } from './store.js'

/** Which headers the initial answer carries; per resource type, mimicking the real service. */
export type LroShape = 'aao' | 'location' | 'both'

export interface LroStart {
  origin: string
  apiVersion: string
  subscriptionId: string
  namespace: string
  location: string
  statusSegment: string
  resultSegment: string
  shape: LroShape
  kind: string
  method: string
  resourceId: string
  lockId?: string
  durationMs: number
  result: OperationRecord['result']
  failOnCompletion: boolean
  /** A failure that is not a passing fault: the operation ends Failed with this code. */
  failWith?: string
  data?: JsonObject
}

export interface LroAnswer {
  status: number
  body?: JsonValue
  headers?: Record<string, string>
}

type CompletionHandler = (op: OperationRecord) => void

/** Real work an operation waits for (a PostgreSQL cluster starting, a database being created). */
interface Hold {
  done: boolean
  error?: { code: string; message: string }
}
type ViewResolver = (resourceId: string) => JsonObject | undefined

/** Resource-group deletes report on `/subscriptions/{sub}/operationresults/{id}` like ARM does. */
export const SUBSCRIPTION_RESULTS = 'operationresults'

const FINISHED_KEPT_MS = 60 * 60 * 1000

export class LroManager {
  private readonly handlers = new Map<string, CompletionHandler>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly holds = new Map<string, Hold>()
  private afterChange: () => void = () => {}

  constructor(
    private readonly store: Store,
    private readonly ids: IdFactory,
    private readonly view: ViewResolver,
    private readonly now: () => number = Date.now
  ) {}

  onComplete(kind: string, handler: CompletionHandler): void {
    this.handlers.set(kind, handler)
  }

  /** Called after a timer completes an operation, so the state reaches the disk without a request. */
  setAfterChange(fn: () => void): void {
    this.afterChange = fn
  }

  start(s: LroStart): { op: OperationRecord; headers: Record<string, string> } {
    const now = this.now()
    const op: OperationRecord = {
      id: this.ids.operationId(s.resourceId),
      subscriptionId: s.subscriptionId,
      namespace: s.namespace,
      location: s.location.toLowerCase().replace(/\s+/g, ''),
      statusSegment: s.statusSegment,
      resultSegment: s.resultSegment,
      apiVersion: s.apiVersion,
      method: s.method,
      kind: s.kind,
      resourceId: s.resourceId,
      lockId: s.lockId ?? s.resourceId,
      startTime: now,
      endTime: now + Math.max(0, s.durationMs),
      status: 'InProgress',
      failOnCompletion: s.failOnCompletion,
      ...(s.failWith ? { failWith: s.failWith } : {}),
      result: s.result,
      data: s.data ?? {}
    }
    this.store.state.operations[op.id] = op
    this.schedule(op)
    const headers: Record<string, string> = {}
    if (s.shape !== 'location') headers['Azure-AsyncOperation'] = this.statusUrl(s.origin, op)
    if (s.shape !== 'aao') headers['Location'] = this.resultUrl(s.origin, op)
    return { op, headers }
  }

  statusUrl(origin: string, op: OperationRecord): string {
    return `${origin}/subscriptions/${op.subscriptionId}/providers/${op.namespace}/locations/${op.location}/${op.statusSegment}/${op.id}?api-version=${op.apiVersion}`
  }

  resultUrl(origin: string, op: OperationRecord): string {
    if (op.resultSegment === SUBSCRIPTION_RESULTS) {
      return `${origin}/subscriptions/${op.subscriptionId}/${SUBSCRIPTION_RESULTS}/${op.id}?api-version=${op.apiVersion}`
    }
    return `${origin}/subscriptions/${op.subscriptionId}/providers/${op.namespace}/locations/${op.location}/${op.resultSegment}/${op.id}?api-version=${op.apiVersion}`
  }

  /**
   * The operation cannot complete before `work` settles, whatever its end time says; if `work`
   * fails, so does the operation, with `code` and the error's message. Holds live in memory: after a
   * restart the caller holds the operation again with the resumed work.
   */
  hold(opId: string, work: Promise<unknown>, code = 'InternalServerError'): void {
    const hold: Hold = { done: false }
    this.holds.set(opId, hold)
    work.then(
      () => {
        hold.done = true
        this.release()
      },
      (err: unknown) => {
        hold.done = true
        hold.error = { code, message: err instanceof Error ? err.message : String(err) }
        this.release()
      }
    )
  }

  private release(): void {
    this.settle()
    this.afterChange()
  }

  private held(op: OperationRecord): boolean {
    const hold = this.holds.get(op.id)
    return hold !== undefined && !hold.done
  }

  /** As `inFlight`, without completing due operations first (for start-up, before `settle`). */
  runningOn(id: string): OperationRecord | undefined {
    const key = idKey(id)
    return Object.values(this.store.state.operations).find(
      (op) => op.status === 'InProgress' && idKey(op.lockId) === key
    )
  }

  /** The operation holding `id`'s lock, if one is still running. */
  inFlight(id: string): OperationRecord | undefined {
    this.settle()
    const key = idKey(id)
    return Object.values(this.store.state.operations).find(
      (op) => op.status === 'InProgress' && idKey(op.lockId) === key
    )
  }

  get(id: string): OperationRecord | undefined {
    return Object.values(this.store.state.operations).find((op) => op.id.toLowerCase() === id.toLowerCase())
  }

  /** Completes everything that is due; timers can fire late, requests must still see the truth. */
  settle(): void {
    const now = this.now()
    const due = Object.values(this.store.state.operations)
      .filter((op) => op.status === 'InProgress' && op.endTime <= now && !this.held(op))
      .sort((a, b) => a.endTime - b.endTime)
    for (const op of due) this.complete(op)
    // Finished operations stay answerable for a while (clients poll late), then go.
    for (const [id, op] of Object.entries(this.store.state.operations)) {
      if (op.status !== 'InProgress' && op.endTime < now - FINISHED_KEPT_MS)
        delete this.store.state.operations[id]
    }
  }

  /** Re-arms timers for operations persisted by a previous run. */
  resume(): void {
    for (const op of Object.values(this.store.state.operations))
      if (op.status === 'InProgress') this.schedule(op)
  }

  /** Ends running operations on resources that vanished under them (their resource group was deleted). */
  cancelUnder(id: string, reason: string): void {
    const prefix = idKey(id)
    for (const op of Object.values(this.store.state.operations)) {
      const k = idKey(op.lockId)
      if (op.status === 'InProgress' && (k === prefix || k.startsWith(`${prefix}/`))) {
        op.status = 'Canceled'
        op.error = { code: 'Canceled', message: reason }
        op.endTime = this.now()
        this.clearTimer(op.id)
      }
    }
  }

  stopTimers(): void {
    for (const id of [...this.timers.keys()]) this.clearTimer(id)
  }

  statusAnswer(origin: string, op: OperationRecord): LroAnswer {
    const body: JsonObject = {
      id: new URL(this.statusUrl(origin, op)).pathname,
      name: op.id,
      status: op.status,
      startTime: new Date(op.startTime).toISOString()
    }
    if (op.status !== 'InProgress') body['endTime'] = new Date(op.endTime).toISOString()
    if (op.error) body['error'] = { code: op.error.code, message: op.error.message }
    return { status: 200, body }
  }

  resultAnswer(op: OperationRecord): LroAnswer {
    if (op.status === 'InProgress') return { status: 202 }
    if (op.status !== 'Succeeded') {
      // The Location protocol has no status field: a failed operation is an error answer.
      const err = op.error ?? { code: 'InternalOperationError', message: 'The operation failed.' }
      throw new ArmError(op.status === 'Canceled' ? 409 : 500, err.code, err.message)
    }
    if (op.result === 'noContent') return { status: 204 }
    if (op.result === 'emptyOk') return { status: 200 }
    if (op.result === 'body') return { status: 200, body: op.data['body'] ?? {} }
    const body = this.view(op.resourceId)
    if (!body) return { status: 204 }
    return { status: 200, body }
  }

  private schedule(op: OperationRecord): void {
    this.clearTimer(op.id)
    const timer = setTimeout(
      () => {
        this.timers.delete(op.id)
        if (op.status === 'InProgress' && !this.held(op)) {
          this.complete(op)
          this.afterChange()
        }
      },
      Math.max(0, op.endTime - this.now())
    )
    this.timers.set(op.id, timer)
  }

  private clearTimer(id: string): void {
    const t = this.timers.get(id)
    if (t) clearTimeout(t)
    this.timers.delete(id)
  }

  private complete(op: OperationRecord): void {
    this.clearTimer(op.id)
    const hold = this.holds.get(op.id)
    this.holds.delete(op.id)
    if (hold?.error) {
      op.status = 'Failed'
      op.error = hold.error
    } else if (op.failWith) {
      op.status = 'Failed'
      op.error = {
        code: op.failWith,
        message: `The operation '${op.kind}' failed: ${op.failWith} (set by --fail-operations).`
      }
    } else if (op.failOnCompletion) {
      op.status = 'Failed'
      op.error = {
        code: 'InternalOperationError',
        message: `The operation '${op.id}' failed on the service side (injected fault). Retry the request.`
      }
    } else {
      op.status = 'Succeeded'
    }
    const handler = this.handlers.get(op.kind)
    try {
      handler?.(op)
    } catch (err) {
      // A handler bug must not leave the operation running forever; report it as the service would.
      op.status = 'Failed'
      op.error = {
        code: 'InternalOperationError',
        message: `Emulator error completing ${op.kind}: ${String(err)}`
      }
      process.stderr.write(`[emulator] completion of ${op.kind} ${op.id} failed: ${String(err)}\n`)
    }
  }
}
