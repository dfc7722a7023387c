/**
 * Network rules as Container Apps enforces them, on the local Azure: a stack whose `allowed-ips`
 * leave the runner out still deploys (the gate relies on Azure's probes and says why) while every
 * request from the runner — through the proxy or straight to the ingress — meets Envoy's
 * `403 RBAC: access denied`, and smoke-test fails at once naming `allowed-ips`; with the runner's
 * address in the list it answers 200. With `ingress: internal` the app's name does not exist from
 * outside (the proxy cannot resolve it, the ingress does not serve it) while ARM reports it healthy
 * and its own environment still reaches it. Every action run goes through `act` (the ledger).
 */
import { deriveNames } from '../src/config/naming.js'
import { errorsOf } from '../test/helpers/action.js'
import { send, throughProxy, type ProxiedReply } from '../test/helpers/ingress.js'
import { sdkClients } from '../test/helpers/sdk.js'
import { act, failure, hostOf, startWorld, stopWorld, type World } from './stack.js'
import { reporter, type Scenario, type Suite } from './suite.js'

const STACK = 'fenced'
/** A range the runner is not in (RFC 5737 TEST-NET-1): an office's, say. */
const OFFICE = '192.0.2.0/24'
const RBAC = 'RBAC: access denied'

function shown(r: ProxiedReply | { status: number; text: string }, host = ''): string {
  const text = (host ? r.text.split(host).join('<host>') : r.text).trim().replace(/\s+/g, ' ').slice(0, 80)
  return `${'refused' in r && r.refused ? 'proxy ' : ''}${r.status}${text ? ` "${text}"` : ''}`
}

async function insideProxy(world: World): Promise<{ proxy: string; address: string }> {
  const names = deriveNames({ stackName: STACK, subscriptionId: world.emulator.subscriptionId })
  const info = await world.emulator.runtimeInfo()
  const env = Object.entries(info.environments).find(([id]) =>
    id.toLowerCase().endsWith(`/managedenvironments/${names.managedEnvironment}`)
  )
  if (!env) throw new Error(`the local Azure lists no environment ${names.managedEnvironment}`)
  return env[1]
}

