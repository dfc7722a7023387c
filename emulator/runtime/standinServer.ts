/**
 * The stand-in container: a tiny HTTP server that answers `GET /health` with 200 `OK` once its
 * start-up delay has passed, `GET /` with its app, revision, image and env names, `GET /version`
 * with the image's MLflow release (as MLflow answers it), and `GET /delay/<ms>` after that many
 * milliseconds (a request that is still in flight when traffic
 * moves). It logs a start-up line and every request but the health probes. With
 * `STANDIN_CRASH_AFTER_MS` in its env it exits with code 1 that long after it became healthy; with
 * `--crash-at-start` (an image of `--crash-images`) it prints a traceback and exits 1 at once. With
 * `--artifacts-destination wasbs://…` it serves MLflow's proxied artifact routes from that blob
 * container (`standinArtifacts.ts`). It answers a subset of MLflow's tracking REST API under
 * `/api/2.0/mlflow/` from memory (`standinTracking.ts`); with `--basic-auth` (the container's
 * `--app-name basic-auth`) those routes need user `admin` with the env's `MLFLOW_AUTH_ADMIN_PASSWORD`.
 * It exits when the emulator that started it is gone, so killed test runs leave no strays.
 */
import { createServer } from 'node:http'
import { artifactStore, type ArtifactStore } from './standinArtifacts.js'
import { trackingApi } from './standinTracking.js'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}

const port = Number(arg('port', '0'))
const healthyAt = Number(arg('healthy-at', '0'))
const parentPid = Number(arg('parent-pid', String(process.ppid)))
const image = arg('image', '')
const crashAfterMs = Number(process.env['STANDIN_CRASH_AFTER_MS'] ?? '') || 0
const destination = arg('artifacts-destination', '')

if (process.argv.includes('--crash-at-start')) {
  // An image of `--crash-images`: it never gets as far as serving.
  process.stdout.write(`stand-in ${image} starting\n`)
  process.stderr.write(
    'Traceback (most recent call last):\n' +
      '  File "/usr/local/bin/mlflow", line 8, in <module>\n' +
      `RuntimeError: stand-in ${image} crashes at start (--crash-images)\n`
  )
  process.exit(1)
}

let artifacts: ArtifactStore | undefined
try {
  artifacts = destination ? artifactStore(destination, process.env) : undefined
} catch (err) {
  // MLflow refuses a malformed destination only on the first artifact request; so does this.
  process.stderr.write(`stand-in: ${err instanceof Error ? err.message : String(err)}\n`)
}

// Known leniency of the stand-in: MLflow's basic-auth app refuses anonymous requests on every route
// but /health, /static* and /favicon.ico (so /version, / and the artifact routes too); the stand-in
// asks for credentials on the tracking routes alone, so tests can reach the rest without them.
const tracking = trackingApi(
  process.argv.includes('--basic-auth')
    ? { username: 'admin', password: process.env['MLFLOW_AUTH_ADMIN_PASSWORD'] }
    : undefined
)

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0] ?? '/'
  if (Date.now() < healthyAt) {
    res.writeHead(503, { 'content-type': 'text/plain' })
    res.end('starting')
    return
  }
  if (path === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('OK')
    return
  }
  if (artifacts?.handle(req, res, (line) => process.stderr.write(`${line}\n`))) return
  if (tracking.handle(req, res, (line) => process.stdout.write(`${line}\n`))) return
  const answer = (status: number, type: string, text: string): void => {
    process.stdout.write(`${req.method ?? 'GET'} ${path} ${status}\n`)
    res.writeHead(status, { 'content-type': type })
    res.end(text)
  }
  if (path === '/') {
    // Names only: the stand-in proves which secrets reached it without ever echoing a value.
    const body = {
      app: process.env['CONTAINER_APP_NAME'],
      revision: process.env['CONTAINER_APP_REVISION'],
      image,
      env: Object.keys(process.env).sort()
    }
    answer(200, 'application/json', JSON.stringify(body))
    return
  }
  if (path === '/version') {
    // MLflow's own `GET /version`: the release, as plain text.
    answer(200, 'text/plain', /:v(\d+\.\d+\.\d+)/.exec(image)?.[1] ?? '')
    return
  }
  const delay = /^\/delay\/(\d+)$/.exec(path)
  if (delay) {
    const ms = Number(delay[1])
    setTimeout(
      () => answer(200, 'text/plain', `${process.env['CONTAINER_APP_REVISION'] ?? ''} after ${ms} ms`),
      ms
    )
    return
  }
  answer(404, 'text/plain', 'not found')
})

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`stand-in ${image} listening at http://127.0.0.1:${port}\n`)
})

if (crashAfterMs > 0) {
  setTimeout(
    () => {
      process.stderr.write(`stand-in: crashing as asked (STANDIN_CRASH_AFTER_MS=${crashAfterMs})\n`)
      process.exit(1)
    },
    Math.max(0, healthyAt - Date.now()) + crashAfterMs
  )
}

const parentGone = (): boolean => {
  if (process.ppid !== parentPid) return true
  try {
    process.kill(parentPid, 0)
    return false
  } catch {
    return true
  }
}
setInterval(() => {
  if (parentGone()) process.exit(0)
}, 500)

const shutdown = (): void => {
  server.close()
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
