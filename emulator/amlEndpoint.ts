/**
 * Azure Machine Learning workspaces as MLflow tracking servers: the ONE place where the AML data
 * plane (`https://<region>.api.azureml.ms`) is translated onto local services, as
 * `runtime/mlflowAdapter.ts` is for Container Apps. Clients reach it through the CONNECT proxy
 * (`proxy.ts`: a host `<region>.api.azureml.ms` of a known region comes here, any other region's
 * name does not resolve, 502) and trust it through the emulator's CA (a leaf for
 * `*.api.azureml.ms`). What the client is — the `azureml-mlflow` plugin 1.62.0.post6 with
 * `mlflow-skinny` 3.15.0 — was read from its wheel (`_store/azureml_reststore.py`,
 * `_store/artifact/utils.py`, `_client/artifact/run_artifact_client.py`,
 * `_restclient/run_artifact/operations/_run_artifacts_operations.py` and `models/_models_py3.py`,
 * `_client/artifact/_utils/blob_artifact_util.py`).
 *
 * Every request, in this order:
 *  1. Host: `<region>.api.azureml.ms` with a region of `regions.ts`, else the connection is dropped
 *     (nobody answers a name that does not exist).
 *  2. `Authorization: Bearer <token>`: the plugin asks its credential for
 *     `<resource manager>/.default` (`_common/_cloud/cloud.py` `_get_default_scope`), so the ARM
 *     token the emulator hands the action (`AZURE_ACCESS_TOKEN`) is accepted, and any JWT of
 *     `identity.ts` whose audience is ARM or `https://ml.azure.com`. None, malformed, expired or
 *     another audience: 401 with `WWW-Authenticate: Bearer authorization_uri=…, error="invalid_token"`
 *     [unverified wording].
 *  3. The path's workspace (`/mlflow/v2.0|v1.0/subscriptions/{sub}/resourceGroups/{rg}/providers/
 *     Microsoft.MachineLearningServices/workspaces/{ws}/api/…`, `/history/v1.0/…same…/experiments/
 *     {experimentName}|experimentids/{experimentId}/runs/{runId}/artifacts…`) must exist and be
 *     `Succeeded`, else 404 naming it; the host's region must be the workspace's location, else
 *     404 [unverified]. `publicNetworkAccess: Disabled`: 403, the workspace is behind a private
 *     link and not reachable from this network (every client here is outside) [unverified wording].
 *  4. `--deny-actions` (`authorization.ts`): a GET/HEAD is
 *     `Microsoft.MachineLearningServices/workspaces/experiments/read`, anything else `…/write`
 *     [unverified action names; next-capabilities §8 lists `workspaces/experiments/*` as what the
 *     plugin needs]; denied for the deploying principal: 403 with ARM's AuthorizationFailed words.
 *  5. MLflow Tracing: `…/mlflow/traces…` (api 2.0 and 3.0) and OTLP `/v1/traces` → 403, "not
 *     supported" (Azure/azure-sdk-for-python#40261: "/api/2.0/mlflow/traces failed with error code
 *     403", maintainer: "mlflow tracing is not supported in AML yet"; next-capabilities §8).
 *
 * Translations, and only these:
 *  - MLflow REST (`/mlflow/v2.0` for MLflow 2.x/3.x clients, `/mlflow/v1.0` for 1.x, both
 *    accepted): the part after the workspace scope (`/api/2.0/mlflow/…`) goes, with its method,
 *    query, body, content type and accept header, to a real `mlflow server` of that workspace:
 *    MLflow `AML_MLFLOW_VERSION` from the venv the Container Apps runtime uses for that release
 *    (`mlflowAdapter.ts` `serverVenv`), started on first use, one per workspace, on sqlite
 *    `<state>/aml/<workspaceId>/mlflow.db` (it survives restarts), without artifact serving, under
 *    `guard.js` (gone with the emulator), stopped when the emulator stops; its log is
 *    `<state>/aml/<workspaceId>/mlflow.log`. Its answer goes back as it is, except:
 *  - every run's `artifact_uri` (any object with `run_id`/`run_uuid`, `experiment_id` and
 *    `artifact_uri`: create, get, search, update answers) becomes AML's
 *    `azureml://experiments/<experiment_id>/runs/<run_id>/artifacts`, which the plugin's artifact
 *    repository parses with `.*\/([^/]+)/runs/([^/]+)(/artifacts.*)?` (`_ARTIFACT_URI_EXP_RUN_REGEX`) into the history API's
 *    experiment and run.
 *  - run artifacts (AML's run history, `/history/v1.0/…/runs/{runId}/artifacts`): `batch/metadata`
 *    (POST `{"paths":[{"path"}]}` → `{artifacts: {path: Artifact}, artifactContentInformation:
 *    {path: {contentUri, origin, container, path}}, errors: {}}`), `contentinfo?path=`
 *    (ArtifactContentInformation, 404 for an artifact never created), the list
 *    (`{value: [Artifact], continuationToken, nextLink}`, 500 a page), `path?path=`, `metadata?path=`
 *    and `prefix/contentinfo?path=`, for `experiments/{name}` and `experimentids/{id}` alike. The run
 *    must exist in the workspace's MLflow and belong to that experiment (by id, or by name for
 *    `experiments/`), else 404. Artifacts are registered in the workspace's record (state.json);
 *    their bytes are the blob `ExperimentRun/dcid.<runId>/<path>` in the container `azureml`
 *    (made when first needed) of the workspace's storage account, which clients reach at
 *    `https://<account>.blob.core.windows.net` (proxy + blob front door). `contentUri` is that blob's
 *    URL with a service SAS (read, create, write; 1 h [unverified: AML's own expiry is not
 *    documented]) signed with the account's current key1 (`@azure/storage-blob`
 *    `generateBlobSASQueryParameters`), checked like any SAS: a key not yet propagated, or
 *    `allowSharedKeyAccess: false`, fails at the blob endpoint (AML itself would then use a user
 *    delegation SAS [unverified]; not emulated).
 *
 * Error bodies: MLflow paths answer MLflow's `{error_code, message}` (what the plugin's RestStore
 * reads) [unverified for AML's own refusals]; history paths answer AML's `ErrorResponse`
 * (`{error: {code, message, innerError}, correlation, environment, location, time, componentName}`,
 * the wheel's `models/_models_py3.py`) [unverified codes]. Requests are appended to
 * `<state>/aml/requests.jsonl` (not to the ARM request log, whose counts tests rely on).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, mkdirSync, openSync, closeSync } from 'node:fs'
import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import { randomUUID } from 'node:crypto'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  BlobSASPermissions,
  generateBlobSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential
} from '@azure/storage-blob'
import { actionMatches } from './authorization.js'
import type { EmulatorContext } from './context.js'
import { deployer, verifyToken } from './identity.js'
import {
  asArray,
  asObject,
  asString,
  ensureObject,
  isObject,
  stringAt,
  type JsonObject,
  type JsonValue
} from './json.js'
import { ArmError } from './errors.js'
import { LoopbackServer } from './listen.js'
import { readBody } from './requestBody.js'
import { waitForHealthy } from './runtime/healthProbe.js'
import { tenantOf } from './random.js'
import { findRegion } from './regions.js'
import { mlWorkspaceOf } from './resources/mlWorkspaces.js'
import { acceptedKeys, storageKeys } from './resources/storageAccounts.js'
import { freePort } from './runtime/freePort.js'
import type { ResourceRecord } from './store.js'
import type { CertificateAuthority } from './tls.js'

/** The MLflow release the workspaces' tracking servers run (the newest that installs here). */
export const AML_MLFLOW_VERSION = '3.17.2'
export const AML_HOST = /^([a-z0-9]+)\.api\.azureml\.ms$/i
const AUDIENCES = ['https://management.azure.com', 'https://ml.azure.com']
const SCOPE =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/workspaces\/([^/]+)(\/.*)?$/i
const HISTORY_RUN = /^\/(experiments|experimentids)\/([^/]+)\/runs\/([^/]+)\/artifacts(\/.*)?$/i
const TRACES = /\/mlflow\/traces(\/|$)|^\/v1\/traces(\/|$)/i
const ARTIFACT_CONTAINER = 'azureml'
const ORIGIN = 'ExperimentRun'
const PAGE_SIZE = 500
const SAS_LIFETIME_MS = 60 * 60_000
const START_DEADLINE_MS = 180_000
const GUARD = fileURLToPath(new URL('./runtime/guard.js', import.meta.url))
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

