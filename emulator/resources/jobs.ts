/**
 * Container Apps jobs (`Microsoft.App/jobs`, api 2026-07-01; SDK `@azure/arm-appcontainers@4.0.0`
 * `api/jobs/operations.js`, `api/jobsExecutions/operations.js`, top-level `jobExecution`):
 *
 * - PUT: 201 (200 on update) + Azure-AsyncOperation, `provisioningState: InProgress` → `Succeeded`
 *   (spec: 201 + AAO, final-state-via azure-async-operation); PATCH: JSON merge patch over the job
 *   as last written (arrays replace), 202 + Location (final-state-via location); DELETE: 202 +
 *   Location, then 204; GET; list by resource group; POST listSecrets (values; GET shows names).
 * - POST start: 202 + Location; the Location answers `JobExecutionBase` `{name, id}` once the
 *   execution's first replicas have started (or failed to pull). Optional body: the template
 *   override `{containers, initContainers}` (the SDK sends it bare; `{template: …}` is read too).
 * - POST executions/{name}/stop: 202 + Location, then an empty 200 (the SDK accepts only
 *   200/201/202 on its polls); GET executions (list, newest first; `$filter` ignored) and
 *   GET executions/{name}.
 * - A write while an operation runs on the job: 409 `ContainerAppsJobOperationInProgress`
 *   (hashicorp/terraform-provider-azurerm#31796).
 *
 * Validation as for apps (containerShared.ts, containerTemplate.ts): the name rule of container
 * apps, the environment, secrets and `secretRef`s, probes and Consumption resources;
 * `configuration.triggerType` (Manual | Schedule | Event) and an integer `replicaTimeout` are
 * required (SDK `JobConfiguration`); a Schedule job needs `scheduleTriggerConfig.cronExpression`
 * and an Event job `eventTriggerConfig` [unverified codes for these]. `manualTriggerConfig` gets
 * the service's defaults (parallelism 1, replicaCompletionCount 1: "set to 1 by default").
 *
 * Executions run for real through the runtime port (`run`): each replica runs the init containers
 * one after the other, then the containers side by side; a replica succeeds when they all exit 0.
 * `parallelism` replicas run at once until `replicaCompletionCount` have succeeded (Kubernetes Job
 * semantics, which ACA executions are). A failed replica is re-run after the crash-loop backoff
 * while failures ≤ `replicaRetryLimit` (absent: 0 retries, stricter than a default we do not
 * know); past it the execution fails with `reason: BackoffLimitExceeded`, `message: Job has
 * reached the specified backoff limit` (Job_Execution_Get.json). A replica still running after
 * `replicaTimeout` seconds (real time) is killed and fails the execution at once with
 * `DeadlineExceeded` / `Job was active longer than specified deadline` (Kubernetes' words)
 * [unverified on ACA; failing at once is the stricter reading]. An image that cannot be pulled fails
 * the execution at once with the revision's reason as `message` and `reason: ImagePullBackOff`
 * [unverified code]. Each container's output goes to a log file per replica (log stream).
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { EmulatorContext } from '../context.js'
import { badRequest } from '../errors.js'
import { idKey, parentId } from '../ids.js'
import {
  asArray,
  asNumber,
  asString,
  clone,
  isObject,
  objectAt,
  objectsOf,
  without,
  type JsonObject,
  type JsonValue
} from '../json.js'
import { param, type ArmRequest, type ArmResponse, type Router } from '../router.js'
import type { RunHandle, RunResult } from '../runtime/types.js'
import type { ResourceRecord } from '../store.js'
import {
  assertIdle,
  inResourceGroup,
  listAnswer,
  newRecord,
  requireRecord,
  resolveLocation,
  resourceGroupName,
  startLro,
  routedResourceId
} from './common.js'
import { environmentIdOf } from './containerAppView.js'
import {
  applyDefaultResources,
  type ContainerWrite,
  ENVIRONMENT_TYPE,
  registerContainerWrites,
  requireEnvironment,
  runtimeContainer,
  withIdentityEnv,
  streamOrigin,
  storeWrite,
  streamPath,
  validateSecretRefs,
  validateSecrets,
  withSecretValues
} from './containerShared.js'
import { validateContainers } from './containerTemplate.js'

export const JOB_TYPE = 'Microsoft.App/jobs'
export const EXECUTION_TYPE = 'Microsoft.App/jobs/executions'
const NS = 'Microsoft.App'
const BASE = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.App/jobs'
const TRIGGER_TYPES = ['Manual', 'Schedule', 'Event']
const POD_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'

const LRO = {
  namespace: NS,
  statusSegment: 'containerappOperationStatuses',
  resultSegment: 'containerappOperationResults'
}

/** Fields the service fills in (and the SDK's patch serializer sends back): never taken as written. */
const READ_ONLY = [
  'id',
  'name',
  'type',
  'systemData',
  'properties.provisioningState',
  'properties.runningState',
  'properties.outboundIpAddresses',
  'properties.eventStreamEndpoint'
]

