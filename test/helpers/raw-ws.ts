/**
 * A WebSocket client on a raw TCP socket (node:net): it completes the
 * handshake by hand, then can stop reading entirely (`pause()`), which is the
 * only reliable way to make the server see a slow consumer: the kernel's
 * buffers fill and Bun reports backpressure. It parses server frames
 * (unmasked, possibly fragmented across reads) when reading, and answers
 * pings with pongs as it reads them.
 */
import { connect as tcpConnect, type Socket } from 'node:net'
import { within } from './wait'

export interface RawFrame {
  opcode: number
  payload: Buffer
}

export interface RawClient {
  readonly socket: Socket
  /** Text frames decoded as JSON, control frames as {opcode}. */
  readonly frames: RawFrame[]
  /** Sends one masked text frame. */
  sendText(text: string): void
  /** Sends arbitrary bytes on the wire. */
  write(bytes: Uint8Array): void
  pause(): void
  resume(): void
  /** From now on, answers no WebSocket ping: a dead peer whose TCP connection stays up. */
  playDead(): void
  /** Subscribes to `topic` and waits for the ack (throws if the reply is anything else). */
  subscribe(topic: string, clientId: string): Promise<void>
  /** Resolves when `count` text frames have arrived. */
  waitForTextFrames(count: number, ms: number): Promise<RawFrame[]>
  readonly ended: Promise<void>
  destroy(): void
}

export function encodeClientFrame(opcode: number, payload: Uint8Array, fin = true): Buffer {
  const mask = crypto.getRandomValues(new Uint8Array(4))
  const len = payload.length
  const header = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10)
  header[0] = (fin ? 0x80 : 0) | opcode
  if (len < 126) header[1] = 0x80 | len
  else if (len < 65536) {
    header[1] = 0x80 | 126
    header.writeUInt16BE(len, 2)
  } else {
    header[1] = 0x80 | 127
    header.writeBigUInt64BE(BigInt(len), 2)
  }
  const body = Buffer.alloc(len)
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ mask[i & 3]!
  return Buffer.concat([header, mask, body])
}

export async function rawConnect(port: number, path = '/ws', extraHeaders = ''): Promise<RawClient> {
  const socket = tcpConnect({ host: '127.0.0.1', port })
  const frames: RawFrame[] = []
  let buffer = Buffer.alloc(0)
  let handshakeDone = false
  let answerPings = true
  let wake: (() => void) | undefined
  const ended = new Promise<void>((resolve) => {
    socket.on('close', () => {
      resolve()
      wake?.()
    })
  })
  socket.on('error', () => {})

  const handshake = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      if (!handshakeDone) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end === -1) return
        const head = buffer.subarray(0, end).toString()
        buffer = buffer.subarray(end + 4)
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`))
        handshakeDone = true
        resolve()
      }
      parse()
      wake?.()
    })
  })

  function parse() {
    for (;;) {
      if (buffer.length < 2) return
      const opcode = buffer[0]! & 0x0f
      let len = buffer[1]! & 0x7f
      let offset = 2
      if (len === 126) {
        if (buffer.length < 4) return
        len = buffer.readUInt16BE(2)
        offset = 4
      } else if (len === 127) {
        if (buffer.length < 10) return
        len = Number(buffer.readBigUInt64BE(2))
        offset = 10
      }
      if (buffer.length < offset + len) return
      const payload = buffer.subarray(offset, offset + len)
      frames.push({ opcode, payload })
      // Like every RFC 6455 client, answer a ping with a pong carrying its payload (only once read: a paused client answers late).
      if (opcode === 0x9 && answerPings && !socket.destroyed) socket.write(encodeClientFrame(0xa, Buffer.from(payload)))
      buffer = buffer.subarray(offset + len)
    }
  }

  const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64')
  await within(new Promise<void>((r) => socket.once('connect', () => r())), 3000, 'tcp connect')
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
  )
  await within(handshake, 3000, 'websocket handshake')

  const textFrames = () => frames.filter((f) => f.opcode === 1)
  let subscribeCounter = 0
  const client: RawClient = {
    socket,
    frames,
    sendText: (text) => socket.write(encodeClientFrame(1, Buffer.from(text))),
    write: (bytes) => socket.write(bytes),
    pause: () => socket.pause(),
    playDead: () => {
      answerPings = false
    },
    resume: () => socket.resume(),
    async subscribe(topic, clientId) {
      const request_id = `raw-sub-${++subscribeCounter}`
      client.sendText(JSON.stringify({ type: 'subscribe', topic, client_id: clientId, request_id }))
      const run = async () => {
        for (;;) {
          const reply = textFrames().map(json).find((f) => f.request_id === request_id)
          if (reply) {
            if (reply.type !== 'ack') throw new Error(`subscribe to '${topic}' failed: ${JSON.stringify(reply)}`)
            return
          }
          if (socket.destroyed) throw new Error(`socket closed before the ack of '${topic}'`)
          await new Promise<void>((r) => (wake = r))
        }
      }
      await within(run(), 3000, `the ack of the subscribe to '${topic}'`)
    },
    async waitForTextFrames(count, ms) {
      const run = async () => {
        while (textFrames().length < count) {
          if (socket.destroyed) throw new Error(`socket closed after ${textFrames().length} of ${count} text frames`)
          await new Promise<void>((r) => (wake = r))
        }
        return textFrames()
      }
      return within(run(), ms, `${count} text frames`)
    },
    ended,
    destroy: () => socket.destroy(),
  }
  return client
}

export const json = (f: RawFrame) => JSON.parse(f.payload.toString())
