/**
 * Executes the steps `stack/steps.ts` planned, one function per kind of step, and reports what a
 * person needs when one fails: a migration's exit code and last log lines, a revision's state and
 * its last log lines. A failed gate deactivates the new revision, so the one that served before
 * keeps all traffic.
 */
import { describeAzureError } from '../azure/errors.js'
import type {
  AzurePort,
  JobExecutionState,
  Observed,
  ResourceAddress,
  RevisionState,
  StorageKeys
} from '../azure/port.js'
import { ADMIN_USERNAME } from '../config/auth.js'
import type { DeployConfig } from '../config/inputs.js'
import { formatVersion } from '../config/image.js'
import { answer, IP_RESTRICTION_ADVICE, isIpRestrictionRefusal, MlflowHttp } from '../smoke/http.js'
import type { AnyDesired } from '../stack/desired.js'
import { afterApply, hasUnknown, resolveFacts, type Facts } from '../stack/facts.js'
import type { StackKey } from '../stack/graph.js'
import { tagOf, withJobSecretsDigest, withRolloutMarkers } from '../stack/rollout.js'
import { KEY_ROTATED_TAG, type KeyName } from '../stack/storageKeys.js'
import type { Step } from '../stack/steps.js'
import type { ContainerSpec, JobSpec, ResourceKind } from '../stack/specs.js'
import { pollUntil } from '../util/poll.js'
import { formatSeconds, type Log } from './log.js'
import { revisionVerdict } from './revision.js'
import { factsFromApplied } from './state.js'

/** How many log lines a failure shows. */
export const LOG_LINES = 20

export interface RolloutRecord {
  /** The revision that serves after this run (or that was to, when it failed). */
  revision?: string
  previousRevision?: string
  migrated: boolean
  /** The migration job's execution, and when it started (the moment to restore to, if needed). */
  migration?: { execution: string; startedAt: string; status: string }
  /** The server's point-in-time restore window at the moment the migration started. */
  restorePoint?: { earliest?: string; latest: string }
  /** Step key → what happened, for the summary. */
  details: Partial<Record<string, string>>
  /** When this run finished a key rotation. */
  keyRotatedAt?: string
}

export interface StepContext {
  config: Pick<DeployConfig, 'ingress' | 'auth' | 'names' | 'storageAuth'> & {
    azure: { pollIntervalMs: number; parallelism: number }
  }
  port: AzurePort
  log: Log
  addresses: Record<StackKey, ResourceAddress>
  /** Grows as resources are applied: late facts (domain, keys) become known. */
  facts: Facts
  timeoutMs: number
  record: RolloutRecord
  /** Called before each step starts: throws when the run must not make another change. */
  beforeStep?: () => void
}

export class StepFailedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StepFailedError'
  }
}

export function indent(lines: string[]): string {
  return lines.length > 0 ? `\n${lines.map((l) => `    ${l}`).join('\n')}` : ''
}

function putAny(port: AzurePort, desired: AnyDesired): Promise<Observed<ResourceKind>> {
  const handler = port.handlers[desired.kind] as unknown as {
    put(a: ResourceAddress, s: unknown): Promise<Observed<ResourceKind>>
  }
  return handler.put(desired.address, desired.spec)
}

async function safely<T>(what: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await what()
  } catch {
    return fallback
  }
}

/** The spec as planned, with the facts that became known since filled in. */
function resolved<T>(ctx: StepContext, key: string, spec: T): T {
  const out = resolveFacts(spec, ctx.facts)
  if (hasUnknown(out))
    throw new Error(`internal error: ${key} still depends on a value that is not known yet`)
  return out
}

async function runPut(ctx: StepContext, step: Extract<Step, { kind: 'put' }>): Promise<string[]> {
  if (
    ctx.facts.workspaceSharedKey === undefined &&
    JSON.stringify(step.resource.spec).includes(afterApply('workspaceSharedKey'))
  ) {
    // Read when an environment is written, never on a run that does not write one.
    const sharedKey = await ctx.port.getWorkspaceSharedKey(ctx.addresses.logAnalytics)
    ctx.log.mask(sharedKey)
    ctx.facts.workspaceSharedKey = sharedKey
  }
  const spec = resolved(ctx, step.key, step.resource.spec)
  const desired = {
    ...step.resource,
    // The job's digest of its secrets, of the values written (the plan's may hold late facts).
    spec: step.resource.kind === 'job' ? withJobSecretsDigest(spec as JobSpec) : spec
  } as AnyDesired
  const observed = await putAny(ctx.port, desired)
  Object.assign(
    ctx.facts,
    await factsFromApplied(ctx.port, desired.kind, desired.address, observed, ctx.facts, ctx.log)
  )
  return [`provisioning state: ${observed.provisioningState ?? 'Succeeded'}`]
}

