/**
 * The blob front door: what `https://<account>.blob.core.windows.net` is for clients of the local
 * Azure. The CONNECT proxy (`proxy.ts`) sends that host, for an account that exists, here; an HTTPS
 * server on 127.0.0.1 presenting a leaf for `*.blob.core.windows.net` from the emulator's CA. It
 * decides who may talk to the account (`BlobGate`: shared-key policy, Bearer tokens and roles),
 * then forwards the request unchanged (Host kept, so Azurite reads the account from it and a
 * SharedKey signature made for the host-style URL verifies) to Azurite, which checks SharedKey and
 * SAS signatures against the keys the account accepts at that moment and does the storage (leases
 * included).
 *
 * Its own refusals use the Blob service's error shape (REST "Status and error codes": XML
 * `<Error><Code/><Message/></Error>`, the code also in `x-ms-error-code`, `RequestId`/`Time` lines
 * in the message; a HEAD gets the headers only; Azure/AI-Landing-Zones#64 shows one verbatim).
 * A SharedKey signature that no accepted key makes is answered here as Azure does, 403
 * `AuthenticationFailed` "Server failed to authenticate the request. Make sure the value of
 * Authorization header is formed correctly including the signature." with the MAC detail
 * (microsoft/AzureStorageExplorer#661, pottava/aws-s3-proxy#42, MicrosoftDocs/azure-docs#71949);
 * Azurite words it differently ("…the value of the Authorization header…") or, with Bearer enabled,
 * answers 400 `InvalidAuthenticationInfo`.
 *
 * A write's answer goes out only once Azurite's metadata holding it is on disk (`durable`, see
 * `BlobBackend.flush`): a local Azure killed right after a client heard 201 still has the blob when
 * it starts again, as Azure would.
 */
import { randomUUID } from 'node:crypto'
import {
  Agent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse
} from 'node:http'
import { createServer } from 'node:https'
import { LoopbackServer } from './listen.js'
import type { CertificateAuthority } from './tls.js'

export const BLOB_HOST = /^([a-z0-9]{3,24})\.blob\.core\.windows\.net$/i

/** A refusal in the Blob service's words. */
export interface BlobRefusal {
  status: number
  code: string
  message: string
  /** `<AuthenticationErrorDetail>` (401/403 authentication failures). */
  detail?: string
  headers?: Record<string, string>
}

/** Who may use an account: answers a refusal, or nothing to let the request through. */
export interface BlobGate {
  /** The account exists (its name resolves). */
  exists(account: string): boolean
  check(account: string, req: IncomingMessage, url: URL): BlobRefusal | undefined
}

/** Azure's words for a request whose signature no key of the account makes. */
export const AUTHENTICATION_FAILED =
  'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.'
const SIGNATURE_FAILURES = ['AuthenticationFailed', 'AuthorizationFailure', 'InvalidAuthenticationInfo']
/** Methods that change nothing: their answers need not wait for a save. */
const READS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The service's timestamp in messages: seven fraction digits. */
function serviceTime(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$10000Z')
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

export function refusalBody(r: BlobRefusal, requestId: string): string {
  const detail = r.detail
    ? `<AuthenticationErrorDetail>${xmlEscape(r.detail)}</AuthenticationErrorDetail>`
    : ''
  return (
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${r.code}</Code><Message>` +
    `${xmlEscape(r.message)}\nRequestId:${requestId}\nTime:${serviceTime()}</Message>${detail}</Error>`
  )
}

export class BlobFrontDoor {
  private readonly server: LoopbackServer
  private readonly agent = new Agent({ keepAlive: true })

  constructor(
    ca: CertificateAuthority,
    private readonly azuritePort: () => number,
    private readonly gate: BlobGate,
    /** Resolves once what Azurite has answered so far is on disk. */
    private readonly durable?: () => Promise<void>
  ) {
    const leaf = ca.issueSync(['*.blob.core.windows.net', 'blob.core.windows.net'])
    const server = createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => this.handle(req, res))
    server.keepAliveTimeout = 30_000
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

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const host = (req.headers.host ?? '').replace(/:443$/, '').toLowerCase()
    const account = BLOB_HOST.exec(host)?.[1]
    // A name that is no account does not resolve on Azure: there is nobody to answer.
    if (!account || !this.gate.exists(account)) {
      req.socket.destroy()
      return
    }
    const url = new URL(req.url ?? '/', `https://${host}`)
    const refusal = this.gate.check(account, req, url)
    if (refusal) {
      req.resume()
      this.refuse(req, res, refusal)
      return
    }
    this.forward(req, res)
  }

  private refuse(req: IncomingMessage, res: ServerResponse, r: BlobRefusal): void {
    const requestId = randomUUID()
    const headers: Record<string, string> = {
      'x-ms-request-id': requestId,
      'x-ms-error-code': r.code,
      'x-ms-version': String(req.headers['x-ms-version'] ?? '2026-06-06'),
      server: 'Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0',
      date: new Date().toUTCString(),
      ...(r.headers ?? {})
    }
    const clientRequestId = req.headers['x-ms-client-request-id']
    if (typeof clientRequestId === 'string') headers['x-ms-client-request-id'] = clientRequestId
    if (req.method === 'HEAD') {
      res.writeHead(r.status, { ...headers, 'content-length': '0' })
      res.end()
      return
    }
    const body = refusalBody(r, requestId)
    res.writeHead(r.status, {
      ...headers,
      'content-type': 'application/xml',
      'content-length': String(Buffer.byteLength(body))
    })
    res.end(body)
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const headers: IncomingHttpHeaders = { ...req.headers, 'x-forwarded-proto': 'https' }
    const upstream = httpRequest(
      {
        host: '127.0.0.1',
        port: this.azuritePort(),
        method: req.method,
        path: req.url,
        headers,
        agent: this.agent
      },
      (answer) => {
        const code = String(answer.headers['x-ms-error-code'] ?? '')
        const signature = /^SharedKey\s+[^:]+:(\S+)$/i.exec(String(req.headers['authorization'] ?? ''))?.[1]
        // A SharedKey signature no accepted key makes: Azure's 403 AuthenticationFailed. Azurite words
        // it differently, and with Bearer enabled answers 400 InvalidAuthenticationInfo (its token
        // check runs after a failed key check).
        if (
          signature &&
          (answer.statusCode === 400 || answer.statusCode === 403) &&
          SIGNATURE_FAILURES.includes(code)
        ) {
          answer.resume()
          this.refuse(req, res, {
            status: 403,
            code: 'AuthenticationFailed',
            message: AUTHENTICATION_FAILED,
            detail: `The MAC signature found in the HTTP request '${signature}' is not the same as any computed signature.`
          })
          return
        }
        const relay = (): void => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        }
        if (!this.durable || READS.has((req.method ?? 'GET').toUpperCase())) return relay()
        // Azurite changed its metadata before it answered: saved now, the change survives a crash.
        this.durable().then(relay, (err: unknown) => {
          process.stderr.write(`[emulator] blob metadata not saved: ${String(err)}\n`)
          answer.resume()
          // Not durable, so not a success: the service's 500 (REST "Common error codes").
          this.refuse(req, res, {
            status: 500,
            code: 'InternalError',
            message: 'The server encountered an internal error. Please retry the request.'
          })
        })
      }
    )
    upstream.on('error', (err) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(`blob front door: ${err.message}`)
      } else res.destroy()
    })
    req.pipe(upstream)
  }
}
