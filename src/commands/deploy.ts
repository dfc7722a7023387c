/**
 * `deploy` and `plan`: read Azure, compute the plan once as typed steps (`stack/steps.ts`), and
 * (deploy only) execute exactly those steps as a dependency graph. Everything that can refuse the
 * run — inputs, changes Azure cannot make in place, a downgrade across a schema change — refuses
 * it before the first write.
 */
import type {
  AzurePort,
  Observed,
  PermissionSet,
  ResourceAddress,
  RevisionState,
  StorageKeys
} from '../azure/port.js'
import type { Facts } from '../stack/facts.js'
import { STACK, stackAddresses, stackKeysFor, type ActualState, type StackKey } from '../stack/graph.js'
import {
  KEY_ROTATED_TAG,
  KEY_TO_RETIRE_TAG,
  keyHeldBy,
  planRotation,
  type KeyName,
  type KeyState,
  type RotationPlan
} from '../stack/storageKeys.js'
import { lockExistingStack, type HeldLock } from './stackLock.js'
import { InputError } from '../config/errors.js'
import type { DeployConfig, StackCommand } from '../config/inputs.js'
import { DagError, runDag, type TimelineEntry } from '../engine/dag.js'
import { blockers, countChanges, plan, type PlanEntry } from '../engine/plan.js'
import { desiredState, type DesiredResource } from '../stack/desired.js'
import { coldDeploySteps } from '../stack/coldPlan.js'
import { immutableChanges } from '../stack/replacements.js'
import {
  describeAppPlan,
  planApp,
  planSteps,
  servingRevision,
  type AppPlan,
  type Step,
  type StepKey
} from '../stack/steps.js'
import { executeSteps } from './execute.js'
import { readPermissions, refuseMissing } from './permissions.js'
import { neededForSteps, neededToLock, neededToRegister, type NeededAction } from '../stack/permissions.js'
import { connectionsPerReplica } from '../stack/connectionBudget.js'
import { storageAccessOf } from '../stack/mlflowContainer.js'
import { PR_TAG } from '../stack/prEnvironment.js'
import type { Log } from './log.js'
import { checkProviders, registerProviders, unavailableIn, type ProviderStatus } from './providers.js'
import { revisionVerdict, waitForRevision } from './revision.js'
import type { RolloutRecord } from './rollout.js'
import { gatherFacts, readSettledState } from './state.js'
import {
  checkBudget,
  prRefusals,
  PrEnvironmentRefusedError,
  readBase,
  type PrConfig
} from './prEnvironment.js'

export interface DeployResult {
  command: StackCommand
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
  /** The key the serving revision holds after the run, and when the last rotation finished. */
  /** `none` in keyless mode: the app holds no key. */
  storageKey?: { active: KeyName | 'none'; rotatedAt?: string }
  rotation?: RotationPlan
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
  const started = (opts.now ?? Date.now)()
  const pollMs = config.azure.pollIntervalMs
  const apply = config.command !== 'plan'

  const addresses = stackAddresses(config.names)
  // A group the user named is used as it is: it must exist (a typo must not make a new one).
  const givenGroup = config.resourceGroupGiven
    ? await port.handlers.resourceGroup.get(addresses.resourceGroup)
    : undefined
  if (config.resourceGroupGiven && !givenGroup) {
    const rg = config.names.resourceGroup
    throw new InputError([
      {
        input: 'resource-group',
        value: rg,
        rule:
          `names a resource group that does not exist in subscription ${config.azure.subscriptionId}; ` +
          `a group you name must exist: create it first (az group create --name ${rg} --location ${config.location}), ` +
          `or leave resource-group out and the action creates rg-${config.stackName}`
      }
    ])
  }

  const [group, account] = await Promise.all([
    givenGroup ?? port.handlers.resourceGroup.get(addresses.resourceGroup),
    port.handlers.storageAccount.get(addresses.storageAccount)
  ])
  // A stack whose account exists was made by a run that registered every provider and checked the
  // region first: a no-op must not pay five reads for that again (a provider unregistered since is
  // named by the write Azure refuses). A location other than the stack's is checked: a typo must be
  // named as one, not as a move.
  const stackExists = group !== undefined && account !== undefined
  const providers =
    stackExists && account.spec.location === config.location
      ? []
      : await checkProviders(port, { register: false, pollMs, timeoutMs: opts.waitTimeoutMs })
  const known: ActualState = {
    ...(group ? { resourceGroup: group } : {}),
    ...(account ? { storageAccount: account } : {})
  }
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
  if (!apply) return planStack(config, port, log, opts, { started, providers, known })
  if (config.command === 'rotate-keys' && config.storageAuth === 'managed-identity')
    return nothingToRotate(config, port, log, { started, providers })

