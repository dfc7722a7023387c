/**
 * The Container Apps log stream, read the way `az containerapp logs show` reads it: a token from
 * the app's (or environment's) `getAuthToken`, then `GET <logStreamEndpoint>?tailLines=N&follow=false`
 * with `Authorization: Bearer <token>`. Not an ARM call: it goes to the region's
 * `*.azurecontainerapps.dev` host, through the runner's proxy settings like any fetch.
 */
export async function readLogTail(endpoint: string, token: string, lines: number): Promise<string[]> {
  const url = new URL(endpoint)
  url.searchParams.set('tailLines', String(lines))
  url.searchParams.set('follow', 'false')
  url.searchParams.set('output', 'text')
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(30_000)
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`log stream answered ${res.status}`)
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-lines)
}

/** `https://<region>.azurecontainerapps.dev` out of an `eventStreamEndpoint`. */
export function logStreamBase(eventStreamEndpoint: string): string {
  const i = eventStreamEndpoint.indexOf('/subscriptions/')
  return i < 0 ? eventStreamEndpoint : eventStreamEndpoint.slice(0, i)
}
