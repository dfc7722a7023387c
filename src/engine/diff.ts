/**
 * Field-level comparison of a desired spec with the spec read back from Azure: the dotted path of
 * each difference with both values. Arrays compare whole (their order is meaningful to ARM). The
 * plan decides which values may be shown; this module only finds them.
 */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * A canonical form for comparison: object keys sorted (the service may answer them in any order)
 * and ARM resource ids lower-cased (ARM ids are case-insensitive and come back re-cased).
 */
function canonical(v: unknown): unknown {
  if (typeof v === 'string') return v.startsWith('/subscriptions/') ? v.toLowerCase() : v
  if (Array.isArray(v)) return v.map(canonical)
  if (isPlainObject(v)) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .filter((k) => v[k] !== undefined)
        .map((k) => [k, canonical(v[k])])
    )
  }
  return v
}

export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
}

export interface Difference {
  path: string
  /** What Azure has (`undefined` when absent). */
  before: unknown
  /** What the inputs ask for. */
  after: unknown
}

export function differences(
  desired: unknown,
  observed: unknown,
  skip: readonly string[] = [],
  prefix = ''
): Difference[] {
  if (!isPlainObject(desired) || !isPlainObject(observed)) {
    return sameValue(desired, observed) ? [] : [{ path: prefix, before: observed, after: desired }]
  }
  const keys = new Set([...Object.keys(desired), ...Object.keys(observed)])
  const out: Difference[] = []
  for (const key of keys) {
    const path = prefix === '' ? key : `${prefix}.${key}`
    if (skip.includes(path)) continue
    // A field set to `undefined` means "whatever the service has"; a key missing altogether (a tag
    // that was removed) is a change like any other.
    if (key in desired && desired[key] === undefined) continue
    out.push(...differences(desired[key], observed[key], skip, path))
  }
  return out
}

/** The dotted paths of what differs. */
export function changedFields(desired: unknown, observed: unknown, skip: readonly string[] = []): string[] {
  return differences(desired, observed, skip).map((d) => d.path)
}
