/**
 * `gc`: finds every PR environment of a base stack — by its app, its job, its databases or its
 * blob container, so that what an interrupted pr-up left behind is found too — asks GitHub which
 * of their pull requests are still open, and removes the expired, the closed and the half-made
 * ones. Holds the base stack's lock for the whole sweep: no pr-up is half-way while it looks.
 */
import type { AzurePort } from '../azure/port.js'
import type { GcConfig } from '../config/inputs.js'
import { prNumberOfContainer, prNumberOfDatabase } from '../config/naming.js'
import { gitHubClient, gitHubTarget } from '../github/client.js'
import { pullRequestStates } from '../github/pullRequests.js'
import { stackAddresses } from '../stack/graph.js'
import {
  PR_EXPIRES_TAG,
  PR_REPOSITORY_TAG,
  PR_TAG,
  gcDecisions,
  type FoundPrEnvironment,
  type GcDecision
} from '../stack/prEnvironment.js'
import type { Tags } from '../stack/specs.js'
import type { Log } from './log.js'
import { lockBase, removePrEnvironment, type PrDownResult } from './prDown.js'

export interface GcResult {
  command: 'gc'
  resourceGroup: string
  decisions: GcDecision[]
  removed: PrDownResult[]
  changes: number
  durationMs: number
}

export async function gc(
  config: GcConfig,
  port: AzurePort,
  log: Log,
  now: () => number = Date.now
): Promise<GcResult> {
  const started = now()
  const lock = await lockBase(config, port, log)
  try {
    const envs = await findPrEnvironments(config, port)
    // Each environment's PR is asked of the repository it was made for (its tag), else of this run's.
    const asked = envs.filter((e) => e.parts.includes('app'))
    const byRepository = new Map<string, number[]>()
    for (const e of asked) {
      const repository = e.repository ?? config.github.repository
      if (repository) byRepository.set(repository, [...(byRepository.get(repository) ?? []), e.number])
    }
    const states = new Map<number, { state: 'open' | 'closed' | 'unknown'; reason?: string }>()
    for (const [repository, numbers] of byRepository) {
      const target = gitHubTarget(
        { GITHUB_API_URL: config.github.apiUrl, GITHUB_REPOSITORY: repository },
        config.github.token
      )
      if (!target) continue
      for (const [n, state] of await pullRequestStates(gitHubClient(target), target, numbers))
        states.set(n, state)
    }
    if (asked.length > 0 && (!config.github.token || byRepository.size === 0)) {
      log.warning(
        'No github-token or repository: gc removes only expired and half-made PR environments, without asking GitHub which PRs are closed.'
      )
    }
    const decisions = gcDecisions(envs, {
      now: now(),
      prStates: states
    })
    const removed: PrDownResult[] = []
    for (const d of decisions) {
      log.info(`PR #${d.number}: ${d.remove ? 'remove' : 'keep'} (${d.reason})`)
      if (!d.remove) continue
      // One at a time: each removal runs a job in the shared environment and drops a role.
      removed.push(
        await removePrEnvironment(
          {
            stackName: config.stackName,
            baseNames: config.names,
            azure: config.azure,
            waitTimeoutMs: config.waitTimeoutMs
          },
          d.number,
          port,
          log,
          lock
        )
      )
    }
    return {
      command: 'gc',
      resourceGroup: config.names.resourceGroup,
      decisions,
      removed,
      changes: removed.reduce((n, r) => n + r.changes, 0),
      durationMs: now() - started
    }
  } finally {
    await lock?.release()
  }
}

/** Every PR environment of the stack, from any of its parts that exists. */
export async function findPrEnvironments(
  config: Pick<GcConfig, 'names' | 'stackName'>,
  port: AzurePort,
  /** Which of the base's group, server and account exist, when the caller has read them already. */
  known?: { resourceGroup: boolean; postgresServer: boolean; storageAccount: boolean }
): Promise<FoundPrEnvironment[]> {
  const base = stackAddresses(config.names)
  const rg = config.names.resourceGroup
  const [group, server, account] = known
    ? [known.resourceGroup, known.postgresServer, known.storageAccount]
    : await Promise.all([
        port.handlers.resourceGroup.get(base.resourceGroup),
        port.handlers.postgresServer.get(base.postgresServer),
        port.handlers.storageAccount.get(base.storageAccount)
      ])
  if (!group) return []
  const [apps, jobs, databases, containers] = await Promise.all([
    port.listContainerApps(rg),
    port.listJobs(rg),
    server ? port.listPostgresDatabases(base.postgresServer) : Promise.resolve([]),
    account ? port.listBlobContainers(base.storageAccount) : Promise.resolve([])
  ])
  const found = new Map<number, FoundPrEnvironment>()
  const at = (n: number): FoundPrEnvironment => {
    const e = found.get(n) ?? { number: n, parts: [] }
    found.set(n, e)
    return e
  }
  const ours = (tags: Tags): number | undefined =>
    tags['mlflow-stack'] === config.stackName && /^\d+$/.test(tags[PR_TAG] ?? '')
      ? Number(tags[PR_TAG])
      : undefined
  for (const app of apps) {
    const n = ours(app.spec.tags)
    if (n === undefined) continue
    const e = at(n)
    e.parts.push('app')
    if (app.spec.tags[PR_EXPIRES_TAG]) e.expiresAt = app.spec.tags[PR_EXPIRES_TAG]
    if (app.spec.tags[PR_REPOSITORY_TAG]) e.repository = app.spec.tags[PR_REPOSITORY_TAG]
  }
  for (const job of jobs) {
    const n = ours(job.spec.tags)
    if (n === undefined) continue
    const e = at(n)
    e.parts.push('job')
    e.repository ??= job.spec.tags[PR_REPOSITORY_TAG]
  }
  for (const db of databases) {
    const n = prNumberOfDatabase(config.names, db)
    if (n !== undefined) at(n).parts.push(`database ${db}`)
  }
  for (const c of containers) {
    const n = prNumberOfContainer(config.names, c.name)
    if (n !== undefined) at(n).parts.push(`container ${c.name}`)
  }
  return [...found.values()].sort((a, b) => a.number - b.number)
}