const TERMINAL_EXECUTION = ['succeeded', 'failed', 'stopped', 'degraded']

async function runMigration(ctx: StepContext, step: Extract<Step, { kind: 'migrate' }>): Promise<string[]> {
  const job = ctx.addresses.migrationJob
  const restore = await safely(() => ctx.port.getRestoreWindow(ctx.addresses.postgresServer), {})
  const startedAt = new Date().toISOString()
  ctx.record.restorePoint = { ...restore, latest: startedAt }
  ctx.log.info(
    `Restore point before the migration: the PostgreSQL server can be restored to any moment from ` +
      `${restore.earliest ?? 'its first backup'} to ${startedAt} ` +
      `(az postgres flexible-server restore --source-server ${ctx.addresses.postgresServer.name} --restore-time ${startedAt} ...)`
  )
  const { execution, state } = await runJobToEnd(ctx.port, job, {
    pollMs: ctx.config.azure.pollIntervalMs,
    timeoutMs: ctx.timeoutMs,
    what: 'migration job execution'
  })
  ctx.record.migration = { execution, startedAt, status: state.status }
  const from = step.from ? tagOf(step.from) : 'an empty database'
  if (state.status.toLowerCase() === 'succeeded') {
    ctx.record.migrated = true
    ctx.record.details['migrate'] = `job execution ${execution}: ${from} → ${tagOf(step.to)}`
    return [`execution ${execution}: ${state.status}`]
  }
  const lines = await safely(
    () => ctx.port.jobExecutionLogs(job, ctx.addresses.managedEnvironment, execution, LOG_LINES),
    []
  )
  throw new StepFailedError(
    `The database migration to MLflow ${formatVersion(step.to)} failed (job ${job.name}, execution ` +
      `${execution}: ${describeExecution(state)}). Nothing else was changed: the serving revision keeps all ` +
      `traffic. Last log lines:${indent(lines) || ' (none)'}`
  )
}

/** Starts the job (with another container for this execution, if given) and waits for its end. */
export async function runJobToEnd(
  port: AzurePort,
  job: ResourceAddress,
  opts: { pollMs: number; timeoutMs: number; what: string; container?: ContainerSpec }
): Promise<{ execution: string; state: JobExecutionState }> {
  const execution = await port.startJob(job, opts.container)
  const state = await pollUntil(
    async () => {
      const s = await port.getJobExecution(job, execution)
      return TERMINAL_EXECUTION.includes(s.status.toLowerCase())
        ? { done: true, value: s }
        : { done: false, status: s.status }
    },
    { intervalMs: opts.pollMs, timeoutMs: opts.timeoutMs, what: `${opts.what} ${execution}` }
  )
  return { execution, state }
}

export function describeExecution(s: JobExecutionState): string {
  const codes = s.exitCodes.length > 0 ? `, exit code ${s.exitCodes.join(', ')}` : ''
  const why = [s.reason, s.message].filter(Boolean).join(': ')
  return `${s.status}${codes}${why ? `, ${why}` : ''}`
}

async function runCreateRevision(
  ctx: StepContext,
  step: Extract<Step, { kind: 'createRevision' }>
): Promise<string[]> {
  const planned = resolved(ctx, 'containerApp', step.app)
  const spec = { ...planned, container: withRolloutMarkers(planned.container, planned.secrets) }
  const observed = await ctx.port.handlers.containerApp.put(ctx.addresses.containerApp, spec)
  ctx.record.revision = step.revision
  return [
    `revision ${step.revision} written, traffic ${spec.traffic?.map((t) => `${t.revisionName} ${t.weight}%`).join(', ')}`,
    `provisioning state: ${observed.provisioningState ?? 'Succeeded'}`
  ]
}

