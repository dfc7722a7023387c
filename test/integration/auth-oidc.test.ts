/**
 * OIDC sign-in on the real runtime against a real local OpenID provider: the server starts with the
 * mlflow-oidc-auth plugin, an anonymous browser is sent to the provider, and signing in there brings
 * the browser back to the MLflow UI.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { errorsOf, runAction } from '../helpers/action.js'
import { startEmulator, type Emulator } from '../helpers/emulator.js'
import { runtimeInfo, send, type Reply } from '../helpers/ingress.js'

const CLIENT_SECRET = 'oidc-client-secret-value'
let emulator: Emulator
let provider: ChildProcess
let issuer = ''

/** A browser's cookie jar: enough for one sign-in across the app and the provider. */
class Browser {
  private cookies = new Map<string, string>()
  constructor(private readonly fqdn: string) {}

  private remember(reply: { headers: IncomingMessage['headers'] }): void {
    for (const c of reply.headers['set-cookie'] ?? []) {
      const [pair] = c.split(';')
      const eq = pair!.indexOf('=')
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1))
    }
  }
  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  async get(url: string): Promise<Reply> {
    const target = new URL(url)
    if (target.hostname === this.fqdn) {
      const info = await runtimeInfo(emulator)
      const reply = await send(emulator, info.ingress, this.fqdn, `${target.pathname}${target.search}`, {
        cookie: this.cookieHeader(),
        headers: { accept: 'text/html,application/xhtml+xml' }
      })
      this.remember(reply)
      return reply
    }
    // The provider, reached directly.
    return new Promise((resolve, reject) => {
      const req = httpRequest(target, (res) => {
        let text = ''
        res.on('data', (d: Buffer) => (text += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }))
      })
      req.on('error', reject)
      req.end()
    })
  }

  /** Follows redirects like a browser, recording every URL it went through. */
  async visit(url: string): Promise<{ final: Reply; trail: string[] }> {
    const trail = [url]
    let reply = await this.get(url)
    for (let hops = 0; reply.status >= 300 && reply.status < 400 && hops < 10; hops++) {
      const next = new URL(reply.headers.location!, trail[trail.length - 1]).href
      trail.push(next)
      reply = await this.get(next)
    }
    return { final: reply, trail }
  }
}

beforeAll(async () => {
  provider = spawn(process.execPath, [join(import.meta.dirname, '..', 'helpers', 'oidc-provider.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  issuer = await new Promise<string>((resolve, reject) => {
    provider.once('exit', (code) => reject(new Error(`the OpenID provider exited with ${code}`)))
    createInterface({ input: provider.stdout! }).once('line', (line) =>
      resolve(line.trim().replace(/\/$/, ''))
    )
  })
  emulator = await startEmulator({ timeScale: 0.002, runtime: 'mlflow' })
}, 120_000)

afterAll(async () => {
  await emulator?.stop()
  provider?.kill('SIGTERM')
})

describe('OIDC sign-in', () => {
  it('redirects an anonymous browser to the provider, and a sign-in there reaches the MLflow UI', async () => {
    const deployed = await runAction(
      {
        command: 'deploy',
        'stack-name': 'sso',
        location: 'westeurope',
        auth: 'oidc',
        'oidc-discovery-url': `${issuer}/.well-known/openid-configuration`,
        'oidc-client-id': 'mlflow',
        'oidc-client-secret': CLIENT_SECRET
      },
      emulator.env
    )
    if (deployed.exitCode !== 0) throw new Error(`${errorsOf(deployed)}\n${deployed.stdout.slice(-4000)}`)
    expect(deployed.everything).not.toContain(CLIENT_SECRET)
    const fqdn = new URL(deployed.outputs['tracking-uri']!).hostname

    // An API client without a session is refused, not served.
    const info = await runtimeInfo(emulator)
    const api = await send(emulator, info.ingress, fqdn, '/api/2.0/mlflow/experiments/search?max_results=1')
    expect([401, 302, 303, 307]).toContain(api.status)

    const browser = new Browser(fqdn)
    // An anonymous visit lands on the plugin's sign-in page, not on MLflow.
    const landing = await browser.visit(`https://${fqdn}/`)
    expect(landing.trail[landing.trail.length - 1]).toBe(`https://${fqdn}/oidc/ui/`)
    // Its sign-in button leads to /login: the browser goes to the provider and comes back signed in.
    const { final, trail } = await browser.visit(`https://${fqdn}/login`)
    expect(trail.some((u) => u.startsWith(`${issuer}/authorize`))).toBe(true)
    expect(trail.some((u) => u.startsWith(`https://${fqdn}/callback`))).toBe(true)
    expect(final.status).toBe(200)
    expect(final.text).toMatch(/<title>[^<]*MLflow[^<]*<\/title>/i)

    // Signed in, the app's root serves the MLflow UI instead of the sign-in page.
    const home = await browser.visit(`https://${fqdn}/`)
    expect(home.trail).toEqual([`https://${fqdn}/`])
    expect(home.final.status).toBe(200)
    expect(home.final.text).toMatch(/<title>[^<]*MLflow[^<]*<\/title>/i)

    // Signed in, the same browser can use the API.
    const signedIn = await browser.get(`https://${fqdn}/api/2.0/mlflow/experiments/search?max_results=1`)
    expect(signedIn.status).toBe(200)
  }, 1_200_000)
})
