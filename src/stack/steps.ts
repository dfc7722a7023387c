/**
 * The plan as typed steps: computed once, purely, from the desired state and what Azure holds;
 * `plan` prints them and `deploy` executes exactly them as a DAG. Resources are put with their
 * exact spec; every change the running server must see becomes a new revision at 0 % traffic, gated,
 * then given all traffic, with the one before it deactivated; a version change migrates the
 * database first, with the new image, as a Container Apps job. An active revision without traffic
 * that the run does not roll out was left by an interrupted run: it is deactivated, or, when it runs
 * exactly what the new revision would, it is the new revision (gated and given the traffic).
 */
import type { Observed, RevisionState } from '../azure/port.js'
import { formatVersion, type MlflowVersion } from '../config/image.js'
import { differences } from '../engine/diff.js'
import type { FieldChange, PlanEntry } from '../engine/plan.js'
import type { AnyDesired, DesiredResource } from './desired.js'
import { STACK, type StackKey } from './graph.js'
import {
  downgradeRefusal,
  revisionSuffix,
  schemaStep,
  secretsDigest,
  secretsDigestOf,
  tagOf,
  versionOfImage,
  withoutSecretsDigest,
  type RunIdentity,
  type SchemaStep
} from './rollout.js'
import { storageAccessOf } from './mlflowContainer.js'
import type { ContainerAppSpec, ContainerSpec, TrafficWeight } from './specs.js'
import {
  KEY_ROTATED_TAG,
  KEY_TO_RETIRE_TAG,
  NO_KEY_TO_RETIRE,
  STORAGE_KEY_FINGERPRINT_ENV,
  type KeyName,
  type RotationPlan
} from './storageKeys.js'

/** The app tag naming the revision that served before the current one: where rollback goes. */
export const PREVIOUS_REVISION_TAG = 'mlflow-previous-revision'

/** The app tags that hold the action's own state; a deploy carries them over as they are. */
export const APP_STATE_TAGS = [PREVIOUS_REVISION_TAG, KEY_TO_RETIRE_TAG, KEY_ROTATED_TAG] as const

export type RolloutKey =
  | 'appConfig'
  | 'migrate'
  | 'regenerateKey'
  | 'revision'
  | 'activate'
  | 'gate'
  | 'traffic'
  | 'deactivate'
  | 'retireKey'
  | 'disableSharedKey'
  | 'detachIdentity'
/** The deactivation of a revision an interrupted run left active without traffic (1, 2, …). */
export type LeftoverKey = `deactivateLeftover${number}`
export type StepKey = StackKey | RolloutKey | LeftoverKey

interface StepBase {
  dependsOn: StepKey[]
  /**
   * Deactivated revisions whose replicas must have stopped first: each still finishes the requests
   * it had when the traffic moved, with the access (key, identity) it started with.
   */
  drain?: string[]
}

export type Step =
  | (StepBase & { key: StackKey; kind: 'put'; resource: AnyDesired; entry: PlanEntry })
  /** A configuration-only change (ingress, secrets, tags): a PATCH without the template. */
  | (StepBase & { key: 'appConfig'; kind: 'patchApp'; app: ContainerAppSpec })
  | (StepBase & { key: 'migrate'; kind: 'migrate'; from?: MlflowVersion; to: MlflowVersion })
  /** The app written with a new template: a new revision, at 0 % unless nothing else serves. */
  | (StepBase & {
      key: 'revision'
      kind: 'createRevision'
      revision: string
      app: ContainerAppSpec
      create: boolean
    })
  | (StepBase & { key: 'activate'; kind: 'activate'; revision: string })
  | (StepBase & { key: 'gate'; kind: 'gate'; revision: string; version: MlflowVersion })
  | (StepBase & {
      key: 'traffic'
      kind: 'shiftTraffic'
      revision: string
      from?: string
      traffic: TrafficWeight[]
      tags: Record<string, string>
    })
  /** `leftover`: active with no traffic, left by an interrupted run (not the one that served). */
  | (StepBase & { key: 'deactivate' | LeftoverKey; kind: 'deactivate'; revision: string; leftover?: boolean })
  /**
   * A storage key made new before the app moves to it; the step waits until the data plane accepts
   * the new value, and the revision after it starts with it.
   */
  | (StepBase & { key: 'regenerateKey'; kind: 'regenerateKey'; keyName: KeyName })
  /**
   * The key nothing serving holds any more, made new so its old value stops working; then the app's
   * tags say the rotation is finished (`tags`, plus the moment, added when the step runs).
   */
  | (StepBase & {
      key: 'retireKey'
      kind: 'retireKey'
      keyName: KeyName
      tags: Record<string, string>
    })
  /** Keyless: shared-key access turned off once no serving revision uses a key. */
  | (StepBase & { key: 'disableSharedKey'; kind: 'disableSharedKey' })
  /** Back to keys: the identity taken off the app once no serving revision uses it. */
  | (StepBase & { key: 'detachIdentity'; kind: 'detachIdentity' })

