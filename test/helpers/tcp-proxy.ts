/**
 * A loopback TCP forwarder between a client and a server, for restart tests:
 * while `refuse` is set, new connections are closed at once (the client sees
 * a failed attempt and backs off), and `target` can point at a new server.
 * This lets a test restart a server and set it up (create its topics) before
 * any reconnecting client can reach it, without touching the client: the
 * CLI, a browser page and the SDK alike. Bytes pass through unchanged, so the
 * server's close frames (1001) reach the client as sent.
 */
import type { Socket, TCPSocketListener } from 'bun'

interface Pair {
  upstream?: Socket<unknown>
  pending: Uint8Array[]
}

export interface TcpProxy {
  readonly port: number
  readonly http: string
  /** The server port connections are forwarded to. */
  target: number
  /** While true, new connections are closed at once. */
  refuse: boolean
  /** Drops every connection open through the proxy now, both ways (a network cut: the client sees 1006). */
  cut(): void
  close(): void
  [Symbol.dispose](): void
}

/** Writes all of `chunk` (a partial write keeps the rest for the drain callback). */
function writeAll(socket: Socket<any>, chunk: Uint8Array, backlog: Uint8Array[]): void {
  if (backlog.length > 0) {
    backlog.push(chunk)
    return
  }
  const written = socket.write(chunk)
  if (written < chunk.length) backlog.push(chunk.subarray(Math.max(0, written)))
}

function drain(socket: Socket<any>, backlog: Uint8Array[]): void {
  while (backlog.length > 0) {
    const chunk = backlog[0]!
    const written = socket.write(chunk)
    if (written < chunk.length) {
      backlog[0] = chunk.subarray(Math.max(0, written))
      return
    }
    backlog.shift()
  }
}

export function tcpProxy(target: number): TcpProxy {
  const state = { target, refuse: false }
  const open = new Set<Socket<any>>()
  const listener: TCPSocketListener<Pair & { toClient: Uint8Array[]; toServer: Uint8Array[] }> = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(client) {
        client.data = { pending: [], toClient: [], toServer: [] }
        open.add(client)
        if (state.refuse) {
          client.end()
          return
        }
        void Bun.connect({
          hostname: '127.0.0.1',
          port: state.target,
          socket: {
            open(up) {
              client.data.upstream = up
              for (const chunk of client.data.pending.splice(0)) writeAll(up, chunk, client.data.toServer)
            },
            data(_up, chunk) {
              writeAll(client, chunk, client.data.toClient)
            },
            drain(up) {
              drain(up, client.data.toServer)
            },
            close() {
              client.end()
            },
            error() {
              client.end()
            },
            connectError() {
              client.end()
            },
          },
        }).catch(() => client.end())
      },
      data(client, chunk) {
        const up = client.data.upstream
        if (up) writeAll(up, chunk, client.data.toServer)
        else client.data.pending.push(new Uint8Array(chunk))
      },
      drain(client) {
        drain(client, client.data.toClient)
      },
      close(client) {
        open.delete(client)
        client.data.upstream?.end()
      },
    },
  })
  const close = () => listener.stop(true)
  return {
    port: listener.port,
    http: `http://127.0.0.1:${listener.port}`,
    get target() {
      return state.target
    },
    set target(port: number) {
      state.target = port
    },
    get refuse() {
      return state.refuse
    },
    set refuse(value: boolean) {
      state.refuse = value
    },
    cut() {
      for (const client of [...open]) {
        client.data.upstream?.terminate()
        client.terminate()
      }
    },
    close,
    [Symbol.dispose]: close,
  }
}
