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

/** Runs the action with the world's inputs and `extra`; its texts and the stack's secrets go into the ledger. */
export async function act(world: World, extra: Record<string, string>, label: string): Promise<ActionRun> {
  await noteSecrets(world)
  const run = await runAction({ ...world.base, ...extra }, { ...world.emulator.env, ...world.env })
  world.ledger.run(run, label)
  await noteSecrets(world)
  return run
}

/** Starts the action without waiting (to kill it mid-way); call `settle` on what it returns. */
export function actStarted(world: World, extra: Record<string, string>): StartedAction {
  return startAction({ ...world.base, ...extra }, { ...world.emulator.env, ...world.env })
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
 * suffix taken out, so two local Azures compare) with its type.
 */
export async function endState(emulator: Emulator): Promise<string[]> {
  const sub = emulator.subscriptionId.toLowerCase()
  const out = (await resources(emulator))
    .filter((r) => !TRANSIENT.test(r.id))
    .map((r) =>
      r.id
        .toLowerCase()
        .replaceAll(sub, 'SUB')
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'GUID')
        .replace(/[0-9a-f]{6}(?=$|\/)/g, 'HASH')
    )
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
      problems.push(`${app.id}: ${active.length - serving.length} active revisions without traffic`)
  }
  return problems
}

/** Requests since `from` that wrote (PUT/PATCH/DELETE and acting POSTs). */
export function writesIn(log: RequestRecord[], from = 0): RequestRecord[] {
  return log.slice(from).filter(isWrite)
}
