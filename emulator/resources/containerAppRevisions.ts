/**
 * Container Apps revisions: their lifecycle (Provisioning → Provisioned/Running/Healthy once the
 * runtime's process answers its health probe, or Failed with the runtime's reason), the Single-mode
 * traffic switch to the newest ready revision, and the revision routes (get, list, activate,
 * deactivate, restart — the actions answer 200 with no body).
 */
import type { EmulatorContext } from '../context.js'
import { badRequest } from '../errors.js'
import { idKey, parentId, providerResourceId } from '../ids.js'
import {
  asArray,
  asBoolean,
  asNumber,
  asString,
  clone,
  objectAt,
  objectsOf,
  stringAt,
  type JsonObject
} from '../json.js'
import { param, type ArmRequest, type ArmResponse, type Router } from '../router.js'
import type { RevisionHandle, RevisionInput, RuntimeStatus } from '../runtime/types.js'
import type { ResourceRecord } from '../store.js'
import {
  assertIdle,
  canonicalName,
  listAnswer,
  newRecord,
  requireRecord,
  resourceGroupName,
  subscriptionOf
} from './common.js'
import {
  appSpec,
  appState,
  hostFor,
  renderApp,
  REVISION_TYPE,
  revisionProps,
  setAppState,
  updateRevision
} from './containerAppView.js'

const NS = 'Microsoft.App'

export class RevisionLifecycle {
  private readonly handles = new Map<string, RevisionHandle>()
  private afterChange: () => void = () => {}

  constructor(private readonly ctx: EmulatorContext) {
    // Whatever removes a revision (app delete, RG delete) also stops its process.
    ctx.store.onRemove((record) => {
      if (record.type === REVISION_TYPE) void this.stopRuntime(record.id)
    })
  }

  /** Status changes arrive outside any request: the caller persists them. */
  setAfterChange(fn: () => void): void {
    this.afterChange = fn
  }

  create(app: ResourceRecord, name: string, template: JsonObject): ResourceRecord {
    const id = `${app.id}/revisions/${name}`
    const host = hostFor(this.ctx, appSpec(app), name)
    const created = new Date(this.ctx.now()).toISOString()
    const rev = newRecord(id, REVISION_TYPE, {
      id,
      name,
      type: REVISION_TYPE,
      properties: {
        createdTime: created,
        // Active from its creation on (Revisions_Get.json: lastActiveTime = createdTime).
        lastActiveTime: created,
        fqdn: host ?? '',
        template: clone(template),
        active: true,
        replicas: 0,
        trafficWeight: 0,
        healthState: 'None',
        provisioningState: 'Provisioning',
        runningState: 'Activating'
      }
    })
    return this.ctx.store.put(rev)
  }

  revisionsOf(app: ResourceRecord): ResourceRecord[] {
    return this.ctx.store
      .descendants(app.id, REVISION_TYPE)
      .sort((a, b) =>
        (stringAt(a.body, 'properties', 'createdTime') ?? '').localeCompare(
          stringAt(b.body, 'properties', 'createdTime') ?? ''
        )
      )
  }

  /** Starts (or restarts) the revision's process; `quiet` keeps the shown state until the outcome. */
  start(rev: ResourceRecord, quiet = false): void {
    const app = this.ctx.store.get(parentId(rev.id))
    if (!app) return
    void this.stopRuntime(rev.id)
    // The old process is gone: nothing may be routed to its address until the new one is healthy.
    delete rev.internal['url']
    if (!quiet) updateRevision(this.ctx, rev, { runningState: 'Activating', healthState: 'None' })
    const input = this.runtimeInput(app, rev)
    if (!input) {
      this.onStatus(rev.id, { kind: 'failed', reason: 'The revision template has no containers.' })
      return
    }
    const handle = this.ctx.runtime.start({ ...input, onStatus: (s) => this.onStatusOf(rev.id, handle, s) })
    this.handles.set(idKey(rev.id), handle)
  }

  async stopRuntime(revisionId: string): Promise<void> {
    const key = idKey(revisionId)
    const handle = this.handles.get(key)
    if (!handle) return
    this.handles.delete(key)
    await this.ctx.runtime.stop(handle)
  }

