/**
 * One benchmark run: the action's operations on a fresh local Azure, each timed from the moment its
 * process starts to its exit (what a pipeline waits), with the ARM requests each sent.
 */
import { errorsOf, startAction, type ActionRun } from '../test/helpers/action.js'
import { isWrite, startEmulator, type Emulator, type RequestRecord } from '../test/helpers/emulator.js'
import { startFakeGitHub } from '../test/helpers/fakeGitHub.js'
import { stackKeysFor } from '../src/stack/graph.js'

export interface RunFigures {
  coldMs: number
  /** From the process's start to the first ARM request of the cold deploy. */
  startupMs: number
  noopMs: number
  noopReads: number
  noopWrites: number
  /** Reads of secrets Azure keeps out of GET (listKeys, listSecrets, sharedKeys). */
  noopSecretReads: number
  /** Resources the no-op read more than once (GET or list of the same path). */
  noopRereads: number
  /** The resources a no-op deploy looks at: the stack's (access-key mode) and the app's revisions. */
  stackResources: number
  bumpMs: number
  rotationMs: number
  prMs: number
}

const REPO = 'acme/models'
const TOKEN = 'bench-token'
const PR = 7

/**
 * The action's own default poll interval (action.yml), scaled like every Azure duration: the local
 * Azure's ready line suggests ARM's usual 10 s hint instead, but a user who sets nothing polls at
 * the default.
 */
const DEFAULT_POLL_SECONDS = 5

function inputs(run: number, timeScale: number): Record<string, string> {
  return {
    'poll-interval': String(Math.max(0.01, DEFAULT_POLL_SECONDS * timeScale)),
    command: 'deploy',
    'stack-name': `bench${run}`,
    location: 'westeurope',
    'admin-password': `bench-admin-Pa55word-${run}`,
    'image-tag': 'v3.16.1'
  }
}

interface Timed {
  run: ActionRun
  ms: number
  startedAt: number
  requests: RequestRecord[]
}

async function timed(
  emulator: Emulator,
  input: Record<string, string>,
  env: Record<string, string> = {}
): Promise<Timed> {
  const before = (await emulator.requests()).length
  const startedAt = Date.now()
  const run = await startAction(input, { ...emulator.env, ...env }).done
  const ms = Date.now() - startedAt
  if (run.exitCode !== 0) throw new Error(`${input.command} failed (${run.exitCode}):\n${errorsOf(run)}`)
  return { run, ms, startedAt, requests: (await emulator.requests()).slice(before) }
}

const SECRET_READ = /\/(listKeys|listSecrets|sharedKeys)$/i

function rereads(requests: RequestRecord[]): number {
  const seen = new Map<string, number>()
  for (const r of requests.filter((q) => !isWrite(q))) {
    const path = r.path.toLowerCase()
    seen.set(path, (seen.get(path) ?? 0) + 1)
  }
  return [...seen.values()].filter((n) => n > 1).length
}

async function revisionCount(emulator: Emulator): Promise<number> {
  const state = (await emulator.state()) as { resources: Record<string, { type: string }> }
  return Object.values(state.resources).filter((r) =>
    /^Microsoft\.App\/containerApps\/revisions$/i.test(r.type)
  ).length
}

export async function measureRun(
  timeScale: number,
  propagationSeconds: number,
  n: number
): Promise<RunFigures> {
  const github = await startFakeGitHub({
    tokens: { [TOKEN]: 'write' },
    pulls: { [REPO]: { [PR]: { state: 'open' } } }
  })
  const emulator = await startEmulator({ timeScale, propagation: { storageKey: propagationSeconds } })
  try {
    const base = inputs(n, timeScale)
    const cold = await timed(emulator, base)
    const first = cold.requests.find((r) => r.at !== undefined)
    const noop = await timed(emulator, base)
    const stackResources = stackKeysFor('access-key').length + (await revisionCount(emulator))
    const bump = await timed(emulator, { ...base, 'image-tag': 'v3.17.2' })
    const rotation = await timed(emulator, { ...base, 'image-tag': 'v3.17.2', command: 'rotate-keys' })
    const pr = await timed(
      emulator,
      { ...base, 'image-tag': 'v3.17.2', command: 'pr-up', 'pr-number': String(PR), 'github-token': TOKEN },
      {
        GITHUB_API_URL: github.url,
        GITHUB_REPOSITORY: REPO,
        GITHUB_RUN_ID: '1',
        GITHUB_EVENT_NAME: 'workflow_dispatch'
      }
    )
    return {
      coldMs: cold.ms,
      startupMs: (first?.at ?? cold.startedAt) - cold.startedAt,
      noopMs: noop.ms,
      noopReads: noop.requests.filter((r) => !isWrite(r)).length,
      noopWrites: noop.requests.filter(isWrite).length,
      noopSecretReads: noop.requests.filter((r) => SECRET_READ.test(r.path)).length,
      noopRereads: rereads(noop.requests),
      stackResources,
      bumpMs: bump.ms,
      rotationMs: rotation.ms,
      prMs: pr.ms
    }
  } finally {
    await Promise.all([emulator.stop(), github.close()])
  }
}

/** The same cold deploy with one write at a time. */
export async function measureSerial(timeScale: number, n: number): Promise<number> {
  const emulator = await startEmulator({ timeScale })
  try {
    return (await timed(emulator, { ...inputs(n, timeScale), parallelism: '1' })).ms
  } finally {
    await emulator.stop()
  }
}
