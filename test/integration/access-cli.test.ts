/**
 * The command line of access control: `herald token` mints a token the server
 * accepts; API_KEY must be printable ASCII (issue 8, part 6a); TOKEN_* key
 * sources are checked at start-up (exit 2 with a message naming the variable).
 */
import { describe, expect, test } from 'bun:test'
import { decodeJwt } from 'jose'
import { ENTRY_COMMAND, runToEnd, spawnServer } from '../helpers/spawn'
import { HMAC_SECRET, keyPair, writeKeyFile } from '../helpers/tokens'
import { connect, uuid } from '../helpers/ws-client'

const BASE_ENV = { PORT: '0', HOST: '127.0.0.1' }

describe('herald token', () => {
  test('mints an HS256 token with sub, permissions and ttl that the server accepts and enforces', async () => {
    const minted = await runToEnd([...ENTRY_COMMAND, 'token', '--sub', 'alice', '--subscribe', 'orders', '--subscribe', 'chat.*', '--publish', 'chat.*', '--ttl', '1h'], {
      TOKEN_HMAC_SECRET: HMAC_SECRET,
      TOKEN_ISSUER: 'dev',
    })
    expect(minted.stderr).toBe('')
    expect(minted.code).toBe(0)
    const token = minted.stdout.trim()
    const claims = decodeJwt(token)
    expect(claims).toMatchObject({ sub: 'alice', iss: 'dev', herald: { subscribe: ['orders', 'chat.*'], publish: ['chat.*'] } })
    expect(claims.exp! - Math.floor(Date.now() / 1000)).toBeWithin(3590, 3601)

    await using child = await spawnServer({ env: { TOKEN_HMAC_SECRET: HMAC_SECRET, TOKEN_ISSUER: 'dev', API_KEY: 'admin' } })
    for (const t of ['orders', 'chat.a']) expect((await fetch(`${child.http}/topics`, { method: 'POST', headers: { 'x-api-key': 'admin', 'content-type': 'application/json' }, body: JSON.stringify({ name: t }) })).status).toBe(201)
    using c = await connect(`${child.ws}?token=${token}`)
    expect((await c.request({ type: 'subscribe', topic: 'orders' })).type).toBe('ack')
    expect((await c.request({ type: 'publish', topic: 'chat.a', message: { id: uuid(), payload: 1 } })).type).toBe('ack')
    expect((await c.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: 1 } })).error.code).toBe('FORBIDDEN')
    // The server logs sub, never the token.
    expect(child.lines.join('\n')).not.toContain(token.split('.')[2]!)
    expect(child.lines.some((l) => l.includes('"sub":"alice"'))).toBe(true)
  }, 30_000)

  test('bad arguments or no secret: exit 2 with a message, never a token', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [['--subscribe', 'x'], { TOKEN_HMAC_SECRET: HMAC_SECRET }, '--sub is required'],
      [['--sub', 'a', '--ttl', 'forever'], { TOKEN_HMAC_SECRET: HMAC_SECRET }, '--ttl'],
      [['--sub', 'a', '--publish', 'a.>.b'], { TOKEN_HMAC_SECRET: HMAC_SECRET }, "'>' may only be the last token"],
      [['--sub', 'a', '--bogus'], { TOKEN_HMAC_SECRET: HMAC_SECRET }, "unknown argument '--bogus'"],
      [['--sub', 'a'], {}, 'needs TOKEN_HMAC_SECRET'],
      [['--sub', 'a'], { TOKEN_HMAC_SECRET: 'short' }, 'at least 32 bytes'],
    ]
    for (const [args, env, message] of cases) {
      const { code, stdout, stderr } = await runToEnd([...ENTRY_COMMAND, 'token', ...args], env)
      expect({ args, code }).toEqual({ args, code: 2 })
      expect(stderr).toContain(message)
      expect(stdout).toBe('')
    }
    const help = await runToEnd([...ENTRY_COMMAND, 'token', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: herald token')
  }, 30_000)
})

describe('start-up checks', () => {
  test('a non-ASCII API_KEY is refused with exit 2 (it could never be sent in X-API-Key), without echoing it', async () => {
    for (const key of ['clé-ключ', ' leading-space', 'tab\there']) {
      const { code, stdout, stderr } = await runToEnd(ENTRY_COMMAND, { ...BASE_ENV, API_KEY: key })
      expect({ key, code }).toEqual({ key, code: 2 })
      expect(stderr).toContain('API_KEY must be printable ASCII')
      expect(stderr).not.toContain(key)
      expect(stdout).not.toContain('"listening"')
    }
    // Printable ASCII, inner spaces included, works on every route: header and query.
    await using child = await spawnServer({ env: { API_KEY: 'a key~with!punct' } })
    expect((await fetch(`${child.http}/topics`, { headers: { 'x-api-key': 'a key~with!punct' } })).status).toBe(200)
    using c = await connect(`${child.ws}?api_key=${encodeURIComponent('a key~with!punct')}`)
    expect((await c.request({ type: 'ping' })).type).toBe('pong')
  }, 30_000)

  test('token key sources: at most one, readable, usable; otherwise exit 2 naming the variable', async () => {
    const ed = writeKeyFile('not-a-key.pem', 'hello\n')
    const rsa = await keyPair('RS256', 'k1')
    const privateJwks = writeKeyFile('private-jwks.json', JSON.stringify({ keys: [{ ...rsa.publicJwk, d: 'x' }] }))
    const noKid = writeKeyFile('nokid-jwks.json', JSON.stringify({ keys: [{ ...rsa.publicJwk, kid: undefined }] }))
    const cases: [Record<string, string>, string][] = [
      [{ TOKEN_HMAC_SECRET: HMAC_SECRET, TOKEN_PUBLIC_KEY_FILE: writeKeyFile('rsa.pem', rsa.publicPem) }, 'set only one of'],
      [{ TOKEN_HMAC_SECRET: 'too-short' }, 'TOKEN_HMAC_SECRET must be at least 32 bytes'],
      [{ TOKEN_PUBLIC_KEY_FILE: '/nonexistent/key.pem' }, 'TOKEN_PUBLIC_KEY_FILE=/nonexistent/key.pem: cannot read the file'],
      [{ TOKEN_PUBLIC_KEY_FILE: ed }, 'not a PEM public key'],
      [{ TOKEN_JWKS_FILE: ed }, 'TOKEN_JWKS_FILE='],
      [{ TOKEN_JWKS_FILE: privateJwks }, 'private key'],
      [{ TOKEN_JWKS_FILE: noKid }, 'kid'],
    ]
    for (const [env, message] of cases) {
      const { code, stdout, stderr } = await runToEnd(ENTRY_COMMAND, { ...BASE_ENV, ...env })
      expect({ env, code }).toEqual({ env, code: 2 })
      expect(stderr).toContain(message)
      expect(stderr).not.toContain(HMAC_SECRET)
      expect(stdout).not.toContain('"listening"')
    }
  }, 30_000)
})