/** Fields of `JobExecutionContainer`: what an execution's template shows of each container. */
const EXECUTION_CONTAINER_FIELDS = ['image', 'name', 'command', 'args', 'env', 'resources']

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

function jobSpec(job: ResourceRecord): JsonObject {
  return objectAt(job.internal, 'spec') ?? {}
}

function jobState(job: ResourceRecord): { provisioningState: string; runningState: string } {
  const s = objectAt(job.internal, 'state') ?? {}
  return {
    provisioningState: asString(s['provisioningState']) ?? 'InProgress',
    runningState: asString(s['runningState']) ?? 'Progressing'
  }
}

function setJobState(job: ResourceRecord, patch: Partial<ReturnType<typeof jobState>>): void {
  job.internal['state'] = { ...jobState(job), ...patch }
}

function renderJob(ctx: EmulatorContext, job: ResourceRecord): void {
  const spec = jobSpec(job)
  const state = jobState(job)
  const envId = environmentIdOf(spec)
  const env = envId ? ctx.store.get(envId) : undefined
  const location = asString(spec['location']) ?? ''
  const view: JsonObject = {
    id: job.id,
    name: asString(job.body['name']) ?? '',
    type: JOB_TYPE,
    location,
    tags: clone(objectAt(spec, 'tags') ?? {}),
    properties: {
      ...clone(objectAt(spec, 'properties') ?? {}),
      provisioningState: state.provisioningState,
      runningState: state.runningState,
      outboundIpAddresses: clone(asArray(env?.internal['outboundIpAddresses']) ?? []),
      // The app's shape (ContainerApps_Get.json), under the job (Job_CreateorUpdate.json has one).
      eventStreamEndpoint: `${streamOrigin(location)}${streamPath(job.id)}/eventstream`
    }
  }
  const identity = objectAt(job.internal, 'identity')
  if (identity) view['identity'] = clone(identity)
  job.body = view
}

/** The environment a job runs in (its token opens the job's log streams). */
export function jobEnvironment(ctx: EmulatorContext, job: ResourceRecord): ResourceRecord | undefined {
  const envId = environmentIdOf(jobSpec(job))
  const env = envId ? ctx.store.get(envId) : undefined
  return env?.type === ENVIRONMENT_TYPE ? env : undefined
}

interface ContainerRun {
  name: string
  init: boolean
  /** Running | Succeeded | Failed | Waiting | Stopped */
  status: string
  code: number
  info: string
  logPath: string
}

interface ReplicaRun {
  name: string
  /** Running | Succeeded | Failed | Stopped */
  status: string
  containers: ContainerRun[]
}

function replicasOfExecution(exec: ResourceRecord): ReplicaRun[] {
  return (asArray(exec.internal['replicas']) ?? []).filter(isObject) as unknown as ReplicaRun[]
}

function setExecutionReplicas(exec: ResourceRecord, replicas: ReplicaRun[]): void {
  exec.internal['replicas'] = replicas as unknown as JsonValue[]
}

/** The log file of one container of one replica of an execution, if there is such a thing. */
export function jobReplicaLog(
  ctx: EmulatorContext,
  job: ResourceRecord,
  execution: string,
  replica: string,
  container: string
): string | undefined {
  const exec = ctx.store.get(`${job.id}/executions/${execution}`)
  if (!exec) return undefined
  const r = replicasOfExecution(exec).find((x) => x.name.toLowerCase() === replica.toLowerCase())
  return r?.containers.find((c) => c.name === container)?.logPath
}

