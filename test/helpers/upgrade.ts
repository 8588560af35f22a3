/**
 * A WebSocket upgrade request written verbatim on a raw TCP socket (the path
 * exactly as given: no client normalizes it), and the server's answer: the
 * status line, head and body of a refusal, or the 101. The socket is closed
 * after the answer.
 */
import { connect as tcpConnect } from 'node:net'
import { within } from './wait'

export interface UpgradeAnswer {
  status: number
  statusLine: string
  head: string
  body: string
}

export async function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}, ms = 3000): Promise<UpgradeAnswer> {
  const socket = tcpConnect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  try {
    let data = Buffer.alloc(0)
    const answer = new Promise<UpgradeAnswer>((resolve) => {
      const tryParse = (final: boolean) => {
        const text = data.toString('latin1')
        const end = text.indexOf('\r\n\r\n')
        if (end === -1) return final && resolve({ status: 0, statusLine: text, head: text, body: '' })
        const head = text.slice(0, end)
        const statusLine = head.split('\r\n')[0]!
        const status = Number(statusLine.split(' ')[1])
        const length = /\r\ncontent-length: *(\d+)/i.exec(head)
        const body = data.subarray(Buffer.byteLength(head, 'latin1') + 4)
        if (status === 101 || final || (length && body.length >= Number(length[1]))) resolve({ status, statusLine, head, body: body.toString('utf8') })
      }
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk])
        tryParse(false)
      })
      socket.on('close', () => tryParse(true))
    })
    await within(new Promise<void>((r) => socket.once('connect', () => r())), ms, 'tcp connect')
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    )
    return await within(answer, ms, `the answer to the upgrade of ${path}`)
  } finally {
    socket.destroy()
  }
}
