/**
 * ARM's `systemData` (common-types `Resource.systemData`; shown e.g. by PostgreSQL's ServersGet.json):
 * ARM records when a tracked resource was created and last written and the answer carries it. Done
 * here once for every tracked resource, from the writes that pass the front door, instead of in each
 * resource module. The creator's identity fields are left out: the emulator's token names no one.
 */
import type { EmulatorContext } from './context.js'
import { RESOURCE_GROUP_TYPE } from './ids.js'
import { isObject, type JsonObject, type JsonValue } from './json.js'
import type { ResourceRecord } from './store.js'

/** Tracked resources: the ones with a location (not resource groups, which ARM itself owns). */
function tracked(record: ResourceRecord): boolean {
  return record.type !== RESOURCE_GROUP_TYPE && typeof record.body['location'] === 'string'
}

/** After a successful PUT or PATCH: the resource at `path` was written now (and created, if new). */
export function recordWrite(ctx: EmulatorContext, method: string, path: string, status: number): void {
  if ((method !== 'PUT' && method !== 'PATCH') || status < 200 || status >= 300) return
  const record = ctx.store.get(path)
  if (!record || !tracked(record)) return
  const now = new Date(ctx.now()).toISOString()
  record.meta = { createdAt: record.meta?.createdAt ?? now, lastModifiedAt: now }
}

function decorate(ctx: EmulatorContext, body: JsonObject): JsonObject {
  const id = body['id']
  if (typeof id !== 'string') return body
  const record = ctx.store.get(id)
  if (!record?.meta || !tracked(record)) return body
  return {
    ...body,
    systemData: { createdAt: record.meta.createdAt, lastModifiedAt: record.meta.lastModifiedAt }
  }
}

/** The answer's resource (or each resource of a list) with its `systemData`. */
export function withSystemData(ctx: EmulatorContext, body: JsonValue | undefined): JsonValue | undefined {
  if (!isObject(body)) return body
  const value = body['value']
  if (Array.isArray(value)) {
    return { ...body, value: value.map((v) => (isObject(v) ? decorate(ctx, v) : v)) }
  }
  return decorate(ctx, body)
}
