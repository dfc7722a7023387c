/**
 * A run killed at a seeded random point — after the k-th write the local Azure received from it,
 * k drawn between 1 and the writes an uninterrupted run makes — as a cancelled workflow or a lost
 * runner kills it: at once, no clean-up, its lease left on the stack's lock. The rerun of the same
 * operation must succeed and converge to where the uninterrupted run ends (nothing doubled or left
 * active, nothing left to plan), and through a killed bump or rotation and its rerun MLflow must
 * keep answering.
 */
import { whilePolling } from '../test/helpers/ingress.js'
import {
  act,
  actStarted,
  duplicatesAndOrphans,
  endState,
  failure,
  hostOf,
  inBatches,
  NEXT_TAG,
  onKthWrite,
  runEnv,
  setDifference,
  settle,
  startWorld,
  stopWorld,
  writesIn,
  type World
} from './stack.js'
import { random, reporter, seedFor, type Scenario, type Suite } from './suite.js'

const STACK = 'phoenix'
/** Worlds (one kill per operation each) running at once: most of a resume is waiting out a lease. */
const AT_ONCE = 3

type OpName = 'deploy' | 'bump' | 'rotate-keys'

interface Op {
  name: OpName
  inputs: Record<string, string>
  /** GITHUB_RUN_ID of the run (its rerun is attempt 2), the same in every world. */
  runId: number
  /** The inputs of the plan that follows it. */
  plan: Record<string, string>
  /** MLflow serves throughout: it is polled across the kill and the rerun. */
  polled: boolean
}

const OPS: Op[] = [
  { name: 'deploy', inputs: { command: 'deploy' }, runId: 9201, plan: { command: 'plan' }, polled: false },
  {
    name: 'bump',
    inputs: { command: 'deploy', 'image-tag': NEXT_TAG },
    runId: 9202,
    plan: { command: 'plan', 'image-tag': NEXT_TAG },
    polled: true
  },
  {
    name: 'rotate-keys',
    inputs: { command: 'rotate-keys', 'image-tag': NEXT_TAG },
    runId: 9203,
    plan: { command: 'plan', 'image-tag': NEXT_TAG },
    polled: true
  }
]

interface Reference {
  ok: boolean
  why: string[]
  /** Per operation: the writes its uninterrupted run made, and the stack after it. */
  writes: Partial<Record<OpName, number>>
  end: Partial<Record<OpName, string[]>>
  /** Revisions the stack has after it (named: each run's revision has its own name). */
  revisions: Partial<Record<OpName, number>>
}

interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

interface Kill {
  world: number
  seed: number
  op: OpName
  k: number
  of: number
  /** The run was killed (false: it ended before its k-th write). */
  killed: boolean
  /** Writes of the killed run that reached the local Azure (k, plus what left before the kill landed). */
  reached: number
  resumed: boolean
  why?: string
  /** The rerun waited for the killed run's lease. */
  waitedForLease: boolean
  rerunSeconds: number
  endDiff: { onlyHere: string[]; onlyReference: string[] } | undefined
  planChanges: string | undefined
  problems: string[]
  /** Revisions the stack has after the resume. */
  revisions: number
  polled?: { sent: number; failed: string[] }
}

async function revisionCount(emulator: World['emulator']): Promise<number> {
  return (await endState(emulator)).filter((id) => /\/revisions\/[^/]+$/.test(id)).length
}

/** Kills the operation after its k-th write, then reruns it (attempt 2) and looks at the stack. */
async function killAndResume(
  world: World,
  op: Op,
  k: number,
  label: string
): Promise<
  Pick<Kill, 'killed' | 'reached' | 'resumed' | 'why' | 'waitedForLease' | 'rerunSeconds'> & {
    trackingUri?: string
  }
> {
  const from = (await world.emulator.requests()).length
  const started = actStarted(world, op.inputs, { env: runEnv(op.runId) })
  const hit = await onKthWrite(world.emulator, from, k, () => started.kill(), {
    until: started.done,
    everyMs: 15
  })
  await settle(world, started, `${label} (killed after write ${k})`)
  const reached = writesIn(await world.emulator.requests(), from).length
  const t0 = Date.now()
  const rerun = await act(world, op.inputs, `${label} rerun`, runEnv(op.runId, 2))
  return {
    killed: hit !== undefined,
    reached,
    resumed: rerun.exitCode === 0,
    ...(rerun.exitCode === 0 ? {} : { why: failure(rerun) }),
    waitedForLease: / is locked by /.test(rerun.stdout),
    rerunSeconds: (Date.now() - t0) / 1000,
    ...(rerun.outputs['tracking-uri'] ? { trackingUri: rerun.outputs['tracking-uri'] } : {})
  }
}

