/**
 * `destroy`: removes the stack. A resource group the action created goes as a whole; in a resource
 * group the user brought, the stack's resources are deleted in reverse dependency order and the
 * group stays. Only what exists is deleted, so a second destroy sends no write at all.
 */
import type { AzurePort, ResourceAddress } from '../azure/port.js'
import type { DestroyConfig } from '../config/inputs.js'
import { runDag, type TimelineEntry } from '../engine/dag.js'
import { MANAGED_BY } from '../stack/desired.js'
import { STACK, STACK_KEYS, dependentsWithin, stackAddresses, type StackKey } from '../stack/graph.js'
import type { ResourceKind, Tags } from '../stack/specs.js'
import { formatSeconds, type Log } from './log.js'
import { readSettledState } from './state.js'
import { findPrEnvironments } from './gc.js'
import { removePrEnvironment } from './prDown.js'
import { readPermissions, refuseMissing } from './permissions.js'
import { neededToDelete, resourceIdOf } from '../stack/permissions.js'
import { PR_KEYS } from '../stack/prEnvironment.js'
import { prNames } from '../config/naming.js'

const REFUSED = 'Destroy refused before anything was deleted'

export interface DestroyEntry {
  key: StackKey
  kind: ResourceKind
  name: string
  action: 'delete' | 'absent' | 'kept'
  reason?: string
}

export interface DestroyResult {
  command: 'destroy'
  entries: DestroyEntry[]
  changes: number
  timeline: TimelineEntry<StackKey>[]
  resourceGroup: string
  appName: string
  durationMs: number
}

function ownedBy(tags: Tags | undefined, stackName: string): boolean {
  return tags?.['managed-by'] === MANAGED_BY && tags['mlflow-stack'] === stackName
}

export async function destroy(config: DestroyConfig, port: AzurePort, log: Log): Promise<DestroyResult> {
  const started = Date.now()
  const addresses = stackAddresses(config.names)
  const base = {
    command: 'destroy' as const,
    resourceGroup: config.names.resourceGroup,
    appName: config.names.containerApp
  }
  const entry = (key: StackKey, action: DestroyEntry['action'], reason?: string): DestroyEntry => ({
    key,
    kind: STACK[key].kind,
    name: addresses[key].name,
    action,
    reason
  })

  const actual = await readSettledState(port, addresses, log, {
    pollMs: config.azure.pollIntervalMs,
    timeoutMs: config.waitTimeoutMs
  })
  const group = actual.resourceGroup
  if (!group) {
    log.info(`Resource group ${config.names.resourceGroup} does not exist: nothing to destroy.`)
    const entries = STACK_KEYS.map((k) => entry(k, 'absent'))
    return { ...base, entries, changes: 0, timeline: [], durationMs: Date.now() - started }
  }

  const sub = config.azure.subscriptionId
  const permissions = await readPermissions(port, config.names.resourceGroup, log)
  if (ownedBy(group.outputs.tags, config.stackName)) {
    refuseMissing(
      REFUSED,
      neededToDelete(sub, [{ kind: 'resourceGroup', address: addresses.resourceGroup }]),
      permissions
    )
    const t0 = Date.now()
    await port.handlers.resourceGroup.delete(addresses.resourceGroup)
    log.group(
      `resourceGroup ${group.name}: deleted with everything in it in ${formatSeconds(Date.now() - t0)}`,
      []
    )
    const entries = STACK_KEYS.map((k) => entry(k, actual[k] ? 'delete' : 'absent'))
    const timeline = [
      { key: 'resourceGroup' as StackKey, status: 'done' as const, startMs: 0, endMs: Date.now() - t0 }
    ]
    return { ...base, entries, changes: 1, timeline, durationMs: Date.now() - started }
  }

  const entries: DestroyEntry[] = [entry('resourceGroup', 'kept', 'not created by this action')]
  const doomed: StackKey[] = []
  for (const key of STACK_KEYS.filter((k) => k !== 'resourceGroup')) {
    const observed = actual[key]
    if (!observed) {
      entries.push(entry(key, 'absent'))
      continue
    }
    if (STACK[key].kind === 'subnet') {
      // A subnet goes with its VNet (one delete instead of three), or stays with it.
      const vnetGoes = actual.virtualNetwork && ownedBy(actual.virtualNetwork.spec.tags, config.stackName)
      entries.push(
        vnetGoes
          ? entry(key, 'delete', 'with its virtual network')
          : entry(key, 'kept', 'its virtual network is kept')
      )
      continue
    }
    const tags = (observed.spec as { tags?: Tags }).tags
    // Child resources carry no tags; their parent's check covers them.
    if (tags !== undefined && !ownedBy(tags, config.stackName)) {
      log.warning(
        `${key} ${observed.name} is not tagged as part of stack ${config.stackName}: left in place.`
      )
      entries.push(entry(key, 'kept', 'not tagged as part of this stack'))
      continue
    }
    entries.push(entry(key, 'delete'))
    doomed.push(key)
  }

  // In a group the user brought, the stack's PR environments go first: they stand on its
  // environment, server and account, which could not be deleted under them.
  const prs = await findPrEnvironments(config, port, {
    resourceGroup: true,
    postgresServer: actual.postgresServer !== undefined,
    storageAccount: actual.storageAccount !== undefined
  })
  // What removing the stack (and its PR environments first) deletes, and the PR jobs it runs.
  const prParts = prs.map((pr) => ({
    pr: pr.number,
    at: stackAddresses(
      prNames(config.names, { stackName: config.stackName, subscriptionId: sub, prNumber: pr.number })
    )
  }))
  refuseMissing(
    REFUSED,
    [
      ...neededToDelete(sub, [
        ...prParts.flatMap(({ at }) => PR_KEYS.map((k) => ({ kind: STACK[k].kind, address: at[k] }))),
        ...doomed.map((k) => ({ kind: STACK[k].kind, address: addresses[k] }))
      ]),
      ...prParts.map(({ pr, at }) => ({
        action: 'Microsoft.App/jobs/start/action',
        scope: resourceIdOf(sub, 'job', at.migrationJob),
        why: `to run the job that drops PR #${pr}'s database role`
      }))
    ],
    permissions
  )
  let prChanges = 0
  for (const pr of prs) {
    log.info(`PR #${pr.number}'s environment stands on stack ${config.stackName}: removing it first`)
    const removed = await removePrEnvironment(
      {
        stackName: config.stackName,
        baseNames: config.names,
        azure: config.azure,
        waitTimeoutMs: config.waitTimeoutMs
      },
      pr.number,
      port,
      log
    )
    prChanges += removed.changes
  }
  const nodes = doomed.map((key) => ({
    key,
    dependsOn: dependentsWithin(key, doomed)
  }))
  const timeline = await runDag(
    nodes,
    async (key) => {
      const t0 = Date.now()
      await deleteAny(port, STACK[key].kind, addresses[key])
      log.group(`${key} ${addresses[key].name}: deleted in ${formatSeconds(Date.now() - t0)}`, [])
    },
    { concurrency: config.azure.parallelism }
  )
  const changes = entries.filter((e) => e.action === 'delete').length + prChanges
  return { ...base, entries, changes, timeline, durationMs: Date.now() - started }
}

export function deleteAny(port: AzurePort, kind: ResourceKind, address: ResourceAddress): Promise<void> {
  return (port.handlers[kind] as { delete(a: ResourceAddress): Promise<void> }).delete(address)
}