export const networkRules: Scenario = {
  name: 'networkRules',
  runtime: 'standin',
  async run(suite: Suite) {
    const check = reporter(suite, 'networkRules')
    const world = await startWorld(suite.ledger, STACK, {}, { 'mlflow-demo': 'false', 'wait-timeout': '300' })
    try {
      const info = await world.emulator.runtimeInfo()
      const clientIp = info.clientIp
      const proxy = world.emulator.env['HTTPS_PROXY'] ?? ''
      const ca = world.emulator.caCertPath
      const fromOutside = (host: string): Promise<ProxiedReply> => throughProxy(proxy, ca, host, '/health')
      const direct = (host: string) => send(world.emulator, info.ingress, host, '/health')

      // 1. allowed-ips without the runner: the deploy goes through, every request from it is refused.
      const fenced = await act(
        world,
        { command: 'deploy', 'allowed-ips': OFFICE },
        'deploy allowed-ips office only'
      )
      const host = fenced.exitCode === 0 ? hostOf(fenced.outputs['tracking-uri']) : ''
      if (fenced.exitCode !== 0 || !host) {
        check('allowed-ips refuses a runner outside the list', false, 'the deploy failed', failure(fenced))
        return
      }
      const proxied = await fromOutside(host)
      const straight = await direct(host)
      const gateSaid = /::warning::Health gate of \S+ relied on Azure's probes only: .*'allowed-ips'/.test(
        fenced.stdout
      )
      check(
        'allowed-ips refuses a runner outside the list (proxy and ingress), the deploy still goes through',
        !proxied.refused &&
          proxied.status === 403 &&
          proxied.text === RBAC &&
          straight.status === 403 &&
          straight.text === RBAC &&
          gateSaid,
        `${shown(proxied)} from ${clientIp} through the proxy, ${shown(straight)} straight to the ingress; ` +
          `deploy exit 0, gate ${gateSaid ? 'on Azure probes, saying why' : 'silent'}`,
        `allowed-ips ${OFFICE}; gate warning seen: ${gateSaid}`
      )

      // 4. smoke-test from that runner: fails at once, naming the input.
      const t0 = Date.now()
      const smoke = await act(world, { command: 'smoke-test' }, 'smoke-test outside allowed-ips')
      const seconds = (Date.now() - t0) / 1000
      const said = errorsOf(smoke)
      const names = said.includes("'allowed-ips'") && said.includes(RBAC) && /egress/.test(said)
      // Reported last, in the order of the checks' list.
      const smokeCheck = (): void =>
        check(
          "smoke-test's message names allowed-ips",
          smoke.exitCode !== 0 && smoke.outputs['smoke-result'] === 'failed' && names && seconds < 60,
          `failed in ${seconds.toFixed(1)} s at ${/step '([^']+)'/.exec(said)?.[1] ?? '?'}: ` +
            `${names ? "names 'allowed-ips' and the runner's egress range" : 'does not name allowed-ips'}`,
          said || smoke.stdout.slice(-1500)
        )

      // 2. with the runner's /32 in the list: through.
      const open = await act(
        world,
        { command: 'deploy', 'allowed-ips': `${OFFICE},${clientIp}/32` },
        'deploy allowed-ips with the runner'
      )
      const allowed = open.exitCode === 0 ? await fromOutside(host) : undefined
      const passed =
        open.exitCode === 0
          ? await act(world, { command: 'smoke-test' }, 'smoke-test inside allowed-ips')
          : undefined
      check(
        'allowed-ips lets in an address inside the list',
        allowed !== undefined && !allowed.refused && allowed.status === 200 && passed?.exitCode === 0,
        allowed
          ? `${shown(allowed)} from ${clientIp} (${clientIp}/32 in allowed-ips); smoke-test ${passed?.outputs['smoke-result'] ?? 'not run'}`
          : 'the deploy failed',
        open.exitCode !== 0 ? failure(open) : passed && passed.exitCode !== 0 ? failure(passed) : undefined
      )

      // 3. internal ingress: no such name from outside; healthy and reachable inside.
      const internal = await act(
        world,
        { command: 'deploy', ingress: 'internal', 'allowed-ips': '' },
        'deploy internal'
      )
      const internalHost = internal.exitCode === 0 ? hostOf(internal.outputs['tracking-uri']) : ''
      if (internal.exitCode !== 0 || !internalHost) {
        check('internal ingress is not reachable from outside', false, 'the deploy failed', failure(internal))
        smokeCheck()
        return
      }
      const out = await fromOutside(internalHost)
      const straightIn = await direct(internalHost)
      const env = await insideProxy(world)
      const inside = await throughProxy(env.proxy, ca, internalHost, '/health')
      const names3 = deriveNames({ stackName: STACK, subscriptionId: world.emulator.subscriptionId })
      const aca = sdkClients(world.emulator).aca
      const app = await aca.containerApps.get(names3.resourceGroup, names3.containerApp)
      const rev = await aca.containerAppsRevisions.getRevision(
        names3.resourceGroup,
        names3.containerApp,
        app.latestReadyRevisionName ?? ''
      )
      const healthy = rev.runningState === 'Running' && rev.healthState === 'Healthy'
      check(
        'internal ingress is not reachable from outside (proxy and ingress), still healthy and reached inside',
        out.refused &&
          out.status === 502 &&
          out.text.includes('ENOTFOUND') &&
          straightIn.status === 404 &&
          !inside.refused &&
          inside.status === 200 &&
          healthy,
        `from ${clientIp}: ${shown(out, internalHost)} through the proxy, ${shown(straightIn, internalHost)} ` +
          `at the ingress; from ${env.address} (its environment): ${shown(inside)}; ARM: ${rev.runningState}/${rev.healthState}`,
        `host ${internalHost}`
      )
      smokeCheck()
    } finally {
      await stopWorld(world)
    }
  }
}