async function reference(
  suite: Suite,
  writes: Record<OpName, Deferred<number | undefined>>
): Promise<Reference> {
  const world = await startWorld(suite.ledger, STACK)
  const ref: Reference = { ok: true, why: [], writes: {}, end: {}, revisions: {} }
  try {
    for (const op of OPS) {
      const from = (await world.emulator.requests()).length
      const run = await act(world, op.inputs, `crashResume reference ${op.name}`, runEnv(op.runId))
      if (run.exitCode !== 0) {
        ref.ok = false
        ref.why.push(`${op.name}: ${failure(run)}`)
        break
      }
      ref.writes[op.name] = writesIn(await world.emulator.requests(), from).length
      ref.end[op.name] = await endState(world.emulator, { revisions: 'by-version' })
      ref.revisions[op.name] = await revisionCount(world.emulator)
      writes[op.name].resolve(ref.writes[op.name])
    }
  } finally {
    for (const op of OPS) writes[op.name].resolve(undefined)
    await stopWorld(world)
  }
  return ref
}

async function killedWorld(
  suite: Suite,
  j: number,
  writes: Record<OpName, Deferred<number | undefined>>,
  refEnd: Promise<Reference>
): Promise<Kill[]> {
  const seed = seedFor(suite.options.seed, `crashResume/${j}`)
  const draw = random(seed)
  const fractions = OPS.map(() => draw())
  const world = await startWorld(suite.ledger, STACK)
  const kills: Kill[] = []
  let fqdn: string | undefined
  try {
    for (const [i, op] of OPS.entries()) {
      const of = await writes[op.name].promise
      if (of === undefined) break
      const k = 1 + Math.floor(fractions[i]! * of)
      const label = `crashResume world ${j} ${op.name}`
      const prior = await duplicatesAndOrphans(world.emulator)
      const work = () => killAndResume(world, op, k, label)
      let polled: Kill['polled']
      let outcome: Awaited<ReturnType<typeof killAndResume>>
      if (op.polled && fqdn) {
        const r = await whilePolling(world.emulator, fqdn, '/health', work, { maxMs: 600_000 })
        outcome = r.result
        polled = { sent: r.sent, failed: r.failed }
      } else outcome = await work()
      const { trackingUri, ...rest } = outcome
      const kill: Kill = {
        world: j,
        seed,
        op: op.name,
        k,
        of,
        ...rest,
        endDiff: undefined,
        planChanges: undefined,
        problems: [],
        revisions: 0,
        ...(polled ? { polled } : {})
      }
      kills.push(kill)
      if (!outcome.resumed) break
      if (op.name === 'deploy' && trackingUri) fqdn = hostOf(trackingUri)
      const plan = await act(world, op.plan, `${label} plan`, runEnv(op.runId + 50))
      kill.planChanges = plan.exitCode === 0 ? plan.outputs['changes'] : `plan failed: ${failure(plan)}`
      const end = await endState(world.emulator, { revisions: 'by-version' })
      kill.revisions = await revisionCount(world.emulator)
      const { onlyA, onlyB } = setDifference(end, (await refEnd).end[op.name] ?? [])
      kill.endDiff = { onlyHere: onlyA, onlyReference: onlyB }
      kill.problems = (await duplicatesAndOrphans(world.emulator)).map((p) =>
        prior.includes(p) ? `${p} (left by an earlier stage, still there)` : p
      )
      if (op.name === 'bump') world.base['image-tag'] = NEXT_TAG
    }
  } finally {
    await stopWorld(world)
  }
  return kills
}

