/**
 * The Container Apps log stream, as `az containerapp logs show` reads it: on the region's host
 * `https://<region>.azurecontainerapps.dev` (the host of an app's `eventStreamEndpoint`), served by
 * the ingress, reached through the emulator's CONNECT proxy.
 *
 *   GET /subscriptions/{sub}/resourceGroups/{rg}/containerApps/{app}/revisions/{rev}/replicas/{replica}/containers/{container}/logstream
 *   GET /subscriptions/{sub}/resourceGroups/{rg}/jobs/{job}/executions/{exec}/replicas/{replica}/containers/{container}/logstream
 *       [unverified: the job path is the app path's pattern under the job; Azure's was not read]
 *
 * `Authorization: Bearer <token>` from the app's `getAuthToken` (apps) or the environment's (jobs):
 * without a live one 401. Query `tailLines=N` (0–300, the range az's `--tail` allows; default 20),
 * `follow` (only the tail is served: the answer ends after it), `output=json` for JSON lines
 * `{"TimeStamp", "Log"}`, else text lines `<ISO time> <text>`. The lines are the container's output
 * as the runtime logged it (secrets already masked). Unknown app, job, replica or container, or a
 * region that is not the resource's: 404.
 */
import { existsSync, readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EmulatorContext } from './context.js'
import { providerResourceId } from './ids.js'
import { asString } from './json.js'
import { findRegion } from './regions.js'
import { acceptsToken } from './resources/authTokens.js'
import { replicasOf } from './resources/containerAppRevisions.js'
import { regionHostPart } from './resources/containerShared.js'
import { jobEnvironment, jobReplicaLog } from './resources/jobs.js'
import type { ResourceRecord } from './store.js'

const HOST = /^([a-z0-9]+)\.azurecontainerapps\.dev(?::\d+)?\.?$/i
const APP_PATH =
  /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/containerapps\/([^/]+)\/revisions\/([^/]+)\/replicas\/([^/]+)\/containers\/([^/]+)\/logstream\/?$/i
const JOB_PATH =
  /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/jobs\/([^/]+)\/executions\/([^/]+)\/replicas\/([^/]+)\/containers\/([^/]+)\/logstream\/?$/i
const MAX_TAIL = 300
const DEFAULT_TAIL = 20

/** `<region>.azurecontainerapps.dev` for a region Azure has. */
export function isStreamHost(host: string): boolean {
  const m = HOST.exec(host)
  return m !== null && findRegion(m[1] ?? '')?.name === (m[1] ?? '').toLowerCase()
}

function answer(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {}
): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers
  })
  res.end(text)
}

interface Target {
  /** The app (apps) or environment (jobs) whose token opens it. */
  tokenHolder: ResourceRecord
  location: string
  logPath: string | undefined
}

function decode(part: string | undefined): string {
  try {
    return decodeURIComponent(part ?? '')
  } catch {
    return part ?? ''
  }
}

function findTarget(ctx: EmulatorContext, path: string): Target | 'notFound' {
  const app = APP_PATH.exec(path)
  if (app) {
    const [sub, rg, name, rev, replica, container] = app.slice(1).map(decode)
    const record = ctx.store.get(
      providerResourceId(sub ?? '', rg ?? '', 'Microsoft.App', ['containerApps', name ?? ''])
    )
    const revision = record ? ctx.store.get(`${record.id}/revisions/${rev}`) : undefined
    if (!record || !revision) return 'notFound'
    const found = replicasOf(revision).find(
      (r) => r.name.toLowerCase() === replica?.toLowerCase() && r.container === container
    )
    return {
      tokenHolder: record,
      location: asString(record.body['location']) ?? '',
      logPath: found ? found.logPath : undefined
    }
  }
  const job = JOB_PATH.exec(path)
  if (job) {
    const [sub, rg, name, exec, replica, container] = job.slice(1).map(decode)
    const record = ctx.store.get(
      providerResourceId(sub ?? '', rg ?? '', 'Microsoft.App', ['jobs', name ?? ''])
    )
    const env = record ? jobEnvironment(ctx, record) : undefined
    if (!record || !env) return 'notFound'
    return {
      tokenHolder: env,
      location: asString(record.body['location']) ?? '',
      logPath: jobReplicaLog(ctx, record, exec ?? '', replica ?? '', container ?? '')
    }
  }
  return 'notFound'
}

/** The last `tail` lines of a log file the runtime wrote (`<ISO time> <text>` per line). */
function tailOf(path: string, tail: number): { time: string; text: string }[] {
  if (!existsSync(path) || tail === 0) return []
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
  return lines.slice(-tail).map((line) => {
    const space = line.indexOf(' ')
    return space < 0 ? { time: line, text: '' } : { time: line.slice(0, space), text: line.slice(space + 1) }
  })
}

export function serveLogStream(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse): void {
  if ((req.method ?? 'GET').toUpperCase() !== 'GET') return answer(res, 405, 'Only GET is supported.')
  const url = new URL(req.url ?? '/', 'https://stream.invalid')
  const auth = req.headers['authorization'] ?? ''
  const token = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim() ?? ''
  const unauthorized = (): void =>
    answer(res, 401, 'Unauthorized: a valid token from getAuthToken is required.', {
      'www-authenticate': 'Bearer'
    })
  if (!token) return unauthorized()
  const target = findTarget(ctx, url.pathname)
  if (target === 'notFound') return answer(res, 404, `Not found: ${url.pathname}`)
  if (!acceptsToken(ctx, target.tokenHolder, token)) return unauthorized()
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()
  if (host.split('.')[0] !== regionHostPart(target.location)) {
    return answer(res, 404, `Not found in this region: ${url.pathname}`)
  }
  if (target.logPath === undefined) return answer(res, 404, `No such replica or container: ${url.pathname}`)
  const rawTail = url.searchParams.get('tailLines')
  const tail = rawTail === null ? DEFAULT_TAIL : Number(rawTail)
  if (!Number.isInteger(tail) || tail < 0 || tail > MAX_TAIL) {
    return answer(res, 400, `tailLines must be an integer between 0 and ${MAX_TAIL}.`)
  }
  const lines = tailOf(target.logPath, tail)
  if ((url.searchParams.get('output') ?? '').toLowerCase() === 'json') {
    const text = lines.map((l) => `${JSON.stringify({ TimeStamp: l.time, Log: l.text })}\n`).join('')
    return answer(res, 200, text, { 'content-type': 'application/json; charset=utf-8' })
  }
  return answer(res, 200, lines.map((l) => `${l.time} ${l.text}\n`).join(''))
}
