/**
 * The Python-free half of the smoke test: an experiment, a run with a param and a metric, and an
 * artifact through the proxied artifact API whose bytes must come back identical. `mlflow demo`
 * only warns when artifacts fail, so this is what proves the blob store and its key.
 */
import { randomBytes } from 'node:crypto'
import { answer, diagnose, type HttpResponse, type MlflowHttp } from './http.js'

interface RunInfo {
  run_id: string
  artifact_uri: string
}

function fail(what: string, r: HttpResponse, hint = ''): string {
  return `${what} returned ${answer(r)}${hint || diagnose(r)}`
}

export interface RoundTripResult {
  experimentId: string
  runId: string
  artifactBytes: number
  /** Clean-up problems do not fail the test, but a person should hear of them. */
  warnings: string[]
}

export async function restRoundTrip(http: MlflowHttp, id: string): Promise<RoundTripResult> {
  const now = Date.now()
  const { experiment_id: experimentId } = await http.json<{ experiment_id: string }>(
    'POST',
    '/api/2.0/mlflow/experiments/create',
    { name: `smoke-test-${id}`, tags: [{ key: 'mlflow-azure-action', value: 'smoke-test' }] },
    (r) =>
      fail('creating an experiment', r, r.status === 500 ? ' — the server cannot write to its database' : '')
  )
  const { run } = await http.json<{ run: { info: RunInfo } }>(
    'POST',
    '/api/2.0/mlflow/runs/create',
    { experiment_id: experimentId, start_time: now, run_name: 'smoke-test' },
    (r) => fail('creating a run', r)
  )
  const runId = run.info.run_id
  await http.json(
    'POST',
    '/api/2.0/mlflow/runs/log-parameter',
    { run_id: runId, key: 'smoke_id', value: id },
    (r) => fail('logging a parameter', r)
  )
  await http.json(
    'POST',
    '/api/2.0/mlflow/runs/log-metric',
    { run_id: runId, key: 'smoke_metric', value: 1.5, timestamp: now, step: 0 },
    (r) => fail('logging a metric', r)
  )
  const back = await http.json<{
    run: { data: { params?: { key: string; value: string }[]; metrics?: { key: string; value: number }[] } }
  }>('GET', `/api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(runId)}`, undefined, (r) =>
    fail('reading the run back', r)
  )
  const param = back.run.data.params?.find((p) => p.key === 'smoke_id')?.value
  const metric = back.run.data.metrics?.find((m) => m.key === 'smoke_metric')?.value
  if (param !== id || metric !== 1.5) {
    throw new Error(`the run read back does not hold what was logged (param ${param}, metric ${metric})`)
  }

  const prefix = 'mlflow-artifacts:/'
  if (!run.info.artifact_uri.startsWith(prefix)) {
    throw new Error(
      `the run's artifact location is ${run.info.artifact_uri}, not proxied through the server (${prefix}…): ` +
        'clients would need the storage key'
    )
  }
  const artifactPath = `${run.info.artifact_uri.slice(prefix.length).replace(/^\/+/, '')}/smoke-test/${id}.bin`
  const payload = new Uint8Array(
    Buffer.concat([Buffer.from(`mlflow-azure-action smoke test ${id}\n`), randomBytes(64 * 1024)])
  )
  const url = `/api/2.0/mlflow-artifacts/artifacts/${artifactPath}`
  const echo = await http.artifactEcho(artifactPath, payload)
  if (!echo.ok) {
    switch (echo.step) {
      case 'upload':
        throw new Error(
          fail(
            'artifact upload',
            echo.response,
            echo.response.status === 500
              ? ' — the server cannot write to blob storage: check the storage key and the blob container'
              : ''
          )
        )
      case 'download':
        throw new Error(
          fail(
            'artifact download',
            echo.response,
            echo.response.status === 500 ? ' — the server cannot read from blob storage' : ''
          )
        )
      case 'compare':
        throw new Error(
          `artifact download returned ${echo.bytes} bytes that differ from the ${payload.length} uploaded`
        )
    }
  }

  await http.json(
    'POST',
    '/api/2.0/mlflow/runs/update',
    { run_id: runId, status: 'FINISHED', end_time: Date.now() },
    (r) => fail('finishing the run', r)
  )

  const warnings: string[] = []
  for (const [what, method, path, body] of [
    ['deleting the artifact', 'DELETE', url, undefined],
    ['deleting the run', 'POST', '/api/2.0/mlflow/runs/delete', { run_id: runId }],
    ['deleting the experiment', 'POST', '/api/2.0/mlflow/experiments/delete', { experiment_id: experimentId }]
  ] as const) {
    const r = await http.request(method, path, body)
    if (r.status !== 200) warnings.push(fail(what, r))
  }
  return { experimentId, runId, artifactBytes: payload.length, warnings }
}