function execProps(exec: ResourceRecord): JsonObject {
  const props = objectAt(exec.body, 'properties')
  if (props) return props
  const created: JsonObject = {}
  exec.body['properties'] = created
  return created
}

/** `detailedStatus` as Job_Execution_Get.json shows it; a container with no exit code shows -1. */
function renderExecution(exec: ResourceRecord): void {
  execProps(exec)['detailedStatus'] = {
    replicas: replicasOfExecution(exec).map((r) => ({
      name: r.name,
      containers: r.containers
        .filter((c) => !c.init)
        .map((c) => ({ name: c.name, code: c.code, status: c.status, additionalInformation: c.info }))
    }))
  }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

interface Validated {
  location: string
  spec: JsonObject
  secrets: Record<string, string>
}

function requiredParameter(message: string): never {
  // The app module's code for a missing required property [unverified for jobs].
  throw badRequest('InvalidRequestParameterWithDetails', message)
}

function validateJob(
  ctx: EmulatorContext,
  desired: JsonObject,
  existing: ResourceRecord | undefined
): Validated {
  const location = resolveLocation(desired, JOB_TYPE, existing)
  const clean = without(desired, READ_ONLY)
  clean['location'] = location
  const props = objectAt(clean, 'properties') ?? {}
  clean['properties'] = props
  const env = requireEnvironment(ctx, environmentIdOf(desired))
  props['environmentId'] = env.id

  const configuration = objectAt(props, 'configuration')
  if (!configuration) requiredParameter('properties.configuration is required.')
  const trigger = asString(configuration['triggerType'])
  const known = TRIGGER_TYPES.find((t) => t.toLowerCase() === trigger?.toLowerCase())
  if (!known) {
    requiredParameter(
      `properties.configuration.triggerType is required and must be one of ${TRIGGER_TYPES.join(', ')}; got '${trigger ?? ''}'.`
    )
  }
  const timeout = configuration['replicaTimeout']
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1) {
    requiredParameter(
      `properties.configuration.replicaTimeout is required: the maximum number of seconds a replica may run (an integer ≥ 1); got '${JSON.stringify(timeout ?? null)}'.`
    )
  }
  const retries = configuration['replicaRetryLimit']
  if (retries !== undefined && (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0)) {
    requiredParameter(`properties.configuration.replicaRetryLimit must be an integer ≥ 0.`)
  }
  if (known === 'Manual') {
    // "set to 1 by default" (SDK JobConfigurationManualTriggerConfig).
    const manual = objectAt(configuration, 'manualTriggerConfig') ?? {}
    manual['parallelism'] = manual['parallelism'] ?? 1
    manual['replicaCompletionCount'] = manual['replicaCompletionCount'] ?? 1
    configuration['manualTriggerConfig'] = manual
  }
  if (
    known === 'Schedule' &&
    !asString(objectAt(configuration, 'scheduleTriggerConfig')?.['cronExpression'])
  ) {
    requiredParameter('A Schedule job needs properties.configuration.scheduleTriggerConfig.cronExpression.')
  }
  if (known === 'Event' && !objectAt(configuration, 'eventTriggerConfig')) {
    requiredParameter('An Event job needs properties.configuration.eventTriggerConfig.')
  }
  for (const cfg of ['manualTriggerConfig', 'scheduleTriggerConfig', 'eventTriggerConfig']) {
    const c = objectAt(configuration, cfg)
    for (const field of ['parallelism', 'replicaCompletionCount']) {
      const v = c?.[field]
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
        requiredParameter(`properties.configuration.${cfg}.${field} must be an integer ≥ 1.`)
      }
    }
  }
  const { secrets, shown } = validateSecrets(configuration, existing?.secrets)
  if (configuration['secrets'] !== undefined) configuration['secrets'] = shown

  const template = objectAt(props, 'template') ?? {}
  props['template'] = template
  applyDefaultResources([...objectsOf(template['containers']), ...objectsOf(template['initContainers'])])
  const containers = objectsOf(template['containers'])
  if (containers.length === 0)
    requiredParameter('properties.template.containers must contain at least one container.')
  validateContainers(template, asString(props['workloadProfileName']))
  validateSecretRefs([...containers, ...objectsOf(template['initContainers'])], secrets)
  return { location, spec: clean, secrets }
}

