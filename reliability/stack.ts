/**
 * What the scenarios share: a local Azure with a stack on it, action runs whose every text and
 * secret goes into the ledger, and the stack's end state as the local Azure holds it (for "converges
 * to the fault-free end state" and "no duplicate or orphaned resources").
 */
import {
  runAction,
  startAction,
  errorsOf,
  type ActionRun,
  type StartedAction
} from '../test/helpers/action.js'
import {
  isWrite,
  startEmulator,
  type Emulator,
  type EmulatorOptions,
  type RequestRecord
} from '../test/helpers/emulator.js'
import { startFakeGitHub, type FakeGitHub } from '../test/helpers/fakeGitHub.js'
import type { SecretLedger } from './suite.js'

/** The stand-in images a bump moves between (`ghcr.io/mlflow/mlflow:<tag>-full`). */
export const FIRST_TAG = 'v3.16.1'
export const NEXT_TAG = 'v3.17.2'

export interface World {
  emulator: Emulator
  ledger: SecretLedger
  /** The inputs every run of this world starts from. */
  base: Record<string, string>
  /** Extra environment for every run (e.g. a local GitHub). */
  env: Record<string, string>
  /** The local GitHub, once `withGitHub` started one. */
  github?: FakeGitHub
}

interface ResourceView {
  id: string
  type: string
  body: Record<string, unknown>
  secrets: Record<string, string>
}

export async function startWorld(
  ledger: SecretLedger,
  stackName: string,
  options: EmulatorOptions = {},
  inputs: Record<string, string> = {}
): Promise<World> {
  const emulator = await startEmulator({ timeScale: 0.002, ...options })
  const base = {
    command: 'deploy',
    'stack-name': stackName,
    location: 'westeurope',
    'admin-password': `${stackName}-admin-Pa55word`,
    'image-tag': FIRST_TAG,
    ...inputs
  }
  ledger.secret(base['admin-password'], 'the MLflow admin password')
  ledger.secret(emulator.token, 'the ARM token')
  for (const [k, v] of Object.entries(emulator.env)) if (/TOKEN|SECRET|HEADER/i.test(k)) ledger.secret(v, k)
  return { emulator, ledger, base, env: {} }
}

/**
 * Runs the action with the world's inputs and `extra` (and `env` beside the world's); its texts and
 * the stack's secrets go into the ledger.
 */
export async function act(
  world: World,
  extra: Record<string, string>,
  label: string,
  env: Record<string, string> = {}
): Promise<ActionRun> {
  await noteSecrets(world)
  const run = await runAction({ ...world.base, ...extra }, { ...world.emulator.env, ...world.env, ...env })
  world.ledger.run(run, label)
  await noteSecrets(world)
  return run
}

/**
 * Starts the action without waiting (to kill it mid-way); call `settle` on what it returns.
 * `opts.env` goes beside the world's environment; `opts.onStdout` sees its output as it comes.
 */
export function actStarted(
  world: World,
  extra: Record<string, string>,
  opts: { env?: Record<string, string>; onStdout?: (chunk: string) => void } = {}
): StartedAction {
  return startAction(
    { ...world.base, ...extra },
    { ...world.emulator.env, ...world.env, ...opts.env },
    opts.onStdout ? { onStdout: opts.onStdout } : {}
  )
}

export async function settle(world: World, started: StartedAction, label: string): Promise<ActionRun> {
  const run = await started.done
  world.ledger.run(run, label)
  await noteSecrets(world)
  return run
}

/** Why a run failed, for a check's detail. */
export function failure(run: ActionRun): string {
  return `exit ${run.exitCode}: ${errorsOf(run) || run.stdout.slice(-1500)}`
}

async function resources(emulator: Emulator): Promise<ResourceView[]> {
  const state = (await emulator.state()) as { resources: Record<string, ResourceView> }
  return Object.values(state.resources)
}

/**
 * Every secret the local Azure holds now (storage keys, app and job secrets, server passwords) into
 * the ledger, and every container's command line and plain environment into its texts: a secret
 * must never travel there.
 */
