/**
 * Method + path routing with ARM's case-insensitive literal segments (`/resourcegroups/` from one
 * SDK, `/resourceGroups/` from the others) and `{param}` captures.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { ArmError } from './errors.js'
import type { JsonObject, JsonValue } from './json.js'

export interface ArmRequest {
  method: string
  /** Path as sent, without the query string. */
  path: string
  query: URLSearchParams
  apiVersion: string
  headers: IncomingHttpHeaders
  params: Record<string, string>
  body: JsonObject | undefined
  /** `https://127.0.0.1:<port>`: polling URLs point back here. */
  origin: string
  /** The seeded fault draw said: if this request starts a long-running operation, make it fail. */
  failLro: boolean
}

export interface ArmResponse {
  status: number
  body?: JsonValue
  headers?: Record<string, string>
  /** Synchronous operations still take time on Azure; the answer waits this long. */
  delayMs?: number
}

export type Handler = (req: ArmRequest) => ArmResponse | Promise<ArmResponse>

export interface RouteOptions {
  /** Provider namespace whose registration a PUT requires. */
  namespace?: string
  /** The resource-group route itself: it answers its own 404s. */
  ownsResourceGroup?: boolean
}

export interface Route {
  method: string
  segments: string[]
  handler: Handler
  options: RouteOptions
  literalCount: number
}

export type Match = { route: Route; params: Record<string, string> }

export class Router {
  private readonly routes: Route[] = []

  add(method: string, pattern: string, handler: Handler, options: RouteOptions = {}): void {
    const segments = pattern.split('/').filter(Boolean)
    this.routes.push({
      method: method.toUpperCase(),
      segments,
      handler,
      options,
      literalCount: segments.filter((s) => !s.startsWith('{')).length
    })
  }

  /** The best match (most literal segments) or, when only the method differs, a 405. */
  match(method: string, path: string): Match | undefined {
    const parts = path.split('/').filter(Boolean)
    let best: Match | undefined
    let pathMatched = false
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts)
      if (!params) continue
      pathMatched = true
      if (route.method !== method.toUpperCase()) continue
      if (!best || route.literalCount > best.route.literalCount) best = { route, params }
    }
    if (!best && pathMatched) {
      throw new ArmError(
        405,
        'MethodNotAllowed',
        `The requested method '${method}' is not allowed on '${path}'.`
      )
    }
    return best
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] ?? ''
    const actual = parts[i] ?? ''
    if (p.startsWith('{') && p.endsWith('}')) {
      try {
        params[p.slice(1, -1)] = decodeURIComponent(actual)
      } catch {
        return undefined
      }
    } else if (p.toLowerCase() !== actual.toLowerCase()) {
      return undefined
    }
  }
  return params
}

/** A path parameter the route pattern guarantees. */
export function param(req: ArmRequest, name: string): string {
  const v = req.params[name]
  if (v === undefined) throw new Error(`route has no {${name}}`)
  return v
}
