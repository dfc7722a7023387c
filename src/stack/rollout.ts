/**
 * Rollout policy: when the running MLflow must see a change (a new image, command, env, resources,
 * scale, or new secret values), it gets a new revision with its own suffix; whether the schema is
 * migrated first; whether a version change is a downgrade across a schema change. Pure: fed with
 * what the Azure port read.
 */
import { createHash } from 'node:crypto'
import { compareVersions, formatVersion, parseImageTag, type MlflowVersion } from '../config/image.js'
import { SECRET_STORAGE_KEY } from './mlflowContainer.js'
import type { ContainerSpec, SecretSpec } from './specs.js'
import { keyFingerprint, STORAGE_KEY_FINGERPRINT_ENV } from './storageKeys.js'

/**
 * The container carries a digest of the secret values it references, so a new value (a rotated
 * key, a new admin password) is a template change, which Azure answers with a new revision that
 * starts with the new values — rather than a secret the running revision silently never sees.
 * 16 hex digits of SHA-256 over values that include 32 random bytes: nothing can be learned from it.
 */
export const SECRETS_DIGEST_ENV = 'MLFLOW_STACK_SECRETS_SHA256'

export function secretsDigest(container: ContainerSpec, secrets: readonly SecretSpec[]): string {
  const referenced = new Set(container.env.flatMap((e) => (e.secretRef ? [e.secretRef] : [])))
  const h = createHash('sha256')
  for (const s of [...secrets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (referenced.has(s.name)) h.update(`${s.name}\u0000${s.value}\u0000`)
  }
  return h.digest('hex').slice(0, 16)
}

export function withSecretsDigest(container: ContainerSpec, digest: string): ContainerSpec {
  return {
    ...container,
    env: [
      ...container.env.filter((e) => e.name !== SECRETS_DIGEST_ENV),
      { name: SECRETS_DIGEST_ENV, value: digest }
    ]
  }
}

/**
 * The template's markers, added when the revision is written (the values are known only then):
 * the secrets digest and the fingerprint of the storage key it starts with.
 */
export function withRolloutMarkers(container: ContainerSpec, secrets: readonly SecretSpec[]): ContainerSpec {
  const digested = withSecretsDigest(container, secretsDigest(container, secrets))
  const key = secrets.find((s) => s.name === SECRET_STORAGE_KEY)?.value
  if (key === undefined) return digested
  return {
    ...digested,
    env: [
      ...digested.env.filter((e) => e.name !== STORAGE_KEY_FINGERPRINT_ENV),
      { name: STORAGE_KEY_FINGERPRINT_ENV, value: keyFingerprint(key) }
    ]
  }
}

/**
 * The migration job carries the digest of its secrets in its container too: a GET answers no secret
 * values, so the plan compares the job's secrets through it (secrets are write-only for the job,
 * WRITE_ONLY_FIELDS) and a run that changes nothing never lists them. Applied to the desired spec,
 * and again to the resolved spec when it is written (values known only then, e.g. the server's host).
 */
export function withJobSecretsDigest<T extends { container: ContainerSpec; secrets: readonly SecretSpec[] }>(
  spec: T
): T {
  return {
    ...spec,
    container: withSecretsDigest(spec.container, secretsDigest(spec.container, spec.secrets))
  }
}

export function secretsDigestOf(container: ContainerSpec): string | undefined {
  return container.env.find((e) => e.name === SECRETS_DIGEST_ENV)?.value
}

/** The container as the plan compares it: without the digest (secrets are compared as secrets). */
export function withoutSecretsDigest(container: ContainerSpec): ContainerSpec {
  return { ...container, env: container.env.filter((e) => e.name !== SECRETS_DIGEST_ENV) }
}

/** The MLflow release an image reference runs, if it is one of MLflow's. */
export function versionOfImage(image: string): MlflowVersion | undefined {
  const m = /^ghcr\.io\/mlflow\/mlflow:(v\d+\.\d+\.\d+)-full$/.exec(image)
  if (!m) return undefined
  const v = parseImageTag(m[1]!)
  return typeof v === 'string' ? undefined : v
}

export function tagOf(v: MlflowVersion): string {
  return `v${formatVersion(v)}`
}

/** Where this run comes from: GitHub's run id and attempt, or a clock for local runs. */
export interface RunIdentity {
  runId?: string
  runAttempt?: string
  /** Seconds since the epoch, used when there is no run id. */
  nowSeconds: number
}

/**
 * Azure's revision name rules: lower-case letters, digits and '-', starting with a letter, ending
 * with a letter or digit, no '--', and `<app>--<suffix>` at most 54 characters
 * (`ContainerAppInvalidRevisionName`, reference/azure-arm-contract.md §8).
 */
export const REVISION_NAME_MAX = 54

export function isValidSuffix(app: string, suffix: string): boolean {
  return (
    /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/.test(suffix) &&
    !suffix.includes('--') &&
    app.length + 2 + suffix.length <= REVISION_NAME_MAX
  )
}

/**
 * A readable, unique suffix: the MLflow version and the run, e.g. `v3-17-2-5o1mowt` for run
 * 12345678901 (base 36), `-a2` on a re-run attempt, and `-2`, `-3`… when a revision of that name
 * exists already (a second rollout in the same run). Cut to fit the 54-character name.
 */
export function revisionSuffix(
  app: string,
  version: MlflowVersion,
  run: RunIdentity,
  existing: readonly string[]
): string {
  const token =
    run.runId && /^\d+$/.test(run.runId)
      ? BigInt(run.runId).toString(36)
      : `l${Math.floor(run.nowSeconds).toString(36)}`
  const attempt = run.runAttempt && run.runAttempt !== '1' ? `-a${run.runAttempt}` : ''
  const base = `v${version.major}-${version.minor}-${version.patch}-${token}${attempt}`
  const room = REVISION_NAME_MAX - app.length - 2
  const taken = new Set(existing.map((n) => n.toLowerCase()))
  for (let n = 1; ; n++) {
    const tail = n === 1 ? '' : `-${n}`
    const suffix = `${base.slice(0, Math.max(1, room - tail.length)).replace(/-+$/, '')}${tail}`
    if (!taken.has(`${app}--${suffix}`.toLowerCase())) return suffix
  }
}

export type SchemaStep = 'none' | 'upgrade' | 'downgrade'

/**
 * What a version change does to the database schema. Patch releases carry no migrations;
 * practically every minor release does (reference/next-capabilities.md §3.1), so any minor or
 * major change counts as a schema change — a few minors that kept the schema are treated as
 * changes too, which only ever makes a downgrade harder, never an unsafe one easier.
 */
export function schemaStep(from: MlflowVersion | undefined, to: MlflowVersion): SchemaStep {
  if (!from) return 'upgrade'
  if (from.major === to.major && from.minor === to.minor) return 'none'
  return compareVersions(to, from) > 0 ? 'upgrade' : 'downgrade'
}

/** Why a downgrade is refused, or undefined when it is allowed. */
export function downgradeRefusal(
  from: MlflowVersion | undefined,
  to: MlflowVersion,
  allowDowngrade: boolean
): string | undefined {
  if (!from || schemaStep(from, to) !== 'downgrade' || allowDowngrade) return undefined
  return (
    `\`image-tag\` ${tagOf(from)} → ${tagOf(to)} is a downgrade across a database schema change: MLflow ` +
    `${formatVersion(to)} cannot run on the schema ${formatVersion(from)} has migrated to, and MLflow has no ` +
    `schema downgrade. Restore the database to a point before the upgrade (see the restore point in the ` +
    `summary of that deploy), or set allow-downgrade: true to try anyway (the migration job will fail and ` +
    `${tagOf(from)} keeps serving).`
  )
}
