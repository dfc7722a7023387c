/**
 * The stand-in container: a tiny HTTP server that answers `GET /health` with 200 `OK` once its
 * start-up delay has passed. It exits when the emulator that started it is gone, so killed test
 * runs leave no strays.
 */
import { createServer } from 'node:http'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}

const port = Number(arg('port', '0'))
const startupDelayMs = Number(arg('startup-delay-ms', '0'))
const parentPid = Number(arg('parent-pid', String(process.ppid)))
const image = arg('image', '')
const startedAt = Date.now()

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]
  if (Date.now() - startedAt < startupDelayMs) {
    res.writeHead(503, { 'content-type': 'text/plain' })
    res.end('starting')
    return
  }
  if (path === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('OK')
    return
  }
  if (path === '/') {
    // Names only: the stand-in proves which secrets reached it without ever echoing a value.
    const body = {
      app: process.env['CONTAINER_APP_NAME'],
      revision: process.env['CONTAINER_APP_REVISION'],
      image,
      env: Object.keys(process.env).sort()
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
    return
  }
  res.writeHead(404, { 'content-type': 'text/plain' })
  res.end('not found')
})

server.listen(port, '127.0.0.1')

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
