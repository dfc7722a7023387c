/**
 * The MLflow container app. Secrets (backend-store URI, storage key) travel as app secrets and reach
 * the container through `secretRef` env vars; GET does not return their values, so `get` also calls
 * `listSecrets` and the observed spec carries them (sorted by name) for comparison.
 */
import type {
  Container,
  ContainerApp,
  ContainerAppProbe,
  ContainerAppSecret,
  EnvironmentVar,
  IpSecurityRestrictionRule,
  Revision
} from '@azure/arm-appcontainers'
import type {
  ContainerAppSpec,
  ContainerSpec,
  EnvVar,
  IngressSpec,
  IpRule,
  Probe,
  SecretSpec,
  TrafficWeight
} from '../stack/specs.js'
import { sortSecrets } from '../stack/mlflowContainer.js'
import type { AzureClients } from './clients.js'
import { readLogTail } from './logStream.js'
import {
  deleteIgnoringNotFound,
  getOrUndefined,
  lro,
  normalizeLocation,
  normalizeTags,
  tagsForArm
} from './common.js'
import type { Observed, ResourceAddress, ResourceHandler, RevisionState } from './port.js'

function envToArm(e: EnvVar): EnvironmentVar {
  return e.secretRef !== undefined
    ? { name: e.name, secretRef: e.secretRef }
    : { name: e.name, value: e.value ?? '' }
}

function probeToArm(p: Probe): ContainerAppProbe {
  return {
    type: p.type,
    httpGet: { path: p.path, port: p.port },
    initialDelaySeconds: p.initialDelaySeconds,
    periodSeconds: p.periodSeconds,
    timeoutSeconds: p.timeoutSeconds,
    failureThreshold: p.failureThreshold
  }
}

export function containerToArm(c: ContainerSpec): Container {
  return {
    name: c.name,
    image: c.image,
    ...(c.command.length ? { command: [...c.command] } : {}),
    ...(c.args.length ? { args: [...c.args] } : {}),
    env: c.env.map(envToArm),
    resources: { cpu: c.cpu, memory: c.memory },
    ...(c.probes.length ? { probes: c.probes.map(probeToArm) } : {})
  }
}

/**
 * No managed identity. The identities are sent as null, not left out: a merge patch keeps what it
 * does not name, so an app that still lists one would keep it.
 */
const NO_IDENTITY = { type: 'None', userAssignedIdentities: null as unknown as Record<string, object> }

export function toArm(spec: ContainerAppSpec): ContainerApp {
  const ingress = spec.ingress
  return {
    location: spec.location,
    tags: tagsForArm(spec.tags),
    environmentId: spec.environmentId,
    configuration: {
      activeRevisionsMode: spec.activeRevisionsMode,
      ingress: {
        external: ingress.external,
        targetPort: ingress.targetPort,
        transport: ingress.transport,
        allowInsecure: ingress.allowInsecure,
        // Always sent, also empty: a merge patch must be able to remove the last restriction.
        ipSecurityRestrictions: ingress.ipSecurityRestrictions.map((r) => ({ ...r })),
        ...(spec.traffic
          ? { traffic: spec.traffic.map((t) => ({ revisionName: t.revisionName, weight: t.weight })) }
          : {})
      },
      secrets: sortSecrets(spec.secrets).map((s) => ({ name: s.name, value: s.value }))
    },
    // Keyless mode: the user-assigned identity MLflow reaches blob storage with; `None` detaches it.
    identity: spec.identityId
      ? { type: 'UserAssigned', userAssignedIdentities: { [spec.identityId]: {} } }
      : NO_IDENTITY,
    template: {
      ...(spec.revisionSuffix ? { revisionSuffix: spec.revisionSuffix } : {}),
      containers: [containerToArm(spec.container)],
      scale: { minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas }
    }
  }
}

