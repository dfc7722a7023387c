/**
 * The stand-in server's tracking API: an in-memory subset of MLflow's REST API
 * (`mlflow/server/handlers.py`), enough for the action's smoke test (`src/smoke/roundTrip.ts`) and a
 * client that logs runs: `experiments/` create, get, get-by-name, search, delete; `runs/` create,
 * get, update, delete, log-parameter, log-metric. It answers with MLflow's JSON (proto field names,
 * empty lists left out) and MLflow's errors `{error_code, message}` at MLflow's status
 * (`RESOURCE_DOES_NOT_EXIST` 404, `INVALID_PARAMETER_VALUE` and `RESOURCE_ALREADY_EXISTS` 400).
 * Artifacts are proxied, as with `--artifacts-destination`: a run's `artifact_uri` is
 * `mlflow-artifacts:/<experiment>/<run>/artifacts`. The state lives as long as the process: a new
 * or restarted replica starts with the `Default` experiment alone (MLflow keeps it in its database).
 *
 * Basic auth (`auth`, the container's `--app-name basic-auth`): every `/api/2.0/mlflow/` request
 * needs `Authorization: Basic` for that one user and password, else MLflow's auth app's 401 with
 * `WWW-Authenticate: Basic realm="mlflow"`. There are no other users and no permissions.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

const PREFIX = '/api/2.0/mlflow/'

export interface TrackingApi {
  /** True when the request was a tracking route (and has been or will be answered). */
  handle(req: IncomingMessage, res: ServerResponse, log: (line: string) => void): boolean
}

type Params = Record<string, unknown>
type Tag = { key: string; value: string }

interface Experiment {
  id: string
  name: string
  stage: 'active' | 'deleted'
  created: number
  updated: number
  tags: Tag[]
}

interface Run {
  id: string
  experimentId: string
  name: string
  userId: string
  status: string
  start: number
  end?: number
  stage: 'active' | 'deleted'
  params: Map<string, string>
  metrics: Map<string, { key: string; value: number; timestamp: number; step: number }>
  tags: Tag[]
}

class MlflowError extends Error {
  constructor(
    readonly code: 'RESOURCE_DOES_NOT_EXIST' | 'INVALID_PARAMETER_VALUE' | 'RESOURCE_ALREADY_EXISTS',
    message: string
  ) {
    super(message)
  }
  get status(): number {
    return this.code === 'RESOURCE_DOES_NOT_EXIST' ? 404 : 400
  }
}

const invalid = (message: string): MlflowError => new MlflowError('INVALID_PARAMETER_VALUE', message)

function required(p: Params, name: string): unknown {
  const v = p[name]
  if (v === undefined || v === null || v === '')
    throw invalid(
      `Missing value for required parameter '${name}'. See the API docs for more information about request parameters.`
    )
  return v
}

function string(p: Params, name: string): string {
  const v = required(p, name)
  if (typeof v !== 'string') throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${name}'`)
  return v
}

/** A number, from JSON or from a query string. */
function number(p: Params, name: string, fallback?: number): number {
  if (fallback !== undefined && (p[name] === undefined || p[name] === '')) return fallback
  const v = Number(required(p, name))
  if (!Number.isFinite(v)) throw invalid(`Invalid value ${JSON.stringify(p[name])} for parameter '${name}'`)
  return v
}

function tags(p: Params): Tag[] {
  const list = p['tags'] ?? []
  if (!Array.isArray(list)) throw invalid("Invalid value for parameter 'tags'")
  return list.map((t: unknown) => {
    const { key, value } = (t ?? {}) as { key?: unknown; value?: unknown }
    if (typeof key !== 'string' || !key) throw invalid(`Invalid tag ${JSON.stringify(t)} in parameter 'tags'`)
    return { key, value: typeof value === 'string' ? value : '' }
  })
}

const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']