function invalidJobName(name: string): never {
  throw badRequest(
    // The container-app rule and wording, under a job code [unverified code].
    'ContainerAppJobInvalidName',
    `Invalid ContainerAppJob name '${name}'. A name must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character and cannot have '--'. The length must be between 2 and 32 characters inclusive.`
  )
}

// ---------------------------------------------------------------------------------------------
// Executions
// ---------------------------------------------------------------------------------------------

function podSuffix(): string {
  let out = ''
  for (const b of randomBytes(5)) out += POD_ALPHABET[b % POD_ALPHABET.length] ?? 'b'
  return out
}

export class JobRunner {
  private readonly handles = new Map<string, RunHandle>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private afterChange: () => void = () => {}

  constructor(private readonly ctx: EmulatorContext) {
    ctx.store.onRemove((record) => {
      if (record.type === EXECUTION_TYPE) this.halt(record.id)
    })
  }

  setAfterChange(fn: () => void): void {
    this.afterChange = fn
  }

  /**
   * Creates the execution record and launches its first replicas; resolves once each of them has
   * started its first container or failed to.
   */
  begin(job: ResourceRecord, template: JsonObject): { exec: ResourceRecord; started: Promise<void> } {
    const name = `${asString(job.body['name']) ?? ''}-${this.ctx.ids.executionSuffix(job.id)}`
    const id = `${job.id}/executions/${name}`
    const configuration = objectAt(jobSpec(job), 'properties', 'configuration') ?? {}
    const trigger =
      objectAt(configuration, 'manualTriggerConfig') ??
      objectAt(configuration, 'scheduleTriggerConfig') ??
      objectAt(configuration, 'eventTriggerConfig')
    const shown: JsonObject = {}
    for (const key of ['containers', 'initContainers']) {
      const list = objectsOf(template[key])
      if (list.length === 0) continue
      shown[key] = list.map((c) => {
        const out: JsonObject = {}
        for (const f of EXECUTION_CONTAINER_FIELDS) if (c[f] !== undefined) out[f] = clone(c[f])
        return out
      })
    }
    const exec = this.ctx.store.put(
      newRecord(id, EXECUTION_TYPE, {
        id,
        name,
        type: EXECUTION_TYPE,
        properties: {
          status: 'Running',
          startTime: new Date(this.ctx.now()).toISOString(),
          template: shown,
          detailedStatus: { replicas: [] }
        }
      })
    )
    exec.internal = {
      template: clone(template),
      parallelism: asNumber(trigger?.['parallelism']) ?? 1,
      completions: asNumber(trigger?.['replicaCompletionCount']) ?? 1,
      retryLimit: asNumber(configuration['replicaRetryLimit']) ?? 0,
      timeoutSeconds: asNumber(configuration['replicaTimeout']) ?? 1800,
      succeeded: 0,
      failed: 0,
      replicas: []
    }
    const started = this.fill(exec)
    return { exec, started: Promise.all(started).then(() => undefined) }
  }

  /** Stops whatever still runs and shows the execution `Stopped`. */
  stop(exec: ResourceRecord): void {
    if (execProps(exec)['status'] !== 'Running') return
    this.halt(exec.id)
    for (const r of replicasOfExecution(exec)) {
      if (r.status !== 'Running') continue
      r.status = 'Stopped'
      for (const c of r.containers) if (c.status === 'Running' || c.status === 'Waiting') c.status = 'Stopped'
    }
    setExecutionReplicas(exec, replicasOfExecution(exec))
    this.finish(exec, 'Stopped')
  }

  /** After an emulator restart: the replicas died with it; running executions start them again. */
  resume(): void {
    for (const exec of this.ctx.store.byType(EXECUTION_TYPE)) {
      if (execProps(exec)['status'] !== 'Running') continue
      setExecutionReplicas(
        exec,
        replicasOfExecution(exec).filter((r) => r.status !== 'Running')
      )
      void Promise.all(this.fill(exec))
    }
  }

