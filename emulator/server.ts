/**
 * The HTTPS front door: request log, token check, the deploying principal's missing permissions
 * (`--deny-actions`, authorization.ts), api-version check, seeded faults, then routing.
 * Resource-group existence, resource-group deletion and provider registration are checked here once
 * for every route instead of in each resource module.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import { Authorization } from './authorization.js'
import type { EmulatorContext, ProviderCheck } from './context.js'
import {
  ArmError,
  badRequest,
  invalidRequestContent,
  operationInProgress,
  resourceGroupNotFound
} from './errors.js'
import { FaultInjector, isWrite } from './faults.js'
import { GUID_PATTERN, resourceGroupId } from './ids.js'
import { deployer } from './identity.js'
import { isObject, stringAt, type JsonObject, type JsonValue } from './json.js'
import { listenOnLoopback } from './listen.js'
import type { RequestLog } from './requestLog.js'
import { recordWrite, withSystemData } from './systemData.js'
import type { ArmRequest, ArmResponse, Router } from './router.js'
import { readBody } from './requestBody.js'
import type { TlsMaterial } from './tls.js'

export interface ServerDeps {
  ctx: EmulatorContext
  router: Router
  log: RequestLog
  faults: FaultInjector
  providers: ProviderCheck
  tls: TlsMaterial
  token: string
  /** `GET /_emulator/runtime`: where the local services listen. */
  runtimeInfo: () => JsonValue
}

const SUBSCRIPTION_IN_PATH = /^\/subscriptions\/([^/]+)/i

export class ArmServer {
  private readonly server: Server
  private origin = 'https://127.0.0.1'
  private readonly authorization: Authorization