export interface AppPlan {
  /** `create`: no app yet; `revision`: a new revision; `config`: in place; `none`: nothing. */
  kind: 'create' | 'revision' | 'config' | 'none'
  serving?: RevisionState
  servingVersion?: MlflowVersion
  version: MlflowVersion
  /** The new revision's name, for `create` and `revision`. */
  revision?: string
  /**
   * The new revision exists already: an interrupted run made it and left it at 0 %, and it runs
   * exactly what this run would start (template and secret values): it is gated and given the
   * traffic rather than made again.
   */
  existing?: boolean
  /**
   * Active revisions with no traffic that this run does not roll out: left by an interrupted run
   * (a bump cut off before the old revision was deactivated, a revision made before the traffic
   * moved). Deactivated, after this run's traffic change.
   */
  leftovers: string[]
  migrate: boolean
  schema: SchemaStep
  /** Why there is a new revision, for a person: `bump v3.16.1 → v3.17.2`, `secret values changed`. */
  reasons: string[]
  /** The template fields that differ from what the serving revision runs. */
  templateChanges: FieldChange[]
  /** Set when the change must not be made (a downgrade across a schema change). */
  refusal?: string
}

/** The revision that serves: the one with the most traffic (ties: the newest). */
export function servingRevision(revisions: readonly RevisionState[]): RevisionState | undefined {
  return [...revisions]
    .filter((r) => r.trafficWeight > 0)
    .sort((a, b) => b.trafficWeight - a.trafficWeight || b.createdTime.localeCompare(a.createdTime))[0]
}

function omit(tags: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).filter(([k]) => k !== name))
}

/** The container as the plan compares it: without the markers the rollout adds when it runs. */
function withoutMarkers(container: ContainerSpec): ContainerSpec {
  const plain = withoutSecretsDigest(container)
  return { ...plain, env: plain.env.filter((e) => e.name !== STORAGE_KEY_FINGERPRINT_ENV) }
}