  /** Launches replicas until `parallelism` run or enough have run to reach the completions. */
  private fill(exec: ResourceRecord): Promise<void>[] {
    const i = exec.internal
    const replicas = replicasOfExecution(exec)
    const running = replicas.filter((r) => r.status === 'Running').length
    const pending = this.timers.has(`${idKey(exec.id)}|retry`) ? 1 : 0
    const succeeded = asNumber(i['succeeded']) ?? 0
    const want = Math.min(
      (asNumber(i['parallelism']) ?? 1) - running - pending,
      (asNumber(i['completions']) ?? 1) - succeeded - running - pending
    )
    const started: Promise<void>[] = []
    for (let n = 0; n < want; n++) started.push(this.launchReplica(exec))
    return started
  }

  private launchReplica(exec: ResourceRecord): Promise<void> {
    const job = this.ctx.store.get(parentId(exec.id))
    const template = objectAt(exec.internal, 'template') ?? {}
    const execName = asString(exec.body['name']) ?? ''
    const name = `${execName}-${podSuffix()}`
    const logs = join(this.ctx.config.stateDir, 'logs')
    const replica: ReplicaRun = {
      name,
      status: 'Running',
      containers: [
        ...objectsOf(template['initContainers']).map((c) => ({ c, init: true })),
        ...objectsOf(template['containers']).map((c) => ({ c, init: false }))
      ].map(({ c, init }) => {
        const container = asString(c['name']) ?? ''
        return {
          name: container,
          init,
          status: 'Waiting',
          code: -1,
          info: 'ContainerCreating',
          logPath: join(logs, `${name}.${container}.log`)
        }
      })
    }
    setExecutionReplicas(exec, [...replicasOfExecution(exec), replica])
    renderExecution(exec)
    let markStarted: () => void = () => {}
    const started = new Promise<void>((resolve) => (markStarted = resolve))
    if (!job) {
      markStarted()
      return started
    }
    // replicaTimeout: real seconds, whatever the time scale (the container's own time).
    const timeoutMs = (asNumber(exec.internal['timeoutSeconds']) ?? 1800) * 1000
    const timer = setTimeout(() => this.timedOut(exec.id, name), timeoutMs)
    this.timers.set(`${idKey(exec.id)}|${name}`, timer)

    const specs = [
      ...objectsOf(template['initContainers']).map((c) => ({ c, init: true })),
      ...objectsOf(template['containers']).map((c) => ({ c, init: false }))
    ]
    const inits = specs.filter((s) => s.init).map((s) => s.c)
    const mains = specs.filter((s) => !s.init).map((s) => s.c)
    const runOne = (spec: JsonObject): Promise<RunResult> =>
      new Promise((resolve) => {
        const container = withIdentityEnv(runtimeContainer(spec, job.secrets), this.ctx, job)
        const key = `${idKey(exec.id)}|${name}|${container.name}`
        const update = (patch: Partial<ContainerRun>): void => {
          const current = this.ctx.store.get(exec.id)
          const r = current ? replicasOfExecution(current).find((x) => x.name === name) : undefined
          const c = r?.containers.find((x) => x.name === container.name)
          if (!current || !c || !r) return
          Object.assign(c, patch)
          setExecutionReplicas(current, replicasOfExecution(current))
          renderExecution(current)
          this.afterChange()
        }
        const environmentId = environmentIdOf(jobSpec(job))
        const handle = this.ctx.runtime.run({
          jobName: asString(job.body['name']) ?? '',
          ...(environmentId ? { environmentId } : {}),
          executionName: execName,
          replicaName: name,
          location: asString(job.body['location']) ?? '',
          container,
          logPath: join(logs, `${name}.${container.name}.log`),
          onStart: () => {
            markStarted()
            update({ status: 'Running', info: 'Running' })
          },
          onExit: (result) => {
            this.handles.delete(key)
            markStarted()
            if (result.kind === 'failed') update({ status: 'Failed', code: -1, info: result.reason })
            else if (result.code === 0) update({ status: 'Succeeded', code: 0, info: 'Completed' })
            else
              update({
                status: 'Failed',
                code: result.code ?? 137,
                info: `Error: ${result.code !== null ? `exit code ${result.code}` : `killed by ${result.signal ?? 'a signal'}`}${result.lastLine ? `: ${result.lastLine}` : ''}`
              })
            resolve(result)
          }
        })
        this.handles.set(key, handle)
      })

    void (async () => {
      for (const spec of inits) {
        const result = await runOne(spec)
        if (!(result.kind === 'exited' && result.code === 0)) return this.replicaDone(exec.id, name, result)
      }
      const results = await Promise.all(mains.map(runOne))
      const bad = results.find((r) => !(r.kind === 'exited' && r.code === 0))
      this.replicaDone(exec.id, name, bad ?? { kind: 'exited', code: 0, lastLine: '' })
    })()
    return started
  }

