/**
 * Runs each revision as a local child process. What process an image becomes is the adapter's
 * business (`ImageAdapter`); this module only starts it, decides its health by probing, watches
 * it exit and stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
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
  output: string[]
}

export class ProcessRuntime implements RevisionRuntime {
  private readonly runs = new Map<RevisionHandle, Run>()

  constructor(
    private readonly adapter: ImageAdapter,
    private readonly healthDeadlineMs: number
  ) {}

  start(input: RevisionInput): RevisionHandle {
    const handle: RevisionHandle = { revisionName: input.revisionName }
    const run: Run = { handle, input, stopped: false, healthy: false, output: [] }
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
      const keep = (chunk: Buffer): void => {
        run.output.push(
          ...chunk
            .toString('utf8')
            .split('\n')
            .filter((l) => l.trim())
        )
        run.output.splice(0, Math.max(0, run.output.length - 20))
      }
      child.stdout?.on('data', keep)
      child.stderr?.on('data', keep)
      const name = run.input.container.name
      child.on('error', (err) => {
        run.exitReason = `Container '${name}' could not be started: ${err.message}`
      })
      child.on('exit', (code, signal) => {
        const last = run.output.at(-1)
        run.exitReason =
          `Container '${name}' exited with ${code !== null ? `code ${code}` : `signal ${signal}`}` +
          (last ? `: ${last}` : '')
        if (run.healthy) this.emit(run, { kind: 'exited', reason: run.exitReason })
      })
      const result = await waitForHealthy({
        url: plan.healthUrl,
        deadlineMs: this.healthDeadlineMs,
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

/** SIGTERM, then SIGKILL if the process is still there after a grace period. */
async function terminate(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}