export function planApp(opts: {
  desired: DesiredResource<'containerApp'>
  observed: Observed<'containerApp'> | undefined
  revisions: readonly RevisionState[]
  configChanges: readonly FieldChange[]
  version: MlflowVersion
  run: RunIdentity
  allowDowngrade: boolean
  /** A key rotation in progress: the new revision's reason names the key it moves to. */
  rotation?: RotationPlan
}): AppPlan {
  const { desired, observed, version } = opts
  const spec = desired.spec
  const appName = desired.address.name
  const serving = observed ? servingRevision(opts.revisions) : undefined
  const servingVersion = serving ? versionOfImage(serving.container.image) : undefined
  const digest = secretsDigest(spec.container, spec.secrets)
  const templateChanges = serving
    ? differences(
        { container: spec.container, minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas },
        {
          container: withoutMarkers(serving.container),
          minReplicas: serving.minReplicas,
          maxReplicas: serving.maxReplicas
        }
      ).map((d) => ({ ...d, sensitive: false }))
    : []
  const secretsChanged = serving !== undefined && secretsDigestOf(serving.container) !== digest
  const needsRevision = !observed || !serving || templateChanges.length > 0 || secretsChanged
  // Under the stack's lock no other run is rolling out: an active revision without traffic is left
  // over. Single mode is left alone: there Azure itself keeps the old revision active until the new
  // one is ready, then deactivates it.
  const unserved =
    observed?.spec.activeRevisionsMode === 'Multiple'
      ? opts.revisions.filter((r) => r.active && !(r.trafficWeight > 0))
      : []
  const base = {
    serving,
    servingVersion,
    version,
    templateChanges,
    schema: schemaStep(servingVersion, version)
  }
  if (!needsRevision) {
    return {
      ...base,
      kind: opts.configChanges.length > 0 ? 'config' : 'none',
      migrate: false,
      reasons: [],
      leftovers: unserved.map((r) => r.name)
    }
  }
  // Resumed only with nothing else to write to the app (its configuration, secrets included, is
  // what the revision was made with), and with a revision that serves now to fall back on.
  const existing =
    serving && opts.configChanges.length === 0
      ? newest(unserved.filter((r) => mayStillServe(r) && runsAsPlanned(r, spec, digest)))
      : undefined
  const suffix = revisionSuffix(
    appName,
    version,
    opts.run,
    opts.revisions.map((r) => r.name)
  )
  const sameVersion = servingVersion !== undefined && formatVersion(servingVersion) === formatVersion(version)
  const reasons: string[] = []
  if (!observed) reasons.push(`first revision, MLflow ${tagOf(version)}`)
  else if (!serving) reasons.push(`no revision serves: a new one with MLflow ${tagOf(version)}`)
  else if (!sameVersion)
    reasons.push(
      `${servingVersion ? `bump ${tagOf(servingVersion)}` : `bump ${serving.container.image}`} → ${tagOf(version)}`
    )
  const others = templateChanges.filter((c) => c.path !== 'container.image')
  if (others.length > 0) reasons.push(`template changed: ${others.map((c) => c.path).join(', ')}`)
  if (secretsChanged)
    reasons.push(
      opts.rotation?.switchTo ? `storage key → ${opts.rotation.switchTo}` : 'secret values changed'
    )
  const refusal = downgradeRefusal(servingVersion, version, opts.allowDowngrade)
  return {
    ...base,
    kind: observed ? 'revision' : 'create',
    revision: existing ? existing.name : `${appName}--${suffix}`,
    ...(existing ? { existing: true } : {}),
    leftovers: unserved.filter((r) => r !== existing).map((r) => r.name),
    migrate: !sameVersion,
    reasons,
    ...(refusal ? { refusal } : {})
  }
}

/** The revision runs what the desired app would start: the same template and secret values. */
function runsAsPlanned(r: RevisionState, spec: ContainerAppSpec, digest: string): boolean {
  return (
    secretsDigestOf(r.container) === digest &&
    differences(
      { container: spec.container, minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas },
      { container: withoutMarkers(r.container), minReplicas: r.minReplicas, maxReplicas: r.maxReplicas }
    ).length === 0
  )
}

/** Not failed, not stopped: the gate can still find it running and healthy. */
function mayStillServe(r: RevisionState): boolean {
  const provisioning = r.provisioningState.toLowerCase()
  const running = r.runningState.toLowerCase()
  return (
    !['failed', 'deprovisioning', 'deprovisioned'].includes(provisioning) &&
    !['failed', 'stopped'].includes(running)
  )
}

function newest(revisions: readonly RevisionState[]): RevisionState | undefined {
  return [...revisions].sort((a, b) => b.createdTime.localeCompare(a.createdTime))[0]
}

