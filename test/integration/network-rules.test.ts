/**
 * Network rules as Container Apps enforces them, against the local Azure (stand-in runtime): the
 * app's `allowed-ips` (`ipSecurityRestrictions`) refuse a runner outside the list with Envoy's
 * `403 RBAC: access denied`, and smoke-test says it is `allowed-ips`; with the runner's address
 * added it passes. An app with `ingress: internal` does not exist from outside (the proxy cannot
 * resolve it, the ingress does not serve it) while ARM reports it healthy and its environment's own
 * replicas still reach it. A PUT mixing Allow and Deny rules is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { deriveNames } from '../../src/config/naming.js'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { startEmulator, type Emulator } from '../helpers/emulator.js'
import { send, throughProxy } from '../helpers/ingress.js'
import { armError, fastLro, sdkClients } from '../helpers/sdk.js'

const STACK = 'netrules'
/** The runner's public address as the local Azure places it (`--client-ip`). */
const CLIENT_IP = '198.51.100.77'
/** A range the runner is not in (RFC 5737 TEST-NET-1). */
const OFFICE = '192.0.2.0/24'
const PASSWORD = 'netrules-admin-Pa55word'

let emulator: Emulator
const names = () => deriveNames({ stackName: STACK, subscriptionId: emulator.subscriptionId })

function action(inputs: Record<string, string>): Promise<ActionRun> {
  return runAction(
    {
      'stack-name': STACK,
      location: 'westeurope',
      'admin-password': PASSWORD,
      'wait-timeout': '300',
      ...inputs
    },
    emulator.env
  )
}

async function deploy(inputs: Record<string, string>): Promise<ActionRun> {
  const r = await action({ command: 'deploy', ...inputs })
  if (r.exitCode !== 0)
    throw new Error(`deploy failed (${r.exitCode}):\n${errorsOf(r)}\n${r.stdout.slice(-3000)}`)
  return r
}

const smokeTest = (): Promise<ActionRun> => action({ command: 'smoke-test', 'mlflow-demo': 'false' })

/** From outside: through the proxy the runner uses (the ready line's HTTPS_PROXY). */
const fromOutside = (host: string, path = '/health') =>
  throughProxy(emulator.env['HTTPS_PROXY']!, emulator.caCertPath, host, path)

/** From inside the stack's environment: with the proxy URL its replicas are given. */
async function fromInside(host: string, path = '/health') {
  const info = await emulator.runtimeInfo()
  const env = Object.entries(info.environments).find(([id]) =>
    id.toLowerCase().endsWith(`/managedenvironments/${names().managedEnvironment}`)
  )
  if (!env)
    throw new Error(`no environment ${names().managedEnvironment} in ${JSON.stringify(info.environments)}`)
  return { ...(await throughProxy(env[1].proxy, emulator.caCertPath, host, path)), address: env[1].address }
}

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: 0.002, clientIp: CLIENT_IP })
}, 120_000)
afterAll(async () => {
  await emulator?.stop()
})

