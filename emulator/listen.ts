/**
 * Where the emulator's own servers listen: on 127.0.0.1 only, and on the port the state remembers
 * when it is still free, so that what a client learnt from an earlier ready line (a replica's
 * `IDENTITY_ENDPOINT`, a proxy URL) keeps working across restarts.
 */
import type { AddressInfo, Server, Socket } from 'node:net'
import type { Duplex } from 'node:stream'

/** Listens on the port asked for, else the one the state remembers (if free), else any. */
export async function listenOnPreferredPort<T>(
  what: string,
  listen: (port: number) => Promise<T>,
  requested: number | undefined,
  previous: number | undefined
): Promise<T> {
  if (requested !== undefined) return listen(requested)
  if (previous) {
    try {
      return await listen(previous)
    } catch (err) {
      process.stderr.write(
        `[emulator] previous ${what} port ${previous} is taken (${String(err)}); using a free one\n`
      )
    }
  }
  return listen(0)
}

/** Listens on 127.0.0.1:`port` (0 = any free port) and answers with the port taken. */
export function listenOnLoopback(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    // A taken port must reject, so that the caller can fall back to a free one.
    const onError = (err: Error): void => reject(err)
    server.once('error', onError)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/**
 * A loopback server whose close does not wait for its clients: kept-alive connections and open
 * tunnels would otherwise hold the emulator's stop until they time out.
 */
export class LoopbackServer {
  private readonly sockets = new Set<Duplex>()
  private bound = 0

  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => this.track(socket))
  }

  /** The port taken, 0 before `listen`. */
  get port(): number {
    return this.bound
  }

  /** Ends `socket` on close too (one the server did not accept, such as a tunnel's far end). */
  track(socket: Duplex): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
  }

  async listen(port: number): Promise<number> {
    this.bound = await listenOnLoopback(this.server, port)
    return this.bound
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      for (const socket of this.sockets) socket.destroy()
      this.server.close(() => resolve())
    })
  }
}
