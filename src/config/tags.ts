/**
 * `tags` input: `key=value` pairs, one per line or separated by commas. Azure allows 50 tags per
 * resource, keys up to 512 and values up to 256 characters, and no `<>%&\?/` in keys. The action
 * adds its own tags, so users may not set those. Names that start with `azure`, `microsoft` or
 * `windows` are Azure's own and refused by it (the portal's tag editor says so;
 * microsoft/vscode-azureresourcegroups#1164).
 */
export const RESERVED_TAGS = ['managed-by', 'mlflow-stack'] as const
export const RESERVED_TAG_PREFIXES = ['azure', 'microsoft', 'windows'] as const

export function parseTags(raw: string): Record<string, string> | string {
  const tags: Record<string, string> = {}
  const entries = raw
    .split(/[\n,]/)
    .map((e) => e.trim())
    .filter((e) => e !== '')
  for (const entry of entries) {
    const eq = entry.indexOf('=')
    if (eq <= 0) return `each tag must be written key=value; '${entry}' is not`
    const key = entry.slice(0, eq).trim()
    const value = entry.slice(eq + 1).trim()
    if (key.length > 512 || /[<>%&\\?/]/.test(key)) {
      return `tag key '${key}' must be at most 512 characters without any of < > % & \\ ? /`
    }
    if (value.length > 256) return `the value of tag '${key}' must be at most 256 characters`
    const prefix = RESERVED_TAG_PREFIXES.find((p) => key.toLowerCase().startsWith(p))
    if (prefix !== undefined) {
      return `tag '${key}' starts with '${prefix}': Azure keeps names starting with azure, microsoft or windows for itself`
    }
    if ((RESERVED_TAGS as readonly string[]).includes(key.toLowerCase())) {
      return `tag '${key}' is set by the action itself; choose another key`
    }
    tags[key] = value
  }
  if (Object.keys(tags).length > 48) return 'at most 48 tags are allowed (Azure allows 50; the action sets 2)'
  return tags
}