  // Before the first write: what the run does before its plan (register providers, create the
  // group and the account that holds the lock, read the account's keys) must be allowed. The rest
  // is checked against the plan itself, once the lock is held (planStack).
  const missing = providers.filter((p) => p.action === 'register')
  const cold = !account && config.command === 'deploy'
  // An existing stack's lock needs only its keys (a refused listKeys names itself); the plan's
  // writes are checked once the plan is known, and a plan without writes reads no permissions.
  const permissions =
    group && !stackExists ? await readPermissions(port, config.names.resourceGroup, log) : undefined
  const beforeLock = (perms: PermissionSet[] | undefined): void =>
    refuseMissing(
      REFUSED,
      [
        ...neededToRegister(
          config.azure.subscriptionId,
          missing.map((p) => p.namespace)
        ),
        ...(cold
          ? coldStackNeeds(config, group)
          : neededToLock(config.azure.subscriptionId, addresses.storageAccount))
      ],
      perms
    )
  beforeLock(permissions)
  if (missing.length > 0) {
    for (const p of missing) log.info(`Resource provider ${p.namespace} is not registered: registering it`)
    const registered = await registerProviders(port, missing, { pollMs, timeoutMs: opts.waitTimeoutMs })
    for (const p of registered) log.info(`Resource provider ${p.namespace}: registered now`)
    providers.splice(
      0,
      providers.length,
      ...providers.map((p) => registered.find((r) => r.namespace === p.namespace) ?? p)
    )
  }
  let checked = permissions
  const lock = await lockStack(config, port, log, {
    known: { group, account },
    // A cold stack without a group: its creation was the first write; the rest is checked now.
    afterGroupCreated: async () => {
      checked = await readPermissions(port, config.names.resourceGroup, log)
      beforeLock(checked)
    }
  })
  try {
    // Read after the lock: what another run changed while this one waited is part of the plan.
    return await planStack(config, port, log, opts, {
      started,
      providers,
      lock,
      permissions: checked,
      known,
      permissionsWhenWriting: stackExists
    })
  } finally {
    await lock.release()
  }
}