/** The gate failed: the new revision is taken out of service and its state and logs are shown. */
async function gateFailure(
  ctx: StepContext,
  revision: string,
  cause: string,
  takeOut: boolean
): Promise<never> {
  const app = ctx.addresses.containerApp
  const state = await safely<RevisionState | undefined>(() => ctx.port.getRevision(app, revision), undefined)
  const lines = await safely(() => ctx.port.revisionLogs(app, revision, LOG_LINES), [])
  if (takeOut) {
    await safely(() => ctx.port.deactivateRevision(app, revision), undefined)
  }
  const where = state
    ? ` (provisioning ${state.provisioningState}, running ${state.runningState}, health ${state.healthState}` +
      `${state.provisioningError ? `: ${state.provisioningError}` : ''})`
    : ''
  throw new StepFailedError(
    `Revision ${revision} did not pass the health gate: ${cause}${where}.` +
      (takeOut ? ` It was deactivated; the revision that served before keeps all traffic.` : '') +
      ` Last log lines:${indent(lines) || ' (none)'}`
  )
}

/**
 * Writes a small artifact through the revision and reads it back: the revision's storage key (or
 * identity) works for blob storage. A new key or role assignment can take a while to be accepted
 * everywhere, so failures are retried until the deadline; the last one is the reason given.
 */
