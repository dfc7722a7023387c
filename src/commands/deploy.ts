/**
 * `deploy` and `plan`: read the actual state, diff it against the desired state, and (deploy only)
 * apply the difference as a dependency graph, then wait for the app's revision to be healthy.
 */
import type { AzurePort, Observed, ResourceAddress } from '../azure/port.js'
import type { DeployConfig } from '../config/inputs.js'
import { runDag, DagError, type TimelineEntry } from '../engine/dag.js'
import { countChanges, plan, type PlanEntry } from '../engine/plan.js'
import { desiredState, type AnyDesired } from '../stack/desired.js'
import { hasUnknown, type Facts } from '../stack/facts.js'
import { stackAddresses, type StackKey } from '../stack/graph.js'
import type { ResourceKind } from '../stack/specs.js'
import { formatSeconds, type Log } from './log.js'
import { checkProviders, type ProviderStatus } from './providers.js'
import { waitForLatestRevision } from './revision.js'
import { factsFromApplied, gatherFacts, readActualState } from './state.js'

/** Independent writes in flight at once; ARM throttles per subscription well above this. */
const PARALLELISM = 6

export interface DeployResult {
  command: 'deploy' | 'plan'
  providers: ProviderStatus[]
  entries: PlanEntry[]
  changes: number
  timeline: TimelineEntry<StackKey>[]
  resourceGroup: string
  appName: string
  trackingUri?: string
  revision?: string
  durationMs: number
}

export interface DeployOptions {
  waitTimeoutMs: number
  now?: () => number
}

const VERB: Record<PlanEntry['action'], string> = { create: 'created', update: 'updated', noop: 'unchanged' }

export async function deploy(
  config: DeployConfig,
  port: AzurePort,
  log: Log,
  opts: DeployOptions
): Promise<DeployResult> {
  const now = opts.now ?? Date.now
  const started = now()
  const pollMs = config.azure.pollIntervalMs
  const apply = config.command === 'deploy'
  const addresses = stackAddresses(config.names)

  const providers = await checkProviders(port, { register: apply, pollMs, timeoutMs: opts.waitTimeoutMs })
  for (const p of providers.filter((p) => p.action !== 'registered')) {
    log.info(
      `Resource provider ${p.namespace}: ${p.action === 'register' ? 'not registered (deploy registers it)' : 'registered now'}`
    )
  }

  const actual = await readActualState(port, addresses)
  const facts = await gatherFacts(port, addresses, actual, log)
  const desired = desiredState(config, facts)
  if (config.resourceGroupGiven && actual.resourceGroup) {
    // A resource group the user brought is used as it is, never retagged or moved.
    desired[0]!.managed = false
  }
  const entries = plan(desired, actual)
  const base = {
    command: config.command,
    providers,
    entries,
    changes: countChanges(entries),
    resourceGroup: config.names.resourceGroup,
    appName: config.names.containerApp
  }
  if (!apply) {
    const app = actual.containerApp
    return {
      ...base,
      timeline: [],
      trackingUri: app ? `https://${app.outputs.fqdn}` : undefined,
      revision: app?.outputs.latestReadyRevisionName || undefined,
      durationMs: now() - started
    }
  }

  const timeline = await applyPlan(config, port, log, { entries, desired, facts, addresses })
  await restartForNewSecrets(port, log, entries, addresses.containerApp)
  const { revision, fqdn } = await waitForLatestRevision(port, addresses.containerApp, {
    pollMs,
    timeoutMs: opts.waitTimeoutMs
  })
  log.info(`Revision ${revision.name} is running and healthy at https://${fqdn}`)
  return {
    ...base,
    timeline,
    trackingUri: `https://${fqdn}`,
    revision: revision.name,
    durationMs: now() - started
  }
}

async function applyPlan(
  config: DeployConfig,
  port: AzurePort,
  log: Log,
  state: {
    entries: PlanEntry[]
    desired: AnyDesired[]
    facts: Facts
    addresses: Record<StackKey, ResourceAddress>
  }
): Promise<TimelineEntry<StackKey>[]> {
  const facts = { ...state.facts }
  const pending = state.entries.filter((e) => e.action !== 'noop')
  const byKey = new Map(state.entries.map((e) => [e.key, e]))
  const nodes = pending.map((e) => ({
    key: e.key,
    dependsOn: state.desired.find((d) => d.key === e.key)!.dependsOn
  }))

  const run = async (key: StackKey): Promise<void> => {
    const entry = byKey.get(key)!
    const kind = entry.kind
    const lines: string[] = []
    if (entry.changes.length > 0) lines.push(`changes: ${entry.changes.join(', ')}`)
    // Rebuilt now, so values made known by resources applied before this one are filled in.
    const desired = desiredState(config, facts).find((d) => d.key === key)!
    if (hasUnknown(desired.spec)) {
      throw new Error(`internal error: ${key} still depends on a value that is not known yet`)
    }
    const t0 = Date.now()
    try {
      const observed = await putAny(port, desired)
      Object.assign(facts, await factsFromApplied(port, kind, desired.address, observed, facts, log))
      lines.push(`provisioning state: ${observed.provisioningState ?? 'Succeeded'}`)
      log.group(`${key} ${entry.name}: ${VERB[entry.action]} in ${formatSeconds(Date.now() - t0)}`, lines)
    } catch (error) {
      lines.push(`error: ${error instanceof Error ? error.message : String(error)}`)
      log.group(`${key} ${entry.name}: FAILED after ${formatSeconds(Date.now() - t0)}`, lines)
      throw error
    }
  }

  try {
    return await runDag(nodes, run, { concurrency: PARALLELISM })
  } catch (error) {
    if (error instanceof DagError) {
      const skipped = error.timeline.filter((t) => t.status === 'skipped').map((t) => t.key)
      const note =
        skipped.length > 0 ? `\nNot attempted (they depend on the failed ones): ${skipped.join(', ')}.` : ''
      throw new Error(`Deploy failed:\n${error.message}${note}\nA rerun continues from here.`, {
        cause: error
      })
    }
    throw error
  }
}

/** Template fields: changing any of them makes a new revision, which starts with the new secrets. */
function changesRevision(field: string): boolean {
  return field.startsWith('container') || field === 'minReplicas' || field === 'maxReplicas'
}

/**
 * Container Apps secrets belong to the app, not the revision: a running revision keeps the values
 * it started with. When only secrets changed (a new admin password, a rotated key), the serving
 * revision is restarted so it picks them up; the health gate that follows waits for it.
 */
async function restartForNewSecrets(
  port: AzurePort,
  log: Log,
  entries: PlanEntry[],
  app: ResourceAddress
): Promise<void> {
  const entry = entries.find((e) => e.key === 'containerApp')
  if (entry?.action !== 'update' || !entry.changes.includes('secrets') || entry.changes.some(changesRevision))
    return
  const observed = await port.handlers.containerApp.get(app)
  const revision = observed?.outputs.latestReadyRevisionName
  if (!revision) return
  await port.restartRevision(app, revision)
  log.info(`Secrets changed: restarted revision ${revision} so it uses the new values`)
}

function putAny(port: AzurePort, desired: AnyDesired): Promise<Observed<ResourceKind>> {
  const handler = port.handlers[desired.kind] as unknown as {
    put(a: ResourceAddress, s: unknown): Promise<Observed<ResourceKind>>
  }
  return handler.put(desired.address, desired.spec)
}
