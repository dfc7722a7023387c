/**
 * `--runtime mlflow`: the ONE place where a container image becomes a local process. A revision of
 * `ghcr.io/mlflow/mlflow:v<ver>-full` runs the container's own command and args, unchanged except
 * for the translations below, as a real `mlflow server` from PyPI.
 *
 * Image → venv ("pull"):
 *   `ghcr.io/mlflow/mlflow:v<ver>-full` → `<root>/server-<ver>` with
 *   `mlflow[auth]==<ver> psycopg2-binary azure-storage-blob` (what the `-full` image carries), and
 *   from 3.11 on `azure-identity` too (the image's `mlflow[azure]` extra, mlflow/mlflow#21582;
 *   next-capabilities §4.2), so MLflow's DefaultAzureCredential path (managed identity) works as in
 *   the image; a venv made before that gets it added once (marker `.installed-azure-identity`);
 *   the plain `…:v<ver>` → `<root>/server-<ver>-plain` with `mlflow==<ver>` only. When the
 *   container's command line contains `--app-name oidc-auth`, `mlflow-oidc-auth` is added (the
 *   release the command line pins with `mlflow-oidc-auth==<x>`, if it does, so a start-up
 *   `pip install` of that pin finds it satisfied).
 *   root = `$MLFLOW_AZURE_VENV_DIR` or `~/.cache/mlflow-azure-action/venvs`. Installed once (marker
 *   file `.installed`; `.installed-oidc` for the plugin), under a lock (in-process and a lock dir
 *   next to the venv) so two revisions never install concurrently. A pip failure (no such release)
 *   fails the revision: `Failed to pull image "<image>": manifest unknown: <pip's last line>`.
 *   Any other image fails the same way, without pip.
 *
 * Translations, and only these:
 *   1. `mlflow` in the command resolves to the venv's: `<venv>/bin` leads PATH, so the pre-3.11
 *      `/bin/bash -c "pip install … && exec mlflow server …"` form works unchanged too.
 *   2. Listening: `--host 0.0.0.0` → `--host 127.0.0.1`, `--port <targetPort>` → a free local
 *      port (in args and inside a `bash -c` script; `MLFLOW_HOST`/`MLFLOW_PORT` likewise; with
 *      neither given, `MLFLOW_PORT` is set to the local port).
 *   3. In every env value that is a PostgreSQL URI (`MLFLOW_BACKEND_STORE_URI`, and the auth
 *      apps' `MLFLOW_AUTH_DATABASE_URI` / `OIDC_USERS_DB_URI`) the host
 *      `<server>.postgres.database.azure.com[:5432]` → `127.0.0.1:<that server's local port>`;
 *      user, password, database and `sslmode` untouched. A server that does not exist (or is not
 *      running) → `<server>.postgres.database.azure.com.invalid:5432`, which does not resolve, as
 *      the name would not on Azure.
 *   4. Platform hosts: the container reaches `https://<account>.blob.core.windows.net` (what MLflow's
 *      `AzureBlobArtifactRepository` builds from the `wasbs://` destination, with
 *      `AZURE_STORAGE_ACCESS_KEY`, a connection string or DefaultAzureCredential) through the
 *      emulator's CONNECT proxy and blob front door, trusting its CA: `HTTPS_PROXY`/`NO_PROXY`
 *      (127.0.0.1, localhost) and `REQUESTS_CA_BUNDLE`/`SSL_CERT_FILE` (the machine's CAs plus the
 *      emulator's) are set. Nothing in the container's own env is rewritten: a wrong, rotated or
 *      not yet propagated key fails at the front door with 403 → MLflow 500, as on Azure.
 *
 * Secrets are what the app holds at each (re)start, so a changed secret takes effect only after a
 * restart or a new revision, as in ACA. The process runs under `guard.js` (its own process group,
 * gone with the emulator) in `<state>/revisions/<revision>/`, with PATH, HOME, LANG, the machine's
 * pip/TLS/proxy settings and the container's env; its output (secrets masked) goes to the replica's
 * log file the control plane names (what the log stream serves). Health: `GET <startup probe path or /health>` must answer 200
 * within the startup probe's initialDelay + period × failureThreshold seconds (real time), or 300 s.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PostgresAddress } from '../backends/postgres.js'
import { freePort } from './freePort.js'
import type { ImageAdapter, PlanResult } from './processRuntime.js'
import {
  reachEnv,
  type ContainerProbe,
  type PlatformReach,
  type RevisionContainer,
  type RevisionInput,
  type RunInput
} from './types.js'

const IMAGE = /^ghcr\.io\/mlflow\/mlflow:v(\d+\.\d+\.\d+)(-full)?$/
const POSTGRES_URI = /^postgres(?:ql)?(?:\+\w+)?:\/\//i
const GUARD = fileURLToPath(new URL('./guard.js', import.meta.url))
const DEFAULT_HEALTH_DEADLINE_S = 300
const PIP_TIMEOUT_MS = 20 * 60_000
const LOCK_STALE_MS = 30 * 60_000
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
/** The machine's network settings a container on Azure would not need, but pip here does. */
const PASSED_THROUGH =
  /^(PIP_\w+|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|https?_proxy|no_proxy)$/i

