/**
 * Runs each revision (and each job replica's container) as a local child process. What process an
 * image becomes is the adapter's business (`ImageAdapter`); this module only starts it, decides a
 * server's health by probing, watches it exit, stops it, and writes its output to the log file the
 * control plane named: one `<ISO time> <text>` line per output line, secrets masked.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import { dirname } from 'node:path'
import { freePort } from './freePort.js'
import { waitForHealthy } from './healthProbe.js'
import type {
  RevisionHandle,
  RevisionInput,
  RevisionRuntime,
  RunHandle,
  RunInput,
  RuntimeStatus
} from './types.js'

export interface ProcessPlan {
  command: string
  args: string[]
  env: Record<string, string>
  /** Where the probe asks whether the revision is healthy (servers only). */
  healthUrl?: string
  /** Where the revision serves once healthy (reported with `running`; servers only). */
  url?: string
  cwd?: string
  /** Overrides the runtime's health deadline (e.g. from the container's startup probe). */
  healthDeadlineMs?: number
  /** How many of the last stderr lines a start-up crash reports (default 1). */
  reasonLines?: number
  /** Values that must never appear in a reason or log (secrets); replaced by `***`. */
  secrets?: string[]
  /** Where the process's output is appended when the control plane named no log file. */
  logPath?: string
}

export type PlanResult = { ok: true; plan: ProcessPlan } | { ok: false; reason: string }

/** Translates a container (image, command, env) into a local process, or says why it cannot run. */
export interface ImageAdapter {
  /** A revision's container: a server on `port` with a health URL. */
  plan(input: Omit<RevisionInput, 'onStatus'>, port: number): PlanResult | Promise<PlanResult>
  /** A job replica's container: whatever its command does, to completion. */
  planRun(input: Omit<RunInput, 'onStart' | 'onExit'>): PlanResult | Promise<PlanResult>
}

interface Proc {
  child?: ChildProcess
  stopped: boolean
  stdout: string[]
  stderr: string[]
}

interface Run extends Proc {
  handle: RevisionHandle
  input: RevisionInput
  healthy: boolean
  exitReason?: string
}

interface Job extends Proc {
  handle: RunHandle
  input: RunInput
  done: boolean
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

/** Appends complete lines to a log file as `<ISO time> <text>`; a partial line waits for its end. */
class LineLog {
  private pending = ''
  private readonly stream: WriteStream | undefined

  constructor(path: string | undefined) {
    if (!path) return
    mkdirSync(dirname(path), { recursive: true })
    this.stream = createWriteStream(path, { flags: 'a' })
    this.stream.on('error', () => {})
  }

  write(text: string): void {
    const lines = (this.pending + text).split('\n')
    this.pending = lines.pop() ?? ''
    for (const line of lines) this.line(line)
  }

  line(text: string): void {
    const clean = text.replace(/\r$/, '')
    this.stream?.write(`${new Date().toISOString()} ${clean}\n`)
  }

  end(): void {
    if (this.pending) this.line(this.pending)
    this.pending = ''
    this.stream?.end()
  }
}

/** Spawns the plan with its output going to the log and the tail buffers. */
function spawnPlan(proc: Proc, plan: ProcessPlan, logPath: string | undefined): ChildProcess {
  const child = spawn(plan.command, plan.args, {
    env: plan.env,
    cwd: plan.cwd,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  proc.child = child
  const log = new LineLog(logPath ?? plan.logPath)
  child.once('close', () => log.end())
  child.once('error', () => log.end())
  const keep =
    (lines: string[]) =>
    (chunk: Buffer): void => {
      const text = maskSecrets(chunk.toString('utf8'), plan.secrets)
      log.write(text)
      lines.push(...text.split('\n').filter((l) => l.trim()))
      lines.splice(0, Math.max(0, lines.length - 50))
    }
  child.stdout?.on('data', keep(proc.stdout))
  child.stderr?.on('data', keep(proc.stderr))
  return child
}

export class ProcessRuntime implements RevisionRuntime {
  private readonly runs = new Map<RevisionHandle, Run>()
  private readonly jobs = new Map<RunHandle, Job>()

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

  run(input: RunInput): RunHandle {
    const handle: RunHandle = { replicaName: input.replicaName }
    const job: Job = { handle, input, stopped: false, done: false, stdout: [], stderr: [] }
    this.jobs.set(handle, job)
    void this.launchJob(job)
    return handle
  }

  async stop(handle: RevisionHandle | RunHandle): Promise<void> {
    const proc: Proc | undefined =
      this.runs.get(handle as RevisionHandle) ?? this.jobs.get(handle as RunHandle)
    if (!proc) return
    proc.stopped = true
    this.runs.delete(handle as RevisionHandle)
    this.jobs.delete(handle as RunHandle)
    await terminate(proc.child)
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.runs.keys(), ...this.jobs.keys()].map((h) => this.stop(h)))
  }

  private async launch(run: Run): Promise<void> {
    try {
      const port = await freePort()
      const planned = await this.adapter.plan(run.input, port)
      if (run.stopped) return
      if (!planned.ok) return this.emit(run, { kind: 'failed', reason: planned.reason })
      const { plan } = planned
      const child = spawnPlan(run, plan, run.input.logPath)
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
        url: plan.healthUrl ?? `http://127.0.0.1:${port}/health`,
        deadlineMs: plan.healthDeadlineMs ?? this.healthDeadlineMs,
        gone: () => run.exitReason
      })
      if (run.stopped) return
      if (result.healthy) {
        run.healthy = true
        this.emit(run, { kind: 'running', url: plan.url ?? `http://127.0.0.1:${port}` })
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

  private async launchJob(job: Job): Promise<void> {
    const { input } = job
    const finish = (result: Parameters<RunInput['onExit']>[0]): void => {
      if (job.stopped || job.done) return
      job.done = true
      this.jobs.delete(job.handle)
      input.onExit(result)
    }
    try {
      const planned = await this.adapter.planRun(input)
      if (job.stopped) return
      if (!planned.ok) return finish({ kind: 'failed', reason: planned.reason })
      const { plan } = planned
      const child = spawnPlan(job, plan, input.logPath)
      child.on('error', (err) => {
        finish({
          kind: 'failed',
          reason: `Container '${input.container.name}' could not be started: ${err.message}`
        })
      })
      child.once('spawn', () => {
        if (!job.stopped) input.onStart()
      })
      child.on('close', (code, signal) => {
        const lines = job.stderr.length > 0 ? job.stderr : job.stdout
        finish({
          kind: 'exited',
          code,
          ...(signal ? { signal } : {}),
          lastLine: lines.at(-1) ?? ''
        })
      })
    } catch (err) {
      finish({
        kind: 'failed',
        reason: `Container '${input.container.name}' could not be started: ${err instanceof Error ? err.message : String(err)}`
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