function envFromArm(e: EnvironmentVar): EnvVar {
  // The service may answer `value: ""` / `null` next to a secretRef; a secretRef wins.
  if (e.secretRef) return { name: e.name ?? '', secretRef: e.secretRef }
  return { name: e.name ?? '', value: e.value ?? '' }
}

const PROBE_TYPES: Record<string, Probe['type']> = {
  liveness: 'Liveness',
  readiness: 'Readiness',
  startup: 'Startup'
}

function probeFromArm(p: ContainerAppProbe): Probe {
  return {
    type: PROBE_TYPES[(p.type ?? 'liveness').toLowerCase()] ?? (p.type as Probe['type']),
    path: p.httpGet?.path ?? '',
    port: p.httpGet?.port ?? p.tcpSocket?.port ?? 0,
    initialDelaySeconds: p.initialDelaySeconds ?? 0,
    periodSeconds: p.periodSeconds ?? 10,
    // The service's defaults, so an unset value compares equal to the default it stands for.
    timeoutSeconds: p.timeoutSeconds ?? 1,
    failureThreshold: p.failureThreshold ?? 3
  }
}

export function containerFromArm(c: Container | undefined): ContainerSpec {
  const cpu = c?.resources?.cpu
  return {
    name: c?.name ?? '',
    image: c?.image ?? '',
    command: [...(c?.command ?? [])],
    args: [...(c?.args ?? [])],
    env: (c?.env ?? []).map(envFromArm),
    cpu: typeof cpu === 'string' ? Number(cpu) : (cpu ?? 0),
    memory: c?.resources?.memory ?? '',
    probes: (c?.probes ?? []).map(probeFromArm)
  }
}

function ipRuleFromArm(r: IpSecurityRestrictionRule): IpRule {
  const action =
    r.action?.toLowerCase() === 'deny' ? 'Deny' : r.action?.toLowerCase() === 'allow' ? 'Allow' : r.action
  return { name: r.name, ipAddressRange: r.ipAddressRange, action: action as IpRule['action'] }
}

function ingressFromArm(app: ContainerApp): IngressSpec {
  const i = app.configuration?.ingress
  const transport = (i?.transport ?? 'auto').toLowerCase()
  return {
    external: i?.external ?? false,
    targetPort: i?.targetPort ?? 0,
    transport: transport as IngressSpec['transport'],
    allowInsecure: i?.allowInsecure ?? false,
    ipSecurityRestrictions: (i?.ipSecurityRestrictions ?? []).map(ipRuleFromArm)
  }
}

function revisionsModeFromArm(mode: string | undefined): ContainerAppSpec['activeRevisionsMode'] {
  if (mode === undefined || mode.toLowerCase() === 'single') return 'Single'
  return mode.toLowerCase() === 'multiple' ? 'Multiple' : (mode as ContainerAppSpec['activeRevisionsMode'])
}

export function secretsFromArm(secrets: ReadonlyArray<ContainerAppSecret | SecretSpec>): SecretSpec[] {
  return sortSecrets(secrets.map((s) => ({ name: s.name ?? '', value: s.value ?? '' })))
}

export interface ContainerAppExtras {
  /** The values from `listSecrets` (GET never returns them). */
  secrets?: ReadonlyArray<ContainerAppSecret | SecretSpec>
  address?: ResourceAddress
}

function identityFromArm(app: ContainerApp): { identityId?: string } {
  const ids = Object.keys(app.identity?.userAssignedIdentities ?? {})
  // Resource ids are case-insensitive; Azure may answer another casing than it was sent.
  return ids[0] ? { identityId: ids[0].toLowerCase() } : {}
}

