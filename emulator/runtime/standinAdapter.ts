/**
 * The stand-in's image-to-process translation: a published MLflow image (2.0.0 … 3.18.0, plain or
 * `-full`) becomes the tiny node server in `standinServer.ts` (a revision) or the tiny command in
 * `standinJob.ts` (a job replica, which prints a line and exits 0); any other image fails to pull,
 * as an unknown tag does on ACA.
 *
 * `--crash-images` names stand-in images whose server crashes at start: it prints a traceback to
 * stderr and exits 1 before it is ever healthy (a release that cannot start: its revision fails).
 *
 * Artifacts: the container's command line names MLflow's `--artifacts-destination
 * wasbs://<container>@<account>.blob.core.windows.net/<prefix>`; the stand-in server gets it and
 * serves MLflow's artifact proxy routes against that container, through the proxy and the blob
 * front door (`reachEnv`), authenticating from its own env as MLflow does (`standinArtifacts.ts`).
 *
 * Basic auth: `--app-name basic-auth` on the command line gives the server `--basic-auth`: its
 * tracking routes then want user `admin` with the container's `MLFLOW_AUTH_ADMIN_PASSWORD`.
 *
 * Test knobs, read from the container's env (a real image ignores them):
 * - `STANDIN_CRASH_AFTER_MS`: the server exits with code 1 that long after it became healthy (a
 *   crash loop: ACA restarts it, and it crashes again);
 * - `STANDIN_EXIT_CODE`, `STANDIN_RUN_MS`: the job command runs that long, then exits with that code.
 */
import { fileURLToPath } from 'node:url'
import type { ImageAdapter, PlanResult } from './processRuntime.js'
import {
  reachEnv,
  type PlatformReach,
  type RevisionContainer,
  type RevisionInput,
  type RunInput
} from './types.js'

const MLFLOW_IMAGE = /^ghcr\.io\/mlflow\/mlflow:v(\d+)\.(\d+)\.(\d+)(-full)?$/
const OLDEST = [2, 0, 0]
const NEWEST = [3, 18, 0]

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0)
  return 0
}

/**
 * The 3.x releases on PyPI (reference/next-capabilities.md §3.1, `pip index versions mlflow`);
 * from 3.9.0 on each has a `-full` image. A tag between them (`v3.17.9`) does not exist.
 */
const RELEASES_3X = new Set([
  '3.0.0',
  '3.0.1',
  '3.1.0',
  '3.1.1',
  '3.1.4',
  '3.2.0',
  '3.3.0',
  '3.3.1',
  '3.3.2',
  '3.4.0',
  '3.5.0',
  '3.5.1',
  '3.6.0',
  '3.7.0',
  '3.8.0',
  '3.8.1',
  '3.9.0',
  '3.10.0',
  '3.10.1',
  '3.11.1',
  '3.12.0',
  '3.13.0',
  '3.14.0',
  '3.15.0',
  '3.15.1',
  '3.15.2',
  '3.16.0',
  '3.16.1',
  '3.17.0',
  '3.17.1',
  '3.17.2',
  '3.18.0'
])

export function standinImageExists(image: string): boolean {
  const m = MLFLOW_IMAGE.exec(image)
  if (!m) return false
  const version = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (version[0] === 3) return RELEASES_3X.has(version.join('.'))
  return compare(version, OLDEST) >= 0 && compare(version, NEWEST) <= 0
}

/** The reason a container of a missing image fails with (revisions and job replicas alike). */
export function pullFailure(image: string): string {
  return `Failed to pull image "${image}": manifest unknown`
}

function containerEnv(container: RevisionContainer): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }
  for (const e of container.env) env[e.name] = e.value
  return env
}

/** `--artifacts-destination <uri>` (or `=<uri>`) anywhere in the command line, a `bash -c` script included. */
export function artifactsDestination(container: RevisionContainer): string | undefined {
  const line = [...container.command, ...container.args].join(' ')
  return /--artifacts-destination[ =]['"]?(wasbs:\/\/[^\s'"]+)/.exec(line)?.[1]
}

const secretValues = (container: RevisionContainer): string[] =>
  container.env.filter((e) => e.secret).map((e) => e.value)

export class StandinAdapter implements ImageAdapter {
  private readonly serverScript = fileURLToPath(new URL('./standinServer.js', import.meta.url))
  private readonly jobScript = fileURLToPath(new URL('./standinJob.js', import.meta.url))

  constructor(
    private readonly startupDelayMs: number,
    private readonly crashImages: string[] = [],
    private readonly reach?: (environmentId?: string) => PlatformReach
  ) {}

  plan(input: Omit<RevisionInput, 'onStatus'>, port: number): PlanResult {
    const { image } = input.container
    if (!standinImageExists(image)) return { ok: false, reason: pullFailure(image) }
    const env = {
      ...(this.reach ? reachEnv(this.reach(input.environmentId)) : {}),
      ...containerEnv(input.container)
    }
    env['CONTAINER_APP_NAME'] = input.appName
    env['CONTAINER_APP_REVISION'] = input.revisionName
    const destination = artifactsDestination(input.container)
    const line = [...input.container.command, ...input.container.args].join(' ')
    const basicAuth = /--app-name['"\s=]+basic-auth/.test(line)
    return {
      ok: true,
      plan: {
        command: process.execPath,
        args: [
          this.serverScript,
          '--port',
          String(port),
          // An absolute moment: the modelled start-up includes the process's own spawn, which on
          // a loaded machine is a good part of a scaled start-up.
          '--healthy-at',
          String(Date.now() + this.startupDelayMs),
          '--parent-pid',
          String(process.pid),
          '--image',
          image,
          ...(destination ? ['--artifacts-destination', destination] : []),
          ...(basicAuth ? ['--basic-auth'] : []),
          ...(this.crashImages.includes(image) ? ['--crash-at-start'] : [])
        ],
        env,
        healthUrl: `http://127.0.0.1:${port}/health`,
        url: `http://127.0.0.1:${port}`,
        secrets: secretValues(input.container)
      }
    }
  }

  planRun(input: Omit<RunInput, 'onStart' | 'onExit'>): PlanResult {
    const { image } = input.container
    if (!standinImageExists(image)) return { ok: false, reason: pullFailure(image) }
    // A job replica is inside its environment too (reachEnv), as the MLflow runtime's are.
    const env = {
      ...(this.reach ? reachEnv(this.reach(input.environmentId)) : {}),
      ...containerEnv(input.container)
    }
    env['CONTAINER_APP_JOB_NAME'] = input.jobName
    env['CONTAINER_APP_JOB_EXECUTION_NAME'] = input.executionName
    env['CONTAINER_APP_REPLICA_NAME'] = input.replicaName
    return {
      ok: true,
      plan: {
        command: process.execPath,
        args: [
          this.jobScript,
          '--parent-pid',
          String(process.pid),
          '--image',
          image,
          '--',
          ...input.container.command,
          ...input.container.args
        ],
        env,
        secrets: secretValues(input.container)
      }
    }
  }
}
