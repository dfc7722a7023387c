/**
 * Overlapping runs on one stack take turns on the stack's lock (a lease on a blob in its storage
 * account): on a deployed stack a deploy that raises `replicas`, a bump to NEXT_TAG, a `pr-up` and
 * a `rotate-keys` start together; all succeed, their writes never interleave, and the stack ends
 * with all four effects. A run with a short `lock-timeout` while another holds the lock fails
 * naming the lock and `lock-timeout`, before any write.
 *
 * The deploy and the bump carry the same inputs (replicas 2 at NEXT_TAG: the repository's inputs
 * after the merge both workflows run from), so either order converges; an older deploy after a
 * newer one would be refused as a downgrade. rotate-keys must carry the inputs of the stack it
 * rotates (it refuses to ride along other changes), so it starts as soon as the deploy or the bump
 * holds the lock: it still overlaps both and the pr-up, and queues behind the holder.
 */
import { errorsOf, type ActionRun, type StartedAction } from '../test/helpers/action.js'
import type { Emulator } from '../test/helpers/emulator.js'
import { send } from '../test/helpers/ingress.js'
import {
  act,
  actStarted,
  failure,
  FIRST_TAG,
  hostOf,
  NEXT_TAG,
  runEnv,
  settle,
  startWorld,
  stopWorld,
  withGitHub,
  writesIn,
  GITHUB_REPOSITORY,
  type World
} from './stack.js'
import { reporter, type Scenario } from './suite.js'

const STACK = 'queue'
const PR = 7
const FINAL = { replicas: '2', 'image-tag': NEXT_TAG }
const LONG = { 'lock-timeout': '600' }
/** What the run waiting with a short lock-timeout waits, in seconds. */
const SHORT_TIMEOUT = 2

interface Timed {
  label: string
  command: string
  runId: number
  started: StartedAction
  startAt: number
  lines: { at: number; text: string }[]
  exitAt?: number
  run?: ActionRun
  done: Promise<ActionRun>
}

/** Starts a run whose every stdout line is stamped with the time it arrived. */
function startTimed(
  world: World,
  label: string,
  inputs: Record<string, string>,
  runId: number,
  onLine: (t: Timed, text: string) => void = () => {}
): Timed {
  let buffer = ''
  const timed = { label, command: inputs['command'] ?? 'deploy', runId, lines: [] } as unknown as Timed
  timed.startAt = Date.now()
  timed.started = actStarted(world, inputs, {
    env: runEnv(runId),
    onStdout: (chunk) => {
      const at = Date.now()
      buffer += chunk
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const text = buffer.slice(0, i)
        buffer = buffer.slice(i + 1)
        timed.lines.push({ at, text })
        onLine(timed, text)
      }
    }
  })
  timed.done = timed.started.done
    .then(() => (timed.exitAt = Date.now()))
    .then(() => settle(world, timed.started, label))
    .then((run) => (timed.run = run))
  return timed
}

const TAKEN = new RegExp(`^Lock of stack ${STACK} taken`)
const WAITING = new RegExp(`^Stack ${STACK} is locked by .*: waiting`)
const takenAt = (t: Timed): number[] => t.lines.filter((l) => TAKEN.test(l.text)).map((l) => l.at)

/**
 * The time each request arrived: the local Azure's own `at` where it logs one, else when a poll
 * (every 25 ms) first saw it.
 */
function stampRequests(emulator: Emulator): {
  stop(): Promise<{ method: string; path: string; status: number; at: number }[]>
} {
  const seen: number[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      const log = await emulator.requests()
      const now = Date.now()
      while (seen.length < log.length) seen.push(now)
      await new Promise((r) => setTimeout(r, 25))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      const log = await emulator.requests()
      const now = Date.now()
      return log.map((r, i) => ({ ...r, at: r.at ?? seen[i] ?? now }))
    }
  }
}

type WriteKind = 'pr' | 'rotation' | 'migration' | 'base app' | 'other'

function kindOf(path: string): WriteKind {
  const p = path.toLowerCase()
  if (/pr_?7\b|pr7[-_/]|pr7$/.test(p)) return 'pr'
  if (/\/regeneratekey$/.test(p)) return 'rotation'
  if (new RegExp(`/jobs/${STACK}-migrate/start$`).test(p)) return 'migration'
  if (new RegExp(`/containerapps/${STACK}-mlflow(/|$)`).test(p)) return 'base app'
  return 'other'
}

