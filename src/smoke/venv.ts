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

/** Returns the path of the venv's `mlflow` executable, installing it first when needed. */
export async function ensureMlflowClient(opts: {
  version: string
  env: NodeJS.ProcessEnv
  timeoutMs: number
  log: (line: string) => void
}): Promise<{ mlflow: string; installed: boolean }> {
  if (!/^\d+\.\d+\.\d+$/.test(opts.version))
    throw new Error(`the server reported an unexpected version '${opts.version}'`)
  const dir = join(venvRoot(opts.env), `client-${opts.version}`)
  const mlflow = join(dir, 'bin', 'mlflow')
  if (existsSync(join(dir, MARKER))) return { mlflow, installed: false }

  // A directory without the marker is a broken earlier attempt: start over.
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const python = opts.env.MLFLOW_AZURE_PYTHON ?? 'python3'
  const steps: [string, string[]][] = [
    [python, ['-m', 'venv', dir]],
    [
      join(dir, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `mlflow==${opts.version}`]
    ]
  ]
  for (const [command, args] of steps) {
    opts.log(`$ ${command} ${args.join(' ')}`)
    const r = await runProcess(command, args, { env: opts.env, timeoutMs: opts.timeoutMs })
    if (r.exitCode !== 0) {
      throw new Error(
        `installing the mlflow ${opts.version} client failed${r.timedOut ? ' (timed out)' : ''}:\n${tail(r.stderr || r.stdout)}`
      )
    }
  }
  writeFileSync(join(dir, MARKER), new Date().toISOString())
  return { mlflow, installed: true }
}
