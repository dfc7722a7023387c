/**
 * Reaching apps of the local Azure the way a client behind real DNS would: requests to the local
 * ingress (or straight to a revision) with the app's FQDN as Host and TLS server name.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest, type RequestOptions } from 'node:https'
import { readFileSync } from 'node:fs'
import { connect as tlsConnect } from 'node:tls'
import type { Emulator } from './emulator.js'

export type { RuntimeInfo } from './emulator.js'

/** The local Azure's runtime: where its ingress, Azurite and PostgreSQL servers listen. */
export function runtimeInfo(emulator: Emulator) {
  return emulator.runtimeInfo()
}

export interface Reply {
  status: number
  text: string
  headers: IncomingMessage['headers']
}

export function send(
  emulator: Emulator,
  url: string,
  host: string,
  path: string,
  opts: {
    method?: string
    body?: Buffer | string
    auth?: { username: string; password: string }
    cookie?: string
    headers?: Record<string, string>
  } = {}
): Promise<Reply> {
  const target = new URL(url)
  const headers: Record<string, string> = { Host: host }
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  Object.assign(headers, opts.headers)
  if (opts.auth)
    headers.authorization = `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`
  if (opts.cookie) headers.cookie = opts.cookie
  const options: RequestOptions = {
    host: target.hostname,
    port: target.port,
    path,
    method: opts.method ?? 'GET',
    headers,
    servername: host,
    ca: readFileSync(emulator.caCertPath, 'utf8')
  }
  return new Promise((resolve, reject) => {
    const done = (res: IncomingMessage) => {
      let text = ''
      res.on('data', (d: Buffer) => (text += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }))
    }
    const req = target.protocol === 'https:' ? httpsRequest(options, done) : httpRequest(options, done)
    req.on('error', reject)
    req.end(opts.body)
  })
}

/**
 * Requests to an app's URL through the ingress, one after the other, while `work` runs: every
 * answer that is not 200 is a request a user would have seen fail. Bounded in count and time.
 */
export async function whilePolling<T>(
  emulator: Emulator,
  fqdn: string,
  path: string,
  work: () => Promise<T>,
  opts: {
    auth?: { username: string; password: string }
    maxRequests?: number
    maxMs?: number
    /** The n-th request, when it is not a GET of `path` (e.g. an artifact upload). */
    request?: (n: number) => { method: string; path: string; body?: Buffer; contentType?: string }
  } = {}
): Promise<{ result: T; sent: number; failed: string[] }> {
  const info = await emulator.runtimeInfo()
  let done = false
  let sent = 0
  const failed: string[] = []
  const deadline = Date.now() + (opts.maxMs ?? 900_000)
  const poller = (async () => {
    while (!done && Date.now() < deadline && sent < (opts.maxRequests ?? 50_000)) {
      sent++
      try {
        const q = opts.request?.(sent) ?? { method: 'GET', path }
        const r = await send(emulator, info.ingress, fqdn, q.path, {
          method: q.method,
          ...(q.body
            ? { body: q.body, headers: { 'content-type': q.contentType ?? 'application/octet-stream' } }
            : {}),
          ...(opts.auth ? { auth: opts.auth } : {})
        })
        if (r.status !== 200) failed.push(`${r.status} ${r.text.slice(0, 120)}`)
      } catch (err) {
        failed.push(String(err))
      }
    }
  })()
  try {
    return { result: await work(), sent, failed }
  } finally {
    done = true
    await poller
  }
}

/** What a request through the CONNECT proxy met: the proxy's refusal, or the server's answer. */
export type ProxiedReply = { refused: true; status: number; text: string } | ({ refused: false } & Reply)

/**
 * One HTTPS request to `https://<host><path>` through the local Azure's CONNECT proxy, as a client
 * with `HTTPS_PROXY` does: CONNECT first (with `Proxy-Authorization` from the proxy URL's user
 * info, as clients send it), then TLS to the host. A proxy that will not open the tunnel (a name
 * that does not resolve) is `refused` with its status and text.
 */
export function throughProxy(
  proxyUrl: string,
  caCertPath: string,
  host: string,
  path: string,
  opts: { method?: string; auth?: { username: string; password: string } } = {}
): Promise<ProxiedReply> {
  const proxy = new URL(proxyUrl)
  const headers: Record<string, string> = { host: `${host}:443` }
  if (proxy.username || proxy.password) {
    const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`
    headers['proxy-authorization'] = `Basic ${Buffer.from(user).toString('base64')}`
  }
  return new Promise((resolve, reject) => {
    const connect = httpRequest({
      host: proxy.hostname,
      port: proxy.port,
      method: 'CONNECT',
      path: `${host}:443`,
      headers
    })
    connect.on('connect', (res, socket, head: Buffer) => {
      if (res.statusCode !== 200) {
        let text = head.toString()
        socket.on('data', (d: Buffer) => (text += d.toString()))
        socket.on('end', () => resolve({ refused: true, status: res.statusCode ?? 0, text }))
        socket.on('error', () => resolve({ refused: true, status: res.statusCode ?? 0, text }))
        return
      }
      const reqHeaders: Record<string, string> = { host }
      if (opts.auth)
        reqHeaders.authorization = `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`
      const req = httpsRequest(
        {
          host,
          path,
          method: opts.method ?? 'GET',
          headers: reqHeaders,
          servername: host,
          ca: readFileSync(caCertPath, 'utf8'),
          createConnection: () =>
            tlsConnect({ socket, servername: host, ca: readFileSync(caCertPath, 'utf8') })
        },
        (r) => {
          let text = ''
          r.on('data', (d: Buffer) => (text += d.toString()))
          r.on('end', () => {
            socket.destroy()
            resolve({ refused: false, status: r.statusCode ?? 0, text, headers: r.headers })
          })
        }
      )
      req.on('error', reject)
      req.end()
    })
    connect.on('error', reject)
    connect.end()
  })
}
