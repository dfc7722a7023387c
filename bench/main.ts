/**
 * `npm run bench [-- --runs N] [-- --time-scale X] [-- --short]`: how long the pipeline waits,
 * against the local Azure with its realistic latency model scaled by X (stand-in runtime).
 *
 * Each run is a fresh local Azure on which the action does, in order: a cold deploy, a no-op
 * deploy, an image bump, a key rotation and a PR environment; and a second fresh local Azure for the
 * same cold deploy with parallelism 1 (one write at a time, as a portal guide goes). Every figure is
 * the median over the runs, printed beside its target; the script exits 1 when a target is missed.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { REALISTIC_SECONDS } from '../emulator/latency.js'
import { ROOT } from '../test/helpers/root.js'
import {
  coldDeploy,
  criticalPath,
  imageBump,
  keyRotation,
  prEnvironment,
  serialSeconds
} from './criticalPath.js'
import { measureRun, measureSerial, type RunFigures } from './measure.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    'time-scale': { type: 'string' },
    short: { type: 'boolean', default: false }
  }
})
const short = values.short
const runs = Number(values.runs ?? (short ? 2 : 5))
const timeScale = Number(values['time-scale'] ?? '0.05')
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: '${values.runs}' is not a whole number ≥ 1`)
if (!(timeScale > 0 && timeScale <= 1))
  throw new Error(`--time-scale: '${values['time-scale']}' is not in (0, 1]`)

/** A regenerated key's while, fixed so the bound and the run wait the same (realistic seconds). */
const PROPAGATION_SECONDS = 10

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const bounds = {
  cold: criticalPath(coldDeploy()),
  bump: criticalPath(imageBump()),
  rotation: criticalPath(keyRotation(PROPAGATION_SECONDS)),
  pr: criticalPath(prEnvironment())
}
const scaledMs = (seconds: number): number => seconds * 1000 * timeScale

console.log(
  `benchmark: ${runs} runs, time scale ${timeScale} (1 realistic second = ${scaledMs(1).toFixed(0)} ms), stand-in runtime`
)
for (const [name, b] of Object.entries(bounds))
  console.log(`  lower bound ${name}: ${b.seconds} s realistic (${b.path.join(' → ')})`)

