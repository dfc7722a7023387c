/**
 * `pr-down`: removes a pull request's environment — its app, databases, PostgreSQL role, job, blob
 * container, identity and role assignment — and nothing of the base stack it stands on. Only what
 * exists is removed, so a rerun after an interruption finishes the job and a second run writes
 * nothing. Runs under the base stack's lock, like every run that changes the stack.
 */
import type { AzurePort } from '../azure/port.js'
import type { CommonConfig, PrDownConfig } from '../config/inputs.js'
import { prNames, type StackNames } from '../config/naming.js'
import { runDag, type TimelineEntry } from '../engine/dag.js'
import { STACK, stackAddresses, type StackKey } from '../stack/graph.js'
import { PR_KEYS, PR_TAG, prDropRoleContainer } from '../stack/prEnvironment.js'
import type { Tags } from '../stack/specs.js'
import { deleteAny, type DestroyEntry } from './destroy.js'
import { formatSeconds, type Log } from './log.js'
import { describeExecution, indent, LOG_LINES, runJobToEnd } from './rollout.js'
import { readActualState } from './state.js'
import { lockExistingStack, type HeldLock, type LockSettings } from './stackLock.js'

export interface PrDownResult {
  command: 'pr-down'
  prNumber: number
  entries: DestroyEntry[]
  /** Whether the PR's PostgreSQL role was dropped by this run. */
  roleDropped: boolean
  changes: number
  timeline: TimelineEntry<string>[]
  resourceGroup: string
  appName: string
  durationMs: number
}

/** Where the PR environment stands: the base stack's names and how to reach Azure. */
export interface PrBase {
  stackName: string
  baseNames: StackNames
  azure: CommonConfig['azure']
  waitTimeoutMs: number
}

/** The lock of the base stack, when it still has its storage account (it holds the lock blob). */
export async function lockBase(
  config: LockSettings,
  port: AzurePort,
  log: Log
): Promise<HeldLock | undefined> {
  const account = stackAddresses(config.names).storageAccount
  if (!(await port.handlers.storageAccount.get(account))) {
    log.info(`Base stack ${config.stackName} has no storage account ${account.name}: no lock to take.`)
    return undefined
  }
  return lockExistingStack(config, port, log)
}

export async function prDown(config: PrDownConfig, port: AzurePort, log: Log): Promise<PrDownResult> {
  const lock = await lockBase(config, port, log)
  try {
    return await removePrEnvironment(
      {
        stackName: config.stackName,
        baseNames: config.pr.baseNames,
        azure: config.azure,
        waitTimeoutMs: config.waitTimeoutMs
      },
      config.pr.number,
      port,
      log,
      lock
    )
  } finally {
    await lock?.release()
  }
}

function isOurs(tags: Tags | undefined, stackName: string, pr: number): boolean {
  return tags?.['mlflow-stack'] === stackName && tags[PR_TAG] === String(pr)
}

/** Removes one PR environment; the caller holds the base's lock. */
export async function removePrEnvironment(
  config: PrBase,
  prNumber: number,
  port: AzurePort,
  log: Log,
  lock?: HeldLock
): Promise<PrDownResult> {
  const started = Date.now()
  const pr = { number: prNumber }
  const names = prNames(config.baseNames, {
    stackName: config.stackName,
    subscriptionId: config.azure.subscriptionId,
    prNumber
  })
  const addresses = stackAddresses(names)
  const actual = await readActualState(port, addresses, PR_KEYS)
  // Never remove what is not this PR's: a same-named app of someone else's stays.
  for (const key of ['containerApp', 'migrationJob', 'identity'] as const) {
    const tags = (actual[key]?.spec as { tags?: Tags } | undefined)?.tags
    if (actual[key] && !isOurs(tags, config.stackName, pr.number)) {
      throw new Error(
        `${key} ${addresses[key].name} is not tagged as PR #${pr.number}'s environment of stack ${config.stackName}: ` +
          'pr-down removes nothing; remove it by hand if it is yours.'
      )
    }
  }
  const entry = (key: StackKey, action: DestroyEntry['action'], reason?: string): DestroyEntry => ({
    key,
    kind: STACK[key].kind,
    name: addresses[key].name,
    action,
    ...(reason ? { reason } : {})
  })
  const doomed = PR_KEYS.filter((k) => actual[k])
  const entries = PR_KEYS.map((k) => entry(k, actual[k] ? 'delete' : 'absent'))
  const job = actual.migrationJob
  const dropRole = job !== undefined
  // The app goes first (it holds connections and the identity); the databases before the role
  // that owns them; the job after it has dropped the role.
  const after: Partial<Record<string, string[]>> = {
    postgresDatabase: ['containerApp'],
    authDatabase: ['containerApp'],
    dropRole: ['postgresDatabase', 'authDatabase'],
    migrationJob: ['dropRole'],
    blobRole: ['containerApp'],
    identity: ['blobRole', 'containerApp'],
    blobContainer: ['containerApp']
  }
  const nodes = [...doomed, ...(dropRole ? ['dropRole'] : [])].map((key) => ({
    key,
    dependsOn: after[key] ?? []
  }))
  let roleDropped = false
  const timeline = await runDag<string>(
    nodes,
    async (key) => {
      lock?.assertHeld()
      const t0 = Date.now()
      if (key === 'dropRole') {
        const { execution, state } = await runJobToEnd(port, addresses.migrationJob, {
          pollMs: config.azure.pollIntervalMs,
          timeoutMs: config.waitTimeoutMs,
          what: 'PR database role removal',
          container: prDropRoleContainer(job!.spec.container)
        })
        if (state.status.toLowerCase() !== 'succeeded') {
          const lines = await port
            .jobExecutionLogs(addresses.migrationJob, addresses.managedEnvironment, execution, LOG_LINES)
            .catch(() => [])
          throw new Error(
            `Dropping PostgreSQL role of PR #${pr.number} failed (job ${addresses.migrationJob.name}, execution ` +
              `${execution}: ${describeExecution(state)}). Rerun pr-down. Last log lines:${indent(lines) || ' (none)'}`
          )
        }
        roleDropped = true
        log.group(`PostgreSQL role of PR #${pr.number}: dropped in ${formatSeconds(Date.now() - t0)}`, [])
        return
      }
      const k = key as StackKey
      await deleteAny(port, STACK[k].kind, addresses[k])
      log.group(`${k} ${addresses[k].name}: deleted in ${formatSeconds(Date.now() - t0)}`, [])
    },
    { concurrency: config.azure.parallelism }
  )
  if (doomed.length === 0)
    log.info(`PR #${pr.number} has no environment on stack ${config.stackName}: nothing to remove.`)
  return {
    command: 'pr-down',
    prNumber: pr.number,
    entries,
    roleDropped,
    changes: doomed.length + (roleDropped ? 1 : 0),
    timeline,
    resourceGroup: names.resourceGroup,
    appName: names.containerApp,
    durationMs: Date.now() - started
  }
}
