/**
 * A real `mlflow server` from PyPI for tests, from the same per-version venv cache the action uses
 * for its client, so the install happens once per machine.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureMlflowClient } from '../../src/smoke/venv.js'
import { pollUntil } from '../../src/util/poll.js'

export const MLFLOW_VERSION = '3.17.2'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

export interface LocalMlflow {
  url: string
  stop(): Promise<void>
}

export async function startLocalMlflow(opts: { artifactsDestination?: string } = {}): Promise<LocalMlflow> {
  const { mlflow } = await ensureMlflowClient({
    version: MLFLOW_VERSION,
    env: process.env,
    timeoutMs: 600_000,
    log: () => {}
  })
  const dir = mkdtempSync(join(tmpdir(), 'mlflow-local-'))
  const port = await freePort()
  const child: ChildProcess = spawn(
    mlflow,
    [
      'server',
      '--backend-store-uri',
      `sqlite:///${join(dir, 'mlflow.db')}`,
      '--artifacts-destination',
      opts.artifactsDestination ?? join(dir, 'artifacts'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1'
    ],
    { env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' }, stdio: 'ignore' }
  )
  const url = `http://127.0.0.1:${port}`
  await pollUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`mlflow server exited with ${child.exitCode}`)
      const ok = await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false
      )
      return ok ? { done: true, value: undefined } : { done: false, status: 'not answering' }
    },
    { intervalMs: 250, timeoutMs: 120_000, what: 'the local mlflow server' }
  )
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    }
  }
}