async function planStack(
  config: DeployConfig,
  port: AzurePort,
  log: Log,
  opts: DeployOptions,
  run: {
    started: number
    providers: ProviderStatus[]
    lock?: HeldLock & { keys: StorageKeys; created: StackKey[] }
    /** The identity's permissions in the group (undefined: not readable, not checked). */
    permissions?: PermissionSet[]
    /** Read permissions only if the plan writes (the stack existed before this run). */
    permissionsWhenWriting?: boolean
    /** Resources read before the lock; reused when the lock came at the first try. */
    known?: ActualState
  }
): Promise<DeployResult> {
  const now = opts.now ?? Date.now
  const { started, providers } = run
  const pollMs = config.azure.pollIntervalMs
  const apply = config.command !== 'plan'
  const addresses = stackAddresses(config.names)
  const actual = await readSettledState(
    port,
    addresses,
    log,
    {
      pollMs,
      timeoutMs: opts.waitTimeoutMs,
      ...(run.known && (!run.lock || run.lock.atFirstTry) ? { known: run.known } : {})
    },
    stackKeysFor(config.storageAuth)
  )
  const pr = config.pr ? (config as PrConfig) : undefined
  const baseStack = pr ? await readBase(pr, port, actual, log) : undefined
  const refusals = pr ? prRefusals(pr, actual) : []
  if (refusals.length > 0) throw new PrEnvironmentRefusedError(refusals.join('\n'))
  const facts = await gatherFacts(port, addresses, actual, log, {
    pr: pr !== undefined,
    ...(run.lock?.atFirstTry ? { storageKeys: run.lock.keys } : {})
  })
  if (baseStack) {
    facts.adminDatabaseUri = baseStack.adminDatabaseUri
    // The PR app holds the key the base serves with: one rotation moves both (see README).
    if (config.storageAuth === 'access-key' && baseStack.storageKey) facts.storageKey = baseStack.storageKey
  }
  const rotation = config.command === 'rotate-keys' ? planKeyRotation(config, actual, facts) : undefined
  if (rotation) {
    log.info(`Key rotation: ${rotation.description}`)
    await warnKeyedPrEnvironments(config, port, log)
    if (rotation.regenerate) delete facts.storageKey
    else if (rotation.switchTo) facts.storageKey = facts.storageKeys![rotation.switchTo]
  }
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
    allowDowngrade: config.allowDowngrade,
    ...(rotation ? { rotation } : {})
  })
  const toApply = withRollout(resourceEntries, app)
  // Reported (and counted) with what was created before the lock; not applied again.
  const entries = bootstrapped(toApply, run.lock?.created ?? [])
  const steps = planSteps({
    entries: toApply,
    desired,
    observedApp: actual.containerApp,
    app,
    ...(rotation ? { rotation } : {})
  })
  const blocked = [
    ...blockers(entries),
    ...(app.refusal ? [app.refusal] : []),
    ...(rotation ? rotationOnly(resourceEntries, app) : [])
  ]
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
    migrated: false,
    ...(rotation ? { rotation } : {})
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
  if (pr && baseStack && grows(actual, desired)) {
    const refusal = await checkBudget(pr, port, actual, baseStack, desired)
    if (refusal) throw new PrEnvironmentRefusedError(refusal)
  }
  const permissions =
    run.permissions ??
    (run.permissionsWhenWriting && steps.length > 0
      ? await readPermissions(port, config.names.resourceGroup, log)
      : undefined)
  refuseMissing(
    REFUSED,
    neededForSteps(steps, {
      subscriptionId: config.azure.subscriptionId,
      app: addresses.containerApp,
      job: addresses.migrationJob,
      storageAccount: addresses.storageAccount
    }),
    permissions
  )

  // The steps add what they learn (a regenerated key pair, a new domain) to the run's own facts.
  const runFacts: Facts = { ...facts }
  const { timeline, record } = await executeSteps(steps, {
    config,
    port,
    log,
    addresses,
    facts: runFacts,
    timeoutMs: opts.waitTimeoutMs,
    ...(run.lock ? { beforeStep: () => run.lock!.assertHeld() } : {})
  })
  // Without a new revision, the one that serves must still be running: say so, or fail.
  const revision = record.revision ?? serving?.name
  if (!revision) throw new Error(`Container app ${config.names.containerApp} has no revision that serves`)
  // A run that wrote nothing reports what it read under the lock; one that wrote reads again.
  const unchanged = steps.length === 0 && serving !== undefined && revisionVerdict(serving) === 'ready'
  if (!record.revision && !unchanged)
    await waitForRevision(port, addresses.containerApp, revision, { pollMs, timeoutMs: opts.waitTimeoutMs })
  const observed = unchanged
    ? actual.containerApp
    : await port.handlers.containerApp.get(addresses.containerApp)
  log.info(`Revision ${revision} serves at https://${observed?.outputs.fqdn ?? ''}`)
  const storageKey =
    config.storageAuth === 'managed-identity'
      ? 'none'
      : await liveKey(port, addresses, unchanged ? serving : revision, runFacts.storageKeys)
  const rotatedAt = record.keyRotatedAt ?? observed?.spec.tags[KEY_ROTATED_TAG]
  if (storageKey) {
    log.info(
      `Storage key in use: ${storageKey} (revision ${revision})${rotatedAt ? `; last rotated ${rotatedAt}` : ''}`
    )
  }
  return {
    ...base,
    ...(storageKey ? { storageKey: { active: storageKey, ...(rotatedAt ? { rotatedAt } : {}) } } : {}),
    timeline,
    record,
    trackingUri: `https://${observed?.outputs.fqdn ?? ''}`,
    revision,
    ...(record.previousRevision ? { previousRevision: record.previousRevision } : {}),
    migrated: record.migrated,
    durationMs: now() - started
  }
}

/**
 * PR environments in key mode hold the base's key: the rotation's last step makes their key
 * invalid until their next pr-up. Said before anything changes (README: use keyless PR environments).
 */
async function warnKeyedPrEnvironments(config: DeployConfig, port: AzurePort, log: Log): Promise<void> {
  const apps = await port.listContainerApps(config.names.resourceGroup)
  const keyed = apps.filter(
    (a) =>
      a.spec.tags['mlflow-stack'] === config.stackName &&
      a.spec.tags[PR_TAG] !== undefined &&
      storageAccessOf(a.spec.container) === 'access-key'
  )
  if (keyed.length === 0) return
  log.warning(
    `PR environment${keyed.length === 1 ? '' : 's'} ${keyed.map((a) => `#${a.spec.tags[PR_TAG]} (${a.name})`).join(', ')} ` +
      'hold the storage key this rotation retires: their artifact requests fail from the end of the rotation until ' +
      'their next pr-up. PR environments with storage-auth: managed-identity hold no key.'
  )
}