export function fromArm(app: ContainerApp, extras: ContainerAppExtras = {}): Observed<'containerApp'> {
  const secrets = extras.secrets ?? app.configuration?.secrets ?? []
  return {
    kind: 'containerApp',
    id: app.id ?? '',
    name: app.name ?? extras.address?.name ?? '',
    provisioningState: app.provisioningState,
    spec: {
      location: normalizeLocation(app.location),
      tags: normalizeTags(app.tags),
      environmentId: app.environmentId ?? app.managedEnvironmentId ?? '',
      activeRevisionsMode: revisionsModeFromArm(app.configuration?.activeRevisionsMode),
      ingress: ingressFromArm(app),
      secrets: secretsFromArm(secrets),
      container: containerFromArm(app.template?.containers?.[0]),
      minReplicas: app.template?.scale?.minReplicas ?? 0,
      maxReplicas: app.template?.scale?.maxReplicas ?? 10,
      ...identityFromArm(app)
    },
    outputs: {
      fqdn: app.configuration?.ingress?.fqdn ?? '',
      latestRevisionName: app.latestRevisionName ?? '',
      latestReadyRevisionName: app.latestReadyRevisionName ?? '',
      runningStatus: app.runningStatus ?? '',
      traffic: (app.configuration?.ingress?.traffic ?? []).map((t) => ({
        ...(t.revisionName ? { revisionName: t.revisionName } : {}),
        ...(t.latestRevision ? { latestRevision: true } : {}),
        weight: t.weight ?? 0
      })),
      eventStreamEndpoint: app.eventStreamEndpoint ?? ''
    }
  }
}

export function revisionFromArm(rev: Revision): RevisionState {
  const state: RevisionState = {
    name: rev.name ?? '',
    createdTime: rev.createdTime ? new Date(rev.createdTime).toISOString() : '',
    fqdn: rev.fqdn ?? '',
    container: containerFromArm(rev.template?.containers?.[0]),
    minReplicas: rev.template?.scale?.minReplicas ?? 0,
    maxReplicas: rev.template?.scale?.maxReplicas ?? 10,
    provisioningState: rev.provisioningState ?? '',
    runningState: rev.runningState ?? '',
    healthState: rev.healthState ?? '',
    active: rev.active ?? false,
    trafficWeight: rev.trafficWeight ?? 0,
    image: rev.template?.containers?.[0]?.image ?? ''
  }
  if (rev.provisioningError) state.provisioningError = rev.provisioningError
  return state
}

export function containerAppHandler(clients: AzureClients): ResourceHandler<'containerApp'> {
  const ops = clients.containerApps.containerApps
  return {
    kind: 'containerApp',
    async get(address) {
      const app = await getOrUndefined(() => ops.get(address.resourceGroup, address.name))
      if (!app) return undefined
      const secrets = await getOrUndefined(() => ops.listSecrets(address.resourceGroup, address.name))
      if (!secrets) return undefined
      return fromArm(app, { secrets: secrets.value ?? [], address })
    },
    async put(address, spec) {
      const app = await ops.createOrUpdate(
        address.resourceGroup,
        address.name,
        toArm(spec),
        lro(clients.pollIntervalMs)
      )
      // The values just written are the app's secrets; no need to read them back.
      return fromArm(app, { secrets: spec.secrets, address })
    },
    async delete(address) {
      await deleteIgnoringNotFound(() =>
        ops.delete(address.resourceGroup, address.name, lro(clients.pollIntervalMs))
      )
    }
  }
}

export async function getRevision(
  clients: AzureClients,
  app: ResourceAddress,
  revisionName: string
): Promise<RevisionState> {
  return revisionFromArm(
    await clients.containerApps.containerAppsRevisions.getRevision(app.resourceGroup, app.name, revisionName)
  )
}

export async function listRevisions(clients: AzureClients, app: ResourceAddress): Promise<RevisionState[]> {
  const out: RevisionState[] = []
  for await (const rev of clients.containerApps.containerAppsRevisions.listRevisions(
    app.resourceGroup,
    app.name
  )) {
    out.push(revisionFromArm(rev))
  }
  return out
}

export async function setRevisionActive(
  clients: AzureClients,
  app: ResourceAddress,
  revisionName: string,
  active: boolean
): Promise<void> {
  const ops = clients.containerApps.containerAppsRevisions
  if (active) await ops.activateRevision(app.resourceGroup, app.name, revisionName)
  else await ops.deactivateRevision(app.resourceGroup, app.name, revisionName)
}

