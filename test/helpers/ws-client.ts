/**
 * A WebSocket test client over Bun's WebSocket: every frame received is
 * buffered, `next()` awaits the next one with a deadline, `closed` resolves with
 * the close code.
 */
import { within } from './wait'

export type Frame = Record<string, any>

export interface TestClient {
  readonly socket: WebSocket
  /** Frames received and not yet taken by next(). */
  readonly inbox: Frame[]
  send(frame: unknown): void
  sendRaw(data: string | Uint8Array): void
  /** The next frame (heartbeat info pings are left aside unless `keepPings`). */
  next(ms?: number, keepPings?: boolean): Promise<Frame>
  /** The first frame of the given type; frames before it stay in the inbox. */
  nextOfType(type: string, ms?: number): Promise<Frame>
  /** Sends a frame with a fresh request_id and returns the reply that echoes it; other frames stay in the inbox. */
  request(frame: Frame, ms?: number): Promise<Frame>
  readonly closed: Promise<{ code: number; reason: string }>
  close(): void
  [Symbol.dispose](): void
}

let requestCounter = 0

export async function connect(url: string, options: { headers?: Record<string, string>; ms?: number } = {}): Promise<TestClient> {
  const socket = new WebSocket(url, { headers: options.headers } as any)
  const inbox: Frame[] = []
  // Every waiter (several requests may be awaited at once) is woken on each frame and looks again.
  let waiters: Array<() => void> = []
  const wake = () => {
    const woken = waiters
    waiters = []
    for (const w of woken) w()
  }
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.addEventListener('close', (e) => {
      resolve({ code: e.code, reason: e.reason })
      wake()
    })
  })
  socket.addEventListener('message', (e) => {
    inbox.push(JSON.parse(String(e.data)))
    wake()
  })
  await within(
    new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve())
      socket.addEventListener('error', () => reject(new Error(`could not connect to ${url}`)))
    }),
    options.ms ?? 3000,
    `connection to ${url}`,
  )
  let isClosed = false
  closed.then(() => (isClosed = true))

  /** Removes and returns the first buffered frame that matches, waiting for more as needed. */
  function take(match: (f: Frame) => boolean, ms: number, what: string): Promise<Frame> {
    const run = async () => {
      for (;;) {
        const i = inbox.findIndex(match)
        if (i !== -1) return inbox.splice(i, 1)[0]!
        if (isClosed) throw new Error(`socket closed while waiting for ${what}`)
        await new Promise<void>((r) => waiters.push(r))
      }
    }
    return within(run(), ms, what)
  }
  const isPing = (f: Frame) => f.type === 'info' && f.msg === 'ping'
  const next = (ms = 3000, keepPings = false) => take((f) => keepPings || !isPing(f), ms, 'next frame')

  const client: TestClient = {
    socket,
    inbox,
    send: (frame) => socket.send(JSON.stringify(frame)),
    sendRaw: (data) => socket.send(data),
    next,
    nextOfType: (type, ms = 3000) => take((f) => f.type === type && !isPing(f), ms, `a ${type} frame`),
    request(frame, ms = 3000) {
      const request_id = `r${++requestCounter}`
      socket.send(JSON.stringify({ ...frame, request_id }))
      return take((f) => f.request_id === request_id, ms, `the reply to ${request_id}`)
    },
    closed,
    close: () => socket.close(),
    [Symbol.dispose]: () => socket.close(),
  }
  return client
}

export const uuid = () => crypto.randomUUID()
