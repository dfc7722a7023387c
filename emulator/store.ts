/**
 * The emulator's whole world, persisted as one JSON file under `--state DIR` so a restart resumes
 * the same scenario. Every commit is a write-then-rename, so a kill at any moment leaves either the
 * old or the new state on disk, never a torn file.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { idKey } from './ids.js'
import type { JsonObject } from './json.js'

export interface ResourceRecord {
  /** Canonical-case ARM id. */
  id: string
  type: string
  /** Exactly what GET answers (secrets never live here). */
  body: JsonObject
  /** Values that only list/keys actions reveal: storage keys, app secrets, passwords. */
  secrets: Record<string, string>
  /** Facts the emulator needs but ARM never shows (runtime URLs, generated addresses, specs). */
  internal: JsonObject
  /** When ARM saw the resource created and last written (`systemData`, see systemData.ts). */
  meta?: { createdAt: string; lastModifiedAt: string }
}

export type ProviderState = 'Registered' | 'NotRegistered' | 'Registering'

export interface ProviderRecord {
  subscriptionId: string
  namespace: string
  registrationState: ProviderState
  /** When a `Registering` provider turns `Registered` (epoch ms). */
  registeredAt?: number
}

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled'

export interface OperationRecord {
  id: string
  subscriptionId: string
  namespace: string
  location: string
  /** Last path segments of the status monitor and result URLs, e.g. `containerappOperationStatuses`. */
  statusSegment: string
  resultSegment: string
  apiVersion: string
  method: string
  /** Completion handler key, e.g. `containerApps.put`. */
  kind: string
  /** Whose GET view the result URL returns. */
  resourceId: string
  /** The record a second write must not touch while this runs. */
  lockId: string
  startTime: number
  endTime: number
  status: OperationStatus
  /** Decided when the operation starts (seeded `lro-fail`), applied when it ends. */
  failOnCompletion: boolean
  failWith?: string
  error?: { code: string; message: string }
  /**
   * What the Location URL answers once done: the resource (200), nothing (204), an empty 200, or
   * the fixed body in `data.body` (200; a job start's `JobExecutionBase`).
   */
  result: 'resource' | 'noContent' | 'emptyOk' | 'body'
  data: JsonObject
}

export interface EmulatorState {
  version: 1
  subscriptionId: string
  token: string
  /** Local ports, reused on restart when free: ARM, the apps' ingress, the proxy, Azurite, its front door. */
  port?: number
  ingressPort?: number
  proxyPort?: number
  blobPort?: number
  /** The blob front door (`<account>.blob.core.windows.net` through the proxy). */
  blobFrontDoorPort?: number
  /** The managed-identity token endpoint replicas are given (`IDENTITY_ENDPOINT`). */
  identityPort?: number
  providers: Record<string, ProviderRecord>
  resources: Record<string, ResourceRecord>
  operations: Record<string, OperationRecord>
  /** Per-key counters that make generated ids reproducible (operation ids, revision suffixes). */
  counters: Record<string, number>
}

type RemoveListener = (record: ResourceRecord) => void

export class Store {
  private lastWritten = ''
  private readonly removeListeners: RemoveListener[] = []

  private constructor(
    readonly dir: string,
    readonly state: EmulatorState
  ) {}

  static open(dir: string, init: () => Pick<EmulatorState, 'subscriptionId' | 'token'>): Store {
    mkdirSync(dir, { recursive: true })
    const file = join(dir, 'state.json')
    const state: EmulatorState = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as EmulatorState)
      : { version: 1, ...init(), providers: {}, resources: {}, operations: {}, counters: {} }
    const store = new Store(dir, state)
    store.commit()
    return store
  }

  get(id: string): ResourceRecord | undefined {
    return this.state.resources[idKey(id)]
  }

  put(record: ResourceRecord): ResourceRecord {
    this.state.resources[idKey(record.id)] = record
    return record
  }

  /** Removes the record and everything nested under it (an RG takes its resources along). */
  removeTree(id: string): ResourceRecord[] {
    const key = idKey(id)
    const removed: ResourceRecord[] = []
    for (const [k, record] of Object.entries(this.state.resources)) {
      if (k === key || k.startsWith(`${key}/`)) {
        delete this.state.resources[k]
        removed.push(record)
      }
    }
    for (const record of removed) for (const listener of this.removeListeners) listener(record)
    return removed
  }

  /** Records nested anywhere below `id`, optionally of one type. */
  descendants(id: string, type?: string): ResourceRecord[] {
    const prefix = `${idKey(id)}/`
    return Object.entries(this.state.resources)
      .filter(
        ([k, r]) =>
          k.startsWith(prefix) && (type === undefined || r.type.toLowerCase() === type.toLowerCase())
      )
      .map(([, r]) => r)
  }

  byType(type: string): ResourceRecord[] {
    const t = type.toLowerCase()
    return Object.values(this.state.resources).filter((r) => r.type.toLowerCase() === t)
  }

  onRemove(listener: RemoveListener): void {
    this.removeListeners.push(listener)
  }

  nextCounter(key: string): number {
    const n = (this.state.counters[key] ?? 0) + 1
    this.state.counters[key] = n
    return n
  }

  /** Writes the state if anything changed since the last write. Cheap enough to call after every event. */
  commit(): void {
    const text = JSON.stringify(this.state)
    if (text === this.lastWritten) return
    const file = join(this.dir, 'state.json')
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, text)
    renameSync(tmp, file)
    this.lastWritten = text
  }
}