/** A new app, or one that may open more connections than it does now: the budget is checked. */
function grows(actual: ActualState, desired: readonly DesiredResource[]): boolean {
  const app = desired.find((d) => d.key === 'containerApp') as DesiredResource<'containerApp'>
  const now = actual.containerApp
  if (!now) return true
  return (
    app.spec.maxReplicas * connectionsPerReplica(app.spec.container) >
    now.spec.maxReplicas * connectionsPerReplica(now.spec.container)
  )
}

/** What `rotate-keys` does next, from the stack as Azure holds it; refused when there is no stack. */
function planKeyRotation(config: DeployConfig, actual: ActualState, facts: Facts): RotationPlan {
  if (!actual.containerApp || !facts.storageKeys) {
    throw new Error(
      `Stack ${config.stackName} is not deployed (no container app ${config.names.containerApp} or storage account ` +
        `${config.names.storageAccount}): there is no key to rotate. Run deploy first.`
    )
  }
  const serving = servingRevision(facts.revisions ?? [])
  const toRetire = facts.appStateTags?.[KEY_TO_RETIRE_TAG]
  const plan = planRotation({
    keys: facts.storageKeys,
    ...(facts.appStorageSecret !== undefined ? { appSecret: facts.appStorageSecret } : {}),
    ...(serving ? { live: keyHeldBy(facts.storageKeys, serving.container) } : {}),
    ...(toRetire === 'key1' || toRetire === 'key2' ? { toRetire } : {})
  } as KeyState)
  if (plan.refusal) throw new Error(`rotate-keys refused: ${plan.refusal}`)
  return plan
}

/** The key the serving revision holds after the run, by its template's fingerprint. */
async function liveKey(
  port: AzurePort,
  addresses: Record<StackKey, ResourceAddress>,
  revision: string | RevisionState,
  keys: StorageKeys | undefined
): Promise<KeyName | undefined> {
  if (!keys) return undefined
  const state =
    typeof revision === 'string' ? await port.getRevision(addresses.containerApp, revision) : revision
  return keyHeldBy(keys, state.container)
}

/**
 * Takes the stack's lock. On a cold stack the resource group and storage account are created
 * first (exactly as the plan will want them), since the lock lives in the account: two first
 * deploys then queue on the lock instead of each generating a database password.
 */
export async function lockStack(
  config: DeployConfig,
  port: AzurePort,
  log: Log,
  opts: {
    /** The group and account as the caller already read them. */
    known?: { group: Observed<'resourceGroup'> | undefined; account: Observed<'storageAccount'> | undefined }
    /** Called once a cold stack's group was created, before its account is. */
    afterGroupCreated?: () => Promise<void>
  } = {}
): Promise<HeldLock & { keys: StorageKeys; created: StackKey[] }> {
  const addresses = stackAddresses(config.names)
  const created: StackKey[] = []
  const [group, account] = opts.known
    ? [opts.known.group, opts.known.account]
    : await Promise.all([
        port.handlers.resourceGroup.get(addresses.resourceGroup),
        port.handlers.storageAccount.get(addresses.storageAccount)
      ])
  if (!account) {
    if (config.command !== 'deploy') {
      const what =
        config.command === 'rollback'
          ? 'there is nothing to roll back'
          : config.command === 'pr-up'
            ? 'a PR environment needs its base stack; run deploy for it first'
            : 'there is nothing to rotate'
      throw new Error(
        `Stack ${config.stackName} is not deployed (no storage account ${config.names.storageAccount} in ` +
          `${config.names.resourceGroup}): ${what}.`
      )
    }
    const desired = desiredState(config, { postgresPasswordIsNew: true, postgresServerExists: false })
    const put = async (key: StackKey): Promise<void> => {
      const resource = desired.find((d) => d.key === key)!
      await (
        port.handlers[resource.kind] as { put(a: ResourceAddress, spec: unknown): Promise<unknown> }
      ).put(addresses[key], resource.spec)
      created.push(key)
    }
    log.info(
      `Creating the storage account ${config.names.storageAccount} first: it holds the stack's lock ` +
        `(the network, its private DNS zone and the log workspace, which hold no secret, meanwhile)`
    )
    if (!group) {
      await put('resourceGroup')
      await opts.afterGroupCreated?.()
    }
    await runDag(
      ['storageAccount' as const, ...BEFORE_LOCK].map((key) => ({
        key,
        dependsOn: (STACK[key].dependsOn as readonly StackKey[]).filter((d) => BEFORE_LOCK.includes(d))
      })),
      put,
      { concurrency: config.azure.parallelism }
    ).catch((error: unknown) => {
      // The first refusal as Azure gave it (its code and message name what to fix).
      throw error instanceof DagError ? error.failures[0]!.error : error
    })
  }
  const lock = await lockExistingStack(config, port, log)
  return { ...lock, created }
}