export async function noteSecrets(world: World): Promise<void> {
  for (const r of await resources(world.emulator)) {
    for (const [name, value] of Object.entries(r.secrets ?? {}))
      world.ledger.secret(value, `${r.type} secret ${name}`)
    const template = (r.body['properties'] as Record<string, unknown> | undefined)?.['template'] as
      | { containers?: { command?: string[]; args?: string[]; env?: { name: string; value?: string }[] }[] }
      | undefined
    for (const c of template?.containers ?? []) {
      const plain = (c.env ?? []).filter((e) => e.value !== undefined).map((e) => `${e.name}=${e.value}`)
      world.ledger.text(
        [...(c.command ?? []), ...(c.args ?? []), ...plain].join(' '),
        `${r.id} command line and env`
      )
    }
  }
}

/** Kinds that come and go by themselves, not by the action's writes. */
const TRANSIENT = /\/(executions|replicas|operationresults|operationstatuses)\b/i

/**
 * The stack as the local Azure holds it: each resource's id (subscription and the global names'
 * suffix taken out, so two local Azures compare) with its type. `revisions: 'by-version'` names a
 * revision by its app and MLflow version only (`<app>--v3-17-2-*`): a revision's suffix carries
 * the run that made it (GITHUB_RUN_ID and attempt), which a rerun changes.
 */
export async function endState(
  emulator: Emulator,
  opts: { revisions?: 'named' | 'by-version' } = {}
): Promise<string[]> {
  const sub = emulator.subscriptionId.toLowerCase()
  const out = (await resources(emulator))
    .filter((r) => !TRANSIENT.test(r.id))
    .map((r) => {
      const id = r.id
        .toLowerCase()
        .replaceAll(sub, 'SUB')
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'GUID')
        // The global names' suffix ends a name, or the first label of the private DNS zone's.
        .replace(/[0-9a-f]{6}(?=$|\/|\.private\.postgres\.)/g, 'HASH')
      return opts.revisions === 'by-version'
        ? id.replace(/(\/revisions\/[^/]+--v\d+-\d+-\d+)-[^/]*$/, '$1-*')
        : id
    })
  return [...new Set(out)].sort()
}

/**
 * Resources that are there twice under different names (role assignments granting one principal one
 * role at one scope), revisions left active beside the one that serves, and job executions still
 * running: what a retried or interrupted write could leave behind.
 */
export async function duplicatesAndOrphans(emulator: Emulator): Promise<string[]> {
  const all = await resources(emulator)
  const problems: string[] = []
  const grants = new Map<string, string[]>()
  for (const r of all.filter((x) => /roleAssignments$/i.test(x.type))) {
    const p = r.body['properties'] as Record<string, string>
    const key = `${p['principalId']}|${p['roleDefinitionId']?.split('/').pop()}|${p['scope']?.toLowerCase()}`
    grants.set(key, [...(grants.get(key) ?? []), r.id])
  }
  for (const ids of grants.values())
    if (ids.length > 1) problems.push(`one grant made ${ids.length} times: ${ids.join(', ')}`)
  for (const app of all.filter((x) => /^Microsoft\.App\/containerApps$/i.test(x.type))) {
    const active = all.filter(
      (r) =>
        r.id.toLowerCase().startsWith(`${app.id.toLowerCase()}/revisions/`) &&
        !TRANSIENT.test(r.id) &&
        (r.body['properties'] as Record<string, unknown>)['active'] === true
    )
    const serving = active.filter(
      (r) => Number((r.body['properties'] as Record<string, unknown>)['trafficWeight']) > 0
    )
    if (active.length > serving.length)
      problems.push(
        `${app.id}: ${active.length - serving.length} active revisions without traffic (` +
          `${active
            .filter((r) => !serving.includes(r))
            .map((r) => r.id.split('/').pop())
            .join(', ')})`
      )
  }
  return problems
}

/** Requests since `from` that wrote (PUT/PATCH/DELETE and acting POSTs). */
export function writesIn(log: RequestRecord[], from = 0): RequestRecord[] {
  return log.slice(from).filter(isWrite)
}

/** What a seeded fault answers (0: the connection was dropped). */
export const FAULT_STATUSES: readonly number[] = [0, 409, 429, 500, 503]

