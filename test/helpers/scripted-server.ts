/**
 * A WebSocket server on port 0 whose replies the test writes by hand: it
 * records every connection (its URL) and every frame received, and sends
 * what the test tells it. For the SDK's side of protocol parts that herald
 * itself does not implement yet (recovery acks, token refresh, presence, the
 * SLOW_CONSUMER notice on demand). Each test that uses it names the issue
 * whose real-server test will replace it.
 */
import type { Server, ServerWebSocket } from 'bun'
import { within } from './wait'

export interface ScriptedConnection {
  readonly url: URL
  /** Frames received and not yet taken. */
  readonly inbox: any[]
  /** The next frame from the client (with a deadline). */
  next(ms?: number): Promise<any>
  send(frame: unknown): void
  /** Sends a text frame as given (not JSON-encoded). */
  sendRaw(text: string): void
  close(code: number, reason?: string): void
  readonly closed: Promise<void>
}

export interface ScriptedServer {
  readonly http: string
  readonly connections: ScriptedConnection[]
  /** The next connection not yet taken. */
  nextConnection(ms?: number): Promise<ScriptedConnection>
  stop(): void
  [Symbol.dispose](): void
}

interface Data {
  conn: ScriptedConnection
  socket?: ServerWebSocket<Data>
  push(frame: any): void
  onClose(): void
}

export function scriptedServer(): ScriptedServer {
  const connections: ScriptedConnection[] = []
  let taken = 0
  let wakeServer: (() => void) | undefined
  const server: Server<Data> = Bun.serve<Data>({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req, srv) {
      const url = new URL(req.url)
      const inbox: any[] = []
      let wake: (() => void) | undefined
      const closedResolvers = Promise.withResolvers<void>()
      const conn: ScriptedConnection = {
        url,
        inbox,
        next: (ms = 3000) =>
          within(
            (async () => {
              while (inbox.length === 0) await new Promise<void>((r) => (wake = r))
              return inbox.shift()
            })(),
            ms,
            'a frame from the client',
          ),
        send: (frame) => data.socket?.send(JSON.stringify(frame)),
        sendRaw: (text) => data.socket?.send(text),
        close: (code, reason) => data.socket?.close(code, reason),
        closed: closedResolvers.promise,
      }
      const data: Data = {
        conn,
        socket: undefined,
        push(frame) {
          inbox.push(frame)
          wake?.()
        },
        onClose: () => closedResolvers.resolve(),
      }
      if (!srv.upgrade(req, { data })) return new Response('upgrade expected', { status: 400 })
      return undefined
    },
    websocket: {
      open(ws) {
        ws.data.socket = ws
        connections.push(ws.data.conn)
        wakeServer?.()
      },
      message(ws, message) {
        ws.data.push(JSON.parse(String(message)))
      },
      close(ws) {
        ws.data.onClose()
      },
    },
  })
  const stop = () => server.stop(true)
  return {
    http: `http://127.0.0.1:${server.port}`,
    connections,
    nextConnection: (ms = 3000) =>
      within(
        (async () => {
          while (connections.length <= taken) await new Promise<void>((r) => (wakeServer = r))
          return connections[taken++]!
        })(),
        ms,
        'a connection',
      ),
    stop,
    [Symbol.dispose]: stop,
  }
}