/** One line for the plan: what happens to the running server. */
export function describeAppPlan(app: AppPlan): string | undefined {
  const leftovers =
    app.leftovers.length > 0
      ? `deactivate ${app.leftovers.join(', ')} (active with no traffic: left by an interrupted run)`
      : undefined
  const rollout = (): string | undefined => {
    switch (app.kind) {
      case 'none':
        return undefined
      case 'config':
        return 'in place: no new revision'
      case 'create':
      case 'revision': {
        const migrate = app.migrate ? '; migrate the database first (job)' : ''
        const what = app.existing
          ? `resume with revision ${app.revision} (made by an interrupted run, at 0 % traffic)`
          : `new revision ${app.revision}`
        return `${what}: ${app.reasons.join('; ')}${migrate}`
      }
    }
  }
  const lines = [rollout(), leftovers].filter((l): l is string => l !== undefined)
  return lines.length > 0 ? lines.join('; then ') : undefined
}

function currentTraffic(
  observed: Observed<'containerApp'>,
  serving: RevisionState | undefined
): TrafficWeight[] {
  const explicit = observed.outputs.traffic.flatMap((t) =>
    t.revisionName && t.weight > 0 ? [{ revisionName: t.revisionName, weight: t.weight }] : []
  )
  if (explicit.length > 0) return explicit
  return serving ? [{ revisionName: serving.name, weight: 100 }] : []
}

/**
 * The steps of a deploy: the puts of every resource that changes (with its planned spec), then
 * what the app needs (see `planApp`), each with the steps it must wait for.
 */