/** Requests since `from` that met a fault: answered 429/503/500/409, or dropped. */
export function faultsIn(log: RequestRecord[], from = 0): RequestRecord[] {
  return log.slice(from).filter((r) => FAULT_STATUSES.includes(r.status))
}

/** The repository and token of the local GitHub `withGitHub` starts. */
export const GITHUB_REPOSITORY = 'acme/models'
export const GITHUB_TOKEN = 'reliability-github-token'

/**
 * A local GitHub for the world's PR environments, with `pulls` open: every later run of the world
 * is a `workflow_dispatch` run of GITHUB_REPOSITORY (a PR run names its PR with `pr-number`).
 */
export async function withGitHub(world: World, pulls: number[]): Promise<FakeGitHub> {
  const github = await startFakeGitHub({
    tokens: { [GITHUB_TOKEN]: 'write' },
    pulls: { [GITHUB_REPOSITORY]: Object.fromEntries(pulls.map((n) => [n, { state: 'open' as const }])) }
  })
  world.github = github
  world.ledger.secret(GITHUB_TOKEN, 'the GitHub token')
  world.base['github-token'] = GITHUB_TOKEN
  Object.assign(world.env, {
    GITHUB_API_URL: github.url,
    GITHUB_REPOSITORY,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_EVENT_NAME: 'workflow_dispatch'
  })
  return github
}

/** The world's PR comments into the ledger's texts (a secret must never be posted). */
export function noteComments(world: World): void {
  const github = world.github
  if (!github) return
  const issues = new Set(
    github.requests
      .map((q) => /\/issues\/(\d+)\/comments/.exec(q.path)?.[1])
      .filter((n): n is string => n !== undefined)
  )
  for (const n of issues)
    for (const c of github.comments(GITHUB_REPOSITORY, Number(n)))
      world.ledger.text(c.body, `PR #${n} comment ${c.id}`)
}

/** Stops the world's local Azure (and GitHub), its comments noted first. */
export async function stopWorld(world: World): Promise<void> {
  noteComments(world)
  await Promise.allSettled([world.github?.close(), world.emulator.stop()])
}

/** GitHub's run id (and attempt) for one run: revision names derive from it, so two worlds compare. */
export function runEnv(runId: number, attempt = 1): Record<string, string> {
  return { GITHUB_RUN_ID: String(runId), GITHUB_RUN_ATTEMPT: String(attempt) }
}

/** The host of an app's URL (a run's `tracking-uri`), for polling it through the ingress. */
export function hostOf(url: string | undefined): string {
  if (!url) throw new Error('the run has no tracking-uri')
  return new URL(url).host
}

/**
 * Waits for the `k`-th write logged since `from` (polling the log every `everyMs`) and calls
 * `onWrite` at once with it; resolves with that write, or undefined when `until` settles first.
 */
export async function onKthWrite(
  emulator: Emulator,
  from: number,
  k: number,
  onWrite: (write: RequestRecord, log: RequestRecord[]) => void,
  opts: { until: Promise<unknown>; everyMs?: number }
): Promise<RequestRecord | undefined> {
  let ended = false
  void opts.until.finally(() => (ended = true))
  for (;;) {
    const wasEnded = ended
    const log = await emulator.requests()
    const writes = writesIn(log, from)
    if (writes.length >= k) {
      onWrite(writes[k - 1]!, log)
      return writes[k - 1]
    }
    if (wasEnded) return undefined
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 20))
  }
}

/** `sorted(a)` vs `sorted(b)`: what only one side has, for a check's detail. */
export function setDifference(a: string[], b: string[]): { onlyA: string[]; onlyB: string[] } {
  const sa = new Set(a)
  const sb = new Set(b)
  return { onlyA: a.filter((x) => !sb.has(x)), onlyB: b.filter((x) => !sa.has(x)) }
}

/** Runs `work` over `items` with at most `limit` at once, results in the items' order. */
export async function inBatches<T, R>(
  items: T[],
  limit: number,
  work: (item: T, i: number) => Promise<R>
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length)
  let next = 0
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await work(items[i]!, i)
    }
  })
  await Promise.all(lanes)
  return results
}
