/**
 * Keeps a process the emulator starts (an `mlflow server` with its uvicorn workers, a PostgreSQL
 * postmaster) from outliving the emulator:
 *
 *   node guard.js --parent-pid P [--uid U --gid G] [--stop-signal SIGINT] -- COMMAND ARGS...
 *
 * COMMAND runs in a process group of its own (optionally as another user) with this process's
 * stdio. SIGTERM/SIGINT to the guard, or the emulator (P) going away, stop the whole group: the
 * stop signal first, SIGKILL after a grace period. When COMMAND exits, whatever it left in its
 * group is killed too, and the guard exits with COMMAND's status.
 */
import { spawn } from 'node:child_process'

const GRACE_MS = 5000

function parse(argv: string[]): {
  parentPid: number
  uid?: number
  gid?: number
  stopSignal: NodeJS.Signals
  command: string
  args: string[]
} {
  const sep = argv.indexOf('--')
  const opts = sep >= 0 ? argv.slice(0, sep) : argv
  const rest = sep >= 0 ? argv.slice(sep + 1) : []
  const get = (name: string): string | undefined => {
    const i = opts.indexOf(`--${name}`)
    return i >= 0 ? opts[i + 1] : undefined
  }
  const [command, ...args] = rest
  if (!command) {
    process.stderr.write('guard: no command given\n')
    process.exit(2)
  }
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v))
  return {
    parentPid: num(get('parent-pid')) ?? process.ppid,
    uid: num(get('uid')),
    gid: num(get('gid')),
    stopSignal: (get('stop-signal') ?? 'SIGTERM') as NodeJS.Signals,
    command,
    args
  }
}

const opts = parse(process.argv.slice(2))
const child = spawn(opts.command, opts.args, {
  stdio: 'inherit',
  detached: true,
  ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
  ...(opts.gid !== undefined ? { gid: opts.gid } : {})
})

const killGroup = (signal: NodeJS.Signals): void => {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // The group is already gone.
  }
}

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  killGroup(opts.stopSignal)
  setTimeout(() => killGroup('SIGKILL'), GRACE_MS).unref()
}

child.on('error', (err) => {
  process.stderr.write(`${opts.command}: ${err.message}\n`)
  process.exit(127)
})
child.on('exit', (code, signal) => {
  // Workers the main process left behind go with it.
  killGroup('SIGKILL')
  process.exit(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGINT' ? 2 : 15))
})

process.on('SIGTERM', stop)
process.on('SIGINT', stop)

const parentGone = (): boolean => {
  if (process.ppid !== opts.parentPid) return true
  try {
    process.kill(opts.parentPid, 0)
    return false
  } catch {
    return true
  }
}
setInterval(() => {
  if (parentGone()) stop()
}, 500)
