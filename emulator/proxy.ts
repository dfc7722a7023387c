/**
 * The way clients reach the apps' FQDNs without DNS: an HTTP proxy on 127.0.0.1 (its port
 * persisted in the state) that the ready line's `HTTPS_PROXY` points to. It answers
 * `CONNECT <host>:443`: a name under a managed environment's default domain, or a region's
 * `<region>.azurecontainerapps.dev` (log streams), is tunnelled to the ingress; any other host to
 * the real host (so pip through the proxy still reaches PyPI). An account's blob endpoint
 * `<account>.blob.core.windows.net:443` goes to the blob front door (`blobFrontDoor.ts`) when the
 * account exists; a name of that form that is no account gets 502, as a name that does not resolve
 * does from a proxy (there is no such DNS record on Azure either). Plain (non-CONNECT) proxy
 * requests are not supported (405).
 *
 * Names that exist only inside a managed environment — an internal app's `<app>.internal.<domain>`,
 * any name of an internal environment — resolve only for that environment's replicas (their
 * proxy URL carries the environment's credentials, `networkRules.ts`); for anyone else they are
 * names that do not resolve. A name that does not resolve gets what Apache's mod_proxy(_connect)
 * answers for a DNS failure: 502 Bad Gateway ("DNS lookup failure for: <host>",
 * `ap_proxyerror(r, HTTP_BAD_GATEWAY, …)`), here with Node's own wording for NXDOMAIN (`getaddrinfo
 * ENOTFOUND <host>`). (Squid answers 503 with ERR_DNS_FAIL; either way the client gets no tunnel,
 * and clients report it as a connection failure, as they report ENOTFOUND without a proxy.)
 * Each tunnel to the ingress is noted with whom it carries, for the ingress's IP restrictions.
 */
import { createServer, type IncomingMessage } from 'node:http'
import { connect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { LoopbackServer } from './listen.js'
import type { ConnectionOrigins, Origin } from './networkRules.js'

export interface ProxyRoutes {
  /** True for names the ingress answers (they do not exist in real DNS). */
  isAppHost(host: string): boolean
  ingressPort(): number
  /**
   * The local port of one of the emulator's own service hosts (an account's blob endpoint),
   * `unresolvable` for a name of that kind that does not exist, undefined for any other host.
   */
  serviceHost?(host: string): number | 'unresolvable' | undefined
  /** Who a CONNECT comes from, by its `Proxy-Authorization` (an environment's replicas, or outside). */
  originOf?(proxyAuthorization: string | undefined): Origin
  /** False for an app host that does not resolve for `origin` (internal names from outside). */
  resolves?(host: string, origin: Origin): boolean
  /** Where tunnels to the ingress are noted with whom they carry. */
  origins?: ConnectionOrigins
}

/** What a proxy answers for a name that does not resolve (above). */
function unresolvable(client: Duplex, host: string): void {
  client.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\n\r\ngetaddrinfo ENOTFOUND ${host}\n`)
}

export class ConnectProxy {
  private readonly server: LoopbackServer

  constructor(private readonly routes: ProxyRoutes) {
    const server = createServer((req, res) => {
      res.writeHead(405, { 'content-type': 'text/plain' })
      res.end('Only CONNECT is supported by this proxy.')
    })
    server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) =>
      this.tunnel(req, client, head)
    )
    this.server = new LoopbackServer(server)
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`
  }

  get listeningPort(): number {
    return this.server.port
  }

  listen(port: number): Promise<number> {
    return this.server.listen(port)
  }

  close(): Promise<void> {
    return this.server.close()
  }

  private tunnel(req: IncomingMessage, client: Duplex, head: Buffer): void {
    const authority = req.url ?? ''
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(authority)
    client.on('error', () => client.destroy())
    if (!m) {
      client.end('HTTP/1.1 400 Bad Request\r\n\r\n')
      return
    }
    const host = m[1] ?? ''
    const port = Number(m[2])
    let upstream: Socket
    const service = this.routes.serviceHost?.(host)
    if (service === 'unresolvable') {
      unresolvable(client, host)
      return
    }
    const proxyAuthorization = req.headers['proxy-authorization']
    const origin = this.routes.originOf?.(proxyAuthorization)
    let toIngress = false
    if (service !== undefined) {
      if (port !== 443) {
        client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n')
        return
      }
      upstream = connect(service, '127.0.0.1')
    } else if (this.routes.isAppHost(host)) {
      if (origin && this.routes.resolves && !this.routes.resolves(host, origin)) {
        unresolvable(client, host)
        return
      }
      if (port !== 443) {
        client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n')
        return
      }
      upstream = connect(this.routes.ingressPort(), '127.0.0.1')
      toIngress = true
    } else {
      upstream = connect(port, host)
    }
    this.server.track(upstream)
    let connected = false
    upstream.once('connect', () => {
      connected = true
      const origins = this.routes.origins
      const localPort = upstream.localPort
      if (toIngress && origin && origins && localPort !== undefined) {
        // Noted before a byte goes through: the ingress reads it when the request arrives.
        origins.note(localPort, origin)
        upstream.once('close', () => origins.forget(localPort, origin))
      }
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => {
      if (!connected) client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n')
      else client.destroy()
    })
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  }
}