  private replicaDone(execId: string, replicaName: string, result: RunResult): void {
    const exec = this.ctx.store.get(execId)
    if (!exec || execProps(exec)['status'] !== 'Running') return
    this.clearTimer(`${idKey(execId)}|${replicaName}`)
    const replicas = replicasOfExecution(exec)
    const replica = replicas.find((r) => r.name === replicaName)
    if (!replica || replica.status !== 'Running') return
    const i = exec.internal
    if (result.kind === 'exited' && result.code === 0) {
      replica.status = 'Succeeded'
      i['succeeded'] = (asNumber(i['succeeded']) ?? 0) + 1
      setExecutionReplicas(exec, replicas)
      if ((asNumber(i['succeeded']) ?? 0) >= (asNumber(i['completions']) ?? 1)) {
        this.halt(exec.id)
        this.finish(exec, 'Succeeded')
      } else {
        void Promise.all(this.fill(exec))
        renderExecution(exec)
        this.afterChange()
      }
      return
    }
    replica.status = 'Failed'
    setExecutionReplicas(exec, replicas)
    if (result.kind === 'failed') {
      // The image is not there: no retry helps (ACA keeps backing off the pull until the deadline).
      this.halt(exec.id)
      this.finish(exec, 'Failed', 'ImagePullBackOff', result.reason)
      return
    }
    i['failed'] = (asNumber(i['failed']) ?? 0) + 1
    if ((asNumber(i['failed']) ?? 0) > (asNumber(i['retryLimit']) ?? 0)) {
      this.halt(exec.id)
      this.finish(exec, 'Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')
      return
    }
    // A failed replica is run again after Kubernetes' backoff (10 s·2^(n-1), at most 300 s), scaled.
    const n = (asNumber(i['failed']) ?? 1) - 1
    const delay = Math.min(
      this.ctx.latency.ms('crashLoopBackoffMax'),
      this.ctx.latency.ms('crashLoopBackoff') * 2 ** n
    )
    const key = `${idKey(execId)}|retry`
    this.clearTimer(key)
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key)
        const current = this.ctx.store.get(execId)
        if (!current || execProps(current)['status'] !== 'Running') return
        void Promise.all(this.fill(current))
        this.afterChange()
      }, delay)
    )
    renderExecution(exec)
    this.afterChange()
  }

  private timedOut(execId: string, replicaName: string): void {
    this.timers.delete(`${idKey(execId)}|${replicaName}`)
    const exec = this.ctx.store.get(execId)
    if (!exec || execProps(exec)['status'] !== 'Running') return
    const replicas = replicasOfExecution(exec)
    const replica = replicas.find((r) => r.name === replicaName)
    if (!replica || replica.status !== 'Running') return
    replica.status = 'Failed'
    for (const c of replica.containers) {
      if (c.status === 'Running' || c.status === 'Waiting') {
        Object.assign(c, {
          status: 'Failed',
          code: 137,
          info: 'DeadlineExceeded: killed after replicaTimeout'
        })
      }
    }
    setExecutionReplicas(exec, replicas)
    this.halt(exec.id)
    this.finish(exec, 'Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline')
  }

  private finish(exec: ResourceRecord, status: string, reason?: string, message?: string): void {
    const props = execProps(exec)
    props['status'] = status
    props['endTime'] = new Date(this.ctx.now()).toISOString()
    if (reason) props['reason'] = reason
    if (message) props['message'] = message
    renderExecution(exec)
    this.afterChange()
  }

  /** Stops every process and timer of the execution. */
  private halt(execId: string): void {
    const prefix = `${idKey(execId)}|`
    for (const [key, timer] of [...this.timers]) {
      if (!key.startsWith(prefix)) continue
      clearTimeout(timer)
      this.timers.delete(key)
    }
    for (const [key, handle] of [...this.handles]) {
      if (!key.startsWith(prefix)) continue
      this.handles.delete(key)
      void this.ctx.runtime.stop(handle)
    }
  }

  private clearTimer(key: string): void {
    const timer = this.timers.get(key)
    if (timer) clearTimeout(timer)
    this.timers.delete(key)
  }
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