export interface MlflowAdapterDeps {
  stateDir: string
  venvRoot: string
  postgres?: { address(name: string): PostgresAddress | undefined }
  /** How containers reach platform hosts (blob endpoints) here. */
  reach?: (environmentId?: string) => PlatformReach
}

export function defaultVenvRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env['MLFLOW_AZURE_VENV_DIR'] || join(homedir(), '.cache', 'mlflow-azure-action', 'venvs')
}

class PullError extends Error {}

/** Runs a command, resolving with its exit code and the tail of its output. */
function run(
  command: string,
  args: string[],
  timeoutMs: number
): Promise<{ code: number | null; lastLine: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env })
    let stderr = ''
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString('utf8')).slice(-8000)))
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-8000)))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      resolve({ code: -1, lastLine: err.message })
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      const lines = (stderr.trim() || stdout.trim()).split('\n').filter((l) => l.trim())
      const errorLine = [...lines].reverse().find((l) => /^ERROR:/.test(l))
      resolve({ code, lastLine: (errorLine ?? lines.at(-1) ?? '').trim() })
    })
  })
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A lock dir next to the venv, shared with other emulators on this machine. */
async function withDirLock<T>(lock: string, work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(join(lock, 'pid'), String(process.pid))
      break
    } catch {
      let stale: boolean
      try {
        const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'))
        stale = (pid > 0 && !pidAlive(pid)) || Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS
      } catch {
        stale = existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 10_000
      }
      if (stale) rmSync(lock, { recursive: true, force: true })
      else await new Promise((r) => setTimeout(r, 500))
    }
  }
  try {
    return await work()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

interface VenvRequest {
  version: string
  full: boolean
  /** The image carries azure-identity (`-full` ≥ 3.11). */
  identity: boolean
  /** The `mlflow-oidc-auth` requirement to add, if any. */
  oidc?: string
}

export class MlflowAdapter implements ImageAdapter {
  private readonly installs = new Map<string, Promise<string>>()

  constructor(private readonly deps: MlflowAdapterDeps) {}

  async plan(input: Omit<RevisionInput, 'onStatus'>, _port: number): Promise<PlanResult> {
    const { container } = input
    const pulled = await this.pull(container)
    if (!pulled.ok) return pulled
    const { env, secrets } = this.containerEnv(container, pulled.venv, input.environmentId)

    // 2. listening address
    const port = await freePort()
    const targetPort = container.targetPort ?? 5000
    const rewrite = (s: string): string => listenInScript(s, targetPort, port)
    const command = container.command.map(rewrite)
    const args = listenInArgs(container.args.map(rewrite), targetPort, port)
    if (env['MLFLOW_HOST'] === '0.0.0.0') env['MLFLOW_HOST'] = '127.0.0.1'
    if (env['MLFLOW_PORT'] === String(targetPort)) env['MLFLOW_PORT'] = String(port)
    const all = [...command, ...args].join(' ')
    if (!/(^|\s)(--port|-p)([ =]|$)/.test(all) && env['MLFLOW_PORT'] === undefined)
      env['MLFLOW_PORT'] = String(port)

    this.translateServices(container, env, secrets)

    // No command: the image's default (its base image's `python3`), which exits at once.
    const argv = command.length > 0 ? [...command, ...args] : args.length > 0 ? args : ['python3']
    const cwd = join(this.deps.stateDir, 'revisions', input.revisionName)
    mkdirSync(cwd, { recursive: true })
    const startup = container.probes?.find((p) => p.type.toLowerCase() === 'startup')
    const healthPath = startup?.path ?? '/health'
    return {
      ok: true,
      plan: {
        command: process.execPath,
        args: [GUARD, '--parent-pid', String(process.pid), '--', ...argv],
        env,
        cwd,
        healthUrl: `http://127.0.0.1:${port}${healthPath.startsWith('/') ? '' : '/'}${healthPath}`,
        url: `http://127.0.0.1:${port}`,
        healthDeadlineMs: healthDeadlineSeconds(startup) * 1000,
        reasonLines: 5,
        secrets,
        logPath: input.logPath ?? join(this.deps.stateDir, 'revisions', `${input.revisionName}.log`)
      }
    }
  }

  /**
   * A job replica's container: the same image-to-venv "pull" and the same service translations
   * (3, 4) as a revision, and the container's own command line unchanged: `mlflow …`, `python …`
   * or `/bin/bash -c "<script>"` find the venv's `mlflow` and `python` first on PATH. It runs in
   * `<state>/jobs/<execution>/<replica>/` under the guard.
   */
  async planRun(input: Omit<RunInput, 'onStart' | 'onExit'>): Promise<PlanResult> {
    const { container } = input
    const pulled = await this.pull(container)
    if (!pulled.ok) return pulled
    const { env, secrets } = this.containerEnv(container, pulled.venv, input.environmentId)
    this.translateServices(container, env, secrets)
    const argv =
      container.command.length > 0
        ? [...container.command, ...container.args]
        : container.args.length > 0
          ? container.args
          : ['python3']
    const cwd = join(this.deps.stateDir, 'jobs', input.executionName, input.replicaName)
    mkdirSync(cwd, { recursive: true })
    return {
      ok: true,
      plan: {
        command: process.execPath,
        args: [GUARD, '--parent-pid', String(process.pid), '--', ...argv],
        env,
        cwd,
        reasonLines: 5,
        secrets
      }
    }
  }

  /**
   * The venv of `ghcr.io/mlflow/mlflow:v<version>-full` (installed once, as a revision's pull
   * does): what other local services that run a real `mlflow server` use (`amlEndpoint.ts`).
   */
  serverVenv(version: string): Promise<string> {
    const [major = 0, minor = 0] = version.split('.').map(Number)
    return this.venv({ version, full: true, identity: major > 3 || (major === 3 && minor >= 11) })
  }

  /** Image → venv: the "pull", with a missing release failing as an unknown tag does. */
  private async pull(
    container: RevisionContainer
  ): Promise<{ ok: true; venv: string } | { ok: false; reason: string }> {
    const image = container.image
    const m = IMAGE.exec(image)
    if (!m) return { ok: false, reason: `Failed to pull image "${image}": manifest unknown` }
    const commandLine = [...container.command, ...container.args].join(' ')
    try {
      const version = m[1] ?? ''
      const [major = 0, minor = 0] = version.split('.').map(Number)
      const venv = await this.venv({
        version,
        full: m[2] !== undefined,
        identity: m[2] !== undefined && (major > 3 || (major === 3 && minor >= 11)),
        oidc: /--app-name[ =']+oidc-auth\b/.test(commandLine)
          ? (/mlflow-oidc-auth==[\w.]+/.exec(commandLine)?.[0] ?? 'mlflow-oidc-auth')
          : undefined
      })
      return { ok: true, venv }
    } catch (err) {
      if (err instanceof PullError)
        return { ok: false, reason: `Failed to pull image "${image}": manifest unknown: ${err.message}` }
      throw err
    }
  }

  /** The process env: the machine's network settings, the venv first on PATH, the container's env. */
  private containerEnv(
    container: RevisionContainer,
    venv: string,
    environmentId: string | undefined
  ): { env: Record<string, string>; secrets: string[] } {
    const secrets = container.env.filter((e) => e.secret).map((e) => e.value)
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && PASSED_THROUGH.test(k)) env[k] = v
    // 4. platform hosts through the proxy, trusting the emulator's CA
    if (this.deps.reach) Object.assign(env, reachEnv(this.deps.reach(environmentId)))
    Object.assign(env, {
      PATH: `${join(venv, 'bin')}:${SYSTEM_PATH}`,
      VIRTUAL_ENV: venv,
      HOME: process.env['HOME'] ?? homedir(),
      LANG: 'C.UTF-8',
      PYTHONUNBUFFERED: '1'
    })
    for (const e of container.env) env[e.name] = e.value
    return { env, secrets }
  }

  /** Translation 3 (in place): PostgreSQL hosts. */
  private translateServices(
    container: RevisionContainer,
    env: Record<string, string>,
    secrets: string[]
  ): void {
    for (const e of container.env) {
      const value = env[e.name]
      if (value !== undefined && POSTGRES_URI.test(value)) env[e.name] = this.localPostgres(value)
    }
    for (const s of [...secrets]) {
      const password = postgresPassword(s)
      if (password) secrets.push(password)
    }
  }

  private localPostgres(uri: string): string {
    return uri.replace(
      /^(postgres(?:ql)?(?:\+\w+)?:\/\/(?:[^@/?#]*@)?)([a-z0-9-]+)\.postgres\.database\.azure\.com(?::5432)?(?=[/?#]|$)/i,
      (_all, prefix: string, server: string) => {
        const local = this.deps.postgres?.address(server)
        return local
          ? `${prefix}${local.host}:${local.port}`
          : `${prefix}${server}.postgres.database.azure.com.invalid:5432`
      }
    )
  }

  private venv(req: VenvRequest): Promise<string> {
    const dir = join(this.deps.venvRoot, req.full ? `server-${req.version}` : `server-${req.version}-plain`)
    const key = `${dir}+${req.oidc ?? ''}`
    if (existsSync(join(dir, '.installed')) && oidcInstalled(dir, req.oidc) && identityInstalled(dir, req))
      return Promise.resolve(dir)
    let pending = this.installs.get(key)
    if (!pending) {
      pending = this.install(dir, req).finally(() => this.installs.delete(key))
      this.installs.set(key, pending)
    }
    return pending
  }

  private async install(dir: string, req: VenvRequest): Promise<string> {
    mkdirSync(this.deps.venvRoot, { recursive: true })
    return withDirLock(`${dir}.lock`, async () => {
      if (!existsSync(join(dir, '.installed'))) {
        // A directory without the marker is a broken earlier attempt: start over.
        rmSync(dir, { recursive: true, force: true })
        const python = process.env['MLFLOW_AZURE_PYTHON'] ?? 'python3'
        process.stderr.write(`[emulator] installing mlflow ${req.version} into ${dir}\n`)
        const made = await run(python, ['-m', 'venv', dir], 120_000)
        if (made.code !== 0) throw new Error(`python3 -m venv ${dir} failed: ${made.lastLine}`)
        const packages = req.full
          ? [`mlflow[auth]==${req.version}`, 'psycopg2-binary', 'azure-storage-blob']
          : [`mlflow==${req.version}`]
        const pip = await run(
          join(dir, 'bin', 'pip'),
          ['install', '--disable-pip-version-check', '--quiet', ...packages],
          PIP_TIMEOUT_MS
        )
        if (pip.code !== 0) {
          rmSync(dir, { recursive: true, force: true })
          throw new PullError(pip.lastLine || `pip exited with ${pip.code}`)
        }
        writeFileSync(join(dir, '.installed'), new Date().toISOString())
      }
      if (!identityInstalled(dir, req)) {
        const pip = await run(
          join(dir, 'bin', 'pip'),
          ['install', '--disable-pip-version-check', '--quiet', 'azure-identity'],
          PIP_TIMEOUT_MS
        )
        if (pip.code !== 0) throw new PullError(pip.lastLine || `pip exited with ${pip.code}`)
        writeFileSync(join(dir, '.installed-azure-identity'), new Date().toISOString())
      }
      if (req.oidc && !oidcInstalled(dir, req.oidc)) {
        const pip = await run(
          join(dir, 'bin', 'pip'),
          ['install', '--disable-pip-version-check', '--quiet', req.oidc],
          PIP_TIMEOUT_MS
        )
        if (pip.code !== 0) throw new PullError(pip.lastLine || `pip exited with ${pip.code}`)
        writeFileSync(join(dir, '.installed-oidc'), req.oidc)
      }
      return dir
    })
  }
}

/** azure-identity is in the venv when the image carries it. */
function identityInstalled(dir: string, req: VenvRequest): boolean {
  return !req.identity || existsSync(join(dir, '.installed-azure-identity'))
}

/** The marker holds the requirement that was installed. */
function oidcInstalled(dir: string, requirement: string | undefined): boolean {
  if (!requirement) return true
  const marker = join(dir, '.installed-oidc')
  return existsSync(marker) && readFileSync(marker, 'utf8').trim() === requirement
}

function healthDeadlineSeconds(startup: ContainerProbe | undefined): number {
  if (!startup) return DEFAULT_HEALTH_DEADLINE_S
  return (startup.initialDelaySeconds ?? 0) + (startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3)
}

/** `--host 0.0.0.0` / `--port <target>` inside a shell script (one argv element with spaces). */
function listenInScript(s: string, targetPort: number, port: number): string {
  if (!/\s/.test(s)) return s
  return s
    .replace(/(--host|-h)([ =])0\.0\.0\.0(?=\s|$)/g, '$1$2127.0.0.1')
    .replace(new RegExp(`(--port|-p)([ =])${targetPort}(?=\\s|$)`, 'g'), `$1$2${port}`)
}

/** The same for separate argv elements (`--host`, `0.0.0.0` or `--host=0.0.0.0`). */
function listenInArgs(args: string[], targetPort: number, port: number): string[] {
  const out = [...args]
  for (let i = 0; i < out.length; i++) {
    const a = out[i] ?? ''
    const next = out[i + 1]
    if ((a === '--host' || a === '-h') && next === '0.0.0.0') out[i + 1] = '127.0.0.1'
    else if ((a === '--port' || a === '-p') && next === String(targetPort)) out[i + 1] = String(port)
    else if (a === '--host=0.0.0.0') out[i] = '--host=127.0.0.1'
    else if (a === `--port=${targetPort}`) out[i] = `--port=${port}`
  }
  return out
}

function postgresPassword(value: string): string | undefined {
  if (!/^postgres(ql)?(\+\w+)?:\/\//i.test(value)) return undefined
  try {
    const password = new URL(value).password
    return password ? decodeURIComponent(password) : undefined
  } catch {
    return undefined
  }
}
