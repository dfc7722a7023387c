/** Small helpers shared by the resource adapters. */
import type { ResourceAddress } from './port.js'
import type { Tags } from '../stack/specs.js'
import { isNotFound } from './errors.js'

/**
 * A region as the action names it (`westeurope`). Microsoft.App and PostgreSQL answer the display
 * name (`West Europe`) where the action sent the name, so every location read back is normalized
 * before it is compared; otherwise each run would plan a location change.
 */
export function normalizeLocation(location: string | undefined): string {
  return (location ?? '').toLowerCase().replace(/[\s_-]+/g, '')
}

/** A copy of the tags with a stable key order; missing tags read back as `{}`. */
export function normalizeTags(tags: Record<string, string> | undefined | null): Tags {
  const out: Tags = {}
  if (!tags) return out
  for (const key of Object.keys(tags).sort()) {
    const v = tags[key]
    if (v !== undefined && v !== null) out[key] = String(v)
  }
  return out
}

/** `tags` for a request body: a copy, so the SDK never holds the spec's object. */
export function tagsForArm(tags: Tags): Record<string, string> {
  return { ...tags }
}

/** Runs a GET; a 404 (resource or resource group missing) gives `undefined`. */
export async function getOrUndefined<T>(op: () => Promise<T>): Promise<T | undefined> {
  try {
    return await op()
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
}

/** Runs a DELETE; a resource (or resource group) that is already gone is not an error. */
export async function deleteIgnoringNotFound(op: () => Promise<unknown>): Promise<void> {
  try {
    await op()
  } catch (err) {
    if (isNotFound(err)) return
    throw err
  }
}

export function requireParent(address: ResourceAddress, what: string): string {
  if (!address.parent) throw new Error(`${what} '${address.name}' needs address.parent`)
  return address.parent
}

/** Options passed to every long-running operation. */
export function lro(pollIntervalMs: number): { updateIntervalInMs: number } {
  return { updateIntervalInMs: pollIntervalMs }
}

/** Copies `value` under `key` only when it is defined (keeps projected specs free of `undefined` keys). */
export function definedEntries<T extends object>(obj: T): T {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v
  return out as T
}
