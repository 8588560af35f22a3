/**
 * The load generator's WebSocket clients: raw TCP sockets that do the
 * handshake by hand and then parse only frame headers from the byte stream.
 *
 * Why raw: Bun's own WebSocket client saturates near 2 M messages/s, so a
 * counting subscriber built on it would measure itself instead of the server.
 * A counting client here touches 2–10 header bytes per frame and skips the
 * payload; a probe client (latency) also hands each text payload to a callback.
 *
 * Client frames are masked with the all-zero key (valid per RFC 6455 §5.3, and
 * it lets a publisher write prebuilt frames without re-masking them).
 */
import { connect as netConnect, type Socket as NetSocket } from 'node:net'

const OP_TEXT = 1

/** Encodes one masked (zero key) client text frame. */
export function clientTextFrame(text: string): Buffer {
  const body = Buffer.from(text)
  const len = body.length
  const head = len < 126 ? 6 : len < 65536 ? 8 : 14
  const out = Buffer.allocUnsafe(head + len)
  out[0] = 0x80 | OP_TEXT
  if (len < 126) out[1] = 0x80 | len
  else if (len < 65536) {
    out[1] = 0x80 | 126
    out.writeUInt16BE(len, 2)
  } else {
    out[1] = 0x80 | 127
    out.writeBigUInt64BE(BigInt(len), 2)
  }
  out.writeUInt32BE(0, head - 4) // mask key 0: payload bytes go out as they are
  body.copy(out, head)
  return out
}

/**
 * Incremental frame-header parser. Counts text frames; with `onText` also
 * collects each text payload (used only by the few probe clients).
 */
export class FrameCounter {
  /** Text frames seen. */
  texts = 0
  /** Bytes of payload still to skip (or collect) in the current frame. */
  private skip = 0
  private skipIsText = false
  /** Leftover bytes of an incomplete header (or, when collecting, an incomplete frame). */
  private pending: Buffer | undefined
  private collected: Buffer[] = []

  constructor(private readonly onText?: (payload: Buffer) => void) {}

  feed(chunk: Buffer | Uint8Array): void {
    let buf = chunk as Buffer
    let i = 0
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, buf])
      this.pending = undefined
    }
    const n = buf.length
    if (this.skip > 0) {
      const k = this.skip < n ? this.skip : n
      if (this.onText !== undefined && this.skipIsText) this.collected.push(Buffer.from(buf.subarray(0, k)))
      this.skip -= k
      i = k
      if (this.skip === 0 && this.skipIsText) this.endText()
    }
    while (i < n) {
      if (n - i < 2) break
      const b1 = buf[i + 1]!
      let len = b1 & 0x7f
      let off = 2
      if (len === 126) {
        if (n - i < 4) break
        len = (buf[i + 2]! << 8) | buf[i + 3]!
        off = 4
      } else if (len === 127) {
        if (n - i < 10) break
        len = Number(buf.readBigUInt64BE(i + 2))
        off = 10
      }
      const isText = (buf[i]! & 0x0f) === OP_TEXT
      i += off
      const avail = n - i
      if (avail >= len) {
        if (isText) {
          this.texts++
          if (this.onText !== undefined) this.onText(buf.subarray(i, i + len))
        }
        i += len
      } else {
        if (isText) {
          this.texts++
          if (this.onText !== undefined) this.collected.push(Buffer.from(buf.subarray(i)))
        }
        this.skip = len - avail
        this.skipIsText = isText
        return
      }
    }
    if (i < n) this.pending = Buffer.from(buf.subarray(i))
  }

  private endText(): void {
    if (this.onText === undefined) return
    const payload = Buffer.concat(this.collected)
    this.collected = []
    this.onText(payload)
  }
}

export interface ClientOptions {
  port: number
  host?: string
  /** Source address (node:net transport only), to spread many connections over 127.0.0.x. */
  localAddress?: string
  /** Called with each text payload (probe clients). */
  onText?: (payload: Buffer) => void
  /** Called after each chunk is parsed. */
  onData?: (client: RawClient) => void
}

/** One raw WebSocket client. `counter.texts` counts every text frame since the handshake. */
export class RawClient {
  readonly counter: FrameCounter
  private bunSocket: import('bun').Socket<undefined> | undefined
  private netSocket: NetSocket | undefined
  private out: Buffer[] = []
  private handshaken = false
  private head = ''
  private wake: (() => void) | undefined
  closed = false
  /** Set by the owner; free-form. */
  tag = 0

  private constructor(private readonly options: ClientOptions) {
    this.counter = new FrameCounter(options.onText)
  }

  get texts(): number {
    return this.counter.texts
  }

