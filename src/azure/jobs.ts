/**
 * The schema-migration job: a manual-trigger Container Apps job (`Microsoft.App/jobs`). Like the
 * app, its secrets travel as job secrets referenced by `secretRef`; GET does not return their
 * values, and `get` does not list them (the container's digest stands for them, WRITE_ONLY_FIELDS):
 * `listJobSecrets` reads them where a value itself is needed. One run is one execution, started and
 * then watched.
 */
import type { Job, JobExecution } from '@azure/arm-appcontainers'
import type { ContainerSpec, JobSpec, SecretSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import {
  deleteIgnoringNotFound,
  getOrUndefined,
  lro,
  normalizeLocation,
  normalizeTags,
  tagsForArm
} from './common.js'
import { containerFromArm, containerToArm, secretsFromArm } from './containerApps.js'
import { logStreamBase, readLogTail } from './logStream.js'
import type { JobExecutionState, Observed, ResourceAddress, ResourceHandler } from './port.js'

export function toArm(spec: JobSpec): Job {
  return {
    location: spec.location,
    tags: tagsForArm(spec.tags),
    environmentId: spec.environmentId,
    configuration: {
      triggerType: 'Manual',
      replicaTimeout: spec.replicaTimeout,
      // A migration that failed is looked at, not re-run blindly: no retries.
      replicaRetryLimit: 0,
      manualTriggerConfig: { parallelism: 1, replicaCompletionCount: 1 },
      secrets: secretsFromArm(spec.secrets).map((s) => ({ name: s.name, value: s.value }))
    },
    template: { containers: [containerToArm(spec.container)] }
  }
}

export function fromArm(
  job: Job,
  extras: { secrets?: ReadonlyArray<{ name?: string; value?: string }>; address?: ResourceAddress } = {}
): Observed<'job'> {
  return {
    kind: 'job',
    id: job.id ?? '',
    name: job.name ?? extras.address?.name ?? '',
    provisioningState: job.provisioningState,
    spec: {
      location: normalizeLocation(job.location),
      tags: normalizeTags(job.tags),
      environmentId: job.environmentId ?? '',
      replicaTimeout: job.configuration?.replicaTimeout ?? 0,
      secrets: secretsFromArm(extras.secrets ?? job.configuration?.secrets ?? []),
      container: containerFromArm(job.template?.containers?.[0])
    },
    outputs: { eventStreamEndpoint: job.eventStreamEndpoint ?? '' }
  }
}

export function jobHandler(clients: AzureClients): ResourceHandler<'job'> {
  const ops = clients.containerApps.jobs
  return {
    kind: 'job',
    async get(address) {
      // No listSecrets: the plan compares the job's secrets through the digest its container carries
      // (WRITE_ONLY_FIELDS), so the secrets read back are names with empty values.
      const job = await getOrUndefined(() => ops.get(address.resourceGroup, address.name))
      return job ? fromArm(job, { address }) : undefined
    },
    async put(address, spec) {
      const job = await ops.createOrUpdate(
        address.resourceGroup,
        address.name,
        toArm(spec),
        lro(clients.pollIntervalMs)
      )
      return fromArm(job, { secrets: spec.secrets, address })
    },
    async delete(address) {
      await deleteIgnoringNotFound(() =>
        ops.delete(address.resourceGroup, address.name, lro(clients.pollIntervalMs))
      )
    }
  }
}

/** POST …/listSecrets: the job's secret values, which its GET never answers. */
export async function listJobSecrets(clients: AzureClients, job: ResourceAddress): Promise<SecretSpec[]> {
  const r = await clients.containerApps.jobs.listSecrets(job.resourceGroup, job.name)
  return secretsFromArm(r.value ?? [])
}

export async function startJob(
  clients: AzureClients,
  job: ResourceAddress,
  container?: ContainerSpec
): Promise<string> {
  // An execution may run another command than the job's template (`template` of the start body):
  // the container given replaces the template's for this execution only. Probes are not part of
  // an execution's container (JobExecutionContainer in the 2026-07-01 spec).
  const override = container
    ? { template: { containers: [containerToArm({ ...container, probes: [] })] } }
    : {}
  const started = await clients.containerApps.jobs.start(job.resourceGroup, job.name, {
    ...lro(clients.pollIntervalMs),
    ...override
  })
  if (!started.name) throw new Error(`Starting job ${job.name} returned no execution name`)
  return started.name
}

export function executionFromArm(e: JobExecution): JobExecutionState {
  const replicas = e.detailedStatus?.replicas ?? []
  return {
    name: e.name ?? '',
    status: e.status ?? 'Unknown',
    ...(e.startTime ? { startTime: new Date(e.startTime).toISOString() } : {}),
    ...(e.endTime ? { endTime: new Date(e.endTime).toISOString() } : {}),
    ...(e.reason ? { reason: e.reason } : {}),
    ...(e.message ? { message: e.message } : {}),
    exitCodes: replicas.flatMap((r) =>
      (r.containers ?? []).flatMap((c) => (typeof c.code === 'number' ? [c.code] : []))
    ),
    replicas: replicas.flatMap((r) => (r.name ? [r.name] : []))
  }
}

export async function getJobExecution(
  clients: AzureClients,
  job: ResourceAddress,
  execution: string
): Promise<JobExecutionState> {
  return executionFromArm(await clients.containerApps.jobExecution(job.resourceGroup, job.name, execution))
}

/**
 * The last lines of an execution's (last) replica. The path mirrors the app's log stream under the
 * job's `eventStreamEndpoint` host, with the environment's token [unverified on Azure: the local
 * Azure serves it so; see emulator/README.md].
 */
export async function jobExecutionLogs(
  clients: AzureClients,
  job: ResourceAddress,
  environment: ResourceAddress,
  execution: string,
  lines: number
): Promise<string[]> {
  const [observed, state] = await Promise.all([
    clients.containerApps.jobs.get(job.resourceGroup, job.name),
    getJobExecution(clients, job, execution)
  ])
  const replica = state.replicas.at(-1)
  const container = observed.template?.containers?.[0]?.name
  if (!replica || !container || !observed.eventStreamEndpoint) return []
  const token = await clients.containerApps.managedEnvironments.getAuthToken(
    environment.resourceGroup,
    environment.name
  )
  if (!token.token) return []
  const base = logStreamBase(observed.eventStreamEndpoint)
  const endpoint =
    `${base}/subscriptions/${clients.subscriptionId}/resourceGroups/${job.resourceGroup}` +
    `/jobs/${job.name}/executions/${execution}/replicas/${replica}/containers/${container}/logstream`
  return readLogTail(endpoint, token.token, lines)
}

/** The jobs of a resource group, without their secret values. */
export async function listJobs(clients: AzureClients, resourceGroup: string): Promise<Observed<'job'>[]> {
  const out: Observed<'job'>[] = []
  for await (const job of clients.containerApps.jobs.listByResourceGroup(resourceGroup))
    out.push(fromArm(job))
  return out
}