/** Which writes each command may make: a write its window's holder would not make is another run's. */
const ALLOWED: Record<string, WriteKind[]> = {
  deploy: ['migration', 'base app', 'other'],
  'rotate-keys': ['rotation', 'base app', 'other'],
  'pr-up': ['pr']
}

interface AppView {
  secrets: Record<string, string>
  body: {
    properties: {
      template: { scale?: { minReplicas?: number; maxReplicas?: number }; containers: { image: string }[] }
      configuration: { ingress?: { traffic?: { revisionName?: string; weight?: number }[] } }
    }
  }
}

async function stackView(emulator: Emulator) {
  const state = (await emulator.state()) as {
    resources: Record<string, AppView & { id: string; type: string }>
  }
  const all = Object.values(state.resources)
  const app = all.find((r) => new RegExp(`/containerApps/${STACK}-mlflow$`, 'i').test(r.id))
  const account = all.find((r) => /^Microsoft\.Storage\/storageAccounts$/i.test(r.type))
  const serving = app?.body.properties.configuration.ingress?.traffic?.find(
    (t) => t.weight === 100
  )?.revisionName
  const revision = all.find(
    (r) => serving && r.id.toLowerCase().endsWith(`/revisions/${serving.toLowerCase()}`)
  )
  return {
    app,
    scale: app?.body.properties.template.scale,
    appKey: app?.secrets['storage-access-key'],
    accountKeys: Object.values(account?.secrets ?? {}),
    serving,
    servingImage: (revision?.body.properties.template as { containers?: { image: string }[] } | undefined)
      ?.containers?.[0]?.image,
    apps: all
      .filter((r) => /^Microsoft\.App\/containerApps$/i.test(r.type))
      .map((r) => r.id.split('/').pop()!)
  }
}

