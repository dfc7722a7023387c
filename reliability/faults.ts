/**
 * The lifecycle of a stack — cold deploy, image bump, key rotation, a PR environment up and down —
 * on a local Azure that throttles, fails, conflicts, fails long-running operations and drops
 * connections at seeded rates, once per seed, against the same lifecycle on a fault-free local
 * Azure: every run must succeed (the action's own retries absorbing the faults; a failed operation
 * is rerun once, as a person would, and counted), and every stack must end where the fault-free
 * one did, with nothing doubled or left over and nothing left to plan.
 */
import type { ActionRun } from '../test/helpers/action.js'
import {
  act,
  duplicatesAndOrphans,
  endState,
  failure,
  faultsIn,
  inBatches,
  NEXT_TAG,
  runEnv,
  setDifference,
  startWorld,
  stopWorld,
  withGitHub,
  writesIn,
  type World
} from './stack.js'
import { reporter, seedFor, type Scenario, type Suite } from './suite.js'

/** The rates of test/integration/faults.test.ts. */
export const FAULTS = '429=0.1,503=0.05,500=0.03,409=0.05,lro-fail=0.02,reset=0.02'
const STACK = 'storm'
const PR = 7
/** Repetitions under faults run this many local Azures at once (the machine has 2 cores). */
const AT_ONCE = 2

interface Step {
  label: string
  inputs: Record<string, string>
  /** GITHUB_RUN_ID: the same in every world, so revision names compare. */
  runId: number
}

/** The lifecycle, in order; the world's `image-tag` moves to NEXT_TAG after the bump. */
const LIFECYCLE: Step[] = [
  { label: 'deploy', inputs: { command: 'deploy' }, runId: 9101 },
  { label: 'bump', inputs: { command: 'deploy', 'image-tag': NEXT_TAG }, runId: 9102 },
  { label: 'rotate-keys', inputs: { command: 'rotate-keys' }, runId: 9103 },
  { label: 'pr-up', inputs: { command: 'pr-up', 'pr-number': String(PR) }, runId: 9104 },
  { label: 'pr-down', inputs: { command: 'pr-down', 'pr-number': String(PR) }, runId: 9105 }
]
const PLAN: Step = { label: 'plan', inputs: { command: 'plan' }, runId: 9106 }

interface RunOutcome {
  label: string
  ok: boolean
  /** 0: succeeded first time; 1: its immediate rerun was needed. */
  reruns: number
  /** Why the first attempt failed (when it did), and why the rerun failed (when it did). */
  why: string[]
  seconds: number
}

interface Lifecycle {
  /** The local Azure's fault seed; undefined for the fault-free reference. */
  seed: number | undefined
  runs: RunOutcome[]
  completed: boolean
  end: string[]
  /** Revisions at the end, each by its own name (a rerun's revision is named for its attempt). */
  revisions: number
  problems: string[]
  /** The `changes` output of the final plan (undefined when it did not run or failed). */
  planChanges: string | undefined
  faults: number
  requests: number
  writes: number
  seconds: number
}

/** One run, and once more at once (GitHub's "re-run failed jobs": attempt 2) when it fails. */
async function runStep(
  world: World,
  step: Step,
  label: string,
  out: RunOutcome[]
): Promise<ActionRun | undefined> {
  const t0 = Date.now()
  const outcome: RunOutcome = { label: step.label, ok: false, reruns: 0, why: [], seconds: 0 }
  out.push(outcome)
  let run = await act(world, step.inputs, `${label} ${step.label}`, runEnv(step.runId))
  if (run.exitCode !== 0) {
    outcome.why.push(failure(run))
    outcome.reruns = 1
    run = await act(world, step.inputs, `${label} ${step.label} (rerun)`, runEnv(step.runId, 2))
    if (run.exitCode !== 0) outcome.why.push(`rerun: ${failure(run)}`)
  }
  outcome.ok = run.exitCode === 0
  outcome.seconds = (Date.now() - t0) / 1000
  return outcome.ok ? run : undefined
}

async function lifecycle(suite: Suite, seed: number | undefined, label: string): Promise<Lifecycle> {
  const t0 = Date.now()
  const world = await startWorld(suite.ledger, STACK, seed === undefined ? {} : { faults: FAULTS, seed })
  const result: Lifecycle = {
    seed,
    runs: [],
    completed: false,
    end: [],
    revisions: 0,
    problems: [],
    planChanges: undefined,
    faults: 0,
    requests: 0,
    writes: 0,
    seconds: 0
  }
  try {
    await withGitHub(world, [PR])
    let completed = true
    for (const step of LIFECYCLE) {
      if (!(await runStep(world, step, label, result.runs))) {
        completed = false
        break
      }
      if (step.label === 'bump') world.base['image-tag'] = NEXT_TAG
    }
    if (completed) {
      const plan = await runStep(world, PLAN, label, result.runs)
      result.planChanges = plan?.outputs['changes']
    }
    result.completed = completed
    result.end = await endState(world.emulator, { revisions: 'by-version' })
    result.revisions = (await endState(world.emulator)).filter((id) => /\/revisions\/[^/]+$/.test(id)).length
    result.problems = await duplicatesAndOrphans(world.emulator)
    const log = await world.emulator.requests()
    result.faults = faultsIn(log).length
    result.requests = log.length
    result.writes = writesIn(log).length
  } finally {
    await stopWorld(world)
  }
  result.seconds = (Date.now() - t0) / 1000
  return result
}