export const crashResume: Scenario = {
  name: 'crashResume',
  runtime: 'standin',
  async run(suite) {
    const check = reporter(suite, 'crashResume')
    const n = suite.options.short ? 2 : 5
    const rerun = `npm run reliability -- --only crashResume --seed ${suite.options.seed}${suite.options.short ? ' --short' : ''}`
    const writes = {
      deploy: deferred<number | undefined>(),
      bump: deferred<number | undefined>(),
      'rotate-keys': deferred<number | undefined>()
    }
    const ref = reference(suite, writes)
    const worlds = await inBatches(
      Array.from({ length: n }, (_, i) => i + 1),
      AT_ONCE,
      (j) => killedWorld(suite, j, writes, ref)
    )
    const reference_ = await ref
    const kills = worlds.flat()
    const expected = n * OPS.length
    const where = (x: Kill) =>
      `world ${x.world} (seed ${x.seed}): ${x.op} killed after write ${x.k}/${x.of}` +
      (x.killed ? ` (${x.reached} of its writes reached Azure)` : ' (it ended before that write)')

    check(
      'the uninterrupted deploy, bump and rotate-keys succeed (the kill points are drawn from their writes)',
      reference_.ok,
      OPS.map((op) => `${op.name} ${reference_.writes[op.name] ?? '?'} writes`).join(', '),
      reference_.why.join('\n') || undefined
    )

    const resumed = kills.filter((x) => x.resumed)
    const notResumed = kills.filter((x) => !x.resumed)
    const perOp = OPS.map(
      (op) =>
        `${op.name} at ${kills
          .filter((x) => x.op === op.name)
          .map((x) => x.k)
          .join(',')} of ${reference_.writes[op.name] ?? '?'}`
    ).join('; ')
    const unkilled = kills.filter((x) => !x.killed).length
    const waited = kills.filter((x) => x.waitedForLease)
    check(
      'a rerun after a kill at a random write succeeds',
      notResumed.length === 0 && kills.length === expected,
      `${resumed.length}/${expected} kills resumed (${perOp})` +
        (unkilled ? `, ${unkilled} runs ended before their kill point` : '') +
        `; ${waited.length} reruns waited out the killed run's lease, longest rerun ${Math.max(0, ...kills.map((x) => x.rerunSeconds)).toFixed(0)} s`,
      notResumed.length || kills.length < expected
        ? [
            ...notResumed.map((x) => `${where(x)}: rerun ${x.why}`),
            kills.length < expected
              ? `${expected - kills.length} kill points not reached (an earlier stage failed)`
              : '',
            `rerun: ${rerun}`
          ]
            .filter(Boolean)
            .join('\n')
        : undefined
    )

    // Each stage's new revisions beyond the reference's (a world's count is cumulative).
    const extraRevisions = worlds.reduce((sum, w) => {
      const last = w.filter((x) => x.resumed).at(-1)
      return sum + (last ? last.revisions - (reference_.revisions[last.op] ?? 0) : 0)
    }, 0)
    const diverged = resumed.filter(
      (x) => !x.endDiff || x.endDiff.onlyHere.length > 0 || x.endDiff.onlyReference.length > 0
    )
    check(
      'each resumed stack ends where the uninterrupted run ends',
      diverged.length === 0 && resumed.length === expected,
      `${resumed.length - diverged.length}/${expected} equal (revisions compared by version; ` +
        `${extraRevisions} revisions more than the uninterrupted runs made, left by killed attempts)`,
      diverged.length
        ? [
            ...diverged.map(
              (x) =>
                `${where(x)}:` +
                (x.endDiff?.onlyHere.map((id) => `\n  + ${id}`).join('') ?? '') +
                (x.endDiff?.onlyReference.map((id) => `\n  - ${id}`).join('') ?? '')
            ),
            `rerun: ${rerun}`
          ].join('\n')
        : undefined
    )

    const planned = resumed.filter((x) => x.planChanges !== '0')
    check(
      'plan after each resume shows 0 changes',
      planned.length === 0 && resumed.length === expected,
      `${resumed.length - planned.length}/${expected} plans with 0 changes`,
      planned.length
        ? [...planned.map((x) => `${where(x)}: changes ${x.planChanges}`), `rerun: ${rerun}`].join('\n')
        : undefined
    )

    const problems = resumed.flatMap((x) => x.problems.map((p) => `${where(x)}: ${p}`))
    check(
      'no duplicate or orphaned resource after a resume',
      problems.length === 0,
      `${problems.length} found after ${resumed.length} resumes`,
      problems.length ? [...problems, `rerun: ${rerun}`].join('\n') : undefined
    )

    const polled = kills.filter((x) => x.polled)
    const sent = polled.reduce((s, x) => s + (x.polled?.sent ?? 0), 0)
    const failed = polled.flatMap((x) => (x.polled?.failed ?? []).map((f) => ({ x, f })))
    const expectedPolled = n * OPS.filter((o) => o.polled).length
    check(
      'MLflow keeps answering /health through a killed bump or rotation and its rerun',
      failed.length === 0 && polled.length === expectedPolled && sent > 0,
      `${failed.length} of ${sent} health requests failed across ${polled.length} kills`,
      failed.length || polled.length < expectedPolled
        ? [
            ...failed.slice(0, 20).map(({ x, f }) => `${where(x)}: ${f}`),
            polled.length < expectedPolled ? `${expectedPolled - polled.length} kills not polled` : '',
            `rerun: ${rerun}`
          ]
            .filter(Boolean)
            .join('\n')
        : undefined
    )
  }
}