  /** After an emulator restart: processes died with the old emulator, start the active ones again. */
  resume(): void {
    for (const rev of this.ctx.store.byType(REVISION_TYPE)) {
      const props = revisionProps(rev)
      if (asBoolean(props['active']) !== true) continue
      const app = this.ctx.store.get(parentId(rev.id))
      if (!app || this.handles.has(idKey(rev.id))) continue
      const pending = this.ctx.lro.inFlight(app.id)
      if (
        pending &&
        idKey(asString(pending.data['revision']) ?? '') === idKey(asString(rev.body['name']) ?? '')
      )
        continue
      const state = asString(props['provisioningState'])
      if (state === 'Provisioned') this.start(rev, true)
      else if (state === 'Provisioning') this.start(rev)
    }
  }

  deactivate(rev: ResourceRecord): void {
    void this.stopRuntime(rev.id)
    delete rev.internal['url']
    updateRevision(this.ctx, rev, {
      active: false,
      replicas: 0,
      trafficWeight: 0,
      runningState: 'Stopped',
      healthState: 'None'
    })
  }

  private runtimeInput(
    app: ResourceRecord,
    rev: ResourceRecord
  ): Omit<RevisionInput, 'onStatus'> | undefined {
    const template = objectAt(rev.body, 'properties', 'template') ?? {}
    const container = objectsOf(template['containers'])[0]
    if (!container) return undefined
    const strings = (v: unknown): string[] => (asArray(v) ?? []).map((x) => asString(x) ?? '')
    const env = objectsOf(container['env']).map((e) => {
      const ref = asString(e['secretRef'])
      return {
        name: asString(e['name']) ?? '',
        value: ref ? (app.secrets[ref] ?? '') : (asString(e['value']) ?? ''),
        ...(ref ? { secret: true } : {})
      }
    })
    const scale = objectAt(template, 'scale')
    return {
      appName: asString(app.body['name']) ?? '',
      revisionName: asString(rev.body['name']) ?? '',
      location: asString(app.body['location']) ?? '',
      container: {
        name: asString(container['name']) ?? '',
        image: asString(container['image']) ?? '',
        command: strings(container['command']),
        args: strings(container['args']),
        env,
        targetPort: asNumber(
          objectAt(appSpec(app), 'properties', 'configuration', 'ingress')?.['targetPort']
        ),
        probes: objectsOf(container['probes']).map((p) => ({
          type: asString(p['type']) ?? '',
          path: stringAt(p, 'httpGet', 'path'),
          port: asNumber(objectAt(p, 'httpGet')?.['port']),
          initialDelaySeconds: asNumber(p['initialDelaySeconds']),
          periodSeconds: asNumber(p['periodSeconds']),
          failureThreshold: asNumber(p['failureThreshold'])
        }))
      },
      minReplicas: asNumber(scale?.['minReplicas']) ?? 0,
      maxReplicas: asNumber(scale?.['maxReplicas']) ?? 10
    }
  }

  private onStatusOf(revisionId: string, handle: RevisionHandle, status: RuntimeStatus): void {
    // A status from a process that was since restarted or stopped is history.
    if (this.handles.get(idKey(revisionId)) !== handle) return
    if (status.kind !== 'running') this.handles.delete(idKey(revisionId))
    this.onStatus(revisionId, status)
  }

  private onStatus(revisionId: string, status: RuntimeStatus): void {
    const rev = this.ctx.store.get(revisionId)
    const app = this.ctx.store.get(parentId(revisionId))
    if (!rev || !app) return
    const name = asString(rev.body['name']) ?? ''
    if (status.kind === 'running') {
      const minReplicas =
        asNumber(objectAt(rev.body, 'properties', 'template', 'scale')?.['minReplicas']) ?? 0
      updateRevision(this.ctx, rev, {
        provisioningState: 'Provisioned',
        runningState: 'Running',
        healthState: 'Healthy',
        replicas: Math.max(1, minReplicas),
        provisioningError: undefined,
        runningStateDetails: undefined
      })
      rev.internal['url'] = status.url
      if (appState(app).latestRevisionName === name) this.promote(app, rev)
      else if (appState(app).latestReadyRevisionName === name) setAppState(app, { runningStatus: 'Running' })
    } else if (status.kind === 'failed') {
      updateRevision(this.ctx, rev, {
        provisioningState: 'Failed',
        runningState: 'Failed',
        healthState: 'Unhealthy',
        replicas: 0,
        trafficWeight: 0,
        provisioningError: status.reason
      })
      delete rev.internal['url']
      this.refreshRunningStatus(app)
    } else {
      updateRevision(this.ctx, rev, {
        runningState: 'Failed',
        healthState: 'Unhealthy',
        replicas: 0,
        runningStateDetails: status.reason
      })
      delete rev.internal['url']
      this.refreshRunningStatus(app)
    }
    renderApp(this.ctx, app)
    this.afterChange()
  }