/** The store and its endpoints, by path under `/api/2.0/mlflow/` and method. */
export function trackingStore(): Record<string, { methods: string[]; call(p: Params): unknown }> {
  const now = Date.now()
  const experiments = new Map<string, Experiment>([
    ['0', { id: '0', name: 'Default', stage: 'active', created: now, updated: now, tags: [] }]
  ])
  const runs = new Map<string, Run>()
  let nextExperiment = 1

  const experimentJson = (e: Experiment): Params => ({
    experiment_id: e.id,
    name: e.name,
    artifact_location: `mlflow-artifacts:/${e.id}`,
    lifecycle_stage: e.stage,
    last_update_time: e.updated,
    creation_time: e.created,
    ...(e.tags.length > 0 ? { tags: e.tags } : {})
  })
  const runInfo = (r: Run): Params => ({
    run_uuid: r.id,
    experiment_id: r.experimentId,
    run_name: r.name,
    user_id: r.userId,
    status: r.status,
    start_time: r.start,
    ...(r.end !== undefined ? { end_time: r.end } : {}),
    artifact_uri: `mlflow-artifacts:/${r.experimentId}/${r.id}/artifacts`,
    lifecycle_stage: r.stage,
    run_id: r.id
  })
  const runJson = (r: Run): Params => {
    const data: Params = {}
    if (r.metrics.size > 0) data['metrics'] = [...r.metrics.values()]
    if (r.params.size > 0) data['params'] = [...r.params].map(([key, value]) => ({ key, value }))
    if (r.tags.length > 0) data['tags'] = r.tags
    return { info: runInfo(r), data, inputs: {} }
  }

  const experiment = (id: string): Experiment => {
    const e = experiments.get(id)
    if (!e) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${id} exists`)
    return e
  }
  const run = (p: Params, active = false): Run => {
    const id = String(p['run_id'] ?? p['run_uuid'] ?? '')
    if (!id) string(p, 'run_id')
    const r = runs.get(id)
    if (!r) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run with id=${id} not found`)
    if (active && r.stage !== 'active')
      throw invalid(`The run ${id} must be in the 'active' state. Current state is ${r.stage}.`)
    return r
  }

  return {
    'experiments/create': {
      methods: ['POST'],
      call(p) {
        const name = string(p, 'name')
        if ([...experiments.values()].some((e) => e.name === name))
          throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Experiment(name=${name}) already exists.`)
        const id = String(nextExperiment++)
        const t = Date.now()
        experiments.set(id, { id, name, stage: 'active', created: t, updated: t, tags: tags(p) })
        return { experiment_id: id }
      }
    },
    'experiments/get': {
      methods: ['GET'],
      call: (p) => ({ experiment: experimentJson(experiment(string(p, 'experiment_id'))) })
    },
    'experiments/get-by-name': {
      methods: ['GET'],
      call(p) {
        const name = string(p, 'experiment_name')
        const e = [...experiments.values()].find((x) => x.name === name)
        if (!e)
          throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${name}'`)
        return { experiment: experimentJson(e) }
      }
    },
    'experiments/search': {
      methods: ['GET', 'POST'],
      call(p) {
        // Known leniency of the stand-in: no filter and no order_by (it says so rather than ignore them).
        for (const unsupported of ['filter', 'order_by'])
          if (p[unsupported])
            throw invalid(`The stand-in does not support '${unsupported}' in experiments/search`)
        const view = String(p['view_type'] || 'ACTIVE_ONLY')
        const max = number(p, 'max_results', 1000)
        if (!Number.isInteger(max) || max < 1 || max > 50000)
          throw invalid(
            `Invalid value ${max} for parameter 'max_results' supplied. It must be between 1 and 50000.`
          )
        let offset = 0
        if (typeof p['page_token'] === 'string' && p['page_token']) {
          try {
            offset = Number(
              (JSON.parse(Buffer.from(p['page_token'], 'base64').toString()) as Params)['offset']
            )
          } catch {
            offset = NaN
          }
          if (!Number.isInteger(offset) || offset < 0) throw invalid('Invalid page token')
        }
        const all = [...experiments.values()]
          .filter((e) => view === 'ALL' || (view === 'DELETED_ONLY') === (e.stage === 'deleted'))
          .sort((a, b) => b.created - a.created || Number(a.id) - Number(b.id))
        const page = all.slice(offset, offset + max)
        const more = offset + max < all.length
        return {
          ...(page.length > 0 ? { experiments: page.map(experimentJson) } : {}),
          ...(more
            ? { next_page_token: Buffer.from(JSON.stringify({ offset: offset + max })).toString('base64') }
            : {})
        }
      }
    },
    'experiments/delete': {
      methods: ['POST'],
      call(p) {
        const e = experiment(string(p, 'experiment_id'))
        e.stage = 'deleted'
        e.updated = Date.now()
        for (const r of runs.values()) if (r.experimentId === e.id) r.stage = 'deleted'
        return {}
      }
    },
    'runs/create': {
      methods: ['POST'],
      call(p) {
        const e = experiment(string(p, 'experiment_id'))
        if (e.stage !== 'active')
          throw invalid(`The experiment ${e.id} must be in the 'active' state. Current state is ${e.stage}.`)
        const given = tags(p)
        const name =
          (typeof p['run_name'] === 'string' && p['run_name']) ||
          given.find((t) => t.key === 'mlflow.runName')?.value ||
          `standin-run-${randomBytes(2).toString('hex')}`
        const r: Run = {
          id: randomBytes(16).toString('hex'),
          experimentId: e.id,
          name,
          userId: typeof p['user_id'] === 'string' ? p['user_id'] : '',
          status: 'RUNNING',
          start: number(p, 'start_time', Date.now()),
          stage: 'active',
          params: new Map(),
          metrics: new Map(),
          tags: [...given.filter((t) => t.key !== 'mlflow.runName'), { key: 'mlflow.runName', value: name }]
        }
        runs.set(r.id, r)
        return { run: runJson(r) }
      }
    },
    'runs/get': { methods: ['GET'], call: (p) => ({ run: runJson(run(p)) }) },
    'runs/update': {
      methods: ['POST'],
      call(p) {
        const r = run(p, true)
        if (p['status'] !== undefined) {
          if (!RUN_STATUSES.includes(String(p['status'])))
            throw invalid(`Invalid value ${JSON.stringify(p['status'])} for parameter 'status'`)
          r.status = String(p['status'])
        }
        if (p['end_time'] !== undefined) r.end = number(p, 'end_time')
        if (typeof p['run_name'] === 'string' && p['run_name']) r.name = p['run_name']
        return { run_info: runInfo(r) }
      }
    },
    'runs/delete': {
      methods: ['POST'],
      call(p) {
        run(p).stage = 'deleted'
        return {}
      }
    },
    'runs/log-parameter': {
      methods: ['POST'],
      call(p) {
        const r = run(p, true)
        const key = string(p, 'key')
        const value = p['value']
        if (typeof value !== 'string')
          throw invalid(`Invalid value ${JSON.stringify(value)} for parameter 'value'`)
        const old = r.params.get(key)
        if (old !== undefined && old !== value)
          throw invalid(
            `Changing param values is not allowed. Param with key='${key}' was already logged with ` +
              `value='${old}' for run ID='${r.id}'. Attempted logging new value '${value}'.`
          )
        r.params.set(key, value)
        return {}
      }
    },
    'runs/log-metric': {
      methods: ['POST'],
      call(p) {
        const r = run(p, true)
        const m = {
          key: string(p, 'key'),
          value: number(p, 'value'),
          timestamp: number(p, 'timestamp'),
          step: number(p, 'step', 0)
        }
        // runs/get shows the latest value: the highest step, then the latest timestamp.
        const old = r.metrics.get(m.key)
        if (!old || m.step > old.step || (m.step === old.step && m.timestamp >= old.timestamp))
          r.metrics.set(m.key, m)
        return {}
      }
    }
  }
}

