/** Runs a program without a shell (so no argument is ever interpreted) and with a deadline. */
import { spawn } from 'node:child_process'

export interface ProcessResult {
  exitCode: number
  stdout: string
  stderr: string
  timedOut: boolean
}

export function runProcess(
  command: string,
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv
    timeoutMs: number
    cwd?: string
    onLine?: (line: string) => void
    /** Written to the program's stdin, which is then closed: how a secret reaches it (never an argument). */
    stdin?: string
  }
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe']
    })
    // Closed at once (end of input, as /dev/null would be) unless there is something to say. A
    // program that exits without reading its input must not crash this one.
    child.stdin.on('error', () => {})
    child.stdin.end(opts.stdin ?? '')
    let stdout = ''
    let stderr = ''
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, opts.timeoutMs)
    const feed = (chunk: Buffer, sink: 'out' | 'err') => {
      const text = chunk.toString()
      if (sink === 'out') stdout += text
      else stderr += text
      if (opts.onLine) for (const line of text.split('\n')) if (line.trim() !== '') opts.onLine(line)
    }
    child.stdout.on('data', (c: Buffer) => feed(c, 'out'))
    child.stderr.on('data', (c: Buffer) => feed(c, 'err'))
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ exitCode: code ?? -1, stdout, stderr, timedOut })
    })
  })
}

/** The last lines of a program's output, for an error message. */
export function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n')
}