export const faults: Scenario = {
  name: 'faults',
  runtime: 'standin',
  async run(suite) {
    const check = reporter(suite, 'faults')
    const n = suite.options.short ? 2 : 6
    const seeds = Array.from({ length: n }, (_, i) => seedFor(suite.options.seed, `faults/${i + 1}`))
    const rerun = `npm run reliability -- --only faults --seed ${suite.options.seed}${suite.options.short ? ' --short' : ''}`
    const repName = (i: number) => `repetition ${i + 1} (local Azure --faults '${FAULTS}' --seed ${seeds[i]})`

    const all = await inBatches([undefined, ...seeds], AT_ONCE, (seed, i) =>
      lifecycle(suite, seed, i === 0 ? 'faults reference' : `faults rep ${i} seed ${seed}`)
    )
    const reference = all[0]!
    const reps = all.slice(1)
    const steps = LIFECYCLE.length + 1

    check(
      `the lifecycle (deploy, bump ${NEXT_TAG}, rotate-keys, pr-up, pr-down, plan) succeeds on a fault-free local Azure`,
      reference.completed && reference.runs.every((r) => r.ok && r.reruns === 0) && reference.faults === 0,
      `${reference.runs.filter((r) => r.ok && r.reruns === 0).length}/${steps} runs, ${reference.writes} writes, ` +
        `${reference.faults} faults, ${reference.end.length} resources at the end (${reference.seconds.toFixed(0)} s)`,
      reference.runs
        .filter((r) => !r.ok || r.reruns > 0)
        .map((r) => `${r.label}: ${r.why.join('\n')}`)
        .join('\n')
    )

    const total = reps.length * steps
    const succeeded = reps.reduce((s, r) => s + r.runs.filter((x) => x.ok).length, 0)
    const reruns = reps.flatMap((r, i) => r.runs.filter((x) => x.reruns > 0).map((x) => ({ rep: i, run: x })))
    const faultsMet = reps.map((r) => r.faults)
    const unfinished = reps.flatMap((r, i) =>
      r.completed && r.runs.length === steps && r.runs.every((x) => x.ok)
        ? []
        : [
            `${repName(i)}: ${r.runs
              .filter((x) => !x.ok)
              .map((x) => `${x.label} failed twice:\n  ${x.why.join('\n  ')}`)
              .join('\n')}`
          ]
    )
    check(
      `every run succeeds under faults ${FAULTS} (a failed operation rerun once)`,
      unfinished.length === 0 && faultsMet.every((f) => f > 0),
      `${succeeded}/${total} runs succeeded in ${n} repetitions, ${reruns.length} of them only on a rerun; ` +
        `${faultsMet.reduce((a, b) => a + b, 0)} faults met (${faultsMet.join(', ')}) in ` +
        `${reps.reduce((s, r) => s + r.requests, 0)} requests`,
      [
        ...unfinished,
        ...faultsMet.flatMap((f, i) => (f === 0 ? [`${repName(i)} met no fault: it proves nothing`] : [])),
        unfinished.length || faultsMet.includes(0) ? `rerun: ${rerun}` : ''
      ]
        .filter(Boolean)
        .join('\n')
    )
    check(
      "the action's own retries absorb every fault: no run needs a rerun",
      reruns.length === 0,
      `${total - reruns.length}/${total} runs succeeded at the first attempt`,
      reruns.length
        ? [
            ...reruns.map(({ rep, run }) => `${repName(rep)}: ${run.label} failed first:\n  ${run.why[0]}`),
            `rerun: ${rerun}`
          ].join('\n')
        : undefined
    )

    const differing = reps.flatMap((r, i) => {
      const { onlyA, onlyB } = setDifference(r.end, reference.end)
      return onlyA.length || onlyB.length || !r.completed
        ? [
            `${repName(i)}${r.completed ? '' : ' (lifecycle not completed)'}:` +
              onlyA.map((x) => `\n  + ${x}`).join('') +
              onlyB.map((x) => `\n  - ${x}`).join('')
          ]
        : []
    })
    check(
      'each repetition ends in the end state of the fault-free lifecycle',
      differing.length === 0 && reference.completed,
      `${n - differing.length}/${n} equal to the reference (${reference.end.length} resources; ` +
        `revisions ${reps.map((r) => r.revisions).join(', ')} vs ${reference.revisions})`,
      differing.length ? [...differing, `rerun: ${rerun}`].join('\n') : undefined
    )

    const problems = reps.flatMap((r, i) => r.problems.map((p) => `${repName(i)}: ${p}`))
    check(
      'no duplicate or orphaned resource after the lifecycle under faults',
      problems.length === 0,
      `${problems.length} found in ${n} stacks (reference: ${reference.problems.length})`,
      problems.length ? [...problems, `rerun: ${rerun}`].join('\n') : undefined
    )

    const plans = reps.map((r) => r.planChanges)
    check(
      'plan afterwards shows 0 changes',
      plans.every((p) => p === '0') && reference.planChanges === '0',
      `${plans.filter((p) => p === '0').length}/${n} plans with 0 changes (reference: ${reference.planChanges ?? 'no plan'})`,
      plans.some((p) => p !== '0')
        ? [
            ...plans.flatMap((p, i) =>
              p === '0' ? [] : [`${repName(i)}: changes ${p ?? '(plan did not run)'}`]
            ),
            `rerun: ${rerun}`
          ].join('\n')
        : undefined
    )
    const walls = reps.map((r) => r.seconds.toFixed(0)).join(', ')
    console.log(
      `   repetitions took ${walls} s (reference ${reference.seconds.toFixed(0)} s), ${AT_ONCE} at once`
    )
  }
}