const samples: RunFigures[] = []
const serial: number[] = []
for (let i = 0; i < runs; i++) {
  const t0 = Date.now()
  // One at a time: parallel runs would share the machine's two cores and measure each other.
  samples.push(await measureRun(timeScale, PROPAGATION_SECONDS, i))
  if (!short) serial.push(await measureSerial(timeScale, i))
  console.log(`  run ${i + 1}/${runs} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}

interface Row {
  figure: string
  value: string
  target: string
  ok: boolean
}
const rows: Row[] = []
/**
 * A timing target, and the looser guard the short run holds it to: CI's short run shares a machine
 * of unknown load with nothing to average over, so there it catches a regression (a step serialized
 * again, a poll gone slow), not a few per cent; the published figures come from the full run.
 */
const timing = (full: number): number => (short ? full * SHORT_SLACK : full)
const SHORT_SLACK = 1.25
const ratioRow = (figure: string, wallMs: number[], boundSeconds: number, fullTarget: number): void => {
  const target = timing(fullTarget)
  const ratio = median(wallMs) / scaledMs(boundSeconds)
  rows.push({
    figure,
    value: `${ratio.toFixed(3)} (${(median(wallMs) / 1000).toFixed(2)} s / ${(scaledMs(boundSeconds) / 1000).toFixed(2)} s)`,
    target: `≤ ${target.toFixed(2)}`,
    ok: ratio <= target
  })
}
const pick = <K extends keyof RunFigures>(k: K): RunFigures[K][] => samples.map((s) => s[k])

ratioRow('cold deploy: wall / critical path', pick('coldMs'), bounds.cold.seconds, 1.1)
if (serial.length) {
  const ratio = median(serial) / scaledMs(bounds.cold.seconds)
  const speedup = median(serial) / median(pick('coldMs'))
  rows.push({
    figure: 'cold deploy, parallelism 1: wall / critical path',
    value: `${ratio.toFixed(3)} (${(median(serial) / 1000).toFixed(2)} s; parallel is ${speedup.toFixed(2)}× faster; sum of all durations ${(scaledMs(serialSeconds(coldDeploy())) / 1000).toFixed(2)} s)`,
    target: 'reported',
    ok: true
  })
}
const stackResources = median(pick('stackResources'))
rows.push({
  figure: 'no-op deploy: writes',
  value: String(median(pick('noopWrites'))),
  target: '= 0',
  ok: Math.max(...pick('noopWrites')) === 0
})
rows.push({
  figure: 'no-op deploy: resources read more than once',
  value: String(Math.max(...pick('noopRereads'))),
  target: '= 0',
  ok: Math.max(...pick('noopRereads')) === 0
})
{
  const reads = median(pick('noopReads'))
  const secrets = median(pick('noopSecretReads'))
  const worst = Math.max(...samples.map((r) => r.noopReads / r.stackResources))
  rows.push({
    figure: 'no-op deploy: ARM reads per stack resource',
    // The secret reads Azure keeps out of GET count like any other: the keys the lock leases with
    // and the app's secrets (the values the plan compares, the admin password among them). The
    // subnets come with their VNet's GET, the job's secrets are compared by the digest it carries.
    value: `${(reads / stackResources).toFixed(2)} (${reads} reads of ${stackResources} resources: ${reads - secrets} GETs and lists, ${secrets} secret reads)`,
    target: '≤ 1.00',
    ok: worst <= 1
  })
}
rows.push({
  figure: 'no-op deploy: wall',
  value: `${(median(pick('noopMs')) / 1000).toFixed(2)} s`,
  target: 'reported',
  ok: true
})
// These short operations carry the action's fixed work (start-up, the lock, the gate's look
// through the ingress: about 1.5 s whatever the scale) on a 4–5 s bound at this time scale; the
// target guards against a step serialized again. docs/benchmarks.md breaks the rest down.
const SHORT_OPERATION_TARGET = 2.25
ratioRow('image bump: wall / critical path', pick('bumpMs'), bounds.bump.seconds, SHORT_OPERATION_TARGET)
ratioRow(
  'key rotation: wall / critical path',
  pick('rotationMs'),
  bounds.rotation.seconds,
  SHORT_OPERATION_TARGET
)
ratioRow('PR environment: wall / critical path', pick('prMs'), bounds.pr.seconds, SHORT_OPERATION_TARGET)
rows.push({
  figure: 'start-up: process start to first ARM request',
  value: `${median(pick('startupMs')).toFixed(0)} ms`,
  target: `≤ ${timing(1000)} ms`,
  ok: median(pick('startupMs')) <= timing(1000)
})
const dist = join(ROOT, 'dist')
const bundle = readdirSync(dist)
  .filter((f) => f.endsWith('.js'))
  .reduce((n, f) => n + statSync(join(dist, f)).size, 0)
rows.push({
  figure: 'bundle size (dist/*.js)',
  value: `${(bundle / 1e6).toFixed(2)} MB`,
  target: '≤ 12 MB',
  ok: bundle <= 12e6
})

const width = (k: keyof Row) => Math.max(...rows.map((r) => String(r[k]).length), k.length)
const line = (r: Row | Record<keyof Row, string>) =>
  `| ${String(r.figure).padEnd(width('figure'))} | ${String(r.value).padEnd(width('value'))} | ${String(r.target).padEnd(width('target'))} | ${typeof r.ok === 'boolean' ? (r.ok ? 'met' : 'MISSED') : r.ok} |`
console.log(
  `\n${short ? `SHORT RUN (timing targets ×${SHORT_SLACK}), ` : ''}medians of ${runs} runs, time scale ${timeScale}, revision start-up ${REALISTIC_SECONDS.revisionStartup} s realistic`
)
console.log(line({ figure: 'figure', value: 'value', target: 'target', ok: '' }))
console.log(
  `|${'-'.repeat(width('figure') + 2)}|${'-'.repeat(width('value') + 2)}|${'-'.repeat(width('target') + 2)}|---|`
)
for (const r of rows) console.log(line(r))
const missed = rows.filter((r) => !r.ok)
console.log(missed.length ? `\n${missed.length} target(s) missed` : '\nall targets met')
process.exit(missed.length ? 1 : 0)
