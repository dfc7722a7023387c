/**
 * Who a request to an app comes from, and whether Container Apps lets it through: the network half
 * of the ingress (`ingress.ts`) and of the CONNECT proxy (`proxy.ts`).
 *
 * Where a connection comes from. Every local client connects from 127.0.0.1, so the emulator says
 * where each one would be on Azure:
 *  - a replica of an app or job (any runtime) gets the proxy with credentials naming its managed
 *    environment (`environmentProxyUrl`, handed out by `runtime/types.ts` `reachEnv`); a CONNECT
 *    carrying them comes from inside that environment, from an address of its infrastructure
 *    subnet (the `aca` subnet of the stack's VNet), as a replica's pod IP is on Azure;
 *  - anything else — the action, a test, `curl` through the proxy or straight to the ingress — is
 *    outside, from the runner's public address `--client-ip` (default 203.0.113.10, TEST-NET-3).
 * The proxy tells the ingress which of its tunnels comes from where (`ConnectionOrigins`, keyed by
 * the tunnel's local port); a connection the proxy did not open is outside. This is how "inside"
 * is told apart: by the credentials the emulator gave only to the environment's own processes,
 * never by the (always loopback) socket address.
 *
 * What it may reach:
 *  - internal ingress (`ingress.external: false`): the app's names are `<app>.internal.<domain>`
 *    and resolve only inside its environment (learn.microsoft.com container-apps ingress-overview:
 *    "Internal: accessible only from within the Container Apps environment"); every app of an
 *    internal environment (`vnetConfiguration.internal: true`) only inside too (stricter: from a
 *    peered network Azure would need private DNS the emulator has no notion of). From outside the
 *    proxy answers as for a name that does not resolve, the ingress as for a host it does not serve;
 *  - IP restrictions (`ingress.ipSecurityRestrictions`, learn.microsoft.com container-apps
 *    ip-restrictions): no rules → everyone; `Allow` rules → only their ranges; `Deny` rules →
 *    everyone but their ranges ("All rules must be the same type. You cannot combine allow rules
 *    and deny rules." — the PUT refuses a mix, `validateIpSecurityRestrictions`). A request from
 *    inside is judged by its subnet address like any other (an `Allow` list without the `aca`
 *    subnet's range refuses the app's own neighbours — stricter than a platform that might exempt
 *    them; microsoft/azure-container-apps#527 fixed only Dapr's service invocation). The refusal is
 *    Envoy's RBAC filter's local reply: 403 `RBAC: access denied` (text/plain), as Container Apps'
 *    users report it (microsoft/azure-container-apps#835 "fails with an \"RBAC: access denied\""
 *    error", #527 "get the 403 RBAC"; envoy `source/extensions/filters/http/rbac/rbac_filter.cc`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { addressIn, contains, parseCidr } from './cidr.js'
import type { EmulatorContext } from './context.js'
import { badRequest } from './errors.js'
import { idKey } from './ids.js'
import { asBoolean, asString, objectAt, objectsOf, stringAt, type JsonObject } from './json.js'
import { environmentIdOf } from './resources/containerAppView.js'
import { findSubnet, subnetPrefix } from './resources/virtualNetworks.js'

export const ENVIRONMENT_TYPE = 'Microsoft.App/managedEnvironments'

/**
 * Where an environment without a VNet of its own has its replicas: Azure manages that network and
 * publishes no range [unverified]; the shared address space of RFC 6598 is never a runner's public
 * address, so an `Allow` list of public ranges refuses it (the strict side).
 */
const MANAGED_ENVIRONMENT_RANGE = '100.64.0.0/16'

/** Envoy's RBAC refusal as Container Apps answers it (sources above). */
export const RBAC_DENIED = { status: 403, body: 'RBAC: access denied' } as const

export interface Origin {
  /** The address the app's ingress sees the request come from. */
  address: string
  /** The managed environment (id) whose replica sent it; absent: from outside every environment. */
  environmentId?: string
}

export function outside(ctx: EmulatorContext): Origin {
  return { address: ctx.config.clientIp }
}

/** An address of the environment's infrastructure subnet (its replicas' addresses). */
export function environmentAddress(ctx: EmulatorContext, environmentId: string): string {
  const env = ctx.store.get(environmentId)
  const subnetId = stringAt(env?.body, 'properties', 'vnetConfiguration', 'infrastructureSubnetId')
  const found = subnetId ? findSubnet(ctx, subnetId) : undefined
  // Offset 16: past the environment's own load balancer addresses at the start of the range.
  const cidr = parseCidr((found && subnetPrefix(found.subnet)) ?? '') ?? parseCidr(MANAGED_ENVIRONMENT_RANGE)
  return addressIn(cidr!, 16)
}

/** The proxy password of an environment's replicas: an HMAC of its id, stable for the state dir. */
function environmentSecret(ctx: Pick<EmulatorContext, 'store'>, environmentId: string): string {
  return createHmac('sha256', `proxy|${ctx.store.state.token}`)
    .update(idKey(environmentId))
    .digest('base64url')
}

/** The proxy URL a replica of the environment gets: the proxy, with the environment's credentials. */
export function environmentProxyUrl(
  ctx: Pick<EmulatorContext, 'store'>,
  proxyUrl: string,
  environmentId: string
): string {
  if (!proxyUrl) return proxyUrl
  const url = new URL(proxyUrl)
  url.username = 'environment'
  url.password = environmentSecret(ctx, environmentId)
  return url.toString().replace(/\/$/, '')
}