function basicAuthOk(header: string | undefined, user: string, password: string | undefined): boolean {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '')
  if (!m?.[1] || password === undefined) return false
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  return i >= 0 && decoded.slice(0, i) === user && decoded.slice(i + 1) === password
}

export function trackingApi(auth?: { username: string; password: string | undefined }): TrackingApi {
  const endpoints = trackingStore()
  return {
    handle(req, res, log) {
      const url = new URL(req.url ?? '/', 'http://localhost')
      if (!url.pathname.startsWith(PREFIX)) return false
      const method = req.method ?? 'GET'
      const send = (
        status: number,
        type: string,
        text: string,
        headers: Record<string, string> = {}
      ): void => {
        log(`${method} ${url.pathname} ${status}`)
        res.writeHead(status, {
          'content-type': type,
          'content-length': String(Buffer.byteLength(text)),
          ...headers
        })
        res.end(text)
      }
      if (auth && !basicAuthOk(req.headers.authorization, auth.username, auth.password)) {
        send(
          401,
          'text/html; charset=utf-8',
          'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.',
          { 'www-authenticate': 'Basic realm="mlflow"' }
        )
        return true
      }
      const endpoint = endpoints[url.pathname.slice(PREFIX.length)]
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        if (!endpoint) return send(404, 'text/plain', 'not found')
        if (!endpoint.methods.includes(method)) return send(405, 'text/plain', 'method not allowed')
        try {
          let params: Params = Object.fromEntries(url.searchParams)
          if (method === 'POST') {
            const text = Buffer.concat(chunks).toString('utf8')
            let body: unknown
            try {
              body = text.trim() ? JSON.parse(text) : {}
            } catch {
              body = undefined
            }
            if (typeof body !== 'object' || body === null || Array.isArray(body))
              throw invalid('Malformed JSON in the request body')
            params = body as Params
          }
          send(200, 'application/json', JSON.stringify(endpoint.call(params)))
        } catch (err) {
          if (err instanceof MlflowError)
            return send(
              err.status,
              'application/json',
              JSON.stringify({ error_code: err.code, message: err.message })
            )
          // Flask's answer to an exception in a handler, with the exception in the log.
          log(`ERROR mlflow.server: Exception on ${url.pathname} [${method}]: ${String(err)}`)
          send(500, 'text/html; charset=utf-8', 'Internal Server Error')
        }
      })
      return true
    }
  }
}
