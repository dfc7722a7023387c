/**
 * Entry point: `node .build/emulator/main.js --state DIR [...]` (see cli.ts). Prints exactly one
 * JSON line on stdout once ready — endpoint, CA path, subscription and the environment the action
 * needs — and runs until SIGTERM/SIGINT. Everything else goes to stderr.
 */
import { parseArgs } from './cli.js'
import { Views, type EmulatorContext } from './context.js'
import { FaultInjector } from './faults.js'
import { Latency } from './latency.js'
import { LroManager } from './lro.js'
import { IdFactory, randomGuid, randomToken } from './random.js'
import { RequestLog } from './requestLog.js'
import { registerResources } from './resources/index.js'
import { Router } from './router.js'
import { createRuntime } from './runtime/createRuntime.js'
import { ArmServer } from './server.js'
import { Store } from './store.js'
import { ensureCertificate } from './tls.js'

async function listenOnPreferredPort(
  server: ArmServer,
  requested: number | undefined,
  previous: number | undefined
): Promise<number> {
  if (requested !== undefined) return server.listen(requested)
  if (previous) {
    try {
      return await server.listen(previous)
    } catch (err) {
      process.stderr.write(
        `[emulator] previous port ${previous} is taken (${String(err)}); using a free one\n`
      )
    }
  }
  return server.listen(0)
}

async function main(): Promise<void> {
  const config = parseArgs(process.argv.slice(2))
  const store = Store.open(config.stateDir, () => ({ subscriptionId: randomGuid(), token: randomToken() }))
  const tls = ensureCertificate(config.stateDir)
  const latency = new Latency(config.timeScale)
  const ids = new IdFactory(config.seed, store)
  const views = new Views(store)
  const lro = new LroManager(store, ids, (id) => views.get(id))
  const runtime = createRuntime(config.runtime, latency)
  const ctx: EmulatorContext = { config, store, lro, latency, ids, views, runtime, now: () => Date.now() }

  const router = new Router()
  const { providers, revisions } = registerResources(ctx, router)
  providers.seedUnregistered(store.state.subscriptionId, config.unregistered)

  const log = new RequestLog(config.stateDir)
  const faults = new FaultInjector(config.faults, config.seed)
  faults.prime(log.all())
  const server = new ArmServer({ ctx, router, log, faults, providers, tls, token: store.state.token })
  const port = await listenOnPreferredPort(server, config.port, store.state.port)
  store.state.port = port

  lro.setAfterChange(() => store.commit())
  revisions.setAfterChange(() => store.commit())
  lro.settle()
  lro.resume()
  revisions.resume()
  store.commit()

  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    lro.stopTimers()
    await runtime.stopAll()
    store.commit()
    await server.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop())
  process.on('SIGINT', () => void stop())

  const endpoint = server.endpoint
  const ready = {
    endpoint,
    caCertPath: tls.certPath,
    subscriptionId: store.state.subscriptionId,
    env: {
      NODE_EXTRA_CA_CERTS: tls.certPath,
      'INPUT_ARM-ENDPOINT': endpoint,
      'INPUT_SUBSCRIPTION-ID': store.state.subscriptionId,
      AZURE_ACCESS_TOKEN: store.state.token,
      'INPUT_POLL-INTERVAL': String(latency.pollIntervalSeconds())
    }
  }
  process.stdout.write(`${JSON.stringify(ready)}\n`)
  process.stderr.write(
    `[emulator] ready on ${endpoint} (state ${config.stateDir}, time scale ${config.timeScale})\n`
  )
}

main().catch((err: unknown) => {
  process.stderr.write(`[emulator] ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