  /** The newest revision is ready: it becomes latestReady and, in Single mode, takes all traffic. */
  private promote(app: ResourceRecord, rev: ResourceRecord): void {
    const name = asString(rev.body['name']) ?? ''
    setAppState(app, { latestReadyRevisionName: name, runningStatus: 'Running' })
    const configuration = objectAt(appSpec(app), 'properties', 'configuration')
    const mode = asString(configuration?.['activeRevisionsMode']) ?? 'Single'
    if (mode.toLowerCase() === 'single') {
      for (const other of this.revisionsOf(app)) {
        if (other.id === rev.id) continue
        if (asBoolean(revisionProps(other)['active']) === true) this.deactivate(other)
      }
      updateRevision(this.ctx, rev, { trafficWeight: 100 })
      return
    }
    // Multiple mode: the `latestRevision: true` traffic entry follows the newest ready revision.
    const traffic = objectsOf(objectAt(configuration, 'ingress')?.['traffic'])
    const latestEntry = traffic.find((t) => asBoolean(t['latestRevision']) === true)
    const weights = new Map<string, number>()
    for (const t of traffic) {
      const target = asString(t['revisionName'])
      if (target) weights.set(target.toLowerCase(), asNumber(t['weight']) ?? 0)
    }
    for (const r of this.revisionsOf(app)) {
      const n = (asString(r.body['name']) ?? '').toLowerCase()
      const weight =
        r.id === rev.id ? (asNumber(latestEntry?.['weight']) ?? weights.get(n) ?? 0) : (weights.get(n) ?? 0)
      updateRevision(this.ctx, r, { trafficWeight: traffic.length === 0 && r.id === rev.id ? 100 : weight })
    }
  }

  private refreshRunningStatus(app: ResourceRecord): void {
    const serving = this.revisionsOf(app).some(
      (r) => stringAt(r.body, 'properties', 'runningState') === 'Running'
    )
    setAppState(app, { runningStatus: serving ? 'Running' : 'Stopped' })
  }
}

export function registerContainerAppRevisions(
  ctx: EmulatorContext,
  router: Router,
  lifecycle: RevisionLifecycle
): void {
  const BASE =
    '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.App/containerApps/{app}/revisions'
  const appOf = (req: ArmRequest): ResourceRecord => {
    const rg = resourceGroupName(ctx, req)
    const given = providerResourceId(subscriptionOf(req), rg, NS, ['containerApps', param(req, 'app')])
    return requireRecord(
      ctx,
      providerResourceId(subscriptionOf(req), rg, NS, [
        'containerApps',
        canonicalName(ctx, given, param(req, 'app'))
      ]),
      rg
    )
  }
  const revisionOf = (req: ArmRequest): { app: ResourceRecord; rev: ResourceRecord } => {
    const app = appOf(req)
    const rev = requireRecord(
      ctx,
      `${app.id}/revisions/${param(req, 'revision')}`,
      resourceGroupName(ctx, req)
    )
    return { app, rev }
  }
  const done = (app: ResourceRecord): ArmResponse => {
    renderApp(ctx, app)
    return { status: 200 }
  }

  router.add('GET', BASE, (req): ArmResponse =>
    listAnswer(lifecycle.revisionsOf(appOf(req)).map((r) => r.body))
  )

  router.add('GET', `${BASE}/{revision}`, (req): ArmResponse => ({
    status: 200,
    body: revisionOf(req).rev.body
  }))

  router.add('POST', `${BASE}/{revision}/activate`, (req): ArmResponse => {
    const { app, rev } = revisionOf(req)
    assertIdle(ctx, req, app.id)
    if (asBoolean(revisionProps(rev)['active']) !== true) {
      updateRevision(ctx, rev, { active: true })
      lifecycle.start(rev)
    }
    return done(app)
  })

  router.add('POST', `${BASE}/{revision}/deactivate`, (req): ArmResponse => {
    const { app, rev } = revisionOf(req)
    assertIdle(ctx, req, app.id)
    lifecycle.deactivate(rev)
    return done(app)
  })

  router.add('POST', `${BASE}/{revision}/restart`, (req): ArmResponse => {
    const { app, rev } = revisionOf(req)
    assertIdle(ctx, req, app.id)
    if (asBoolean(revisionProps(rev)['active']) !== true) {
      throw badRequest(
        'ContainerAppRevisionNotActive',
        `Revision '${asString(rev.body['name'])}' is not active; activate it before restarting it.`
      )
    }
    lifecycle.start(rev)
    return done(app)
  })
}
