/**
 * Where each container app's FQDN leads: the local URL of the running revision that has the app's
 * traffic. Shared by the ingress (routing), the proxy (which hosts are apps) and
 * `/_emulator/runtime`.
 */
import type { EmulatorContext } from './context.js'
import { asNumber, asString, objectAt, stringAt } from './json.js'
import { APP_TYPE, appSpec, hostFor, REVISION_TYPE } from './resources/containerAppView.js'

export interface AppRoute {
  fqdn: string
  app: string
  /** The serving revision and its local URL, when one runs and has traffic. */
  revision?: string
  url?: string
}

/** The app's running revisions that have traffic, with their weights. */
function serving(ctx: EmulatorContext, appId: string): { name: string; url: string; weight: number }[] {
  return ctx.store
    .descendants(appId, REVISION_TYPE)
    .filter((r) => stringAt(r.body, 'properties', 'runningState') === 'Running')
    .map((r) => ({
      name: asString(r.body['name']) ?? '',
      url: asString(r.internal['url']) ?? '',
      weight: asNumber(objectAt(r.body, 'properties')?.['trafficWeight']) ?? 0
    }))
    .filter((r) => r.url !== '' && r.weight > 0)
}

export function appRoutes(ctx: EmulatorContext): AppRoute[] {
  const routes: AppRoute[] = []
  for (const app of ctx.store.byType(APP_TYPE)) {
    const name = asString(app.body['name']) ?? ''
    const fqdn = hostFor(ctx, appSpec(app), name)
    if (!fqdn) continue
    const targets = serving(ctx, app.id)
    const top = targets.sort((a, b) => b.weight - a.weight)[0]
    routes.push({ fqdn: fqdn.toLowerCase(), app: name, ...(top ? { revision: top.name, url: top.url } : {}) })
  }
  return routes
}

/** The route for a `Host` header (with or without a port), picking a revision by traffic weight. */
export function routeFor(ctx: EmulatorContext, host: string): AppRoute | undefined {
  const bare = host.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase()
  for (const app of ctx.store.byType(APP_TYPE)) {
    const name = asString(app.body['name']) ?? ''
    const fqdn = hostFor(ctx, appSpec(app), name)?.toLowerCase()
    if (fqdn !== bare) continue
    const targets = serving(ctx, app.id)
    const total = targets.reduce((sum, t) => sum + t.weight, 0)
    let draw = Math.random() * total
    const pick = targets.find((t) => (draw -= t.weight) < 0) ?? targets[0]
    return { fqdn, app: name, ...(pick ? { revision: pick.name, url: pick.url } : {}) }
  }
  return undefined
}

/** Default domains of the managed environments: every name below them belongs to the ingress. */
export function environmentDomains(ctx: EmulatorContext): string[] {
  return ctx.store
    .byType('Microsoft.App/managedEnvironments')
    .map((env) => stringAt(env.body, 'properties', 'defaultDomain')?.toLowerCase())
    .filter((d): d is string => Boolean(d))
}

/** The environment domain a host name is under (`<x>.<domain>` or `<x>.internal.<domain>`). */
export function domainOf(ctx: EmulatorContext, host: string): string | undefined {
  const bare = host.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase()
  return environmentDomains(ctx).find((d) => bare.endsWith(`.${d}`))
}
