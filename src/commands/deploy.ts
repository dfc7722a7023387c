/**
 * `deploy` and `plan`: read the actual state, diff it against the desired state, and (deploy only)
 * apply the difference as a dependency graph, then wait for the app's revision to be healthy.
 */
import { describeAzureError } from '../azure/errors.js'
import type { AzurePort, Observed, ResourceAddress } from '../azure/port.js'
import type { DeployConfig } from '../config/inputs.js'
import { runDag, DagError, type TimelineEntry } from '../engine/dag.js'
import { blockers, countChanges, plan, type PlanEntry } from '../engine/plan.js'
import { formatChange } from '../report/changes.js'
import { immutableChanges } from '../stack/replacements.js'
import { desiredState, type AnyDesired } from '../stack/desired.js'
import { hasUnknown, type Facts } from '../stack/facts.js'
import { stackAddresses, type StackKey } from '../stack/graph.js'
import type { ResourceKind } from '../stack/specs.js'
import { formatSeconds, type Log } from './log.js'
import { InputError } from '../config/errors.js'
import { checkProviders, registerProviders, unavailableIn, type ProviderStatus } from './providers.js'
import { waitForLatestRevision } from './revision.js'
import { factsFromApplied, gatherFacts, readSettledState } from './state.js'

/** Independent writes in flight at once; ARM throttles per subscription well above this. */
const PARALLELISM = 6

export interface DeployResult {
  command: 'deploy' | 'plan'
  providers: ProviderStatus[]
  entries: PlanEntry[]
  changes: number
  /** Changes Azure cannot make in place (deploy refuses them; plan shows them). */
  blocked: string[]
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

const VERB: Record<PlanEntry['action'], string> = {
  create: 'created',
  update: 'updated',
  noop: 'unchanged',
  replace: 'replaced'
}

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

  const providers = await checkProviders(port, { register: false, pollMs, timeoutMs: opts.waitTimeoutMs })
  const unavailable = unavailableIn(config.location, providers)
  if (unavailable.length > 0) {
    throw new InputError([
      {
        input: 'location',
        value: config.location,
        rule: `must be a region where the stack's resources are offered; ${unavailable.join(', ')} ${unavailable.length === 1 ? 'is' : 'are'} not offered there (see az provider show --namespace <namespace> --query "resourceTypes[].locations")`
      }
    ])
  }
  const actual = await readSettledState(port, addresses, log, { pollMs, timeoutMs: opts.waitTimeoutMs })
  const facts = await gatherFacts(port, addresses, actual, log)
  const desired = desiredState(config, facts)
  if (config.resourceGroupGiven && actual.resourceGroup) {
    // A resource group the user brought is used as it is, never retagged or moved.
    desired[0]!.managed = false
  }
  const entries = plan(desired, actual, immutableChanges)
  const blocked = blockers(entries)
  const base = {
    command: config.command,
    providers,
    entries,
    changes: countChanges(entries),
    blocked,
    resourceGroup: config.names.resourceGroup,
    appName: config.names.containerApp
  }
  if (!apply) {
    for (const line of blocked) log.warning(`Deploy would refuse this change: ${line}`)
    const app = actual.containerApp
    return {
      ...base,
      timeline: [],
      trackingUri: app ? `https://${app.outputs.fqdn}` : undefined,
      revision: app?.outputs.latestReadyRevisionName || undefined,
      durationMs: now() - started
    }
  }
  if (blocked.length > 0) throw new ReplaceRequiredError(blocked)

  const missing = providers.filter((p) => p.action === 'register')
  if (missing.length > 0) {
    for (const p of missing) log.info(`Resource provider ${p.namespace} is not registered: registering it`)
    const registered = await registerProviders(port, missing, { pollMs, timeoutMs: opts.waitTimeoutMs })
    for (const p of registered) log.info(`Resource provider ${p.namespace}: registered now`)
    base.providers = providers.map((p) => registered.find((r) => r.namespace === p.namespace) ?? p)
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

/** Changes Azure cannot make in place: refused before the first write, with what to do instead. */
export class ReplaceRequiredError extends Error {
  constructor(readonly reasons: string[]) {
    super(
      `Deploy refused before any change was made: ${reasons.length === 1 ? 'this change' : 'these changes'} cannot be made in place.\n` +
        reasons.map((r) => `- ${r}`).join('\n')
    )
    this.name = 'ReplaceRequiredError'
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
    for (const change of entry.changes) lines.push(`change: ${formatChange(change)}`)
    if (entry.note) lines.push(`note: ${entry.note}`)
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
      lines.push(`error: ${describeAzureError(error)}`)
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
      const reasons = error.failures.map((f) => `${f.key}: ${describeAzureError(f.error)}`).join('\n')
      throw new Error(`Deploy failed:\n${reasons}${note}\nA rerun continues from here.`, {
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
  const paths = entry?.changes.map((c) => c.path) ?? []
  if (
    entry?.action !== 'update' ||
    !paths.some((p) => p.startsWith('secrets')) ||
    paths.some(changesRevision)
  )
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