/**
 * What a cold deploy writes while its storage account (and so its lock) is being made: the start of
 * the longest chain (private DNS zone, its link, then the PostgreSQL server) must not wait for the
 * account. Their specs are the inputs alone, with no secret and no password: two first deploys that
 * race here write the same thing, and the one that takes the lock second plans from what it finds.
 */
const BEFORE_LOCK: readonly StackKey[] = [
  'virtualNetwork',
  'dbSubnet',
  'acaSubnet',
  'privateDnsZone',
  'privateDnsLink',
  'logAnalytics'
]

/**
 * rotate-keys changes the storage key and nothing else: inputs that differ from the stack would
 * otherwise ride along unreviewed (a scheduled rotation bumping MLflow). They are refused, before
 * any write, with what differs.
 */
function rotationOnly(entries: readonly PlanEntry[], app: AppPlan): string[] {
  const other = entries.filter((e) => e.action !== 'noop' && e.key !== 'containerApp')
  const appChanges = [
    ...(entries.find((e) => e.key === 'containerApp')?.changes ?? []).filter(
      (c) => !c.path.startsWith('secrets')
    ),
    ...app.templateChanges
  ]
  if (other.length === 0 && appChanges.length === 0) return []
  const what = [
    ...other.map((e) => `${e.key} ${e.name} (${e.action})`),
    ...appChanges.map((c) => `containerApp ${c.path}`)
  ]
  return [
    `rotate-keys changes only the storage key, but the inputs also differ from the stack: ${what.join(', ')}. ` +
      'Give rotate-keys the same inputs as the deploy that made the stack, or run deploy first.'
  ]
}

/** Keyless mode: the app holds no key and the account takes none, so there is nothing to rotate. */
async function nothingToRotate(
  config: DeployConfig,
  port: AzurePort,
  log: Log,
  run: { started: number; providers: ProviderStatus[] }
): Promise<DeployResult> {
  const addresses = stackAddresses(config.names)
  const app = await port.handlers.containerApp.get(addresses.containerApp)
  if (!app)
    throw new Error(
      `Stack ${config.stackName} is not deployed (no container app ${config.names.containerApp}): there is no key to rotate. Run deploy first.`
    )
  log.info(
    'storage-auth is managed-identity: MLflow reaches blob storage with its managed identity, the app holds no ' +
      'storage key and shared-key access is off, so there is nothing to rotate.'
  )
  const serving = servingRevision(await port.listRevisions(addresses.containerApp))
  return {
    command: config.command,
    providers: run.providers,
    entries: [],
    steps: [],
    changes: 0,
    blocked: [],
    timeline: [],
    resourceGroup: config.names.resourceGroup,
    appName: config.names.containerApp,
    trackingUri: `https://${app.outputs.fqdn}`,
    ...(serving ? { revision: serving.name } : {}),
    migrated: false,
    storageKey: { active: 'none' },
    durationMs: Date.now() - run.started
  }
}

const REFUSED = 'Deploy refused before any change was made'

/** What a deploy of a stack that does not exist yet needs, from the plan it will make. */
function coldStackNeeds(config: DeployConfig, group: Observed<'resourceGroup'> | undefined): NeededAction[] {
  const steps = coldDeploySteps(config, group)
  const addresses = stackAddresses(config.names)
  return [
    ...neededForSteps(steps, {
      subscriptionId: config.azure.subscriptionId,
      app: addresses.containerApp,
      job: addresses.migrationJob,
      storageAccount: addresses.storageAccount
    }),
    ...neededToLock(config.azure.subscriptionId, addresses.storageAccount)
  ]
}

/** What this run created before the plan (for the lock) is part of what it changed. */
function bootstrapped(entries: PlanEntry[], created: readonly StackKey[]): PlanEntry[] {
  return entries.map((e) =>
    created.includes(e.key) && e.action === 'noop'
      ? {
          ...e,
          action: 'create',
          note:
            e.key === 'storageAccount'
              ? "created first: it holds the stack's lock"
              : 'created while the storage account (the lock) was made'
        }
      : e
  )
}