type Kind = 'mlflow' | 'history'

/** A refusal of the AML endpoint: the shape of an ARM error, its own body formats (below). */
class AmlError extends ArmError {}

interface Answer {
  status: number
  body?: Buffer
  contentType?: string
}

interface TrackingServer {
  ready: Promise<number>
  child?: ChildProcess
}

export interface AmlEndpointDeps {
  stateDir: string
  /** The venv of an MLflow release (`MlflowAdapter.serverVenv`). */
  venv(version: string): Promise<string>
}

/** AML's name for the region of `host`, when it is one of ours. */
function regionOfHost(host: string): string | undefined {
  const given = AML_HOST.exec(host)?.[1]?.toLowerCase()
  return given && findRegion(given)?.name === given ? given : undefined
}

const json = (value: JsonValue): Answer => ({
  status: 200,
  body: Buffer.from(JSON.stringify(value)),
  contentType: 'application/json'
})

/** `artifact_uri` of every run in an MLflow answer → AML's form (see the top of this file). */
export function rewriteArtifactUris(value: JsonValue): void {
  if (Array.isArray(value)) {
    for (const v of value) rewriteArtifactUris(v)
    return
  }
  if (!isObject(value)) return
  const runId = asString(value['run_id']) ?? asString(value['run_uuid'])
  const experimentId = asString(value['experiment_id'])
  if (runId && experimentId && typeof value['artifact_uri'] === 'string')
    value['artifact_uri'] = `azureml://experiments/${experimentId}/runs/${runId}/artifacts`
  for (const v of Object.values(value)) if (v !== undefined) rewriteArtifactUris(v)
}