/** Who a CONNECT comes from: its `Proxy-Authorization` names an environment, else outside. */
export function originOfProxyAuthorization(ctx: EmulatorContext, header: string | undefined): Origin {
  const m = /^basic\s+(\S+)$/i.exec(header?.trim() ?? '')
  if (m) {
    const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8')
    const password = Buffer.from(decoded.slice(decoded.indexOf(':') + 1))
    for (const env of ctx.store.byType(ENVIRONMENT_TYPE)) {
      const expected = Buffer.from(environmentSecret(ctx, env.id))
      if (expected.length === password.length && timingSafeEqual(expected, password))
        return { address: environmentAddress(ctx, env.id), environmentId: env.id }
    }
  }
  return outside(ctx)
}

/**
 * The local ends of the proxy's tunnels to the ingress, with whom each carries: the ingress looks a
 * connection up by its remote port. Noted before the tunnel carries a byte, forgotten when it closes.
 */
export class ConnectionOrigins {
  private readonly byPort = new Map<number, Origin>()

  note(localPort: number, origin: Origin): void {
    this.byPort.set(localPort, origin)
  }

  forget(localPort: number, origin: Origin): void {
    if (this.byPort.get(localPort) === origin) this.byPort.delete(localPort)
  }

  of(remotePort: number | undefined): Origin | undefined {
    return remotePort === undefined ? undefined : this.byPort.get(remotePort)
  }
}

function environmentByDomain(ctx: EmulatorContext, domain: string): JsonObject | undefined {
  return ctx.store
    .byType(ENVIRONMENT_TYPE)
    .find((e) => stringAt(e.body, 'properties', 'defaultDomain')?.toLowerCase() === domain)?.body
}

/**
 * Whether a name under an environment's default domain resolves for `origin`: internal names
 * (`<x>.internal.<domain>`) and every name of an internal environment only inside that environment.
 */
export function resolvesFor(ctx: EmulatorContext, host: string, domain: string, origin: Origin): boolean {
  const bare = host.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase()
  const env = environmentByDomain(ctx, domain.toLowerCase())
  const internalName = bare.endsWith(`.internal.${domain.toLowerCase()}`)
  const internalEnvironment =
    asBoolean(objectAt(env, 'properties', 'vnetConfiguration')?.['internal']) === true
  if (!internalName && !internalEnvironment) return true
  const envId = asString(env?.['id'])
  return (
    envId !== undefined && origin.environmentId !== undefined && idKey(origin.environmentId) === idKey(envId)
  )
}

/** Whether the app's ingress lets `origin` in: internal ingress only from its own environment. */
export function appReachableFrom(spec: JsonObject, origin: Origin): boolean {
  const ingress = objectAt(spec, 'properties', 'configuration', 'ingress')
  if (asBoolean(ingress?.['external']) !== false) return true
  const envId = environmentIdOf(spec)
  return (
    envId !== undefined && origin.environmentId !== undefined && idKey(origin.environmentId) === idKey(envId)
  )
}

function inRange(range: string, address: string): boolean {
  const outer = parseCidr(range.includes('/') ? range : `${range}/32`)
  const inner = parseCidr(`${address}/32`)
  return outer !== undefined && inner !== undefined && contains(outer, inner)
}

/** The IP restriction rules' verdict for an address (`ipSecurityRestrictions`, as stored). */
export function ipAllowed(spec: JsonObject, address: string): boolean {
  const rules = objectsOf(
    objectAt(spec, 'properties', 'configuration', 'ingress')?.['ipSecurityRestrictions']
  )
  if (rules.length === 0) return true
  const matches = (action: string): boolean =>
    rules.some(
      (r) =>
        asString(r['action'])?.toLowerCase() === action &&
        inRange(asString(r['ipAddressRange']) ?? '', address)
    )
  const allows = rules.some((r) => asString(r['action'])?.toLowerCase() === 'allow')
  // A mix never gets stored (the PUT refuses it); were one there, both kinds would apply.
  return (allows ? matches('allow') : true) && !matches('deny')
}

/**
 * `ingress.ipSecurityRestrictions` on write: each rule has an `ipAddressRange` in IPv4 CIDR notation
 * and an `action` of `Allow` or `Deny` (SDK `IpSecurityRestrictionRule`, both required), and all
 * rules have the same action — "Rules can only consist of ALL Allow or ALL Deny" (the spec's
 * `action` description; learn.microsoft.com container-apps ip-restrictions: "You cannot combine
 * allow rules and deny rules"). The code is the service's generic validation code
 * `InvalidRequestParameterWithDetails` [unverified code: no refusal of a mix was found in the issue
 * trackers]. A bare address without `/bits` is refused too (the docs ask for CIDR; stricter).
 */
export function validateIpSecurityRestrictions(ingress: JsonObject | undefined): void {
  const rules = objectsOf(ingress?.['ipSecurityRestrictions'])
  const actions = new Set<string>()
  for (const r of rules) {
    const action = asString(r['action'])
    if (action === undefined || !['allow', 'deny'].includes(action.toLowerCase())) {
      throw badRequest(
        'InvalidRequestParameterWithDetails',
        `ipSecurityRestrictions rule '${asString(r['name']) ?? ''}': action '${action ?? ''}' is not one of 'Allow', 'Deny'.`
      )
    }
    const range = asString(r['ipAddressRange']) ?? ''
    if (!/\/\d{1,2}$/.test(range.trim()) || !parseCidr(range)) {
      throw badRequest(
        'InvalidRequestParameterWithDetails',
        `ipSecurityRestrictions rule '${asString(r['name']) ?? ''}': ipAddressRange '${range}' is not an IPv4 address range in CIDR notation.`
      )
    }
    actions.add(action.toLowerCase())
  }
  if (actions.size > 1) {
    throw badRequest(
      'InvalidRequestParameterWithDetails',
      'ipSecurityRestrictions: all rules must have the same action; Allow and Deny rules cannot be combined.'
    )
  }
}
