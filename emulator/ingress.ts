/**
 * The Container Apps ingress: one HTTPS server on 127.0.0.1 (its port persisted in the state) that
 * presents, by SNI, a certificate for `*.<defaultDomain>` and `*.internal.<defaultDomain>` of the
 * environment the name belongs to, or for `<region>.azurecontainerapps.dev` (signed by the
 * emulator's CA, made on first use), and
 *  - reverse-proxies by `Host` (the app's `configuration.ingress.fqdn`, a revision's or a label's
 *    FQDN, with or without `:443`) to the local URL of the running revision `appRoutes.ts` picks.
 *    The `Host` header passes through unchanged, so MLflow's host check sees the FQDN, as behind
 *    ACA's Envoy; `X-Forwarded-For` (the client's address as `networkRules.ts` places it: the
 *    runner's `--client-ip`, or an environment's subnet address for its replicas) and
 *    `X-Forwarded-Proto: https` are added. Unknown host → 404 (so is an internal app's host asked
 *    from outside its environment: that name does not exist there); a client the app's IP
 *    restrictions refuse → 403 `RBAC: access denied`, before anything else about the app is told;
 *    no running revision → 503; a revision that stops answering → 502. Bodies stream both ways.
 *    Each proxied request counts as in flight to its revision until it ends (a revision that loses
 *    its traffic is stopped only after those end);
 *  - serves the region hosts' log streams (`logStream.ts`).
 */
import { request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import { createSecureContext, type SecureContext } from 'node:tls'
import { domainOf, routeFor } from './appRoutes.js'
import type { EmulatorContext } from './context.js'
import { LoopbackServer } from './listen.js'
import { isStreamHost, serveLogStream } from './logStream.js'
import { appReachableFrom, ipAllowed, outside, RBAC_DENIED, type ConnectionOrigins } from './networkRules.js'
import { appSpec } from './resources/containerAppView.js'
import type { CertificateAuthority } from './tls.js'

export class Ingress {
  private readonly server: LoopbackServer
  private readonly contexts = new Map<string, Promise<SecureContext>>()
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 })

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly ca: CertificateAuthority,
    fallback: { cert: string; key: string },
    /** The proxy's tunnels and whom they carry; any other connection is from outside. */
    private readonly origins: ConnectionOrigins
  ) {
    const server = createServer(
      {
        cert: fallback.cert,
        key: fallback.key,
        SNICallback: (servername, cb) => {
          this.contextFor(servername).then(
            (context) => cb(null, context),
            (err: unknown) => cb(err instanceof Error ? err : new Error(String(err)))
          )
        }
      },
      (req, res) => this.handle(req, res)
    )
    // A client that goes away mid-handshake is not the emulator's problem.
    server.on('tlsClientError', () => {})
    this.server = new LoopbackServer(server)
  }

  get url(): string {
    return `https://127.0.0.1:${this.server.port}`
  }

  get listeningPort(): number {
    return this.server.port
  }

  listen(port: number): Promise<number> {
    return this.server.listen(port)
  }

  close(): Promise<void> {
    this.agent.destroy()
    return this.server.close()
  }

  /** A secure context for the environment the name is under; undefined → the fallback cert. */
  private contextFor(servername: string): Promise<SecureContext | undefined> {
    const stream = isStreamHost(servername) ? servername.toLowerCase() : undefined
    const domain = stream ?? domainOf(this.ctx, servername)
    if (!domain) return Promise.resolve(undefined)
    let context = this.contexts.get(domain)
    if (!context) {
      context = this.ca
        .issue(stream ? [stream] : [`*.${domain}`, `*.internal.${domain}`])
        .then((leaf) => createSecureContext({ cert: leaf.cert, key: leaf.key }))
      context.catch(() => this.contexts.delete(domain))
      this.contexts.set(domain, context)
    }
    return context
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const host = req.headers.host ?? ''
    if (isStreamHost(host)) {
      serveLogStream(this.ctx, req, res)
      return
    }
    const origin = this.origins.of(req.socket.remotePort) ?? outside(this.ctx)
    const route = routeFor(this.ctx, host)
    const app = route ? this.ctx.store.get(route.appId) : undefined
    const spec = app ? appSpec(app) : {}
    if (!route || !app || !appReachableFrom(spec, origin))
      return plain(res, 404, `No container app answers at '${host}'.`)
    // Envoy's RBAC filter runs before routing: a refused client learns nothing about revisions.
    if (!ipAllowed(spec, origin.address)) return plain(res, RBAC_DENIED.status, RBAC_DENIED.body)
    if (!route.url) {
      return plain(
        res,
        503,
        route.revision
          ? `The revision '${route.revision}' of container app '${route.app}' is not running.`
          : `The container app '${route.app}' has no running revision.`
      )
    }
    const target = new URL(req.url ?? '/', route.url)
    const revisionId = route.revisionId
    if (revisionId) {
      this.ctx.inFlight.begin(revisionId)
      res.once('close', () => this.ctx.inFlight.end(revisionId))
    }
    const forwardedFor = [req.headers['x-forwarded-for'], origin.address].filter(Boolean).join(', ')
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: req.url ?? '/',
        method: req.method,
        agent: this.agent,
        headers: { ...req.headers, 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': 'https' }
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers)
        answer.pipe(res)
        answer.on('error', () => res.destroy())
      }
    )
    upstream.on('error', () => {
      if (!res.headersSent) plain(res, 502, `The revision '${route.revision}' did not answer.`)
      else res.destroy()
    })
    req.on('error', () => upstream.destroy())
    req.pipe(upstream)
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text)
  })
  res.end(text)
}
