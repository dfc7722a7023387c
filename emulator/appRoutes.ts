/**
 * Where each container app's host names lead. The app's FQDN picks a revision by the effective
 * traffic weights (a weighted draw per request, so moving traffic sends new requests to the new
 * weights at once); a revision's own FQDN `<app>--<suffix>.<domain>` leads to exactly that revision
 * while it runs, whatever its weight (microsoft/azure-container-apps#76: "each revision in the fqdn
 * property"); a label's `<app>---<label>.<domain>` to the revision its traffic entry names. Shared by
 * the ingress (routing), the proxy (which hosts are apps) and `/_emulator/runtime`.
 */
import type { EmulatorContext } from './context.js'
import { asNumber, asString, objectAt, objectsOf, stringAt } from './json.js'
import { APP_TYPE, appSpec, appState, hostFor, REVISION_TYPE } from './resources/containerAppView.js'
import type { ResourceRecord } from './store.js'

export interface AppRoute {
  fqdn: string
  app: string
  /** The app's resource id (its ingress settings: internal, IP restrictions). */
  appId: string
  /** The serving revision, its id and its local URL (absent when it does not run). */
  revision?: string
  revisionId?: string
  url?: string
}

interface Target {
  name: string
  id: string
  url: string
  weight: number
}

/** The app's revisions that have traffic, with their weights and (when they run) their URL. */
function weighted(ctx: EmulatorContext, appId: string): Target[] {
  return ctx.store
    .descendants(appId, REVISION_TYPE)
    .map((r) => ({
      name: asString(r.body['name']) ?? '',
      id: r.id,
      url: running(r) ?? '',
      weight: asNumber(objectAt(r.body, 'properties')?.['trafficWeight']) ?? 0
    }))
    .filter((r) => r.weight > 0)
}

/** The local URL of a revision whose process serves (Running, or Degraded between crashes). */
function running(rev: ResourceRecord): string | undefined {
  const state = stringAt(rev.body, 'properties', 'runningState')
  if (state !== 'Running' && state !== 'Degraded') return undefined
  return asString(rev.internal['url'])
}

export function appRoutes(ctx: EmulatorContext): AppRoute[] {
  const routes: AppRoute[] = []
  for (const app of ctx.store.byType(APP_TYPE)) {
    const name = asString(app.body['name']) ?? ''
    const fqdn = hostFor(ctx, appSpec(app), name)
    if (!fqdn) continue
    const top = weighted(ctx, app.id)
      .filter((t) => t.url)
      .sort((a, b) => b.weight - a.weight)[0]
    routes.push({
      fqdn: fqdn.toLowerCase(),
      app: name,
      appId: app.id,
      ...(top ? { revision: top.name, revisionId: top.id, url: top.url } : {})
    })
  }
  return routes
}

function revisionRoute(fqdn: string, app: ResourceRecord, rev: ResourceRecord | undefined): AppRoute {
  const url = rev ? running(rev) : undefined
  return {
    fqdn,
    app: asString(app.body['name']) ?? '',
    appId: app.id,
    ...(rev ? { revision: asString(rev.body['name']) ?? '', revisionId: rev.id } : {}),
    ...(url ? { url } : {})
  }
}

/** The route for a `Host` header (with or without a port). */
export function routeFor(ctx: EmulatorContext, host: string): AppRoute | undefined {
  const bare = host.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase()
  for (const app of ctx.store.byType(APP_TYPE)) {
    const name = asString(app.body['name']) ?? ''
    const spec = appSpec(app)
    const fqdn = hostFor(ctx, spec, name)?.toLowerCase()
    if (!fqdn) continue
    if (fqdn === bare) {
      // Weighted draw over every revision with weight: a share whose revision does not run (yet)
      // gets 503, as a weight pointing at a revision that is not ready does.
      const targets = weighted(ctx, app.id)
      const total = targets.reduce((sum, t) => sum + t.weight, 0)
      let draw = Math.random() * total
      const pick = targets.find((t) => (draw -= t.weight) < 0) ?? targets[0]
      return {
        fqdn,
        app: name,
        appId: app.id,
        ...(pick ? { revision: pick.name, revisionId: pick.id, ...(pick.url ? { url: pick.url } : {}) } : {})
      }
    }
    if (!bare.startsWith(`${name.toLowerCase()}--`)) continue
    for (const rev of ctx.store.descendants(app.id, REVISION_TYPE)) {
      const revName = asString(rev.body['name']) ?? ''
      if (hostFor(ctx, spec, revName)?.toLowerCase() === bare) return revisionRoute(bare, app, rev)
    }
    // `<app>---<label>`: the revision the labelled traffic entry names (or the latest ready one).
    const traffic = objectsOf(objectAt(spec, 'properties', 'configuration', 'ingress')?.['traffic'])
    for (const t of traffic) {
      const label = asString(t['label'])
      if (!label || hostFor(ctx, spec, `${name}---${label}`)?.toLowerCase() !== bare) continue
      const target =
        t['latestRevision'] === true ? appState(app).latestReadyRevisionName : asString(t['revisionName'])
      return revisionRoute(bare, app, target ? ctx.store.get(`${app.id}/revisions/${target}`) : undefined)
    }
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
