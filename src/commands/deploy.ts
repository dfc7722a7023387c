/**
 * `deploy` and `plan`: read Azure, compute the plan once as typed steps (`stack/steps.ts`), and
 * (deploy only) execute exactly those steps as a dependency graph. Everything that can refuse the
 * run — inputs, changes Azure cannot make in place, a downgrade across a schema change — refuses
 * it before the first write.
 */
import type { AzurePort } from '../azure/port.js'
import { InputError } from '../config/errors.js'
import type { DeployConfig } from '../config/inputs.js'
import type { TimelineEntry } from '../engine/dag.js'
import { blockers, countChanges, plan, type PlanEntry } from '../engine/plan.js'
import { desiredState, type DesiredResource } from '../stack/desired.js'
import { stackAddresses } from '../stack/graph.js'
import { immutableChanges } from '../stack/replacements.js'
import { describeAppPlan, planApp, planSteps, type AppPlan, type Step, type StepKey } from '../stack/steps.js'
import { executeSteps } from './execute.js'
import type { Log } from './log.js'
import { checkProviders, registerProviders, unavailableIn, type ProviderStatus } from './providers.js'
import { waitForRevision } from './revision.js'
import type { RolloutRecord } from './rollout.js'
import { gatherFacts, readSettledState } from './state.js'

export interface DeployResult {
  command: 'deploy' | 'plan' | 'rollback'
  providers: ProviderStatus[]
  entries: PlanEntry[]
  steps: Step[]
  app?: AppPlan
  changes: number
  /** Changes that must not be made (deploy refuses them; plan shows them). */
  blocked: string[]
  timeline: TimelineEntry<StepKey>[]
  resourceGroup: string
  appName: string
  trackingUri?: string
  revision?: string
  previousRevision?: string
  migrated: boolean
  record?: RolloutRecord
  durationMs: number
}

export interface DeployOptions {
  waitTimeoutMs: number
  now?: () => number
}

/** Changes Azure cannot make in place: refused before the first write, with what to do instead. */
export class ReplaceRequiredError extends Error {
  constructor(readonly reasons: string[]) {
    super(
      `Deploy refused before any change was made: ${reasons.length === 1 ? 'this change' : 'these changes'} cannot be made.\n` +
        reasons.map((r) => `- ${r}`).join('\n')
    )
    this.name = 'ReplaceRequiredError'
  }
}

/** The app's plan entry also says what happens to the running server. */
function withRollout(entries: PlanEntry[], app: AppPlan): PlanEntry[] {
  return entries.map((e) => {
    if (e.key !== 'containerApp') return e
    const rollout = describeAppPlan(app)
    const changes = [...e.changes, ...app.templateChanges]
    const action = e.action === 'noop' && app.kind === 'revision' ? 'update' : e.action
    return { ...e, action, changes, ...(rollout ? { rollout } : {}) }
  })
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
  const resourceEntries = plan(desired, actual, immutableChanges)
  const app = planApp({
    desired: desired.find((d) => d.key === 'containerApp') as DesiredResource<'containerApp'>,
    observed: actual.containerApp,
    revisions: facts.revisions ?? [],
    configChanges: resourceEntries.find((e) => e.key === 'containerApp')?.changes ?? [],
    version: config.image.version,
    run: config.run,
    allowDowngrade: config.allowDowngrade
  })
  const entries = withRollout(resourceEntries, app)
  const steps = planSteps({ entries, desired, observedApp: actual.containerApp, app })
  const blocked = [...blockers(entries), ...(app.refusal ? [app.refusal] : [])]
  const base = {
    command: config.command,
    providers,
    entries,
    steps,
    app,
    changes: countChanges(entries),
    blocked,
    resourceGroup: config.names.resourceGroup,
    appName: config.names.containerApp,
    migrated: false
  }
  const serving = app.serving
  if (!apply) {
    for (const line of blocked) log.warning(`Deploy would refuse this change: ${line}`)
    const fqdn = actual.containerApp?.outputs.fqdn
    return {
      ...base,
      timeline: [],
      ...(fqdn ? { trackingUri: `https://${fqdn}` } : {}),
      ...(serving ? { revision: serving.name } : {}),
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

  const { timeline, record } = await executeSteps(steps, {
    config,
    port,
    log,
    addresses,
    facts: { ...facts },
    timeoutMs: opts.waitTimeoutMs
  })
  // Without a new revision, the one that serves must still be running: say so, or fail.
  const revision = record.revision ?? serving?.name
  if (!revision) throw new Error(`Container app ${config.names.containerApp} has no revision that serves`)
  if (!record.revision)
    await waitForRevision(port, addresses.containerApp, revision, { pollMs, timeoutMs: opts.waitTimeoutMs })
  const observed = await port.handlers.containerApp.get(addresses.containerApp)
  log.info(`Revision ${revision} serves at https://${observed?.outputs.fqdn ?? ''}`)
  return {
    ...base,
    timeline,
    record,
    trackingUri: `https://${observed?.outputs.fqdn ?? ''}`,
    revision,
    ...(record.previousRevision ? { previousRevision: record.previousRevision } : {}),
    migrated: record.migrated,
    durationMs: now() - started
  }
}
