/**
 * The stand-in's image-to-process translation: a published MLflow image (2.0.0 … 3.18.0, plain or
 * `-full`) becomes the tiny node server in `standinServer.ts`; any other image fails to pull, as an
 * unknown tag does on ACA.
 */
import { fileURLToPath } from 'node:url'
import type { ImageAdapter, PlanResult } from './processRuntime.js'
import type { RevisionInput } from './types.js'

const MLFLOW_IMAGE = /^ghcr\.io\/mlflow\/mlflow:v(\d+)\.(\d+)\.(\d+)(-full)?$/
const OLDEST = [2, 0, 0]
const NEWEST = [3, 18, 0]

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0)
  return 0
}

export function standinImageExists(image: string): boolean {
  const m = MLFLOW_IMAGE.exec(image)
  if (!m) return false
  const version = [Number(m[1]), Number(m[2]), Number(m[3])]
  return compare(version, OLDEST) >= 0 && compare(version, NEWEST) <= 0
}

export class StandinAdapter implements ImageAdapter {
  private readonly serverScript = fileURLToPath(new URL('./standinServer.js', import.meta.url))

  constructor(private readonly startupDelayMs: number) {}

  plan(input: Omit<RevisionInput, 'onStatus'>, port: number): PlanResult {
    const { image } = input.container
    if (!standinImageExists(image))
      return { ok: false, reason: `Failed to pull image "${image}": manifest unknown` }
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }
    for (const e of input.container.env) env[e.name] = e.value
    env['CONTAINER_APP_NAME'] = input.appName
    env['CONTAINER_APP_REVISION'] = input.revisionName
    return {
      ok: true,
      plan: {
        command: process.execPath,
        args: [
          this.serverScript,
          '--port',
          String(port),
          '--startup-delay-ms',
          String(this.startupDelayMs),
          '--parent-pid',
          String(process.pid),
          '--image',
          image
        ],
        env,
        healthUrl: `http://127.0.0.1:${port}/health`,
        url: `http://127.0.0.1:${port}`
      }
    }
  }
}