export class AmlEndpoint {
  private readonly server: LoopbackServer
  private readonly servers = new Map<string, TrackingServer>()
  private readonly agent = new Agent({ keepAlive: true })
  private readonly containersMade = new Set<string>()
  private closing = false

  constructor(
    private readonly ctx: EmulatorContext,
    ca: CertificateAuthority,
    private readonly deps: AmlEndpointDeps
  ) {
    const leaf = ca.issueSync(['*.api.azureml.ms', 'api.azureml.ms'])
    const server = createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        process.stderr.write(`[emulator] aml: ${err instanceof Error ? err.stack : String(err)}\n`)
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
    })
    server.keepAliveTimeout = 30_000
    this.server = new LoopbackServer(server)
  }

  get url(): string {
    return `https://127.0.0.1:${this.server.port}`
  }

  listen(port: number): Promise<number> {
    return this.server.listen(port)
  }

  /** For the proxy: this endpoint's port for a known region's host, `unresolvable` for another region's. */
  serviceHost(host: string): number | 'unresolvable' | undefined {
    if (!AML_HOST.test(host)) return undefined
    return regionOfHost(host) ? this.server.port : 'unresolvable'
  }

  /** Stops the tracking servers (each under its guard, which takes its workers along) and the listener. */
  async close(): Promise<void> {
    this.closing = true
    const exits = [...this.servers.values()].map(
      (s) =>
        new Promise<void>((resolve) => {
          const child = s.child
          if (!child || child.exitCode !== null || child.signalCode !== null) return resolve()
          const timer = setTimeout(() => {
            child.kill('SIGKILL')
            resolve()
          }, 10_000)
          child.once('exit', () => {
            clearTimeout(timer)
            resolve()
          })
          child.kill('SIGTERM')
        })
    )
    await Promise.all(exits)
    this.agent.destroy()
    await this.server.close()
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = (req.headers.host ?? '').replace(/:443$/, '').toLowerCase()
    const region = regionOfHost(host)
    if (!region) {
      req.socket.destroy()
      return
    }
    const url = new URL(req.url ?? '/', `https://${host}`)
    const method = (req.method ?? 'GET').toUpperCase()
    const body = await readBody(req)
    const kind: Kind = /^\/history\//i.test(url.pathname) ? 'history' : 'mlflow'
    let answer: Answer
    try {
      answer = await this.answer(method, url, region, req, body, kind)
    } catch (err) {
      const e =
        err instanceof AmlError
          ? err
          : new AmlError(
              500,
              'InternalError',
              `Emulator error: ${err instanceof Error ? err.message : String(err)}`
            )
      if (!(err instanceof AmlError))
        process.stderr.write(
          `[emulator] aml ${method} ${url.pathname}: ${err instanceof Error ? err.stack : String(err)}\n`
        )
      answer = this.errorAnswer(kind, e, region)
      for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v)
    }
    this.record(method, host, url.pathname, answer.status)
    const headers: Record<string, string> = { 'x-ms-request-id': randomUUID() }
    if (answer.body !== undefined) {
      headers['content-type'] = answer.contentType ?? 'application/json'
      headers['content-length'] = String(answer.body.length)
    } else headers['content-length'] = '0'
    res.writeHead(answer.status, headers)
    res.end(method === 'HEAD' ? undefined : answer.body)
  }

  private errorAnswer(kind: Kind, e: AmlError, region: string): Answer {
    const body: JsonObject =
      kind === 'mlflow'
        ? { error_code: mlflowCode(e.status), message: e.message }
        : {
            error: {
              code: e.status >= 500 ? 'SystemError' : 'UserError',
              message: e.message,
              innerError: { code: e.code }
            },
            correlation: { operation: randomUUID().replace(/-/g, ''), request: randomUUID().slice(0, 16) },
            environment: region,
            location: region,
            time: new Date().toISOString(),
            componentName: 'run-history'
          }
    return { status: e.status, body: Buffer.from(JSON.stringify(body)), contentType: 'application/json' }
  }

  private record(method: string, host: string, path: string, status: number): void {
    try {
      const dir = join(this.deps.stateDir, 'aml')
      mkdirSync(dir, { recursive: true })
      appendFileSync(
        join(dir, 'requests.jsonl'),
        `${JSON.stringify({ at: Date.now(), method, host, path, status })}\n`
      )
    } catch {
      // The log is a development aid; a full disk must not fail the request.
    }
  }

  private async answer(
    method: string,
    url: URL,
    region: string,
    req: IncomingMessage,
    body: Buffer,
    kind: Kind
  ): Promise<Answer> {
    const principal = this.authenticate(String(req.headers['authorization'] ?? ''))
    const prefix = /^\/(mlflow\/v[12]\.0|history\/v1\.0)(\/.*)$/i.exec(url.pathname)
    const scope = prefix ? SCOPE.exec(prefix[2] ?? '') : null
    if (!prefix || !scope) throw new AmlError(404, 'NotFound', `No route matches '${url.pathname}'.`)
    const [, sub = '', rg = '', wsName = '', rest = ''] = scope
    const workspace = this.workspace(sub, rg, wsName, region)
    this.authorize(principal, method, workspace)

    if (kind === 'mlflow') {
      if (TRACES.test(rest)) {
        throw new AmlError(
          403,
          'TracingNotSupported',
          'MLflow Tracing is not supported by Azure Machine Learning workspaces: trace endpoints are refused.'
        )
      }
      if (!/^\/(api|ajax-api)\//i.test(rest))
        throw new AmlError(404, 'NotFound', `No route matches '${url.pathname}'.`)
      return this.forward(workspace, method, rest + url.search, req, body)
    }
    const m = HISTORY_RUN.exec(rest)
    if (!m) throw new AmlError(404, 'NotFound', `No route matches '${url.pathname}'.`)
    const [, byWhat = '', experiment = '', runId = '', suffix = ''] = m
    await this.requireRun(
      workspace,
      byWhat.toLowerCase() === 'experimentids',
      decodeURIComponent(experiment),
      decodeURIComponent(runId)
    )
    return this.artifacts(workspace, method, url, decodeURIComponent(runId), suffix.toLowerCase(), body)
  }

  /** Step 2: the caller's principal, or 401. */
  private authenticate(header: string): { principalId: string; isDeployer: boolean } {
    const fail = (detail: string): never => {
      throw new AmlError(401, 'AuthenticationFailed', `Authentication failed: ${detail}`, {
        'www-authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/${tenantOf(this.ctx.store.state.subscriptionId)}", error="invalid_token", error_description="${detail}"`
      })
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header)
    if (!m) return fail("The 'Authorization' header with a Bearer token is missing.")
    const token = m[1] ?? ''
    const who = deployer(this.ctx)
    if (token === this.ctx.store.state.token) return { principalId: who.principalId, isDeployer: true }
    const verified = verifyToken(this.ctx, token)
    if ('failure' in verified) return fail(verified.failure)
    const aud = verified.claims.aud.replace(/\/\.default$/, '').replace(/\/+$/, '')
    if (!AUDIENCES.includes(aud)) return fail('Audience validation failed. Audience did not match.')
    const oid = verified.claims.oid.toLowerCase()
    return { principalId: oid, isDeployer: oid === who.principalId }
  }

  /** Step 3. */
  private workspace(sub: string, rg: string, name: string, region: string): ResourceRecord {
    const record = mlWorkspaceOf(this.ctx, sub, rg, name)
    const state = stringAt(record?.body, 'properties', 'provisioningState')
    const location = findRegion(asString(record?.body['location']) ?? '')?.name
    if (!record || state !== 'Succeeded' || location !== region) {
      throw new AmlError(
        404,
        'WorkspaceNotFound',
        `Workspace '${name}' in resource group '${rg}' of subscription '${sub}' was not found in region '${region}'.`
      )
    }
    if (stringAt(record.body, 'properties', 'publicNetworkAccess') === 'Disabled') {
      throw new AmlError(
        403,
        'PrivateLinkAccessDenied',
        `Workspace '${name}' is behind a private link (publicNetworkAccess: Disabled) and is not reachable from this network.`
      )
    }
    return record
  }

  /** Step 4. */
  private authorize(
    principal: { principalId: string; isDeployer: boolean },
    method: string,
    ws: ResourceRecord
  ): void {
    const denied = this.ctx.config.denyActions
    if (!principal.isDeployer || denied.length === 0) return
    const action = `Microsoft.MachineLearningServices/workspaces/experiments/${method === 'GET' || method === 'HEAD' ? 'read' : 'write'}`
    if (!denied.some((p) => actionMatches(p, action))) return
    const id = principal.principalId
    throw new AmlError(
      403,
      'AuthorizationFailed',
      `The client '${id}' with object id '${id}' does not have authorization to perform action '${action}' over scope '${ws.id}' or the scope is invalid. If access was recently granted, please refresh your credentials.`
    )
  }

  // ---------------------------------------------------------------------------------------------
  // MLflow
  // ---------------------------------------------------------------------------------------------

  private async forward(
    ws: ResourceRecord,
    method: string,
    path: string,
    req: IncomingMessage,
    body: Buffer
  ): Promise<Answer> {
    const answer = await this.mlflow(ws, method, path, body, {
      ...(req.headers['content-type'] ? { 'content-type': String(req.headers['content-type']) } : {}),
      ...(req.headers['accept'] ? { accept: String(req.headers['accept']) } : {})
    })
    if (answer.body && /json/i.test(answer.contentType ?? '')) {
      try {
        const parsed = JSON.parse(answer.body.toString('utf8')) as JsonValue
        rewriteArtifactUris(parsed)
        answer.body = Buffer.from(JSON.stringify(parsed))
      } catch {
        // Not JSON after all: passed on as it is.
      }
    }
    return answer
  }

  /** One request to the workspace's own `mlflow server`. */
  private async mlflow(
    ws: ResourceRecord,
    method: string,
    path: string,
    body: Buffer | undefined,
    headers: Record<string, string>
  ): Promise<Answer> {
    const port = await this.tracking(ws)
    return new Promise((resolve, reject) => {
      const upstream = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          agent: this.agent,
          headers: {
            ...headers,
            host: `127.0.0.1:${port}`,
            ...(body && body.length > 0 ? { 'content-length': String(body.length) } : {})
          }
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 502,
              body: Buffer.concat(chunks),
              contentType: String(res.headers['content-type'] ?? 'application/json')
            })
          )
          res.on('error', reject)
        }
      )
      upstream.on('error', reject)
      upstream.end(body && body.length > 0 ? body : undefined)
    })
  }

  /** The workspace's tracking server's port, started on first use. */
  private tracking(ws: ResourceRecord): Promise<number> {
    const workspaceId = stringAt(ws.body, 'properties', 'workspaceId') ?? ''
    const running = this.servers.get(workspaceId)
    if (running) return running.ready
    const entry: TrackingServer = { ready: Promise.resolve(0) }
    entry.ready = this.start(workspaceId, entry).catch((err: unknown) => {
      this.servers.delete(workspaceId)
      throw err
    })
    this.servers.set(workspaceId, entry)
    return entry.ready
  }

  private async start(workspaceId: string, entry: TrackingServer): Promise<number> {
    if (this.closing) throw new AmlError(503, 'ServiceUnavailable', 'The service is stopping.')
    const venv = await this.deps.venv(AML_MLFLOW_VERSION)
    const dir = join(this.deps.stateDir, 'aml', workspaceId)
    mkdirSync(dir, { recursive: true })
    const port = await freePort()
    const log = openSync(join(dir, 'mlflow.log'), 'a')
    const child = spawn(
      process.execPath,
      [
        GUARD,
        '--parent-pid',
        String(process.pid),
        '--',
        join(venv, 'bin', 'mlflow'),
        'server',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--workers',
        '1',
        '--backend-store-uri',
        `sqlite:///${join(dir, 'mlflow.db')}`,
        // Never used by a client: every run's artifact_uri is answered in AML's form.
        '--default-artifact-root',
        `file://${join(dir, 'artifacts')}`,
        '--no-serve-artifacts'
      ],
      {
        cwd: dir,
        stdio: ['ignore', log, log],
        env: {
          PATH: `${join(venv, 'bin')}:${SYSTEM_PATH}`,
          VIRTUAL_ENV: venv,
          HOME: process.env['HOME'] ?? homedir(),
          LANG: 'C.UTF-8',
          PYTHONUNBUFFERED: '1'
        }
      }
    )
    closeSync(log)
    entry.child = child
    let exited = false
    child.once('exit', () => {
      exited = true
      if (this.servers.get(workspaceId) === entry) this.servers.delete(workspaceId)
    })
    // The same probe the Container Apps runtime decides a replica's health with.
    const probe = await waitForHealthy({
      url: `http://127.0.0.1:${port}/health`,
      deadlineMs: START_DEADLINE_MS,
      intervalMs: 200,
      gone: () => (exited ? `it exited (see ${join(dir, 'mlflow.log')})` : undefined)
    })
    if (probe.healthy) return port
    if (!exited) child.kill('SIGTERM')
    throw new AmlError(
      500,
      'InternalError',
      `The workspace's tracking server did not start: ${probe.reason}.`
    )
  }

  // ---------------------------------------------------------------------------------------------
  // Run history: artifacts
  // ---------------------------------------------------------------------------------------------

  private notFound(message: string): AmlError {
    return new AmlError(404, 'NotFoundError', message)
  }

  /** The run exists in the workspace's MLflow and belongs to the experiment the path names. */
  private async requireRun(
    ws: ResourceRecord,
    byId: boolean,
    experiment: string,
    runId: string
  ): Promise<void> {
    const got = await this.mlflow(
      ws,
      'GET',
      `/api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(runId)}`,
      undefined,
      {}
    )
    const run = got.status === 200 ? safeJson(got.body) : undefined
    const experimentId = stringAt(run, 'run', 'info', 'experiment_id')
    if (!experimentId) throw this.notFound(`Run '${runId}' was not found.`)
    if (experimentId === experiment) return
    if (!byId) {
      const exp = await this.mlflow(
        ws,
        'GET',
        `/api/2.0/mlflow/experiments/get?experiment_id=${encodeURIComponent(experimentId)}`,
        undefined,
        {}
      )
      if (stringAt(safeJson(exp.body), 'experiment', 'name') === experiment) return
    }
    throw this.notFound(`Run '${runId}' was not found in experiment '${experiment}'.`)
  }

  private registry(ws: ResourceRecord, runId: string): JsonObject {
    return ensureObject(ensureObject(ws.internal, 'artifacts'), runId)
  }

  private async artifacts(
    ws: ResourceRecord,
    method: string,
    url: URL,
    runId: string,
    suffix: string,
    body: Buffer
  ): Promise<Answer> {
    const registry = this.registry(ws, runId)
    const q = url.searchParams
    const path = q.get('path') ?? ''
    const all = Object.values(registry)
      .filter(isObject)
      .sort((a, b) => (asString(a['path']) ?? '').localeCompare(asString(b['path']) ?? ''))
    const under = (prefix: string): JsonObject[] => {
      const p = prefix.replace(/\/+$/, '')
      return all.filter((a) => {
        const ap = asString(a['path']) ?? ''
        return !p || ap === p || ap.startsWith(`${p}/`)
      })
    }
    const route = `${method} ${suffix || '/'}`
    switch (route) {
      case 'POST /batch/metadata':
        return json(await this.createArtifacts(ws, runId, body))
      case 'GET /':
        return json(this.page(all, url))
      case 'GET /path':
        return json(this.page(under(path), url))
      case 'GET /metadata': {
        const artifact = registry[path]
        if (!isObject(artifact)) throw this.notFound(`Artifact '${path}' of run '${runId}' was not found.`)
        return json(artifact)
      }
      case 'GET /contentinfo': {
        if (!isObject(registry[path]))
          throw this.notFound(`Artifact '${path}' of run '${runId}' was not found.`)
        return json(await this.contentInfo(ws, runId, path))
      }
      case 'GET /prefix/contentinfo': {
        const infos: JsonValue[] = []
        for (const a of under(path)) infos.push(await this.contentInfo(ws, runId, asString(a['path']) ?? ''))
        return json(this.page(infos.filter(isObject), url))
      }
      default:
        throw new AmlError(404, 'NotFound', `No route matches '${method} ${url.pathname}'.`)
    }
  }

  /** `{value, continuationToken, nextLink}`, `PAGE_SIZE` at a time (the token is the offset). */
  private page(items: JsonObject[], url: URL): JsonObject {
    const start = Math.max(0, Number(url.searchParams.get('continuationToken') ?? '0') || 0)
    const value = items.slice(start, start + PAGE_SIZE)
    const more = start + PAGE_SIZE < items.length
    let nextLink: string | null = null
    if (more) {
      const next = new URL(url.toString())
      next.searchParams.set('continuationToken', String(start + PAGE_SIZE))
      nextLink = next.toString()
    }
    return { value, continuationToken: more ? String(start + PAGE_SIZE) : null, nextLink }
  }

  private async createArtifacts(ws: ResourceRecord, runId: string, raw: Buffer): Promise<JsonObject> {
    const body = safeJson(raw)
    const paths = asArray(asObject(body)?.['paths'])
    if (!paths)
      throw new AmlError(
        400,
        'ValidationError',
        'The request body must be an ArtifactPathList: {"paths": [{"path": …}]}.'
      )
    const registry = this.registry(ws, runId)
    const artifacts: JsonObject = {}
    const contentInformation: JsonObject = {}
    const errors: JsonObject = {}
    for (const entry of paths) {
      const path = asString(asObject(entry)?.['path'])
      if (!path || path.startsWith('/') || path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
        errors[String(path ?? '')] = {
          error: { code: 'UserError', message: `The artifact path '${String(path ?? '')}' is not valid.` }
        }
        continue
      }
      const existing = asObject(registry[path])
      const artifact: JsonObject = existing ?? {
        artifactId: `${ORIGIN}/dcid.${runId}/${path}`,
        origin: ORIGIN,
        container: `dcid.${runId}`,
        path,
        createdTime: new Date().toISOString(),
        tags: {}
      }
      registry[path] = artifact
      artifacts[path] = artifact
      contentInformation[path] = await this.contentInfo(ws, runId, path)
    }
    this.ctx.store.commit()
    return { artifacts, artifactContentInformation: contentInformation, errors }
  }

  /** ArtifactContentInformation with a fresh SAS URL for the artifact's blob. */
  private async contentInfo(ws: ResourceRecord, runId: string, path: string): Promise<JsonObject> {
    const accountId = stringAt(ws.body, 'properties', 'storageAccount') ?? ''
    const account = this.ctx.store.get(accountId)
    if (!account)
      throw new AmlError(500, 'SystemError', `The workspace's storage account '${accountId}' does not exist.`)
    const name = asString(account.body['name']) ?? ''
    const key = asString(asObject(asArray(storageKeys(this.ctx, account)['keys'])?.[0])?.['value']) ?? ''
    if (!this.containersMade.has(name) && this.ctx.backends.blob) {
      await this.ctx.backends.blob.ensureContainer(
        name,
        acceptedKeys(this.ctx, account).key1,
        ARTIFACT_CONTAINER
      )
      this.containersMade.add(name)
    }
    const blobName = `${ORIGIN}/dcid.${runId}/${path}`
    const now = Date.now()
    const sas = generateBlobSASQueryParameters(
      {
        containerName: ARTIFACT_CONTAINER,
        blobName,
        permissions: BlobSASPermissions.parse('rcw'),
        startsOn: new Date(now - 5 * 60_000),
        expiresOn: new Date(now + SAS_LIFETIME_MS),
        protocol: SASProtocol.Https
      },
      new StorageSharedKeyCredential(name, key)
    ).toString()
    const encoded = blobName.split('/').map(encodeURIComponent).join('/')
    return {
      contentUri: `https://${name}.blob.core.windows.net/${ARTIFACT_CONTAINER}/${encoded}?${sas}`,
      origin: ORIGIN,
      container: `dcid.${runId}`,
      path,
      tags: {}
    }
  }
}

function mlflowCode(status: number): string {
  if (status === 401) return 'UNAUTHENTICATED'
  if (status === 403) return 'PERMISSION_DENIED'
  if (status === 404) return 'RESOURCE_DOES_NOT_EXIST'
  if (status === 400) return 'INVALID_PARAMETER_VALUE'
  return 'INTERNAL_ERROR'
}

function safeJson(raw: Buffer | undefined): JsonValue | undefined {
  if (!raw || raw.length === 0) return undefined
  try {
    return JSON.parse(raw.toString('utf8')) as JsonValue
  } catch {
    return undefined
  }
}