export function registerJobs(ctx: EmulatorContext, router: Router, runner: JobRunner): void {
  const jobId = routedResourceId(ctx, NS, 'jobs', 'job')
  const jobOf = (req: ArmRequest): ResourceRecord =>
    requireRecord(ctx, jobId(req), resourceGroupName(ctx, req))
  const executionOf = (req: ArmRequest): { job: ResourceRecord; exec: ResourceRecord } => {
    const job = jobOf(req)
    const exec = requireRecord(
      ctx,
      `${job.id}/executions/${param(req, 'execution')}`,
      resourceGroupName(ctx, req)
    )
    return { job, exec }
  }

  const write: ContainerWrite = (req, id, name, desired, existing, kind) => {
    const v = validateJob(ctx, desired, existing)
    const record = storeWrite(ctx, req, { type: JOB_TYPE, id, name, existing }, desired, v)
    setJobState(record, { provisioningState: 'InProgress', runningState: 'Progressing' })
    renderJob(ctx, record)
    return startLro(ctx, req, {
      ...LRO,
      location: v.location,
      shape: kind === 'put' ? 'aao' : 'location',
      kind: 'jobs.write',
      resourceId: id,
      durationMs: ctx.latency.ms(kind === 'put' ? 'jobPut' : 'jobPatch'),
      result: 'resource'
    }).headers
  }

  registerContainerWrites(ctx, router, BASE, {
    param: 'job',
    idOf: jobId,
    invalidName: invalidJobName,
    readOnly: READ_ONLY,
    current: (job) => {
      // SDK JobPatchProperties: {identity, tags, properties: {environmentId, configuration, template}}.
      const base = withSecretValues(clone(jobSpec(job)), job.secrets)
      const identity = objectAt(job.internal, 'identity')
      if (identity) base['identity'] = clone(identity)
      return base
    },
    write
  })

  router.add('GET', `${BASE}/{job}`, (req): ArmResponse => {
    const job = jobOf(req)
    renderJob(ctx, job)
    return { status: 200, body: job.body }
  })

  router.add('GET', BASE, (req): ArmResponse => {
    const jobs = inResourceGroup(ctx, req, JOB_TYPE)
    for (const job of jobs) renderJob(ctx, job)
    return listAnswer(jobs.map((j) => j.body))
  })

  router.add('POST', `${BASE}/{job}/listSecrets`, (req): ArmResponse => {
    const job = jobOf(req)
    const names = objectsOf(objectAt(jobSpec(job), 'properties', 'configuration')?.['secrets']).map(
      (s) => asString(s['name']) ?? ''
    )
    return { status: 200, body: { value: names.map((name) => ({ name, value: job.secrets[name] ?? '' })) } }
  })

  router.add('DELETE', `${BASE}/{job}`, (req): ArmResponse => {
    const job = ctx.store.get(jobId(req))
    if (!job) return { status: 204 }
    assertIdle(ctx, req, job.id)
    setJobState(job, { provisioningState: 'Deleting' })
    renderJob(ctx, job)
    const { headers } = startLro(ctx, req, {
      ...LRO,
      location: asString(job.body['location']) ?? 'eastus',
      shape: 'location',
      kind: 'jobs.delete',
      resourceId: job.id,
      durationMs: ctx.latency.ms('jobDelete'),
      result: 'noContent'
    })
    return { status: 202, headers }
  })

  router.add('POST', `${BASE}/{job}/start`, (req): ArmResponse => {
    const job = jobOf(req)
    assertIdle(ctx, req, job.id)
    if (jobState(job).provisioningState !== 'Succeeded') {
      throw badRequest(
        'ContainerAppJobNotProvisioned',
        `Job '${asString(job.body['name'])}' is not provisioned (provisioningState ${jobState(job).provisioningState}); it cannot be started [unverified code].`
      )
    }
    const props = objectAt(jobSpec(job), 'properties') ?? {}
    const template = clone(objectAt(props, 'template') ?? {})
    // The SDK sends the override bare (`jobExecutionTemplateSerializer`); the spec calls it `template`.
    const override = objectAt(req.body, 'template') ?? req.body
    if (override && (override['containers'] !== undefined || override['initContainers'] !== undefined)) {
      for (const key of ['containers', 'initContainers']) {
        if (override[key] === undefined) continue
        const list = clone(objectsOf(override[key]))
        applyDefaultResources(list)
        template[key] = list
      }
      if (objectsOf(template['containers']).length === 0) {
        requiredParameter('The start template must keep at least one container.')
      }
      validateContainers(template, asString(props['workloadProfileName']))
      validateSecretRefs(
        [...objectsOf(template['containers']), ...objectsOf(template['initContainers'])],
        job.secrets
      )
    }
    const { exec, started } = runner.begin(job, template)
    const { op, headers } = startLro(ctx, req, {
      ...LRO,
      location: asString(job.body['location']) ?? 'eastus',
      shape: 'location',
      kind: 'jobs.start',
      resourceId: exec.id,
      durationMs: ctx.latency.ms('jobStart'),
      result: 'body',
      data: { body: { name: asString(exec.body['name']) ?? '', id: exec.id } }
    })
    ctx.lro.hold(op.id, started)
    return { status: 202, headers }
  })

  router.add('POST', `${BASE}/{job}/executions/{execution}/stop`, (req): ArmResponse => {
    const { job, exec } = executionOf(req)
    runner.stop(exec)
    const { headers } = startLro(ctx, req, {
      ...LRO,
      location: asString(job.body['location']) ?? 'eastus',
      shape: 'location',
      kind: 'jobs.stopExecution',
      resourceId: exec.id,
      durationMs: ctx.latency.ms('jobStop'),
      // The SDK checks poll answers against 200/201/202: an empty 200, never a 204.
      result: 'emptyOk'
    })
    return { status: 202, headers }
  })

  router.add('GET', `${BASE}/{job}/executions`, (req): ArmResponse => {
    const job = jobOf(req)
    const executions = ctx.store
      .descendants(job.id, EXECUTION_TYPE)
      .sort((a, b) =>
        String(execProps(b)['startTime'] ?? '').localeCompare(String(execProps(a)['startTime'] ?? ''))
      )
    return { status: 200, body: { value: executions.map((e) => e.body), nextLink: null } }
  })

  router.add('GET', `${BASE}/{job}/executions/{execution}`, (req): ArmResponse => ({
    status: 200,
    body: executionOf(req).exec.body
  }))

  ctx.lro.onComplete('jobs.write', (op) => {
    const job = ctx.store.get(op.resourceId)
    if (!job) return
    setJobState(
      job,
      op.status === 'Succeeded'
        ? { provisioningState: 'Succeeded', runningState: 'Ready' }
        : { provisioningState: 'Failed', runningState: 'Ready' }
    )
    renderJob(ctx, job)
  })

  ctx.lro.onComplete('jobs.delete', (op) => {
    const job = ctx.store.get(op.resourceId)
    if (!job) return
    if (op.status === 'Succeeded') ctx.store.removeTree(job.id)
    else {
      setJobState(job, { provisioningState: 'Failed' })
      renderJob(ctx, job)
    }
  })

  // A failed start (fault injection) leaves no execution behind.
  ctx.lro.onComplete('jobs.start', (op) => {
    if (op.status === 'Succeeded') return
    const exec = ctx.store.get(op.resourceId)
    if (exec) ctx.store.removeTree(exec.id)
  })
}