describe('allowed-ips and internal ingress, as Container Apps enforces them', () => {
  let fqdn = ''

  it('allowed-ips without the runner: 403 "RBAC: access denied" from outside; smoke-test names allowed-ips', async () => {
    const r = await deploy({ 'allowed-ips': OFFICE })
    fqdn = new URL(r.outputs['tracking-uri']!).hostname
    // The gate could not reach the revision from this runner and says why, relying on Azure's probes.
    expect(r.stdout).toMatch(
      /::warning::Health gate of \S+ relied on Azure's probes only: .*403 RBAC: access denied.*'allowed-ips'/
    )

    const proxied = await fromOutside(fqdn)
    expect(proxied).toMatchObject({ refused: false, status: 403, text: 'RBAC: access denied' })
    const info = await emulator.runtimeInfo()
    expect(info.clientIp).toBe(CLIENT_IP)
    const direct = await send(emulator, info.ingress, fqdn, '/health')
    expect([direct.status, direct.text]).toEqual([403, 'RBAC: access denied'])
    // The environment's own replicas are judged by their subnet address, which is not in the list either.
    const inside = await fromInside(fqdn)
    expect(inside.address).toMatch(/^10\./)
    expect(inside).toMatchObject({ refused: false, status: 403 })

    const t0 = Date.now()
    const smoke = await smokeTest()
    expect(smoke.exitCode).not.toBe(0)
    expect(smoke.outputs['smoke-result']).toBe('failed')
    const error = errorsOf(smoke)
    expect(error).toMatch(/Smoke test failed at step 'health'/)
    expect(error).toContain('403: RBAC: access denied')
    expect(error).toContain("'allowed-ips'")
    expect(error).toMatch(/egress/)
    // A refusal is an answer, not a server warming up: no polling until the deadline.
    expect(Date.now() - t0).toBeLessThan(60_000)
  }, 600_000)

  it("with the runner's /32 added: 200 through the proxy, and smoke-test passes", async () => {
    const r = await deploy({ 'allowed-ips': `${OFFICE}, ${CLIENT_IP}` })
    expect(r.outputs['tracking-uri']).toBe(`https://${fqdn}`)
    const proxied = await fromOutside(fqdn)
    expect(proxied).toMatchObject({ refused: false, status: 200 })
    const smoke = await smokeTest()
    if (smoke.exitCode !== 0) throw new Error(`${errorsOf(smoke)}\n${smoke.stdout.slice(-3000)}`)
    expect(smoke.outputs['smoke-result']).toBe('passed')
  }, 600_000)

  it('a PUT mixing Allow and Deny rules is refused', async () => {
    const c = sdkClients(emulator)
    const app = await c.aca.containerApps.get(names().resourceGroup, names().containerApp)
    app.configuration!.ingress!.ipSecurityRestrictions = [
      { name: 'office', ipAddressRange: OFFICE, action: 'Allow' },
      { name: 'runner', ipAddressRange: `${CLIENT_IP}/32`, action: 'Deny' }
    ]
    const err = await armError(
      c.aca.containerApps.createOrUpdate(names().resourceGroup, names().containerApp, app, fastLro)
    )
    expect([err.statusCode, err.code]).toEqual([400, 'InvalidRequestParameterWithDetails'])
    expect(err.message).toMatch(/Allow and Deny rules cannot be combined/)
  }, 120_000)

  it('ingress internal: no such name from outside (proxy and ingress), healthy as ARM reports, reached from inside', async () => {
    const r = await deploy({ ingress: 'internal', 'allowed-ips': '' })
    const internalFqdn = new URL(r.outputs['tracking-uri']!).hostname
    expect(internalFqdn).toMatch(new RegExp(`^${names().containerApp}\\.internal\\.`))
    expect(r.stdout).toMatch(/internal ingress is not reachable from here/)

    const proxied = await fromOutside(internalFqdn)
    expect(proxied.refused).toBe(true)
    expect(proxied.status).toBe(502)
    expect(proxied.text).toContain(`ENOTFOUND ${internalFqdn}`)
    const info = await emulator.runtimeInfo()
    const direct = await send(emulator, info.ingress, internalFqdn, '/health')
    expect(direct.status).toBe(404)

    const c = sdkClients(emulator)
    const app = await c.aca.containerApps.get(names().resourceGroup, names().containerApp)
    expect(app.provisioningState).toBe('Succeeded')
    expect(app.configuration?.ingress?.external).toBe(false)
    const revision = await c.aca.containerAppsRevisions.getRevision(
      names().resourceGroup,
      names().containerApp,
      app.latestReadyRevisionName!
    )
    expect([revision.runningState, revision.healthState]).toEqual(['Running', 'Healthy'])

    const inside = await fromInside(internalFqdn)
    expect(inside).toMatchObject({ refused: false, status: 200 })

    const smoke = await smokeTest()
    expect(smoke.exitCode).not.toBe(0)
    const error = errorsOf(smoke)
    expect(error).toMatch(/Smoke test failed at step 'health'/)
    expect(error).toContain(`${internalFqdn} is an internal ingress name (ingress: internal)`)
    expect(error).toMatch(/resolves only inside the Container Apps environment/)
    expect(error).toMatch(/Proxy response \(502\)|ENOTFOUND/)
  }, 600_000)

  it('pr-up of an internal PR environment does not fail because this runner cannot reach it', async () => {
    const r = await action({
      command: 'pr-up',
      'pr-number': '3',
      ingress: 'internal',
      'mlflow-demo': 'false'
    })
    if (r.exitCode !== 0)
      throw new Error(`pr-up failed (${r.exitCode}):\n${errorsOf(r)}\n${r.stdout.slice(-3000)}`)
    expect(new URL(r.outputs['tracking-uri']!).hostname).toMatch(/\.internal\./)
    expect(r.stdout).toMatch(/::warning::pr-up did not smoke-test PR #3: \S+ is an internal ingress name/)
    // Neither passed nor failed: it did not run.
    expect(r.outputs['smoke-result']).toBeUndefined()
  }, 600_000)
})
