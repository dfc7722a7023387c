/**
 * Starts the local ARM emulator (`.build/emulator/main.js`) as a child process for integration
 * tests, building it first when the compiled output is missing or older than its sources.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './root.js'

const MAIN = join(ROOT, '.build', 'emulator', 'main.js')
const READY_DEADLINE_MS = 30_000
// A real MLflow server and PostgreSQL take a few seconds to shut down.
const STOP_DEADLINE_MS = 30_000

export interface EmulatorOptions {
  /** Reuse a state dir (e.g. to resume a scenario); by default a fresh temp dir, removed on stop. */
  stateDir?: string
  timeScale?: number
  /** e.g. `429=0.1,503=0.05,500=0.03,409=0.05,lro-fail=0.02,reset=0.02` */
  faults?: string
  seed?: number
  /** `standin` (default): tiny node servers; `mlflow`: real MLflow + PostgreSQL + Azurite. */
  runtime?: 'standin' | 'mlflow'
  unregistered?: string[]
  takenNames?: string[]
  /** Operation kind → error code, e.g. `{ 'postgresServers.put': 'QuotaExceeded' }`. */
  failOperations?: Record<string, string>
  /** Images whose server exits before it is ever healthy (a broken release: a crash loop). */
  crashImages?: string[]
  /**
   * Fixed propagation whiles in realistic seconds (scaled by the time scale), instead of the
   * seeded draws: `{ storageKey: 0 }` for tests that are not about a regenerated key's while.
   */
  propagation?: Partial<Record<'storageKey' | 'roleAssignment' | 'principal', number>>
  /**
   * The runner's public address (`--client-ip`): every request from outside the managed
   * environments comes from it, for the apps' IP restrictions (default 203.0.113.10).
   */
  clientIp?: string
  /**
   * ARM actions the deploying principal lacks (`--deny-actions`), e.g.
   * `['Microsoft.App/containerApps/write', 'Microsoft.App/register/action']`; `*` wildcards as in
   * role definitions. Such a request is answered 403 `AuthorizationFailed`.
   */
  denyActions?: string[]
  port?: number
}

export interface RequestRecord {
  method: string
  path: string
  status: number
  /** Arrival time, epoch ms (absent in logs written by an older local Azure). */
  at?: number
}

/** `GET /_emulator/runtime`: where the local services listen. */
export interface RuntimeInfo {
  /** The apps' HTTPS ingress (`https://127.0.0.1:<port>`); route by Host/SNI = the app's FQDN. */
  ingress: string
  /** The CONNECT proxy (`http://127.0.0.1:<port>`) that resolves app FQDNs to the ingress. */
  proxy: string
  /**
   * Azurite, path-style (account URLs are `<endpoint>/<account>`), and the blob front door
   * (`https://127.0.0.1:<port>`) that `https://<account>.blob.core.windows.net` reaches through the
   * proxy: send it the account's host as Host/SNI.
   */
  blob: { endpoint: string; frontDoor?: string } | null
  /** Running PostgreSQL servers by name (`--runtime mlflow` only). */
  postgres: Record<string, { host: string; port: number }>
  /** Apps with a running revision that has traffic, by FQDN. */
  apps: Record<string, { app: string; revision: string; url: string }>
  /**
   * Per managed environment (by id): the proxy URL its replicas get (with the environment's
   * credentials: requests through it come from inside) and the address they appear from.
   */
  environments: Record<string, { proxy: string; address: string }>
  /** The address every request from outside the environments appears from. */
  clientIp: string
}

export interface Emulator {
  readonly endpoint: string
  readonly caCertPath: string
  readonly subscriptionId: string
  readonly token: string
  /** Environment variables the action needs to talk to this emulator. */
  readonly env: Record<string, string>
  /** The deploying principal (ready line `deployer`). */
  readonly deployer: Deployer | undefined
  readonly stateDir: string
  requests(): Promise<RequestRecord[]>
  state(): Promise<unknown>
  runtimeInfo(): Promise<RuntimeInfo>
  /**
   * Stops and starts again on the same state dir (same subscription, cert, token and port). With
   * `kill`, the stop is a SIGKILL: the local Azure crashes rather than shuts down, with no chance to
   * save anything. Resolves at the ready line: revisions are still starting (poll the app).
   */
  restart(opts?: { kill?: boolean }): Promise<void>
  stop(): Promise<void>
}

/** The principal that runs the action, and its token endpoint (App Service protocol). */
export interface Deployer {
  principalId: string
  clientId: string
  tenantId: string
  identityEndpoint: string
  identityHeader: string
}

interface ReadyLine {
  endpoint: string
  caCertPath: string
  subscriptionId: string
  deployer?: Deployer
  env: Record<string, string>
}

const READ_ACTIONS = ['listkeys', 'listsecrets', 'sharedkeys', 'checknameavailability']

/** Writes are PUT/PATCH/DELETE and every POST action except the read-only ones. */
export function isWrite(r: { method: string; path: string }): boolean {
  const method = r.method.toUpperCase()
  if (method === 'PUT' || method === 'PATCH' || method === 'DELETE') return true
  if (method !== 'POST') return false
  const action = r.path.split('?')[0]?.split('/').filter(Boolean).pop()?.toLowerCase() ?? ''
  return !READ_ACTIONS.includes(action)
}

function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

