/**
 * TLS (TLS_CERT_FILE + TLS_KEY_FILE, Bun's built-in TLS): a throw-away
 * self-signed certificate generated here with `openssl req`, and clients that
 * check the server's certificate against it (never with checking off).
 */
import { describe, expect, test } from 'bun:test'
import { spawnSync } from 'bun'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireExternal, findProgram } from '../helpers/external'
import { startServer } from '../helpers/server'
import { ENTRY_COMMAND, runToEnd } from '../helpers/spawn'
import { within } from '../helpers/wait'
import { uuid } from '../helpers/ws-client'

const openssl = findProgram('openssl')
const run = requireExternal('openssl', openssl !== undefined, 'apt-get install openssl')

function selfSigned(): { dir: string; cert: string; key: string; ca: string } {
  const dir = mkdtempSync(join(tmpdir(), 'herald-tls-'))
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  const made = spawnSync([openssl!, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stderr: 'pipe' })
  if (made.exitCode !== 0) throw new Error(`openssl req failed: ${made.stderr.toString()}`)
  return { dir, cert, key, ca: readFileSync(cert, 'utf8') }
}

describe.if(run)('TLS', () => {
  test('https /health and a wss round trip, verified against the generated certificate', async () => {
    const { cert, key, ca } = selfSigned()
    await using server = startServer({ tlsCertFile: cert, tlsKeyFile: key })
    expect(server.url).toStartWith('https://')
    const base = `https://127.0.0.1:${server.port}`
    const health = await fetch(`${base}/health`, { tls: { ca } })
    expect(health.status).toBe(200)
    expect(((await health.json()) as any).connections).toBe(0)
    // Without the certificate as a trust anchor the client refuses the server: checking is really on.
    await expect(fetch(`${base}/health`)).rejects.toThrow()
    // Plain HTTP on the TLS port gets no answer as HTTP.
    await expect(fetch(`http://127.0.0.1:${server.port}/health`).then((r) => r.status)).rejects.toThrow()

    expect(await fetch(`${base}/topics`, { method: 'POST', tls: { ca }, headers: { 'content-type': 'application/json' }, body: '{"name":"t"}' }).then((r) => r.status)).toBe(201)
    const socket = new WebSocket(`wss://127.0.0.1:${server.port}/ws`, { tls: { ca } } as any)
    const frames: any[] = []
    let wake: (() => void) | undefined
    socket.addEventListener('message', (e) => {
      frames.push(JSON.parse(String(e.data)))
      wake?.()
    })
    await within(new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve())
      socket.addEventListener('error', () => reject(new Error('wss connect failed')))
    }), 3000, 'wss open')
    const nextOf = (type: string) =>
      within(
        (async () => {
          for (;;) {
            const i = frames.findIndex((f) => f.type === type)
            if (i !== -1) return frames.splice(i, 1)[0]
            await new Promise<void>((r) => (wake = r))
          }
        })(),
        3000,
        `a ${type} frame`,
      )
    socket.send(JSON.stringify({ type: 'subscribe', topic: 't', client_id: 'c', request_id: 's' }))
    expect(await nextOf('ack')).toMatchObject({ request_id: 's' })
    const id = uuid()
    socket.send(JSON.stringify({ type: 'publish', topic: 't', message: { id, payload: 'over tls' }, request_id: 'p' }))
    expect(await nextOf('event')).toMatchObject({ topic: 't', message: { id, payload: 'over tls' } })
    socket.close()
    // A WebSocket client without the certificate as trust anchor is refused as well.
    const untrusting = new WebSocket(`wss://127.0.0.1:${server.port}/ws`)
    const outcome = await within(
      new Promise<string>((resolve) => {
        untrusting.addEventListener('open', () => resolve('open'))
        untrusting.addEventListener('error', () => resolve('error'))
      }),
      3000,
      'the untrusting client to fail',
    )
    expect(outcome).toBe('error')
  })

  test('TLS_CERT_FILE and TLS_KEY_FILE: both or neither; a missing, unreadable or non-PEM file exits 2 with a clear message', async () => {
    const { dir, cert, key } = selfSigned()
    const garbage = join(dir, 'garbage.pem')
    writeFileSync(garbage, 'not a pem\n')
    const cases: [Record<string, string>, string][] = [
      [{ TLS_CERT_FILE: cert }, 'set both TLS_CERT_FILE and TLS_KEY_FILE, or neither'],
      [{ TLS_KEY_FILE: key }, 'set both TLS_CERT_FILE and TLS_KEY_FILE, or neither'],
      [{ TLS_CERT_FILE: join(dir, 'missing.pem'), TLS_KEY_FILE: key }, 'TLS_CERT_FILE='],
      [{ TLS_CERT_FILE: cert, TLS_KEY_FILE: dir }, 'TLS_KEY_FILE='],
      [{ TLS_CERT_FILE: garbage, TLS_KEY_FILE: key }, 'not a PEM certificate'],
      [{ TLS_CERT_FILE: cert, TLS_KEY_FILE: cert }, 'not a PEM private key'],
    ]
    for (const [env, message] of cases) {
      const { code, stdout, stderr } = await runToEnd(ENTRY_COMMAND, { PORT: '0', HOST: '127.0.0.1', ...env })
      expect({ env, code }).toEqual({ env, code: 2 })
      expect(stderr).toContain(message)
      expect(stderr).not.toContain('    at ')
      expect(stdout).not.toContain('"listening"')
    }
  }, 30_000)
})
