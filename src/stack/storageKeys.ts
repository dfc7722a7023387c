/**
 * Storage key policy: which of the account's two keys the app uses, which one the serving revision
 * holds, and what `rotate-keys` does next. Pure: fed with the keys, the app's secret and the serving
 * revision as Azure reports them, so an interrupted rotation is finished from Azure's state alone.
 *
 * The rotation follows Microsoft's procedure for two keys (storage-account-keys-manage.md, "Manually
 * rotate access keys"): move the clients to the key they do not use, then regenerate the one they
 * used. Here "the clients" is the serving revision: its secret values are fixed at its start, so
 * the key it holds is the one that must never be regenerated while it serves.
 */
import { createHash } from 'node:crypto'
import type { StorageKeys } from '../azure/port.js'
import type { ContainerSpec } from './specs.js'

export type KeyName = 'key1' | 'key2'
export const KEY_NAMES: readonly KeyName[] = ['key1', 'key2']

/**
 * The template names the key its secret held when the revision was made, as a fingerprint (16 hex
 * digits of SHA-256 of a 64-byte random key: nothing about the key can be learned from it). The
 * revision's secret values are not readable, so this is how a later run knows which key it holds.
 */
export const STORAGE_KEY_FINGERPRINT_ENV = 'MLFLOW_STACK_STORAGE_KEY_SHA256'

/** App tag set with the traffic move of a rotation: the key to regenerate once the move is done. */
export const KEY_TO_RETIRE_TAG = 'mlflow-storage-key-to-retire'
/** The marker's value once the retired key is regenerated. */
export const NO_KEY_TO_RETIRE = 'none'
/** App tag: when the last rotation finished (ISO 8601), for the summary and the next run. */
export const KEY_ROTATED_TAG = 'mlflow-storage-key-rotated'

export function keyFingerprint(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16)
}

export function fingerprintOf(container: ContainerSpec): string | undefined {
  return container.env.find((e) => e.name === STORAGE_KEY_FINGERPRINT_ENV)?.value
}

export function otherKey(name: KeyName): KeyName {
  return name === 'key1' ? 'key2' : 'key1'
}

/** Which key a value is, if it is one of them. */
export function keyNamed(keys: StorageKeys, value: string | undefined): KeyName | undefined {
  if (value === undefined) return undefined
  return KEY_NAMES.find((k) => keys[k] === value)
}

/** Which key a revision holds, from the fingerprint in its template. */
export function keyHeldBy(keys: StorageKeys, container: ContainerSpec | undefined): KeyName | undefined {
  const fingerprint = container ? fingerprintOf(container) : undefined
  if (!fingerprint) return undefined
  return KEY_NAMES.find((k) => keyFingerprint(keys[k]) === fingerprint)
}

/**
 * The key a deploy gives the app: the one its secret holds, so a deploy never undoes a rotation in
 * progress; key1 when the secret holds neither (a new app, or a key regenerated outside the action).
 */
export function keyForDeploy(keys: StorageKeys, appSecret: string | undefined): KeyName {
  return keyNamed(keys, appSecret) ?? 'key1'
}

export interface KeyState {
  keys: StorageKeys
  /** The value of the app's `storage-access-key` secret (what a new revision would start with). */
  appSecret?: string
  /** The key the serving revision holds (from its fingerprint), if it holds one of the two. */
  live?: KeyName
  /** The app's KEY_TO_RETIRE_TAG: a rotation moved traffic off this key and has not regenerated it. */
  toRetire?: KeyName
}

/**
 * What `rotate-keys` does, as the steps it still needs:
 * - `regenerate`: the key to make new before the switch (absent when an earlier run already did and
 *   set the app's secret to it);
 * - `switchTo`: the key the new revision carries (absent when the serving revision already does);
 * - `retire`: the key regenerated last, once no serving revision holds it.
 */
export interface RotationPlan {
  regenerate?: KeyName
  switchTo?: KeyName
  retire?: KeyName
  /** What a person reads in the plan and the log. */
  description: string
  /** Set when the rotation must not go ahead. */
  refusal?: string
}

export function planRotation(state: KeyState): RotationPlan {
  const { live, toRetire } = state
  if (!live) {
    return {
      description: 'no rotation',
      refusal:
        'The serving revision holds neither storage key (it was deployed before the action recorded key fingerprints, ' +
        'or a key was regenerated outside the action). Run deploy first: it moves the app onto a valid key ' +
        'through a new, gated revision; then rotate-keys can rotate.'
    }
  }
  // An earlier rotation moved traffic off `toRetire` and stopped before regenerating it.
  if (toRetire && toRetire !== live) {
    return {
      retire: toRetire,
      description: `finish the rotation that moved the server to ${live}: regenerate ${toRetire}, which nothing serving holds`
    }
  }
  const target = otherKey(live)
  const secretOnTarget = keyNamed(state.keys, state.appSecret) === target
  return {
    // The app's secret already holds the other key: an earlier run regenerated it and stopped
    // before (or while) the new revision took over. Regenerating it again would only waste the
    // propagation wait, and a revision may already have started with it.
    ...(secretOnTarget ? {} : { regenerate: target }),
    switchTo: target,
    retire: live,
    description: secretOnTarget
      ? `resume the rotation: move the server from ${live} to ${target} (already regenerated), then regenerate ${live}`
      : `regenerate ${target}, move the server from ${live} to it through a new revision, then regenerate ${live}`
  }
}