function isStale(): boolean {
  if (!existsSync(MAIN)) return true
  const sources = Math.max(
    newestSource(join(ROOT, 'emulator')),
    statSync(join(ROOT, 'tsconfig.emulator.json')).mtimeMs
  )
  return statSync(MAIN).mtimeMs < sources
}

let built = false

/** Compiles the emulator once per test process; a lock dir keeps parallel jest workers from racing. */
function ensureBuilt(): void {
  if (built || !isStale()) {
    built = true
    return
  }
  const lock = join(ROOT, '.build', 'emulator-build.lock')
  mkdirSync(join(ROOT, '.build'), { recursive: true })
  const deadline = Date.now() + 120_000
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000)
        rmSync(lock, { recursive: true, force: true })
      if (Date.now() > deadline) throw new Error(`timed out waiting for the emulator build lock ${lock}`)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200)
    }
  }
  try {
    if (isStale()) {
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
      execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.emulator.json')], {
        cwd: ROOT,
        stdio: 'pipe'
      })
    }
    built = true
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

function argsFor(stateDir: string, o: EmulatorOptions): string[] {
  const args = ['--state', stateDir]
  if (o.port !== undefined) args.push('--port', String(o.port))
  if (o.timeScale !== undefined) args.push('--time-scale', String(o.timeScale))
  if (o.faults) args.push('--faults', o.faults)
  if (o.seed !== undefined) args.push('--seed', String(o.seed))
  if (o.runtime) args.push('--runtime', o.runtime)
  if (o.unregistered?.length) args.push('--unregistered', o.unregistered.join(','))
  if (o.takenNames?.length) args.push('--taken-names', o.takenNames.join(','))
  const failures = Object.entries(o.failOperations ?? {})
  if (failures.length) args.push('--fail-operations', failures.map(([k, v]) => `${k}=${v}`).join(','))
  if (o.crashImages?.length) args.push('--crash-images', o.crashImages.join(','))
  const propagation = Object.entries(o.propagation ?? {})
  if (propagation.length) args.push('--propagation', propagation.map(([k, v]) => `${k}=${v}`).join(','))
  if (o.clientIp) args.push('--client-ip', o.clientIp)
  if (o.denyActions?.length) args.push('--deny-actions', o.denyActions.join(','))
  return args
}

const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

function launch(args: string[]): Promise<{ child: ChildProcess; ready: ReadyLine }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(child)
    child.once('exit', () => live.delete(child))
    let stdout = ''
    let stderr = ''
    let settled = false
    const fail = (why: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`emulator did not start: ${why}\n${stderr.slice(-4000)}`))
    }
    const timer = setTimeout(() => fail(`no ready line within ${READY_DEADLINE_MS} ms`), READY_DEADLINE_MS)
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString('utf8')
      if (process.env['EMULATOR_DEBUG']) process.stderr.write(c)
    })
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString('utf8')
      const newline = stdout.indexOf('\n')
      if (newline < 0 || settled) return
      try {
        const ready = JSON.parse(stdout.slice(0, newline)) as ReadyLine
        settled = true
        clearTimeout(timer)
        resolvePromise({ child, ready })
      } catch (err) {
        fail(`unreadable ready line: ${String(err)}`)
      }
    })
    child.once('exit', (code, signal) => fail(`exited with ${code ?? signal} before it was ready`))
  })
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS)
    child.once('exit', () => {
      clearTimeout(timer)
      resolvePromise()
    })
    child.kill('SIGTERM')
  })
}

function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolvePromise) => {
    child.once('exit', () => resolvePromise())
    child.kill('SIGKILL')
  })
}

function getJson<T>(url: string, ca: string): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { method: 'GET', ca }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        if ((res.statusCode ?? 0) >= 300) return reject(new Error(`GET ${url} → ${res.statusCode}: ${text}`))
        try {
          resolvePromise(JSON.parse(text) as T)
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)))
        }
      })
    })
    req.on('error', reject)
    req.end()
  })
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  ensureBuilt()
  const ownsStateDir = options.stateDir === undefined
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'arm-emulator-'))
  // The port is only forced on the first start; restarts reuse whatever the state dir remembers.
  let current = await launch(argsFor(stateDir, options))
  const restartArgs = argsFor(stateDir, { ...options, port: undefined })
  let ca = readFileSync(current.ready.caCertPath, 'utf8')

  return {
    get endpoint() {
      return current.ready.endpoint
    },
    get caCertPath() {
      return current.ready.caCertPath
    },
    get subscriptionId() {
      return current.ready.subscriptionId
    },
    get token() {
      return current.ready.env['AZURE_ACCESS_TOKEN'] ?? ''
    },
    get env() {
      return { ...current.ready.env }
    },
    get deployer() {
      return current.ready.deployer
    },
    stateDir,
    requests: () => getJson<RequestRecord[]>(`${current.ready.endpoint}/_emulator/requests`, ca),
    state: () => getJson<unknown>(`${current.ready.endpoint}/_emulator/state`, ca),
    runtimeInfo: () => getJson<RuntimeInfo>(`${current.ready.endpoint}/_emulator/runtime`, ca),
    async restart(opts = {}) {
      await (opts.kill ? killChild(current.child) : stopChild(current.child))
      current = await launch(restartArgs)
      ca = readFileSync(current.ready.caCertPath, 'utf8')
    },
    async stop() {
      await stopChild(current.child)
      if (ownsStateDir) rmSync(stateDir, { recursive: true, force: true })
    }
  }
}
