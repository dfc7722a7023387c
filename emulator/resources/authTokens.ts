/**
 * `getAuthToken` of container apps and managed environments (POST, 200, SDK
 * `containerApps.getAuthToken` / `managedEnvironments.getAuthToken`): a random token that the
 * region's log stream (`logStream.ts`) accepts for about an hour — the app's for its replicas, the
 * environment's for its jobs' execution replicas [unverified: which token Azure takes for a job's
 * log stream]. Body `{id, name, type, location, tags, properties: {token, expires}}` after the SDK
 * models `ContainerAppAuthToken` / `EnvironmentAuthToken` [unverified: no spec example was read].
 * Tokens are kept with the resource (internal, persisted), so they survive an emulator restart.
 */
import type { EmulatorContext } from '../context.js'
import { providerResourceId } from '../ids.js'
import { asArray, asNumber, asString, clone, isObject, objectAt, type JsonObject } from '../json.js'
import { randomToken } from '../random.js'
import { param, type ArmResponse, type Router } from '../router.js'
import type { ResourceRecord } from '../store.js'
import { canonicalName, requireRecord, resourceGroupName, subscriptionOf } from './common.js'

const TOKEN_LIFETIME_MS = 60 * 60 * 1000
const NS = 'Microsoft.App'
const RG = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.App'

interface Token {
  token: string
  expires: number
}

function tokensOf(record: ResourceRecord, now: number): Token[] {
  return (asArray(record.internal['authTokens']) ?? [])
    .filter(isObject)
    .map((t) => ({ token: asString(t['token']) ?? '', expires: asNumber(t['expires']) ?? 0 }))
    .filter((t) => t.token !== '' && t.expires > now)
}

/** True when `token` is a live token issued by `getAuthToken` of this app or environment. */
export function acceptsToken(ctx: EmulatorContext, record: ResourceRecord, token: string): boolean {
  return token !== '' && tokensOf(record, ctx.now()).some((t) => t.token === token)
}

function issue(ctx: EmulatorContext, record: ResourceRecord, type: string): ArmResponse {
  const now = ctx.now()
  const token: Token = { token: randomToken(), expires: now + TOKEN_LIFETIME_MS }
  // Expired tokens are dropped as new ones are issued.
  record.internal['authTokens'] = [...tokensOf(record, now), token].map((t) => ({ ...t }))
  const body: JsonObject = {
    id: `${record.id}/getAuthToken`,
    name: asString(record.body['name']) ?? '',
    type: `${type}/getAuthToken`,
    location: asString(record.body['location']) ?? '',
    tags: clone(objectAt(record.body, 'tags') ?? {}),
    properties: { token: token.token, expires: new Date(token.expires).toISOString() }
  }
  return { status: 200, body }
}

export function registerAuthTokens(ctx: EmulatorContext, router: Router): void {
  for (const [segment, type] of [
    ['containerApps', 'Microsoft.App/containerApps'],
    ['managedEnvironments', 'Microsoft.App/managedEnvironments']
  ] as const) {
    router.add('POST', `${RG}/${segment}/{name}/getAuthToken`, (req): ArmResponse => {
      const rg = resourceGroupName(ctx, req)
      const given = providerResourceId(subscriptionOf(req), rg, NS, [segment, param(req, 'name')])
      const id = providerResourceId(subscriptionOf(req), rg, NS, [
        segment,
        canonicalName(ctx, given, param(req, 'name'))
      ])
      return issue(ctx, requireRecord(ctx, id, rg), type)
    })
  }
}