export function planSteps(opts: {
  entries: readonly PlanEntry[]
  desired: readonly AnyDesired[]
  observedApp: Observed<'containerApp'> | undefined
  app: AppPlan
  /** `rotate-keys`: the key steps around the rollout. */
  rotation?: RotationPlan
}): Step[] {
  const { app, rotation } = opts
  const steps: Step[] = []
  const appDesired = opts.desired.find((d) => d.key === 'containerApp') as DesiredResource<'containerApp'>
  const servingAccess = app.serving ? storageAccessOf(app.serving.container) : undefined
  const servingUsesKey = servingAccess === 'access-key'
  const newRevision = app.kind === 'create' || app.kind === 'revision'
  const leftoverKeys = app.leftovers.map((_, i): LeftoverKey => `deactivateLeftover${i + 1}`)
  // What takes access away (a key, shared-key access, the identity) waits until every revision this
  // run deactivates has stopped: the one that served before, and those left over.
  const deactivated = [...(newRevision && app.serving ? [app.serving.name] : []), ...app.leftovers]
  const afterDeactivations = (): Pick<StepBase, 'dependsOn' | 'drain'> => ({
    dependsOn: [...(newRevision ? (['deactivate'] as const) : []), ...leftoverKeys],
    ...(deactivated.length > 0 ? { drain: [...deactivated] } : {})
  })
  const late: Step[] = []
  for (const entry of opts.entries) {
    if (entry.action === 'noop' || entry.key === 'containerApp') continue
    let resource = opts.desired.find((d) => d.key === entry.key)!
    let planned = entry
    if (resource.kind === 'storageAccount' && servingUsesKey && !resource.spec.allowSharedKeyAccess) {
      // Moving to keyless: the serving revision reads blobs with a key until the new one has
      // taken the traffic, so shared-key access is turned off last.
      late.push({
        key: 'disableSharedKey',
        kind: 'disableSharedKey',
        ...afterDeactivations()
      })
      resource = { ...resource, spec: { ...resource.spec, allowSharedKeyAccess: true } }
      const changes = entry.changes.filter((c) => c.path !== 'allowSharedKeyAccess')
      if (entry.action === 'update' && changes.length === 0) continue
      planned = { ...entry, changes }
    }
    steps.push({
      key: entry.key,
      kind: 'put',
      resource,
      entry: planned,
      dependsOn: [...STACK[entry.key].dependsOn]
    })
  }
  const appSpec = (opts.desired.find((d) => d.key === 'containerApp') as DesiredResource<'containerApp'>).spec
  const servingUsesIdentity = servingAccess === 'managed-identity'
  if (
    servingUsesIdentity &&
    appSpec.identityId &&
    storageAccessOf(appSpec.container) !== 'managed-identity'
  ) {
    // Back to keys: the identity stays on the app until the revision that uses it stops serving.
    late.push({
      key: 'detachIdentity',
      kind: 'detachIdentity',
      ...afterDeactivations()
    })
  }
  const appDeps: StepKey[] = [...STACK.containerApp.dependsOn]
  const spec = appDesired.spec
  // A rotation writes its own marker; a deploy carries an unfinished one over.
  const tags = rotation ? omit(spec.tags, KEY_TO_RETIRE_TAG) : { ...spec.tags }
  if (rotation?.regenerate) {
    steps.push({
      key: 'regenerateKey',
      kind: 'regenerateKey',
      keyName: rotation.regenerate,
      dependsOn: ['storageAccount']
    })
    appDeps.push('regenerateKey')
  }
  if (rotation?.switchTo && !newRevision)
    throw new Error(
      'internal error: a key switch without a new revision would leave the server on the old key'
    )
  let retire: Step | undefined
  if (rotation?.retire) {
    // After the traffic move (whose tags say which key is left to retire), or alone when an earlier
    // run moved the traffic and stopped before the regenerate.
    const stable = omit(tags, PREVIOUS_REVISION_TAG)
    const previous = newRevision && app.serving ? app.serving.name : spec.tags[PREVIOUS_REVISION_TAG]
    retire = {
      key: 'retireKey',
      kind: 'retireKey',
      keyName: rotation.retire,
      // Cleared by value, not by leaving it out: an ARM PATCH may merge tags rather than replace them.
      tags: {
        ...stable,
        ...(previous ? { [PREVIOUS_REVISION_TAG]: previous } : {}),
        [KEY_TO_RETIRE_TAG]: NO_KEY_TO_RETIRE
      },
      ...afterDeactivations()
    }
  }
  steps.push(...rolloutSteps(app, appDesired, opts.observedApp, tags, appDeps, rotation))
  // After this run's traffic change (with nothing serving before, the new revision took the traffic
  // when it was written, and is gated), so the app is written one operation at a time.
  const afterTraffic: StepKey[] =
    app.kind === 'config' ? ['appConfig'] : newRevision ? [app.serving ? 'traffic' : 'gate'] : []
  const leftovers = app.leftovers.map((revision, i): Step => ({
    key: leftoverKeys[i]!,
    kind: 'deactivate',
    revision,
    leftover: true,
    dependsOn: [...afterTraffic]
  }))
  return [...steps, ...leftovers, ...(retire ? [retire] : []), ...late]
}

