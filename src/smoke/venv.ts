/**
 * A cached Python virtual environment per MLflow version, so the client matches the server exactly
 * (a newer client calls endpoints an older server lacks) and repeated runs do not reinstall.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { runProcess, tail } from '../util/process.js'

export function venvRoot(env: NodeJS.ProcessEnv): string {
  if (env.MLFLOW_AZURE_VENV_DIR) return env.MLFLOW_AZURE_VENV_DIR
  if (env.RUNNER_TOOL_CACHE) return join(env.RUNNER_TOOL_CACHE, 'mlflow-azure-action', 'venvs')
  return join(homedir(), '.cache', 'mlflow-azure-action', 'venvs')
}

const MARKER = '.installed'

/**
 * The `azureml-mlflow` plugin and the MLflow client it supports: it requires `mlflow-skinny<=3.15.0`
 * and `azure-storage-blob<=12.27.1` (its 1.62.0.post6 wheel METADATA), so it gets a venv of its own
 * with every part pinned, never the server-matched MLflow client's.
 */
export const AZUREML_CLIENT = {
  name: 'azureml-mlflow-1.62.0.post6',
  requirements: ['azureml-mlflow==1.62.0.post6', 'mlflow-skinny==3.15.0', 'azure-storage-blob==12.27.1']
}

interface VenvOptions {
  env: NodeJS.ProcessEnv
  timeoutMs: number
  log: (line: string) => void
}

/** Returns the path of the venv's `mlflow` executable, installing it first when needed. */
export async function ensureMlflowClient(
  opts: VenvOptions & { version: string }
): Promise<{ mlflow: string; installed: boolean }> {
  if (!/^\d+\.\d+\.\d+$/.test(opts.version))
    throw new Error(`the server reported an unexpected version '${opts.version}'`)
  const { dir, installed } = await ensureVenv(`client-${opts.version}`, [`mlflow==${opts.version}`], opts)
  return { mlflow: join(dir, 'bin', 'mlflow'), installed }
}

/** Returns the path of the Azure ML client venv's `python`, installing it first when needed. */
export async function ensureAzureMlClient(
  opts: VenvOptions
): Promise<{ python: string; installed: boolean }> {
  const { dir, installed } = await ensureVenv(AZUREML_CLIENT.name, AZUREML_CLIENT.requirements, opts)
  return { python: join(dir, 'bin', 'python'), installed }
}

async function ensureVenv(
  name: string,
  requirements: string[],
  opts: VenvOptions
): Promise<{ dir: string; installed: boolean }> {
  const dir = join(venvRoot(opts.env), name)
  if (existsSync(join(dir, MARKER))) return { dir, installed: false }

  // A directory without the marker is a broken earlier attempt: start over.
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const python = opts.env.MLFLOW_AZURE_PYTHON ?? 'python3'
  const steps: [string, string[]][] = [
    [python, ['-m', 'venv', dir]],
    [join(dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...requirements]]
  ]
  for (const [command, args] of steps) {
    opts.log(`$ ${command} ${args.join(' ')}`)
    const r = await runProcess(command, args, { env: opts.env, timeoutMs: opts.timeoutMs })
    if (r.exitCode !== 0) {
      throw new Error(
        `installing ${requirements.join(' ')} failed${r.timedOut ? ' (timed out)' : ''}:\n${tail(r.stderr || r.stdout)}`
      )
    }
  }
  writeFileSync(join(dir, MARKER), new Date().toISOString())
  return { dir, installed: true }
}
