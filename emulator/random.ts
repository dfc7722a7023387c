/**
 * Generated values. Those that appear in request paths (operation ids, revision suffixes) are
 * derived from the seed and a persisted counter, so a seeded fault run hashes the same paths twice;
 * the rest (keys, GUIDs, domains) are plain random.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Store } from './store.js'

export const randomGuid = (): string => randomUUID()

/**
 * The subscription of a fresh local Azure, from its seed: the stack's global names derive from the
 * subscription, and the fault draws from the paths that carry those names, so a seeded fault run
 * meets the same faults on every machine.
 */
export function seededSubscriptionId(seed: number): string {
  const h = createHash('sha256').update(`subscription|${seed}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}
export const randomKey = (bytes = 64): string => randomBytes(bytes).toString('base64')
export const randomHex = (chars: number): string =>
  randomBytes(Math.ceil(chars / 2))
    .toString('hex')
    .slice(0, chars)
export const randomToken = (): string => randomBytes(32).toString('base64url')

const WORDS = [
  'happyhill',
  'bluesky',
  'calmriver',
  'braveforest',
  'gentlesea',
  'quietmoss',
  'proudstone',
  'wittymeadow',
  'kindcoast',
  'boldfield',
  'livelydune',
  'icypond',
  'salmondesert',
  'nicegrass',
  'lemonrock'
]

export function randomWord(): string {
  return WORDS[randomBytes(1)[0]! % WORDS.length] ?? 'bluesky'
}

export function randomPublicIp(): string {
  const b = randomBytes(3)
  return `20.${b[0]! % 224}.${b[1]}.${(b[2]! % 250) + 2}`
}

function digest(parts: (string | number)[]): Buffer {
  return createHash('sha256').update(parts.join('|')).digest()
}

function guidFrom(hash: Buffer): string {
  const h = hash.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/**
 * A GUID that is always the same for the same parts: ids that belong to something the emulator does
 * not model (a user-assigned identity's client and principal ids, the subscription's tenant).
 */
export function derivedGuid(...parts: string[]): string {
  return guidFrom(digest(parts.map((p) => p.toLowerCase())))
}

/** The tenant the emulator's subscriptions belong to. */
export function tenantOf(subscriptionId: string): string {
  return derivedGuid('tenant', subscriptionId)
}

/** Removes the subscription from a path or id so two fresh state dirs produce the same values. */
export function subscriptionFree(path: string): string {
  return path.toLowerCase().replace(/\/subscriptions\/[^/]+/, '/subscriptions/{sub}')
}

export class IdFactory {
  constructor(
    private readonly seed: number,
    private readonly store: Store
  ) {}

  operationId(resourceId: string): string {
    const key = `op:${subscriptionFree(resourceId)}`
    return guidFrom(digest([this.seed, key, this.store.nextCounter(key)]))
  }

  /** Seven lower-case alphanumerics starting with a letter, as ACA generates. */
  revisionSuffix(appId: string): string {
    const key = `rev:${subscriptionFree(appId)}`
    const hash = digest([this.seed, key, this.store.nextCounter(key)])
    const letters = 'abcdefghijklmnopqrstuvwxyz'
    const alnum = `${letters}0123456789`
    let out = letters[hash[0]! % letters.length] ?? 'a'
    for (let i = 1; i < 7; i++) out += alnum[hash[i]! % alnum.length] ?? '0'
    return out
  }

  /** A job execution's suffix: seven lower-case letters (Job_Start.json: `testcontainerAppsJob0-pjxhsye`). */
  executionSuffix(jobId: string): string {
    const key = `exec:${subscriptionFree(jobId)}`
    const hash = digest([this.seed, key, this.store.nextCounter(key)])
    let out = ''
    for (let i = 0; i < 7; i++) out += 'abcdefghijklmnopqrstuvwxyz'[hash[i]! % 26] ?? 'a'
    return out
  }
}