export const concurrency: Scenario = {
  name: 'concurrency',
  runtime: 'standin',
  async run(suite) {
    const check = reporter(suite, 'concurrency')
    const rerun = `npm run reliability -- --only concurrency --seed ${suite.options.seed}`
    // A PR environment fits beside the base at 2 replicas only on a server with room for both
    // (Standard_B1ms: 35 user connections, the base at 2 replicas takes 24 of them).
    const world = await startWorld(suite.ledger, STACK, {}, { 'postgres-sku': 'Standard_B2s' })
    try {
      const github = await withGitHub(world, [PR])
      const first = await act(world, { command: 'deploy' }, 'concurrency first deploy', runEnv(9400))
      if (first.exitCode !== 0) {
        check('the stack deploys', false, 'first deploy failed', failure(first))
        return
      }
      const before = await stackView(world.emulator)
      const fqdn = hostOf(first.outputs['tracking-uri'])
      const from = (await world.emulator.requests()).length
      const stamps = stampRequests(world.emulator)

      // The first run to take the lock is paused (SIGSTOP, a runner gone slow) while a run with a
      // short lock-timeout tries the stack; rotate-keys starts once the deploy or the bump holds it.
      const runs: Timed[] = []
      let firstTaker: Timed | undefined
      let rotation: Timed | undefined
      let shortRun: Promise<{ run: Timed; from: number; to: number }> | undefined
      const onLine = (t: Timed, text: string): void => {
        if (!TAKEN.test(text)) return
        if (!firstTaker) {
          firstTaker = t
          if (t.started.pid) process.kill(t.started.pid, 'SIGSTOP')
          shortRun = (async () => {
            try {
              // The holder printed that it took the lock and is stopped: the lease is held now.
              const at = (await world.emulator.requests()).length
              const s = startTimed(
                world,
                'concurrency short lock-timeout',
                { command: 'deploy', ...FINAL, 'lock-timeout': String(SHORT_TIMEOUT) },
                9415
              )
              await s.done
              const to = (await world.emulator.requests()).length
              return { run: s, from: at, to }
            } finally {
              if (t.started.pid) process.kill(t.started.pid, 'SIGCONT')
            }
          })()
        }
        if (!rotation && t.command === 'deploy') {
          rotation = startTimed(
            world,
            'concurrency rotate-keys',
            { command: 'rotate-keys', ...FINAL, ...LONG },
            9414,
            onLine
          )
          runs.push(rotation)
        }
      }
      runs.push(
        startTimed(
          world,
          'concurrency deploy replicas 2',
          { command: 'deploy', ...FINAL, ...LONG },
          9411,
          onLine
        ),
        startTimed(
          world,
          `concurrency bump ${NEXT_TAG}`,
          { command: 'deploy', ...FINAL, ...LONG },
          9412,
          onLine
        ),
        startTimed(
          world,
          `concurrency pr-up #${PR}`,
          { command: 'pr-up', 'pr-number': String(PR), ...FINAL, ...LONG },
          9413,
          onLine
        )
      )
      const names: Record<number, string> = {
        9411: 'deploy (replicas 2)',
        9412: `bump ${FIRST_TAG}→${NEXT_TAG}`,
        9413: `pr-up #${PR}`,
        9414: 'rotate-keys',
        9415: 'short lock-timeout deploy'
      }
      // Wait for the three, then for the rotation they started (and the short run).
      await Promise.all(runs.map((r) => r.done))
      while (runs.some((r) => !r.run)) await Promise.all(runs.map((r) => r.done))
      const short = shortRun ? await shortRun : undefined
      const log = await stamps.stop()

      const ok = (t: Timed) => t.run?.exitCode === 0
      check(
        'four runs started together on one stack all succeed',
        runs.length === 4 && runs.every(ok),
        `${runs.filter(ok).length}/4 succeeded (${runs.map((r) => names[r.runId]).join(', ')}); ` +
          `${runs.filter((r) => r.lines.some((l) => WAITING.test(l.text))).length} waited for the lock`,
        runs
          .filter((r) => !ok(r))
          .map((r) => `${names[r.runId]}: ${r.run ? failure(r.run) : 'did not run'}`)
          .concat(runs.length < 4 ? ['rotate-keys never started: no deploy took the lock'] : [])
          .join('\n') || undefined
      )

      // Serialized: each took the lock once; every write lies in the window of the run that held it.
      const takers = runs
        .map((r) => ({ r, at: takenAt(r) }))
        .filter((x) => x.at.length > 0)
        .sort((a, b) => a.at[0]! - b.at[0]!)
      const windows = takers.map((x, i) => ({
        r: x.r,
        from: x.at[0]!,
        to: takers[i + 1]?.at[0] ?? Number.POSITIVE_INFINITY
      }))
      const writes = writesIn(log, from) as (typeof log)[number][]
      const misplaced: string[] = []
      const perRun = new Map<Timed, number>()
      for (const w of writes) {
        const holder = windows.find((x) => w.at >= x.from && w.at < x.to)
        const kind = kindOf(w.path)
        if (!holder) {
          misplaced.push(
            `${w.method} ${w.path} (${kind}) at +${w.at - windows[0]!.from} ms: no run held the lock`
          )
          continue
        }
        perRun.set(holder.r, (perRun.get(holder.r) ?? 0) + 1)
        if (!ALLOWED[holder.r.command]?.includes(kind))
          misplaced.push(
            `${w.method} ${w.path} (${kind}) at +${w.at - windows[0]!.from} ms, in the window of ${names[holder.r.runId]}`
          )
      }
      const lastWriteGap = windows.slice(0, -1).map((x) => {
        const own = writes.filter((w) => w.at >= x.from && w.at < x.to)
        return x.to - (own.length ? own[own.length - 1]!.at : x.from)
      })
      const tookOnce = runs.every((r) => takenAt(r).length === 1)
      const t0 = windows[0]?.from ?? 0
      check(
        'the lock is held by one run at a time: their writes never interleave',
        tookOnce && takers.length === runs.length && misplaced.length === 0 && writes.length > 0,
        `${takers.length} runs took the lock in turn (` +
          windows
            .map(
              (x) =>
                `${names[x.r.runId]} +${((x.from - t0) / 1000).toFixed(1)} s: ${perRun.get(x.r) ?? 0} writes`
            )
            .join(', ') +
          `); ${misplaced.length} of ${writes.length} writes outside their holder's window; ` +
          `shortest handover ${lastWriteGap.length ? Math.min(...lastWriteGap) : 0} ms from a holder's last write to the next taking the lock`,
        misplaced.length || !tookOnce || takers.length !== runs.length
          ? [
              ...misplaced.slice(0, 20),
              ...runs
                .filter((r) => takenAt(r).length !== 1)
                .map(
                  (r) => `${names[r.runId]} logged "Lock of stack ${STACK} taken" ${takenAt(r).length} times`
                ),
              `rerun: ${rerun}`
            ].join('\n')
          : undefined
      )

      // All four effects.
      const after = await stackView(world.emulator)
      const info = await world.emulator.runtimeInfo()
      const version = await send(world.emulator, info.ingress, fqdn, '/version').catch((e: unknown) => ({
        status: 0,
        text: String(e)
      }))
      const pr = runs.find((r) => r.runId === 9413)?.run
      const prApp = pr?.outputs['app-name']
      const comments = github.comments(GITHUB_REPOSITORY, PR)
      const plan = await act(world, { command: 'plan', ...FINAL }, 'concurrency plan', runEnv(9416))
      const effects = {
        replicas: after.scale?.minReplicas === 2 && after.scale?.maxReplicas === 2,
        image:
          after.servingImage === `ghcr.io/mlflow/mlflow:${NEXT_TAG}-full` &&
          version.text.trim() === NEXT_TAG.slice(1),
        key:
          after.appKey !== undefined &&
          after.appKey !== before.appKey &&
          after.accountKeys.includes(after.appKey) &&
          !after.accountKeys.includes(before.appKey ?? ''),
        pr:
          prApp !== undefined &&
          after.apps.includes(prApp) &&
          pr?.outputs['smoke-result'] === 'passed' &&
          comments.length === 1
      }
      check(
        'the stack ends with all four effects',
        Object.values(effects).every(Boolean) && plan.exitCode === 0 && plan.outputs['changes'] === '0',
        `replicas ${before.scale?.maxReplicas}→${after.scale?.maxReplicas}; ${after.serving} serves ` +
          `${after.servingImage?.split(':')[1]} (/version ${version.status} ${version.text.trim().slice(0, 20)}); ` +
          `storage key ${effects.key ? 'rotated (the old one retired)' : 'NOT rotated'}; ` +
          `${prApp ?? 'no PR app'} ${effects.pr ? 'up, smoke test passed, 1 comment' : 'NOT up'}; ` +
          `plan afterwards: ${plan.outputs['changes'] ?? 'failed'} changes`,
        Object.values(effects).every(Boolean) && plan.outputs['changes'] === '0'
          ? undefined
          : `${JSON.stringify(effects)}${plan.exitCode === 0 ? '' : `\nplan: ${failure(plan)}`}\nrerun: ${rerun}`
      )

      // The short lock-timeout.
      const s = short?.run
      const message = s?.run ? errorsOf(s.run) : ''
      const shortWrites = short ? writesIn(log.slice(short.from, short.to)).length : -1
      const holderRun = firstTaker ? `runs/${firstTaker.runId}` : '(none)'
      const waited = s?.exitAt !== undefined ? (s.exitAt - s.startAt) / 1000 : NaN
      check(
        `a run with lock-timeout ${SHORT_TIMEOUT} while another holds the lock fails naming the lock and lock-timeout, before any write`,
        s?.run !== undefined &&
          s.run.exitCode !== 0 &&
          /lock/i.test(message) &&
          /lock-timeout/.test(message) &&
          message.includes(holderRun) &&
          shortWrites === 0,
        s?.run
          ? `exit ${s.run.exitCode} after ${waited.toFixed(1)} s, ${shortWrites} writes meanwhile: "${message.split('\n')[0]?.slice(0, 220)}"`
          : 'no run with a short lock-timeout was started (no run took the lock)',
        s?.run &&
          (s.run.exitCode === 0 ||
            !/lock-timeout/.test(message) ||
            !message.includes(holderRun) ||
            shortWrites !== 0)
          ? `holder: ${firstTaker ? names[firstTaker.runId] : '?'} (${holderRun})\n${s.run.exitCode === 0 ? 'it succeeded' : message}\nrerun: ${rerun}`
          : undefined
      )
    } finally {
      await stopWorld(world)
    }
  }
}
