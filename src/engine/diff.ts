/**
 * Field-level comparison of a desired spec with the spec read back from Azure. Returns dotted paths
 * of what differs; arrays compare whole (their order is meaningful to ARM), and values are never
 * part of the result, so secrets in a spec cannot leak through a plan.
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

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
}

export function changedFields(
  desired: unknown,
  observed: unknown,
  skip: readonly string[] = [],
  prefix = ''
): string[] {
  if (!isPlainObject(desired) || !isPlainObject(observed)) {
    return sameValue(desired, observed) ? [] : [prefix]
  }
  const keys = new Set([...Object.keys(desired), ...Object.keys(observed)])
  const changes: string[] = []
  for (const key of keys) {
    const path = prefix === '' ? key : `${prefix}.${key}`
    if (skip.includes(path)) continue
    // A field set to `undefined` means "whatever the service has"; a key missing altogether (a tag
    // that was removed) is a change like any other.
    if (key in desired && desired[key] === undefined) continue
    changes.push(...changedFields(desired[key], observed[key], skip, path))
  }
  return changes
}
