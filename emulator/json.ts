/**
 * JSON values as they travel on the ARM wire, plus the few operations the resource modules need
 * on them (typed access, structural equality, RFC 7386 merge patch).
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject
export interface JsonObject {
  [key: string]: JsonValue | undefined
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function asObject(v: unknown): JsonObject | undefined {
  return isObject(v) ? v : undefined
}

export function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

export function asNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

export function asBoolean(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined
}

export function asArray(v: unknown): JsonValue[] | undefined {
  return Array.isArray(v) ? (v as JsonValue[]) : undefined
}

/** Objects of an array, skipping anything else (the SDK never sends mixed arrays; callers send junk). */
export function objectsOf(v: unknown): JsonObject[] {
  return (asArray(v) ?? []).filter(isObject)
}

export function at(v: unknown, ...path: string[]): JsonValue | undefined {
  let cur: unknown = v
  for (const key of path) {
    if (!isObject(cur)) return undefined
    cur = cur[key]
  }
  return cur as JsonValue | undefined
}

export function objectAt(v: unknown, ...path: string[]): JsonObject | undefined {
  return asObject(at(v, ...path))
}

export function stringAt(v: unknown, ...path: string[]): string | undefined {
  return asString(at(v, ...path))
}

/** The child object under `key`, created when missing, so writers need no null checks. */
export function ensureObject(parent: JsonObject, key: string): JsonObject {
  const existing = parent[key]
  if (isObject(existing)) return existing
  const created: JsonObject = {}
  parent[key] = created
  return created
}

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T)
}

/** Key-order independent serialization, used to decide whether two templates are "the same". */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x === undefined ? null : x)).join(',')}]`
  if (isObject(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b)
}

/** RFC 7386: objects merge recursively, `null` deletes, everything else (arrays too) replaces. */
export function mergePatch(
  target: JsonValue | undefined,
  patch: JsonValue | undefined
): JsonValue | undefined {
  if (!isObject(patch)) return clone(patch)
  const result: JsonObject = isObject(target) ? clone(target) : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else if (value !== undefined) result[key] = mergePatch(result[key], value)
  }
  return result
}

/** Drops the given keys (dotted paths) from a copy; used to strip read-only fields before diffing. */
export function without(v: JsonObject, paths: string[]): JsonObject {
  const copy = clone(v)
  for (const path of paths) {
    const parts = path.split('.')
    const last = parts.pop()
    if (last === undefined) continue
    const parent = objectAt(copy, ...parts)
    if (parent) delete parent[last]
  }
  return copy
}