/**
 * The last lines of a revision's newest replica (a crash-looping or failed revision keeps its last
 * replica), through the log stream with a token from the app's `getAuthToken`. Empty when the
 * revision never got a replica (an image that could not be pulled).
 */
export async function revisionLogs(
  clients: AzureClients,
  app: ResourceAddress,
  revisionName: string,
  lines: number
): Promise<string[]> {
  const replicas = await clients.containerApps.containerAppsRevisionReplicas.listReplicas(
    app.resourceGroup,
    app.name,
    revisionName
  )
  const newest = [...(replicas.value ?? [])].sort(
    (a, b) => new Date(b.createdTime ?? 0).getTime() - new Date(a.createdTime ?? 0).getTime()
  )[0]
  const endpoint = newest?.containers?.find((c) => c.logStreamEndpoint)?.logStreamEndpoint
  if (!endpoint) return []
  const token = await clients.containerApps.containerApps.getAuthToken(app.resourceGroup, app.name)
  if (!token.token) return []
  return readLogTail(endpoint, token.token, lines)
}

/**
 * A change the running revision need not see (ingress, secrets, tags, traffic): a JSON merge patch
 * of the app's configuration and tags, without the template, so no revision is made.
 */
export async function patchConfiguration(
  clients: AzureClients,
  address: ResourceAddress,
  spec: ContainerAppSpec
): Promise<void> {
  const full = toArm(spec)
  await clients.containerApps.containerApps.update(
    address.resourceGroup,
    address.name,
    { location: full.location, tags: full.tags, configuration: full.configuration, identity: full.identity },
    lro(clients.pollIntervalMs)
  )
}

/**
 * PATCH of the app's tags alone. Whether a PATCH merges tags or replaces them is not pinned down
 * for Microsoft.App, so callers send every tag and clear one by value, never by leaving it out.
 */
export async function patchTags(
  clients: AzureClients,
  address: ResourceAddress,
  tags: Record<string, string>
): Promise<void> {
  await clients.containerApps.containerApps.update(
    address.resourceGroup,
    address.name,
    // Not part of this patch: the serializer drops what is undefined.
    { location: undefined as unknown as string, tags: tagsForArm(tags) },
    lro(clients.pollIntervalMs)
  )
}

/** PATCH of the identity alone: the app stops running as its managed identity. */
export async function detachIdentity(clients: AzureClients, address: ResourceAddress): Promise<void> {
  await clients.containerApps.containerApps.update(
    address.resourceGroup,
    address.name,
    {
      location: undefined as unknown as string,
      identity: NO_IDENTITY
    },
    lro(clients.pollIntervalMs)
  )
}

/** Moves traffic (and records tags, e.g. the previous revision): a merge patch of just that. */
export async function patchTraffic(
  clients: AzureClients,
  address: ResourceAddress,
  traffic: TrafficWeight[],
  tags: Record<string, string>
): Promise<void> {
  await clients.containerApps.containerApps.update(
    address.resourceGroup,
    address.name,
    {
      // Not part of this patch: the serializer drops what is undefined.
      location: undefined as unknown as string,
      tags: tagsForArm(tags),
      configuration: {
        ingress: { traffic: traffic.map((t) => ({ revisionName: t.revisionName, weight: t.weight })) }
      }
    },
    lro(clients.pollIntervalMs)
  )
}

/** The container apps of a resource group, without their secret values (a list returns none). */
export async function listContainerApps(
  clients: AzureClients,
  resourceGroup: string
): Promise<Observed<'containerApp'>[]> {
  const out: Observed<'containerApp'>[] = []
  for await (const app of clients.containerApps.containerApps.listByResourceGroup(resourceGroup))
    out.push(fromArm(app, { secrets: [] }))
  return out
}
