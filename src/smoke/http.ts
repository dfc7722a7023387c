/**
 * A small HTTP client for the MLflow server. Uses the runtime's fetch, which honours the runner's
 * proxy settings (NODE_USE_ENV_PROXY) and extra CA certificates (NODE_EXTRA_CA_CERTS).
 */
export interface Credentials {
  username: string
  password: string
}

export interface HttpResponse {
  status: number
  text: string
  bytes: Uint8Array
  contentType: string
}

export class MlflowHttp {
  constructor(
    readonly baseUrl: string,
    private readonly credentials?: Credentials,
    private readonly timeoutMs = 60_000
  ) {}

  async request(
    method: string,
    path: string,
    body?: unknown,
    opts: { raw?: Uint8Array; anonymous?: boolean; host?: string } = {}
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = {}
    let payload: Uint8Array | string | undefined
    if (opts.raw) {
      payload = opts.raw
      headers['content-type'] = 'application/octet-stream'
    } else if (body !== undefined) {
      payload = JSON.stringify(body)
      headers['content-type'] = 'application/json'
    }
    if (this.credentials && !opts.anonymous) {
      const token = Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString(
        'base64'
      )
      headers.authorization = `Basic ${token}`
    }
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      body: payload,
      redirect: 'manual',
      signal: AbortSignal.timeout(this.timeoutMs)
    })
    const bytes = new Uint8Array(await res.arrayBuffer())
    return {
      status: res.status,
      bytes,
      text: new TextDecoder().decode(bytes),
      contentType: res.headers.get('content-type') ?? ''
    }
  }

  /**
   * Writes `payload` through MLflow's proxied artifact API and reads it back: what proves the
   * server's access to blob storage. Says which half failed and with what answer, or `ok`.
   */
  async artifactEcho(
    path: string,
    payload: Uint8Array
  ): Promise<
    | { ok: true }
    | { ok: false; step: 'upload' | 'download'; response: HttpResponse }
    | { ok: false; step: 'compare'; bytes: number }
  > {
    const url = `/api/2.0/mlflow-artifacts/artifacts/${path}`
    const put = await this.request('PUT', url, undefined, { raw: payload })
    if (put.status !== 200) return { ok: false, step: 'upload', response: put }
    const got = await this.request('GET', url)
    if (got.status !== 200) return { ok: false, step: 'download', response: got }
    if (Buffer.compare(Buffer.from(got.bytes), Buffer.from(payload)) !== 0)
      return { ok: false, step: 'compare', bytes: got.bytes.length }
    return { ok: true }
  }

  /** A JSON call that must answer 200; otherwise throws with the step's explanation. */
  async json<T>(
    method: string,
    path: string,
    body: unknown,
    explain: (r: HttpResponse) => string
  ): Promise<T> {
    const r = await this.request(method, path, body)
    if (r.status !== 200) throw new Error(explain(r))
    return JSON.parse(r.text) as T
  }
}

/** The server's answer in one line, shortened: enough to diagnose, never a whole HTML page. */
export function answer(r: HttpResponse): string {
  const text = r.text
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return `${r.status}${text ? `: ${text.slice(0, 200)}` : ''}`
}

/**
 * Container Apps' refusal of a client its IP restrictions leave out: Envoy's RBAC filter answers
 * 403 with the plain body `RBAC: access denied` before the request reaches the server
 * (microsoft/azure-container-apps#835, #527). MLflow's own 403s have other bodies.
 */
export function isIpRestrictionRefusal(r: HttpResponse): boolean {
  return r.status === 403 && r.text.trim() === 'RBAC: access denied'
}

/** What to do about it, in words that name the input. */
export const IP_RESTRICTION_ADVICE =
  "Container Apps refused this runner: its address is not in the stack's 'allowed-ips'. " +
  "Add the runner's egress address or range to 'allowed-ips' (a self-hosted runner's public IP as /32, " +
  'or the egress range of your runners), or run the smoke test from a machine inside an allowed range.'

/**
 * An internal ingress name (`<app>.internal.<environment domain>`, `ingress: internal`): it exists
 * only inside the Container Apps environment.
 */
export function isInternalIngressHost(url: string): boolean {
  try {
    return /^[^.]+\.internal\./i.test(new URL(url).hostname)
  } catch {
    return false
  }
}

/** Every message and code along an error's cause chain (fetch hides the useful one deep inside). */
function causeChain(error: unknown): { messages: string[]; codes: string[] } {
  const messages: string[] = []
  const codes: string[] = []
  let e: unknown = error
  for (let depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    const { message, code, cause } = e as { message?: unknown; code?: unknown; cause?: unknown }
    if (typeof message === 'string' && message) messages.push(message)
    if (typeof code === 'string') codes.push(code)
    e = cause
  }
  return { messages, codes }
}

/**
 * True when a request failed because the host name does not resolve from here: DNS said so
 * (ENOTFOUND), or the runner's proxy would not open a tunnel to it (undici: "Proxy response (502)
 * !== 200 when HTTP Tunneling", what proxies answer for a name they cannot resolve).
 */
export function isUnresolvedName(error: unknown): boolean {
  const { messages, codes } = causeChain(error)
  return (
    codes.includes('ENOTFOUND') ||
    messages.some((m) => /ENOTFOUND|Proxy response \(50[234]\) !== 200 when HTTP Tunneling/.test(m))
  )
}

/** The innermost useful words of a failed request (`fetch failed` says nothing). */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const { messages, codes } = causeChain(error)
  const inner = messages[messages.length - 1] ?? error.message
  const code = codes[codes.length - 1]
  return code && !inner.includes(code) ? `${code}: ${inner}` : inner
}

/** What a failed MLflow REST call most likely means, for a person to act on. */
export function diagnose(r: HttpResponse): string {
  if (isIpRestrictionRefusal(r)) return ` — ${IP_RESTRICTION_ADVICE}`
  if (r.status === 403 && r.text.includes('Invalid Host header')) {
    return ' — the server refused the Host header: its --allowed-hosts does not include this URL'
  }
  if (r.status === 403 && r.text.includes('Cross-origin'))
    return ' — the server blocked a cross-origin request'
  if (r.status === 401) return ' — the server requires authentication, or the credentials are wrong'
  if (r.status === 502 || r.status === 503 || r.status === 504)
    return ' — the server is not answering behind the ingress'
  return ''
}