function rolloutSteps(
  app: AppPlan,
  appDesired: DesiredResource<'containerApp'>,
  observedApp: Observed<'containerApp'> | undefined,
  tags: Record<string, string>,
  appDeps: StepKey[],
  rotation: RotationPlan | undefined
): Step[] {
  const steps: Step[] = []
  const spec = appDesired.spec
  if (app.kind === 'config') {
    steps.push({
      key: 'appConfig',
      kind: 'patchApp',
      app: { ...spec, traffic: currentTraffic(observedApp!, app.serving) },
      dependsOn: appDeps
    })
  }
  if (app.kind !== 'create' && app.kind !== 'revision') return steps
  const revision = app.revision!
  const suffix = revision.slice(appDesired.address.name.length + 2)
  if (app.migrate) {
    steps.push({
      key: 'migrate',
      kind: 'migrate',
      ...(app.servingVersion ? { from: app.servingVersion } : {}),
      to: app.version,
      dependsOn: ['migrationJob', 'managedEnvironment', 'postgresDatabase', 'authDatabase']
    })
  }
  const serving = app.serving
  // The new revision starts with no traffic while another serves; with nothing serving it takes all.
  const traffic = serving
    ? [{ revisionName: serving.name, weight: 100 }]
    : [{ revisionName: revision, weight: 100 }]
  const afterWrites: StepKey[] = [...appDeps, ...(app.migrate ? (['migrate'] as const) : [])]
  if (!app.existing) {
    steps.push({
      key: 'revision',
      kind: 'createRevision',
      revision,
      create: app.kind === 'create',
      // The container's secrets digest is added when the step runs: it is a digest of the values,
      // some of which (a new account's key) are only known then.
      app: { ...spec, revisionSuffix: suffix, traffic },
      dependsOn: afterWrites
    })
  }
  steps.push({
    key: 'gate',
    kind: 'gate',
    revision,
    version: app.version,
    // A revision an interrupted run made is gated once what it needs (the migration) is done.
    dependsOn: app.existing ? afterWrites : ['revision']
  })
  if (!serving) return steps
  steps.push({
    key: 'traffic',
    kind: 'shiftTraffic',
    revision,
    from: serving.name,
    traffic: [{ revisionName: revision, weight: 100 }],
    tags: {
      ...tags,
      [PREVIOUS_REVISION_TAG]: serving.name,
      // Recorded with the move itself: a run cut off right after it still knows what to retire.
      ...(rotation?.retire ? { [KEY_TO_RETIRE_TAG]: rotation.retire } : {})
    },
    dependsOn: ['gate']
  })
  steps.push({ key: 'deactivate', kind: 'deactivate', revision: serving.name, dependsOn: ['traffic'] })
  return steps
}

export interface RollbackPlan {
  serving?: RevisionState
  target?: RevisionState
  steps: Step[]
  /** Why rollback must not go ahead. */
  refusal?: string
}

/**
 * Back to the revision that served before: activate it, gate it, give it all traffic, deactivate
 * the current one. Refused when there is none, or when it runs an MLflow that needs an older schema
 * than the database now has (it would not start; the database must be restored instead).
 */
export function planRollback(opts: {
  revisions: readonly RevisionState[]
  previous?: string
  tags: Record<string, string>
  restoreHint: string
}): RollbackPlan {
  const serving = servingRevision(opts.revisions)
  const target = opts.previous
    ? opts.revisions.find((r) => r.name.toLowerCase() === opts.previous!.toLowerCase())
    : undefined
  if (!serving)
    return { steps: [], refusal: 'No revision serves the app: there is nothing to roll back from.' }
  if (!target || target.name === serving.name) {
    return {
      serving,
      steps: [],
      refusal: `No previous revision is recorded for ${serving.name} (the app's ${PREVIOUS_REVISION_TAG} tag names none that exists): there is nothing to roll back to.`
    }
  }
  const from = versionOfImage(serving.container.image)
  const to = versionOfImage(target.container.image)
  if (!to)
    return {
      serving,
      target,
      steps: [],
      refusal: `Revision ${target.name} runs ${target.container.image}, not an MLflow release this action knows.`
    }
  if (from && schemaStep(from, to) === 'downgrade') {
    return {
      serving,
      target,
      steps: [],
      refusal:
        `Rollback to ${target.name} (MLflow ${tagOf(to)}) refused: the database was migrated for ${tagOf(from)}, ` +
        `and ${tagOf(to)} cannot run on that schema. ${opts.restoreHint}`
    }
  }
  return {
    serving,
    target,
    steps: [
      { key: 'activate', kind: 'activate', revision: target.name, dependsOn: [] },
      { key: 'gate', kind: 'gate', revision: target.name, version: to, dependsOn: ['activate'] },
      {
        key: 'traffic',
        kind: 'shiftTraffic',
        revision: target.name,
        from: serving.name,
        traffic: [{ revisionName: target.name, weight: 100 }],
        tags: { ...opts.tags, [PREVIOUS_REVISION_TAG]: serving.name },
        dependsOn: ['gate']
      },
      { key: 'deactivate', kind: 'deactivate', revision: serving.name, dependsOn: ['traffic'] }
    ]
  }
}
