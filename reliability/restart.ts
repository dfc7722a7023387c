/**
 * The local Azure itself restarts mid-scenario with the real runtime (a real `mlflow server`,
 * PostgreSQL, Azurite): what a client logged before comes back after, served by the same revision,
 * a redeploy finds nothing to do, a restart in the middle of a rollout still ends in a serving
 * MLflow (the run finishes, or a rerun converges), and a local Azure that is killed rather than
 * stopped still has what a client logged just before.
 *
 * The client is a real one: it reaches the app at its tracking URI through the local Azure's
 * CONNECT proxy (what DNS does on Azure), trusting the local Azure's CA, with MLflow's basic auth,
 * and moves artifacts through the server's artifact proxy.
 */
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect as tlsConnect } from 'node:tls'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import {
  act,
  actStarted,
  duplicatesAndOrphans,
  failure,
  settle,
  startWorld,
  writesIn,
  type World
} from './stack.js'
import { reporter, seedFor, type Scenario } from './suite.js'
import type { ActionRun } from '../test/helpers/action.js'

const STACK = 'restart'
/** As e2e-mlflow: ARM waits scaled down, the real MLflow and PostgreSQL at their own pace. */
const TIME_SCALE = 0.002
/** How long the app may take to answer again after the local Azure is back (a real MLflow start). */
const SERVE_DEADLINE_MS = 300_000
/** How long the rollout may take to make its first write before the restart is given up on. */
const FIRST_WRITE_DEADLINE_MS = 600_000

interface Reply {
  status: number
  body: Buffer
  text: string
}

/**
 * One request to `https://<fqdn><path>` as a client behind real DNS would make it: CONNECT through
 * the local Azure's proxy, TLS to the app's FQDN (verified against the local Azure's CA).
 */
async function viaProxy(
  world: World,
  fqdn: string,
  path: string,
  opts: { method?: string; body?: Buffer; json?: boolean; timeoutMs?: number } = {}
): Promise<Reply> {
  const env = world.emulator.env
  const proxy = new URL(env['HTTPS_PROXY'] ?? '')
  const ca = readFileSync(world.emulator.caCertPath, 'utf8')
  const timeoutMs = opts.timeoutMs ?? 60_000
  const tunnel = await new Promise<Socket>((resolve, reject) => {
    const req = httpRequest({
      host: proxy.hostname,
      port: proxy.port,
      method: 'CONNECT',
      path: `${fqdn}:443`,
      headers: { host: `${fqdn}:443` },
      timeout: timeoutMs
    })
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) resolve(socket)
      else {
        socket.destroy()
        reject(new Error(`CONNECT ${fqdn}:443 → ${res.statusCode}`))
      }
    })
    req.once('timeout', () => req.destroy(new Error(`CONNECT ${fqdn}:443 timed out`)))
    req.once('error', reject)
    req.end()
  })
  const { username, password } = admin(world)
  const headers: Record<string, string> = {
    host: fqdn,
    authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
  }
  if (opts.body !== undefined)
    headers['content-type'] = opts.json ? 'application/json' : 'application/octet-stream'
  return new Promise<Reply>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: fqdn,
        path,
        method: opts.method ?? 'GET',
        headers,
        timeout: timeoutMs,
        createConnection: () => tlsConnect({ socket: tunnel, servername: fqdn, ca })
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const body = Buffer.concat(chunks)
          resolve({ status: res.statusCode ?? 0, body, text: body.toString('utf8') })
        })
        res.on('error', reject)
      }
    )
    req.once('timeout', () => req.destroy(new Error(`${opts.method ?? 'GET'} ${path} timed out`)))
    req.once('error', reject)
    req.end(opts.body)
  }).finally(() => tunnel.destroy())
}

function admin(world: World): { username: string; password: string } {
  return { username: 'admin', password: world.base['admin-password'] ?? '' }
}

async function postJson(
  world: World,
  fqdn: string,
  path: string,
  body: unknown
): Promise<Record<string, unknown>> {
  const r = await viaProxy(world, fqdn, path, {
    method: 'POST',
    body: Buffer.from(JSON.stringify(body)),
    json: true
  })
  if (r.status !== 200) throw new Error(`POST ${path}: ${r.status} ${r.text.slice(0, 300)}`)
  return JSON.parse(r.text) as Record<string, unknown>
}