  constructor(private readonly deps: ServerDeps) {
    this.authorization = new Authorization(deps.ctx.config.denyActions, () => deployer(deps.ctx))
    this.server = createServer({ cert: deps.tls.cert, key: deps.tls.key }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        process.stderr.write(`[emulator] unhandled: ${err instanceof Error ? err.stack : String(err)}\n`)
        if (!res.headersSent)
          this.send(res, 500, { error: { code: 'InternalServerError', message: String(err) } })
      })
    })
    this.server.keepAliveTimeout = 30_000
  }

  /** Listens on `port` (0 = any free port) and answers with the port taken. */
  async listen(port: number): Promise<number> {
    const actual = await listenOnLoopback(this.server, port)
    this.origin = `https://127.0.0.1:${actual}`
    return actual
  }

  get endpoint(): string {
    return this.origin
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections()
      this.server.close(() => resolve())
    })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // `//subscriptions/…` (a scope given with its leading slash, as `@azure/arm-authorization`
    // joins it: `/{scope}/providers/…`) is a path, not a host: ARM takes such paths.
    const url = new URL((req.url ?? '/').replace(/^\/{2,}/, '/'), this.origin)
    const method = (req.method ?? 'GET').toUpperCase()
    const path = url.pathname
    if (path.toLowerCase().startsWith('/_emulator/')) return this.emulatorEndpoint(method, path, res)

    const { ctx, log } = this.deps
    const entry = log.begin(method, path)
    let status = 500
    try {
      const raw = (await readBody(req)).toString('utf8')
      const answer = await this.answer(method, path, url.searchParams, req, raw)
      if (answer === 'reset') {
        status = 0
        req.socket.destroy()
        return
      }
      recordWrite(ctx, method, path, answer.status)
      if (answer.delayMs && answer.delayMs > 0) await new Promise((r) => setTimeout(r, answer.delayMs))
      status = answer.status
      this.send(res, answer.status, withSystemData(ctx, answer.body), answer.headers, req)
    } catch (err) {
      const armError =
        err instanceof ArmError
          ? err
          : new ArmError(
              500,
              'InternalServerError',
              `Emulator error: ${err instanceof Error ? err.message : String(err)}`
            )
      if (!(err instanceof ArmError)) {
        process.stderr.write(
          `[emulator] ${method} ${path}: ${err instanceof Error ? err.stack : String(err)}\n`
        )
      }
      status = armError.status
      this.send(res, armError.status, armError.body(), armError.headers, req)
    } finally {
      log.finish(entry, status)
      ctx.store.commit()
    }
  }

  private async answer(
    method: string,
    path: string,
    query: URLSearchParams,
    req: IncomingMessage,
    raw: string
  ): Promise<ArmResponse | 'reset'> {
    const { ctx, router, faults, providers, token } = this.deps
    const auth = req.headers['authorization']
    if (auth !== `Bearer ${token}`) {
      throw new ArmError(
        401,
        'InvalidAuthenticationToken',
        auth
          ? 'The access token is invalid.'
          : "Authentication failed. The 'Authorization' header is missing."
      )
    }
    // ARM decides what the caller may do before anything else looks at the request.
    this.authorization.check(method, path)
    const apiVersion = query.get('api-version')
    if (!apiVersion) {
      throw badRequest(
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.'
      )
    }
    ctx.lro.settle()

    const fault = faults.decide(method, path)
    switch (fault) {
      case 'reset':
        return 'reset'
      case '429':
      case '503':
        throw this.throttled(fault, method, path)
      case '500':
        throw new ArmError(500, 'InternalServerError', 'Encountered internal server error. Please try again.')
      case '409':
        throw operationInProgress(path, this.origin)
      default:
        break
    }

    const match = router.match(method, path)
    if (!match)
      throw new ArmError(
        404,
        'NotFound',
        `No HTTP resource was found that matches the request URI '${path}'.`
      )

    let body: JsonObject | undefined
    if (raw.trim()) {
      let parsed: unknown
      try {
        parsed = JSON.parse(raw)
      } catch (err) {
        throw invalidRequestContent(err instanceof Error ? err.message : String(err))
      }
      if (!isObject(parsed)) throw invalidRequestContent('the body must be a JSON object')
      body = parsed
    }

    const params = match.params
    const subscriptionId = params['subscriptionId']
    if (subscriptionId !== undefined && !GUID_PATTERN.test(subscriptionId)) {
      throw badRequest(
        'InvalidSubscriptionId',
        `The provided subscription identifier '${subscriptionId}' is malformed or invalid.`
      )
    }
    const rg = params['resourceGroupName']
    if (subscriptionId && rg !== undefined && !match.route.options.ownsResourceGroup) {
      const group = ctx.store.get(resourceGroupId(subscriptionId, rg))
      if (!group) throw resourceGroupNotFound(rg)
      if (
        (method === 'PUT' || method === 'PATCH') &&
        stringAt(group.body, 'properties', 'provisioningState') === 'Deleting'
      ) {
        throw new ArmError(
          409,
          'ResourceGroupBeingDeleted',
          `The resource group '${rg}' is in deprovisioning state and cannot perform this operation.`
        )
      }
    }
    const namespace = match.route.options.namespace
    if (
      method === 'PUT' &&
      namespace &&
      subscriptionId &&
      !providers.isRegistered(subscriptionId, namespace)
    ) {
      throw new ArmError(
        409,
        'MissingSubscriptionRegistration',
        `The subscription is not registered to use namespace '${namespace}'. See https://aka.ms/rps-not-found for how to register subscriptions.`
      )
    }

    const armRequest: ArmRequest = {
      method,
      path,
      query,
      apiVersion,
      headers: req.headers,
      params,
      body,
      origin: this.origin,
      failLro: fault === 'lro-fail'
    }
    return match.route.handler(armRequest)
  }

  private throttled(kind: '429' | '503', method: string, path: string): ArmError {
    const seconds = 10
    const headers = {
      'Retry-After': String(seconds),
      // The SDK prefers the ms header: this is how the time scale reaches its retry waits.
      'x-ms-retry-after-ms': String(Math.ceil(seconds * 1000 * this.deps.ctx.config.timeScale))
    }
    if (kind === '503') {
      return new ArmError(
        503,
        'ServiceUnavailable',
        'The service is temporarily unavailable. Please retry later.',
        headers
      )
    }
    const sub = SUBSCRIPTION_IN_PATH.exec(path)?.[1] ?? ''
    const what = isWrite(method, path) ? 'write' : 'read'
    return new ArmError(
      429,
      'SubscriptionRequestsThrottled',
      `Number of '${what}' requests for subscription '${sub}' actually exceeded the limit of '1200' for time interval '01:00:00'. Please try again after '${seconds}' seconds.`,
      headers
    )
  }

  private emulatorEndpoint(method: string, path: string, res: ServerResponse): void {
    const p = path.toLowerCase().replace(/\/+$/, '')
    if (method === 'GET' && p === '/_emulator/requests')
      return this.send(res, 200, this.deps.log.all() as unknown as JsonValue)
    if (method === 'GET' && p === '/_emulator/state') {
      this.deps.ctx.lro.settle()
      this.deps.ctx.store.commit()
      return this.send(res, 200, worldView(this.deps.ctx) as unknown as JsonValue)
    }
    if (method === 'GET' && p === '/_emulator/health') return this.send(res, 200, { status: 'ok' })
    if (method === 'GET' && p === '/_emulator/runtime') {
      this.deps.ctx.lro.settle()
      return this.send(res, 200, this.deps.runtimeInfo())
    }
    this.send(res, 404, { error: { code: 'NotFound', message: `Unknown emulator endpoint ${path}` } })
  }

  private send(
    res: ServerResponse,
    status: number,
    body?: JsonValue,
    headers: Record<string, string> = {},
    req?: IncomingMessage
  ): void {
    const out: Record<string, string> = {
      'x-ms-request-id': randomUUID(),
      'x-ms-correlation-request-id': randomUUID(),
      ...headers
    }
    const clientRequestId = req?.headers['x-ms-client-request-id']
    if (typeof clientRequestId === 'string') out['x-ms-client-request-id'] = clientRequestId
    if (body === undefined || req?.method === 'HEAD') {
      out['content-length'] = '0'
      res.writeHead(status, out)
      res.end()
      return
    }
    const text = JSON.stringify(body)
    out['content-type'] = 'application/json; charset=utf-8'
    out['content-length'] = String(Buffer.byteLength(text))
    res.writeHead(status, out)
    res.end(text)
  }
}

/**
 * The world as tests should see it: resources, providers and running operations. Finished
 * operations (kept so late polls still get their answer) and id counters are bookkeeping, and
 * would otherwise keep the names of deleted resources in sight.
 */
function worldView(ctx: EmulatorContext): object {
  const { subscriptionId, token, port, providers, resources, operations } = ctx.store.state
  const running = Object.fromEntries(
    Object.entries(operations).filter(([, op]) => op.status === 'InProgress')
  )
  return { subscriptionId, token, port, providers, resources, operations: running }
}
