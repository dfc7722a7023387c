/**
 * Runs each revision as a local child process. What process an image becomes is the adapter's
 * business (`ImageAdapter`); this module only starts it, decides its health by probing, watches
 * it exit and stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import { dirname } from 'node:path'
import { freePort } from './freePort.js'
import { waitForHealthy } from './healthProbe.js'
import type { RevisionHandle, RevisionInput, RevisionRuntime, RuntimeStatus } from './types.js'

export interface ProcessPlan {
  command: string
  args: string[]
  env: Record<string, string>
  /** Where the probe asks whether the revision is healthy. */
  healthUrl: string
  /** Where the revision serves once healthy (reported with `running`). */
  url: string
  cwd?: string
  /** Overrides the runtime's health deadline (e.g. from the container's startup probe). */
  healthDeadlineMs?: number
  /** How many of the last stderr lines a start-up crash reports (default 1). */
  reasonLines?: number
  /** Values that must never appear in a reason or log (secrets); replaced by `***`. */
  secrets?: string[]
  /** Where the process's output is appended (with secrets masked). */
  logPath?: string
}

export type PlanResult = { ok: true; plan: ProcessPlan } | { ok: false; reason: string }

/** Translates a container (image, command, env) into a local process, or says why it cannot run. */
export interface ImageAdapter {
  plan(input: Omit<RevisionInput, 'onStatus'>, port: number): PlanResult | Promise<PlanResult>
}

interface Run {
  handle: RevisionHandle
  input: RevisionInput
  child?: ChildProcess
  stopped: boolean
  healthy: boolean
  exitReason?: string
  stdout: string[]
  stderr: string[]
}

/** Masks every secret value (and its URL-encoded form) in a line. */
export function maskSecrets(text: string, secrets: string[] | undefined): string {
  let out = text
  for (const secret of secrets ?? []) {
    if (secret.length < 4) continue
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('***')
  }
  return out
}

export class ProcessRuntime implements RevisionRuntime {
  private readonly runs = new Map<RevisionHandle, Run>()

  constructor(
    private readonly adapter: ImageAdapter,
    private readonly healthDeadlineMs: number
  ) {}

  start(input: RevisionInput): RevisionHandle {
    const handle: RevisionHandle = { revisionName: input.revisionName }
    const run: Run = { handle, input, stopped: false, healthy: false, stdout: [], stderr: [] }
    this.runs.set(handle, run)
    void this.launch(run)
    return handle
  }

  async stop(handle: RevisionHandle): Promise<void> {
    const run = this.runs.get(handle)
    if (!run) return
    run.stopped = true
    this.runs.delete(handle)
    await terminate(run.child)
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.runs.keys()].map((h) => this.stop(h)))
  }

  private async launch(run: Run): Promise<void> {
    try {
      const port = await freePort()
      const planned = await this.adapter.plan(run.input, port)
      if (run.stopped) return
      if (!planned.ok) return this.emit(run, { kind: 'failed', reason: planned.reason })
      const { plan } = planned
      const child = spawn(plan.command, plan.args, {
        env: plan.env,
        cwd: plan.cwd,
        stdio: ['ignore', 'pipe', 'pipe']
      })
      run.child = child
      let log: WriteStream | undefined
      if (plan.logPath) {
        mkdirSync(dirname(plan.logPath), { recursive: true })
        log = createWriteStream(plan.logPath, { flags: 'a' })
        child.once('close', () => log?.end())
      }
      const keep =
        (lines: string[]) =>
        (chunk: Buffer): void => {
          const text = maskSecrets(chunk.toString('utf8'), plan.secrets)
          log?.write(text)
          lines.push(...text.split('\n').filter((l) => l.trim()))
          lines.splice(0, Math.max(0, lines.length - 50))
        }
      child.stdout?.on('data', keep(run.stdout))
      child.stderr?.on('data', keep(run.stderr))
      const name = run.input.container.name
      child.on('error', (err) => {
        run.exitReason = `Container '${name}' could not be started: ${err.message}`
      })
      // `close`, not `exit`: the last output lines have arrived by then.
      child.on('close', (code, signal) => {
        if (run.exitReason) return
        const lines = run.stderr.length > 0 ? run.stderr : run.stdout
        const last = lines.slice(-(plan.reasonLines ?? 1)).join('\n')
        run.exitReason =
          `Container '${name}' exited with ${code !== null ? `code ${code}` : `signal ${signal}`}` +
          (last ? `: ${last}` : '')
        if (run.healthy) this.emit(run, { kind: 'exited', reason: run.exitReason })
      })
      const result = await waitForHealthy({
        url: plan.healthUrl,
        deadlineMs: plan.healthDeadlineMs ?? this.healthDeadlineMs,
        gone: () => run.exitReason
      })
      if (run.stopped) return
      if (result.healthy) {
        run.healthy = true
        this.emit(run, { kind: 'running', url: plan.url })
      } else {
        this.emit(run, { kind: 'failed', reason: result.reason })
        await terminate(child)
      }
    } catch (err) {
      this.emit(run, {
        kind: 'failed',
        reason: `Revision could not be started: ${err instanceof Error ? err.message : String(err)}`
      })
    }
  }

  private emit(run: Run, status: RuntimeStatus): void {
    if (run.stopped) return
    // Only a running process still needs `stop`; the others are already gone.
    if (status.kind !== 'running') this.runs.delete(run.handle)
    run.input.onStatus(status)
  }
}

/**
 * SIGTERM, then SIGKILL if the process is still there after a grace period (longer than the
 * guard's own, so a guard always gets to take its process group down).
 */
async function terminate(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}