async function getJson(world: World, fqdn: string, path: string): Promise<Record<string, unknown>> {
  const r = await viaProxy(world, fqdn, path)
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text.slice(0, 300)}`)
  return JSON.parse(r.text) as Record<string, unknown>
}

interface Logged {
  experimentName: string
  experiment: string
  run: string
  artifactPath: string
  artifact: Buffer
}

/** An experiment, a run with a parameter and a metric, and an artifact through the server's proxy. */
async function logData(world: World, fqdn: string, experimentName: string): Promise<Logged> {
  const experiment = (
    await postJson(world, fqdn, '/api/2.0/mlflow/experiments/create', { name: experimentName })
  )['experiment_id'] as string
  const created = await postJson(world, fqdn, '/api/2.0/mlflow/runs/create', { experiment_id: experiment })
  const run = (created['run'] as { info: { run_id: string } }).info.run_id
  await postJson(world, fqdn, '/api/2.0/mlflow/runs/log-parameter', { run_id: run, key: 'lr', value: '0.01' })
  await postJson(world, fqdn, '/api/2.0/mlflow/runs/log-metric', {
    run_id: run,
    key: 'loss',
    value: 0.25,
    timestamp: 1_700_000_000_000,
    step: 3
  })
  // Binary, so "byte-identical" means something: every byte value, and a size past one block.
  const artifact = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(70_000)])
  const artifactPath = `/api/2.0/mlflow-artifacts/artifacts/${experiment}/${run}/artifacts/model.bin`
  const put = await viaProxy(world, fqdn, artifactPath, { method: 'PUT', body: artifact })
  if (put.status !== 200) throw new Error(`PUT ${artifactPath}: ${put.status} ${put.text.slice(0, 300)}`)
  return { experimentName, experiment, run, artifactPath, artifact }
}

/** What of `logged` reads back now; empty when everything does. */
async function readBack(
  world: World,
  fqdn: string,
  logged: Logged
): Promise<{ missing: string[]; seen: string }> {
  const missing: string[] = []
  const seen: string[] = []
  try {
    const exp = await getJson(
      world,
      fqdn,
      `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(logged.experimentName)}`
    )
    const id = (exp['experiment'] as { experiment_id?: string } | undefined)?.experiment_id
    if (id === logged.experiment) seen.push('experiment')
    else missing.push(`experiment: id ${id} instead of ${logged.experiment}`)
  } catch (err) {
    missing.push(`experiment: ${String(err)}`)
  }
  try {
    const got = await getJson(world, fqdn, `/api/2.0/mlflow/runs/get?run_id=${logged.run}`)
    const run = got['run'] as
      | {
          info: { experiment_id: string }
          data: {
            params?: { key: string; value: string }[]
            metrics?: { key: string; value: number; step: number }[]
          }
        }
      | undefined
    if (run?.info.experiment_id === logged.experiment) seen.push('run')
    else missing.push(`run: ${JSON.stringify(run?.info)}`)
    const params = run?.data.params ?? []
    if (params.some((p) => p.key === 'lr' && p.value === '0.01')) seen.push('param')
    else missing.push(`param: ${JSON.stringify(params)}`)
    const metrics = run?.data.metrics ?? []
    if (metrics.some((m) => m.key === 'loss' && m.value === 0.25 && Number(m.step) === 3)) seen.push('metric')
    else missing.push(`metric: ${JSON.stringify(metrics)}`)
  } catch (err) {
    missing.push(`run, param, metric: ${String(err)}`)
  }
  return { missing, seen: seen.join(', ') }
}

async function artifactBack(
  world: World,
  fqdn: string,
  logged: Logged
): Promise<{ ok: boolean; figure: string }> {
  const r = await viaProxy(world, fqdn, logged.artifactPath)
  const same = r.status === 200 && r.body.equals(logged.artifact)
  return {
    ok: same,
    figure: same
      ? `${r.body.length} of ${logged.artifact.length} bytes identical`
      : `status ${r.status}, ${r.body.length} bytes (${logged.artifact.length} logged)${r.status !== 200 ? `: ${r.text.slice(0, 200)}` : ''}`
  }
}

/**
 * Polls `/health` through the proxy until it answers 200 (a poll rate, not a wait: the loop ends
 * at the first 200) and says how long that took and what was seen last.
 */
async function untilHealthy(
  world: World,
  fqdn: string,
  deadlineMs: number
): Promise<{ ok: boolean; seconds: number; last: string }> {
  const t0 = Date.now()
  let last = ''
  while (Date.now() - t0 < deadlineMs) {
    try {
      const r = await viaProxy(world, fqdn, '/health', { timeoutMs: 10_000 })
      if (r.status === 200)
        return { ok: true, seconds: (Date.now() - t0) / 1000, last: `200 ${r.text.trim()}` }
      last = `${r.status} ${r.text.slice(0, 160)}`
    } catch (err) {
      last = String(err)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  return { ok: false, seconds: (Date.now() - t0) / 1000, last }
}

/** A failed run's first `::error::` line, at most 200 characters. */
function firstError(run: ActionRun): string {
  const line =
    run.stdout
      .split('\n')
      .find((l) => l.startsWith('::error'))
      ?.replace(/^::error[^:]*::/, '') ?? `exit ${run.exitCode}`
  const text = line.replace(/%0A/g, ' ')
  return text.length > 200 ? `${text.slice(0, 197)}…` : text
}

/** The revision the local Azure routes the app's FQDN to now ('' when none). */
async function servingRevision(world: World, fqdn: string): Promise<string> {
  const info = await world.emulator.runtimeInfo()
  return info.apps[fqdn]?.revision ?? ''
}

export const restart: Scenario = {
  name: 'restart',
  runtime: 'mlflow',
  async run(suite) {
    const report = reporter(suite, 'restart')
    const world = await startWorld(
      suite.ledger,
      STACK,
      { runtime: 'mlflow', timeScale: TIME_SCALE, seed: seedFor(suite.options.seed, 'restart') },
      { auth: 'basic' }
    )
    try {
      const deployed = await act(world, {}, 'restart: deploy')
      if (deployed.exitCode !== 0) {
        report('the stack deploys on the real runtime', false, 'deploy failed', failure(deployed))
        return
      }
      const fqdn = new URL(deployed.outputs['tracking-uri'] ?? '').hostname
      const logged = await logData(world, fqdn, 'before-the-restart')
      const before = await servingRevision(world, fqdn)

      // --- the restart, with nothing running
      const t0 = Date.now()
      await world.emulator.restart()
      const backIn = (Date.now() - t0) / 1000

      // (a) the app answers again, from the same revision
      const health = await untilHealthy(world, fqdn, SERVE_DEADLINE_MS)
      const after = await servingRevision(world, fqdn)
      report(
        'the app answers /health 200 again after the local Azure restarted, from the same revision',
        health.ok && after === before && before !== '',
        `${health.ok ? `200 after ${health.seconds.toFixed(1)} s` : `no 200 within ${SERVE_DEADLINE_MS / 1000} s`} ` +
          `(local Azure back in ${backIn.toFixed(1)} s), revision ${after || 'none'}${after === before ? ' as before' : ` (before: ${before})`}`,
        health.ok ? undefined : `last answer: ${health.last}`
      )

      // (b) PostgreSQL's data
      const data = await readBack(world, fqdn, logged)
      report(
        'the experiment, run, param and metric read back (PostgreSQL kept them)',
        data.missing.length === 0,
        data.missing.length === 0
          ? `4 of 4 read back (${data.seen})`
          : `${4 - data.missing.length} of 4 read back`,
        data.missing.join('\n')
      )

      // (c) Azurite's blobs
      const blob = await artifactBack(world, fqdn, logged).catch((err: unknown) => ({
        ok: false,
        figure: String(err)
      }))
      report('the artifact downloads byte-identical (Azurite kept it)', blob.ok, blob.figure)

      // (d) a redeploy finds nothing to do; the smoke test passes
      const from = (await world.emulator.requests()).length
      const again = await act(world, {}, 'restart: redeploy after the restart')
      const writes = writesIn(await world.emulator.requests(), from)
      report(
        'a redeploy with the same inputs after the restart makes no write',
        again.exitCode === 0 && writes.length === 0,
        `${writes.length} writes, exit ${again.exitCode}`,
        [
          ...writes.slice(0, 10).map((w) => `${w.method} ${w.path} → ${w.status}`),
          ...(again.exitCode !== 0 ? [failure(again)] : [])
        ].join('\n')
      )
      const smoke = await act(world, { command: 'smoke-test', 'mlflow-demo': 'false' }, 'restart: smoke-test')
      report(
        'smoke-test passes after the restart',
        smoke.exitCode === 0 && smoke.outputs['smoke-result'] === 'passed',
        `smoke-result ${smoke.outputs['smoke-result'] ?? 'none'}, exit ${smoke.exitCode}`,
        smoke.exitCode !== 0 ? failure(smoke) : undefined
      )

      // (e) a restart while a rollout runs: a cpu change makes a new revision
      const change = { cpu: '0.5' }
      const start = (await world.emulator.requests()).length
      const rollout = actStarted(world, change)
      let firstWrite = ''
      const waitStart = Date.now()
      let finishedEarly = false
      void rollout.done.then(() => (finishedEarly = !firstWrite))
      while (!firstWrite && !finishedEarly && Date.now() - waitStart < FIRST_WRITE_DEADLINE_MS) {
        const w = writesIn(await world.emulator.requests(), start)[0]
        if (w) firstWrite = `${w.method} ${w.path.split('?')[0]}`
        else await new Promise((r) => setTimeout(r, 100))
      }
      if (!firstWrite) {
        const run = await settle(world, rollout, 'restart: rollout (no write seen)')
        report(
          'a restart during a rollout still ends in a serving MLflow',
          false,
          'the rollout made no write',
          failure(run)
        )
        return
      }
      const t1 = Date.now()
      await world.emulator.restart()
      const midBack = (Date.now() - t1) / 1000
      const first = await settle(world, rollout, 'restart: rollout interrupted by the restart')
      // Why the interrupted run stopped, if it did: its first error line, shortened.
      const why = first.exitCode === 0 ? '' : firstError(first)
      let converged = first.exitCode === 0 ? 'the interrupted run finished' : ''
      let rerun = first
      if (first.exitCode !== 0) {
        rerun = await act(world, change, 'restart: rerun after the interrupted rollout')
        if (rerun.exitCode === 0) converged = 'a rerun converged'
      }
      const healthAfter = await untilHealthy(world, fqdn, SERVE_DEADLINE_MS)
      const dataAfter = healthAfter.ok
        ? await readBack(world, fqdn, logged)
        : { missing: ['not serving'], seen: '' }
      const serving = await servingRevision(world, fqdn)
      const problems = await duplicatesAndOrphans(world.emulator)
      const fromSettled = (await world.emulator.requests()).length
      const settled = await act(world, change, 'restart: redeploy after the rollout')
      const settledWrites = writesIn(await world.emulator.requests(), fromSettled)
      const ok =
        converged !== '' &&
        healthAfter.ok &&
        dataAfter.missing.length === 0 &&
        serving !== '' &&
        serving !== before &&
        problems.length === 0 &&
        settled.exitCode === 0 &&
        settledWrites.length === 0
      report(
        'a restart during a rollout (after its first write) still ends in a serving MLflow',
        ok,
        `${converged || 'neither the run nor a rerun finished'}${why ? ` (the interrupted run: ${why})` : ''} ` +
          `(restart after ${firstWrite.replace(/\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\//i, '…/')}, local Azure back in ` +
          `${midBack.toFixed(1)} s); /health ${healthAfter.ok ? `200 after ${healthAfter.seconds.toFixed(1)} s` : 'not 200'}, ` +
          `revision ${serving || 'none'}, data ${dataAfter.missing.length === 0 ? 'intact' : 'missing'}, ` +
          `${problems.length} orphans, then a redeploy made ${settledWrites.length} writes`,
        [
          ...(first.exitCode !== 0 ? [`interrupted run: ${failure(first)}`] : []),
          ...(rerun !== first && rerun.exitCode !== 0 ? [`rerun: ${failure(rerun)}`] : []),
          ...(healthAfter.ok ? [] : [`last /health answer: ${healthAfter.last}`]),
          ...dataAfter.missing,
          ...problems,
          ...(settled.exitCode !== 0 ? [`redeploy: ${failure(settled)}`] : []),
          ...settledWrites.slice(0, 10).map((w) => `redeploy wrote: ${w.method} ${w.path} → ${w.status}`)
        ].join('\n')
      )

      // (f) the local Azure killed, not stopped, right after a client logged: nothing got saved on
      // the way out, so only what was durable when it was answered comes back.
      const late = await logData(world, fqdn, 'just-before-the-crash')
      const t2 = Date.now()
      await world.emulator.restart({ kill: true })
      const crashBack = (Date.now() - t2) / 1000
      const crashHealth = await untilHealthy(world, fqdn, SERVE_DEADLINE_MS)
      const lateData = crashHealth.ok
        ? await readBack(world, fqdn, late)
        : { missing: ['not serving'], seen: '' }
      const lateBlob = crashHealth.ok
        ? await artifactBack(world, fqdn, late).catch((err: unknown) => ({ ok: false, figure: String(err) }))
        : { ok: false, figure: 'not serving' }
      const earlyData = crashHealth.ok
        ? await readBack(world, fqdn, logged)
        : { missing: ['not serving'], seen: '' }
      report(
        'the local Azure killed right after a client logged: the run, param, metric and artifact come back',
        crashHealth.ok && lateData.missing.length === 0 && lateBlob.ok && earlyData.missing.length === 0,
        `${crashHealth.ok ? `/health 200 after ${crashHealth.seconds.toFixed(1)} s` : 'no /health 200'} ` +
          `(local Azure back in ${crashBack.toFixed(1)} s); ${4 - lateData.missing.length} of 4 read back, ` +
          `artifact: ${lateBlob.figure}`,
        [
          ...(crashHealth.ok ? [] : [`last /health answer: ${crashHealth.last}`]),
          ...lateData.missing,
          ...earlyData.missing.map((m) => `logged before the first restart: ${m}`)
        ].join('\n')
      )
    } finally {
      await world.emulator.stop()
    }
  }
}
