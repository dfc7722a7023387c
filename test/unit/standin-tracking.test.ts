/**
 * The stand-in's tracking API (`emulator/runtime/standinTracking.ts`), in process: the action's own
 * smoke test passes against it, open or with basic auth; anonymous and wrong-password calls get
 * MLflow's 401; answers and errors have MLflow's shapes; and the stand-in adapter turns the
 * container's `--app-name basic-auth` into the server's `--basic-auth`.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { smokeTest } from '../../src/commands/smokeTest.js'
import type { Log } from '../../src/commands/log.js'
import type { SmokeConfig } from '../../src/config/inputs.js'
import { MlflowHttp } from '../../src/smoke/http.js'
import { mlflowContainer } from '../../src/stack/mlflowContainer.js'
import { StandinAdapter } from '../../emulator/runtime/standinAdapter.js'
import { trackingApi } from '../../emulator/runtime/standinTracking.js'

const PASSWORD = 'stand-in-admin-pw'
const servers: Server[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
})

/** The tracking API, with /health, /version and an in-memory artifact store around it. */
async function serve(auth?: { username: string; password: string | undefined }): Promise<string> {
  const tracking = trackingApi(auth)
  const blobs = new Map<string, Buffer>()
  const server = createServer((req, res) => {
    if (tracking.handle(req, res, () => {})) return
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (path === '/health' || path === '/version') return res.end(path === '/health' ? 'OK' : '3.17.2')
      if (!path.startsWith('/api/2.0/mlflow-artifacts/artifacts/')) return res.writeHead(404).end()
      if (req.method === 'PUT') blobs.set(path, Buffer.concat(chunks))
      if (req.method === 'DELETE') blobs.delete(path)
      res.end(req.method === 'GET' ? blobs.get(path) : '{}')
    })
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const log = (): Log & { lines: string[] } => {
  const lines: string[] = []
  return {
    lines,
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    debug: () => {},
    mask: () => {},
    group: () => {}
  }
}

const config = (trackingUri: string): SmokeConfig =>
  ({ command: 'smoke-test', trackingUri, demo: false, timeoutMs: 10_000 }) as SmokeConfig

describe('the stand-in tracking API', () => {
  it("passes the action's smoke test without auth", async () => {
    const l = log()
    const r = await smokeTest(config(await serve()), { log: l, env: {} })
    expect(r.steps.map((s) => `${s.name} ${s.status}`)).toEqual([
      'health passed',
      'version passed',
      'authentication passed',
      'REST round trip passed'
    ])
    expect(l.lines.filter((x) => x.startsWith('warning'))).toEqual([])
  })

  it("passes the action's smoke test with basic auth, and fails it without credentials", async () => {
    const url = await serve({ username: 'admin', password: PASSWORD })
    const ok = await smokeTest(config(url), {
      log: log(),
      env: {},
      credentials: { username: 'admin', password: PASSWORD }
    })
    expect(ok.passed).toBe(true)
    expect(ok.steps.find((s) => s.name === 'authentication')?.detail).toBe(
      'anonymous API request refused (401)'
    )

    const anonymous = await smokeTest(config(url), { log: log(), env: {} })
    expect(anonymous.passed).toBe(false)
    expect(anonymous.steps.find((s) => s.name === 'authentication')?.detail).toMatch(
      /requires authentication \(401\)/
    )
  })

  it("answers anonymous and wrong-password calls with MLflow's 401", async () => {
    const url = await serve({ username: 'admin', password: PASSWORD })
    for (const authorization of [undefined, `Basic ${Buffer.from('admin:wrong').toString('base64')}`]) {
      const r = await fetch(`${url}/api/2.0/mlflow/experiments/search?max_results=1`, {
        headers: authorization ? { authorization } : {}
      })
      expect(r.status).toBe(401)
      expect(r.headers.get('www-authenticate')).toBe('Basic realm="mlflow"')
      expect(await r.text()).toMatch(/^You are not authenticated/)
    }
    const good = await new MlflowHttp(url, { username: 'admin', password: PASSWORD }).request(
      'GET',
      '/api/2.0/mlflow/experiments/search?max_results=1'
    )
    expect(good.status).toBe(200)
    expect(JSON.parse(good.text)).toMatchObject({ experiments: [{ experiment_id: '0', name: 'Default' }] })
  })

  it("answers with MLflow's shapes and errors", async () => {
    const http = new MlflowHttp(await serve())
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await http.request(method, `/api/2.0/mlflow/${path}`, body)
      return { status: r.status, body: JSON.parse(r.text) as Record<string, unknown> }
    }
    const created = await call('POST', 'experiments/create', { name: 'e1', tags: [{ key: 'k', value: 'v' }] })
    expect(created).toEqual({ status: 200, body: { experiment_id: '1' } })
    expect(await call('POST', 'experiments/create', { name: 'e1' })).toEqual({
      status: 400,
      body: { error_code: 'RESOURCE_ALREADY_EXISTS', message: 'Experiment(name=e1) already exists.' }
    })
    expect((await call('GET', 'experiments/get-by-name?experiment_name=e1')).body).toEqual({
      experiment: {
        experiment_id: '1',
        name: 'e1',
        artifact_location: 'mlflow-artifacts:/1',
        lifecycle_stage: 'active',
        creation_time: expect.any(Number),
        last_update_time: expect.any(Number),
        tags: [{ key: 'k', value: 'v' }]
      }
    })
    expect(await call('GET', 'experiments/get-by-name?experiment_name=nope')).toEqual({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: "Could not find experiment with name 'nope'" }
    })

    const run = await call('POST', 'runs/create', { experiment_id: '1', start_time: 5, run_name: 'r' })
    const info = (run.body['run'] as { info: Record<string, unknown> }).info
    expect(info).toEqual({
      run_uuid: info['run_id'],
      run_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      experiment_id: '1',
      run_name: 'r',
      user_id: '',
      status: 'RUNNING',
      start_time: 5,
      artifact_uri: `mlflow-artifacts:/1/${String(info['run_id'])}/artifacts`,
      lifecycle_stage: 'active'
    })
    const run_id = info['run_id']
    expect((await call('POST', 'runs/log-parameter', { run_id, key: 'p', value: 'a' })).status).toBe(200)
    expect((await call('POST', 'runs/log-parameter', { run_id, key: 'p', value: 'b' })).body).toMatchObject({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: expect.stringMatching(/^Changing param values is not allowed/)
    })
    expect((await call('POST', 'runs/log-metric', { run_id, key: 'm', value: 1 })).body).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message:
        "Missing value for required parameter 'timestamp'. See the API docs for more information about request parameters."
    })
    await call('POST', 'runs/log-metric', { run_id, key: 'm', value: 1, timestamp: 7, step: 1 })
    await call('POST', 'runs/log-metric', { run_id, key: 'm', value: 2, timestamp: 9, step: 0 })
    expect((await call('GET', `runs/get?run_id=${String(run_id)}`)).body['run']).toMatchObject({
      data: {
        params: [{ key: 'p', value: 'a' }],
        metrics: [{ key: 'm', value: 1, timestamp: 7, step: 1 }],
        tags: [{ key: 'mlflow.runName', value: 'r' }]
      }
    })
    expect(
      (await call('POST', 'runs/update', { run_id, status: 'FINISHED', end_time: 8 })).body['run_info']
    ).toMatchObject({ status: 'FINISHED', end_time: 8 })
    expect(await call('POST', 'runs/delete', { run_id })).toEqual({ status: 200, body: {} })
    expect((await call('POST', 'runs/log-parameter', { run_id, key: 'q', value: 'x' })).body).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: `The run ${String(run_id)} must be in the 'active' state. Current state is deleted.`
    })
    expect(await call('GET', 'runs/get?run_id=0123')).toEqual({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Run with id=0123 not found' }
    })
    expect(await call('POST', 'experiments/delete', { experiment_id: '1' })).toEqual({
      status: 200,
      body: {}
    })
    expect((await call('GET', 'experiments/search')).body).toEqual({
      experiments: [expect.objectContaining({ experiment_id: '0' })]
    })
    expect((await call('GET', 'experiments/search?view_type=DELETED_ONLY')).body).toEqual({
      experiments: [expect.objectContaining({ experiment_id: '1', lifecycle_stage: 'deleted' })]
    })
    expect(await call('POST', 'experiments/delete', { experiment_id: '9' })).toEqual({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'No Experiment with id=9 exists' }
    })
  })

  it('the stand-in server gets --basic-auth from a container with --app-name basic-auth', () => {
    const plan = (auth: 'none' | 'basic'): string[] => {
      const spec = mlflowContainer({
        image: 'ghcr.io/mlflow/mlflow:v3.17.2-full',
        version: { major: 3, minor: 17, patch: 2 },
        fqdn: 'app.example.io',
        revisionHosts: 'app--*.example.io',
        storageAccount: 'acct',
        blobContainer: 'mlflow',
        cpu: 0.5,
        memory: '1Gi',
        auth:
          auth === 'basic'
            ? { mode: 'basic', adminPassword: PASSWORD }
            : { mode: 'none', allowAnonymous: true },
        storage: { mode: 'access-key' },
        workers: 1
      })
      const result = new StandinAdapter(0).plan(
        {
          appName: 'app',
          revisionName: 'app--1',
          location: 'westeurope',
          container: { name: 'mlflow', image: spec.image, command: spec.command, args: spec.args, env: [] },
          minReplicas: 1,
          maxReplicas: 1
        },
        5000
      )
      if (!result.ok) throw new Error(result.reason)
      return result.plan.args
    }
    expect(plan('basic')).toContain('--basic-auth')
    expect(plan('none')).not.toContain('--basic-auth')
  })
})