async function artifactRoundTrip(
  http: MlflowHttp,
  revision: string,
  ctx: StepContext
): Promise<string | undefined> {
  const path = `mlflow-azure-action/gate/${revision}.txt`
  const payload = new TextEncoder().encode(`health gate of ${revision} at ${new Date().toISOString()}\n`)
  try {
    await pollUntil(
      async () => {
        const echo = await http.artifactEcho(path, payload)
        if (echo.ok) return { done: true, value: undefined }
        return {
          done: false,
          status:
            echo.step === 'compare'
              ? `artifact download returned ${echo.bytes} bytes that differ from the ${payload.length} written`
              : `artifact ${echo.step} answered ${answer(echo.response)}`
        }
      },
      {
        intervalMs: Math.max(ctx.config.azure.pollIntervalMs, 200),
        // A role assignment can take many minutes to reach the data plane (MicrosoftDocs: up to
        // 30): in keyless mode the gate waits as long as the run may.
        timeoutMs:
          ctx.config.storageAuth === 'managed-identity'
            ? ctx.timeoutMs
            : Math.min(ctx.timeoutMs, GATE_ARTIFACT_TIMEOUT_MS),
        what: `an artifact write and read through revision ${revision} (check the storage key or identity)`
      }
    )
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  // Best effort: the gate's file is not worth failing a rollout over.
  await http.request('DELETE', `/api/2.0/mlflow-artifacts/artifacts/${path}`).catch(() => undefined)
  return undefined
}

/** How long the gate retries the artifact check (key and role propagation take up to minutes). */
export const GATE_ARTIFACT_TIMEOUT_MS = 300_000

async function runGate(
  ctx: StepContext,
  step: Extract<Step, { kind: 'gate' }>,
  takeOut: boolean
): Promise<string[]> {
  const app = ctx.addresses.containerApp
  let revision: RevisionState
  try {
    revision = await pollUntil(
      async () => {
        const r = await ctx.port.getRevision(app, step.revision)
        const verdict = revisionVerdict(r)
        if (verdict === 'failed')
          throw new StepFailedError(r.provisioningError ?? `${r.provisioningState}/${r.runningState}`)
        return verdict === 'ready'
          ? { done: true, value: r }
          : { done: false, status: `${r.provisioningState}, ${r.runningState}, health ${r.healthState}` }
      },
      {
        intervalMs: ctx.config.azure.pollIntervalMs,
        timeoutMs: ctx.timeoutMs,
        what: `revision ${step.revision} to run and be healthy`
      }
    )
  } catch (error) {
    return gateFailure(ctx, step.revision, describeAzureError(error), takeOut)
  }
  if (ctx.config.ingress === 'internal' || !revision.fqdn) {
    // The runner cannot reach an environment-internal name: Azure's own probes are the gate.
    return [`provisioned, running and healthy (Azure's probes; internal ingress is not reachable from here)`]
  }
  const credentials =
    ctx.config.auth.mode === 'basic' && ctx.config.auth.adminPassword
      ? { username: ADMIN_USERNAME, password: ctx.config.auth.adminPassword }
      : undefined
  const http = new MlflowHttp(`https://${revision.fqdn}`, credentials, 30_000)
  const expected = formatVersion(step.version)
  try {
    const answered = await pollUntil(
      async () => {
        const health = await http
          .request('GET', '/health', undefined, { anonymous: true })
          .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
        if (health instanceof Error) return { done: false, status: health.message }
        // The ingress's IP restrictions leave this runner out: an answer, not a revision warming up.
        if (isIpRestrictionRefusal(health)) return { done: true, value: 'refused' as const }
        if (health.status !== 200) return { done: false, status: `/health answered ${health.status}` }
        if (ctx.config.auth.mode === 'oidc') return { done: true, value: undefined }
        const v = await http.request('GET', '/version')
        return v.status === 200
          ? { done: true, value: v.text.trim() }
          : { done: false, status: `/version answered ${v.status}` }
      },
      {
        intervalMs: ctx.config.azure.pollIntervalMs,
        timeoutMs: ctx.timeoutMs,
        what: `https://${revision.fqdn}/health`
      }
    )
    if (answered === 'refused') {
      // As for internal ingress: the runner cannot look, so Azure's own probes are the gate. A
      // deploy that narrows allowed-ips to an office range must not fail for the runner's address.
      const why = `/health through the ingress answered 403 RBAC: access denied. ${IP_RESTRICTION_ADVICE}`
      ctx.log.warning(`Health gate of ${step.revision} relied on Azure's probes only: ${why}`)
      ctx.record.details['gate'] = `Azure's probes only (this runner is not in allowed-ips)`
      return [`provisioned, running and healthy (Azure's probes; not checked through the ingress: ${why})`]
    }
    const version = answered
    if (version !== undefined && version !== expected) {
      return gateFailure(ctx, step.revision, `/version reports ${version}, not ${expected}`, takeOut)
    }
    const lines = [`https://${revision.fqdn}/health answers 200${version ? `; /version is ${version}` : ''}`]
    // OIDC needs a browser sign-in this runner cannot do: there the health answers are the gate.
    if (ctx.config.auth.mode !== 'oidc') {
      const artifact = await artifactRoundTrip(http, step.revision, ctx)
      if (artifact) return gateFailure(ctx, step.revision, artifact, takeOut)
      lines.push('an artifact written through it reads back the same (blob storage works with its key)')
    }
    ctx.record.details['gate'] =
      `https://${revision.fqdn}: /health 200${version ? `, /version ${version}` : ''}` +
      (ctx.config.auth.mode !== 'oidc' ? ', artifact write and read' : '')
    return lines
  } catch (error) {
    return gateFailure(ctx, step.revision, error instanceof Error ? error.message : String(error), takeOut)
  }
}

/** Running states in which no replica runs any more (SDK KnownRevisionRunningState). */
const STOPPED = ['stopped', 'failed']

/**
 * A deactivated revision receives no new requests but finishes those it had (Azure drains it), with
 * the key or identity it started with: what it uses is taken away only once it has stopped.
 */
export async function waitForDrain(ctx: StepContext, revision: string): Promise<string> {
  const t0 = Date.now()
  await pollUntil(
    async () => {
      const r = await ctx.port.getRevision(ctx.addresses.containerApp, revision).catch((error: unknown) => {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined
        throw error
      })
      return !r ||
        STOPPED.includes(r.runningState.toLowerCase()) ||
        r.provisioningState.toLowerCase() === 'deprovisioned'
        ? { done: true, value: undefined }
        : { done: false, status: `${revision} is ${r.runningState}` }
    },
    {
      intervalMs: ctx.config.azure.pollIntervalMs,
      timeoutMs: ctx.timeoutMs,
      what: `revision ${revision} to finish its requests and stop`
    }
  )
  return `${revision} stopped (its last requests done) after ${formatSeconds(Date.now() - t0)}`
}

/** A regenerated key may be refused for a while; this waits until the blob service accepts it. */
async function waitForKey(ctx: StepContext, name: KeyName, value: string): Promise<number> {
  const t0 = Date.now()
  await pollUntil(
    async () => {
      const answer = await ctx.port.probeStorageKey(ctx.addresses.storageAccount, value)
      return answer === 'accepted' ? { done: true, value: undefined } : { done: false, status: answer }
    },
    {
      intervalMs: Math.max(ctx.config.azure.pollIntervalMs, 200),
      timeoutMs: ctx.timeoutMs,
      what: `the blob service to accept the regenerated ${name}`
    }
  )
  return Date.now() - t0
}

/** Regenerates one key; both values are masked at once, and the run's facts hold the new pair. */
async function regenerate(ctx: StepContext, name: KeyName): Promise<StorageKeys> {
  const keys = await ctx.port.regenerateStorageKey(ctx.addresses.storageAccount, name)
  ctx.log.mask(keys.key1)
  ctx.log.mask(keys.key2)
  ctx.facts.storageKeys = keys
  return keys
}

async function runRegenerateKey(
  ctx: StepContext,
  step: Extract<Step, { kind: 'regenerateKey' }>
): Promise<string[]> {
  const keys = await regenerate(ctx, step.keyName)
  const waited = await waitForKey(ctx, step.keyName, keys[step.keyName])
  ctx.facts.storageKey = keys[step.keyName]
  ctx.record.details['regenerateKey'] = `${step.keyName} regenerated; accepted after ${formatSeconds(waited)}`
  return [`${step.keyName} regenerated; the blob service accepted it after ${formatSeconds(waited)}`]
}

async function runRetireKey(ctx: StepContext, step: Extract<Step, { kind: 'retireKey' }>): Promise<string[]> {
  await regenerate(ctx, step.keyName)
  const at = new Date().toISOString()
  await ctx.port.patchAppTags(ctx.addresses.containerApp, { ...step.tags, [KEY_ROTATED_TAG]: at })
  ctx.record.keyRotatedAt = at
  ctx.record.details['retireKey'] = `${step.keyName} regenerated: its old value no longer works`
  return [`${step.keyName} regenerated: the value the previous revision held no longer works`]
}

export async function runStep(ctx: StepContext, step: Step, hasFallback: boolean): Promise<string[]> {
  const app = ctx.addresses.containerApp
  switch (step.kind) {
    case 'put':
      return runPut(ctx, step)
    case 'patchApp':
      await ctx.port.patchAppConfiguration(app, resolved(ctx, 'containerApp', step.app))
      return ['configuration patched in place: no new revision']
    case 'migrate':
      return runMigration(ctx, step)
    case 'createRevision':
      return runCreateRevision(ctx, step)
    case 'activate':
      await ctx.port.activateRevision(app, step.revision)
      ctx.record.revision = step.revision
      return [`revision ${step.revision} activated`]
    case 'gate':
      // The revision this run puts in service (it may be one an interrupted run made).
      ctx.record.revision = step.revision
      return runGate(ctx, step, hasFallback)
    case 'shiftTraffic':
      await ctx.port.patchAppTraffic(app, step.traffic, step.tags)
      ctx.record.previousRevision = step.from
      ctx.record.details['traffic'] = `${step.from ?? '(none)'} → ${step.revision}`
      return [`traffic: ${step.traffic.map((t) => `${t.revisionName} ${t.weight}%`).join(', ')}`]
    case 'deactivate':
      await ctx.port.deactivateRevision(app, step.revision)
      ctx.record.details[step.key] = step.revision
      return [
        `revision ${step.revision} deactivated` +
          (step.leftover ? ' (it was active with no traffic: left by an interrupted run)' : '')
      ]
    case 'regenerateKey':
      return runRegenerateKey(ctx, step)
    case 'retireKey':
      return runRetireKey(ctx, step)
    case 'disableSharedKey':
      await ctx.port.setSharedKeyAccess(ctx.addresses.storageAccount, false)
      ctx.record.details['disableSharedKey'] =
        'shared-key access turned off: only Entra ID tokens are accepted'
      return ['shared-key access turned off on the storage account (allowSharedKeyAccess: false)']
    case 'detachIdentity':
      await ctx.port.detachAppIdentity(app)
      ctx.record.details['detachIdentity'] = 'the app no longer runs as the managed identity'
      return ['managed identity detached from the app']
  }
}

export function stepTitle(step: Step): string {
  switch (step.kind) {
    case 'put':
      return `${step.key} ${step.entry.name}`
    case 'patchApp':
      return 'containerApp configuration'
    case 'migrate':
      return `migrate database to MLflow ${formatVersion(step.to)}`
    case 'createRevision':
      return `new revision ${step.revision}`
    case 'activate':
      return `activate ${step.revision}`
    case 'gate':
      return `health gate ${step.revision}`
    case 'shiftTraffic':
      return `traffic → ${step.revision}`
    case 'deactivate':
      return `deactivate ${step.leftover ? 'leftover ' : ''}${step.revision}`
    case 'regenerateKey':
      return `regenerate ${step.keyName}`
    case 'retireKey':
      return `retire ${step.keyName}`
    case 'disableSharedKey':
      return 'turn off shared-key access'
    case 'detachIdentity':
      return 'detach the managed identity'
  }
}

export { formatSeconds }