  /** Connects and completes the handshake (Bun.connect, or node:net when `localAddress` is given). */
  static async open(options: ClientOptions, timeoutMs = 10_000): Promise<RawClient> {
    const client = new RawClient(options)
    const host = options.host ?? '127.0.0.1'
    const connected = Promise.withResolvers<void>()
    if (options.localAddress !== undefined) {
      const s = netConnect({ host, port: options.port, localAddress: options.localAddress })
      client.netSocket = s
      s.setNoDelay(true)
      s.on('connect', () => connected.resolve())
      s.on('data', (chunk: Buffer) => client.onChunk(chunk))
      s.on('error', (e) => connected.reject(e))
      s.on('close', () => client.onClose())
    } else {
      client.bunSocket = await Bun.connect({
        hostname: host,
        port: options.port,
        socket: {
          open: () => connected.resolve(),
          data: (_s, chunk) => client.onChunk(chunk),
          drain: () => client.flushOut(),
          close: () => client.onClose(),
          error: (_s, e) => connected.reject(e),
          connectError: (_s, e) => connected.reject(e),
        },
      })
      client.bunSocket.setNoDelay(true)
    }
    const timer = setTimeout(() => connected.reject(new Error('connect timeout')), timeoutMs)
    await connected.promise
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64')
    const handshake = client.waitFor(() => client.handshaken, timeoutMs, 'handshake')
    client.write(Buffer.from(`GET /ws HTTP/1.1\r\nHost: ${host}:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`))
    try {
      await handshake
    } finally {
      clearTimeout(timer)
    }
    return client
  }

  private onChunk(chunk: Buffer | Uint8Array): void {
    if (!this.handshaken) {
      this.head += Buffer.from(chunk).toString('latin1')
      const end = this.head.indexOf('\r\n\r\n')
      if (end === -1) return
      if (!this.head.startsWith('HTTP/1.1 101')) {
        this.closed = true
        this.wake?.()
        return
      }
      this.handshaken = true
      const rest = Buffer.from(this.head.slice(end + 4), 'latin1')
      this.head = ''
      if (rest.length > 0) this.counter.feed(rest)
    } else this.counter.feed(chunk)
    this.wake?.()
    this.options.onData?.(this)
  }

  private onClose(): void {
    this.closed = true
    this.wake?.()
  }

  /** Resolves when `done()` holds (checked after each chunk), rejects on close or after `ms`. */
  waitFor(done: () => boolean, ms: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined
        reject(new Error(`timed out after ${ms} ms waiting for ${what} (texts=${this.texts})`))
      }, ms)
      const check = () => {
        if (done()) {
          clearTimeout(timer)
          this.wake = undefined
          resolve()
        } else if (this.closed) {
          clearTimeout(timer)
          this.wake = undefined
          reject(new Error(`socket closed while waiting for ${what}`))
        }
      }
      this.wake = check
      check()
    })
  }

  /** Sends text frames; `texts` then waits for `replies` more text frames. */
  async request(frames: string[], replies: number, ms = 10_000): Promise<void> {
    const want = this.texts + replies
    this.write(Buffer.concat(frames.map(clientTextFrame)))
    await this.waitFor(() => this.texts >= want, ms, `${replies} replies`)
  }

  /** Writes bytes, queuing what the kernel does not take until drain. */
  write(bytes: Buffer): void {
    if (this.netSocket !== undefined) {
      this.netSocket.write(bytes)
      return
    }
    if (this.out.length > 0) {
      this.out.push(bytes)
      return
    }
    const n = this.bunSocket!.write(bytes)
    if (n < bytes.length) this.out.push(bytes.subarray(Math.max(0, n)))
  }

  /** Bytes waiting for the socket to drain (Bun transport). */
  get queued(): number {
    let sum = 0
    for (const b of this.out) sum += b.length
    return sum
  }

  private flushOut(): void {
    while (this.out.length > 0) {
      const bytes = this.out[0]!
      const n = this.bunSocket!.write(bytes)
      if (n < bytes.length) {
        this.out[0] = bytes.subarray(Math.max(0, n))
        return
      }
      this.out.shift()
    }
  }

  /** Stops reading: the server sees this client as stalled once the kernel buffers fill. */
  pause(): void {
    if (this.bunSocket !== undefined) this.bunSocket.pause()
    else this.netSocket!.pause()
  }

  close(): void {
    if (this.bunSocket !== undefined) this.bunSocket.terminate()
    else this.netSocket?.destroy()
  }
}

/** Opens `count` clients, `concurrency` handshakes at a time. */
export async function openMany(count: number, make: (i: number) => ClientOptions, concurrency = 100): Promise<RawClient[]> {
  const clients: RawClient[] = new Array(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      clients[i] = await RawClient.open(make(i))
      clients[i]!.tag = i
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return clients
}
