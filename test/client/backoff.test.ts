/**
 * Reconnect timing with a fake clock (test/helpers/fake-timers.ts) against real
 * sockets: each attempt really fails (nothing listens on the port), and the
 * delay before the next one is read from the client's public `state` events.
 */
import { describe, expect, test } from 'bun:test'
import { backoffDelay, closeAction, HeraldClient, type StateChange } from '../../src/client'
import { CloseCode, closeCodeInfo } from '../../src/errors'
import { FakeTimers } from '../helpers/fake-timers'
import { within } from '../helpers/wait'

/** A port nothing listens on: bound, then released. */
function closedPort(): number {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = listener.port
  listener.stop(true)
  return port
}

function nextState(client: HeraldClient, state: StateChange['state']): Promise<StateChange> {
  return within(
    new Promise<StateChange>((resolve) => {
      const off = client.on('state', (change) => {
        if (change.state !== state) return
        off()
        resolve(change)
      })
    }),
    3000,
    `state ${state}`,
  )
}

describe('backoffDelay: full jitter', () => {
  test('the window doubles from minDelayMs and stops at maxDelayMs; the delay is random × window', () => {
    const o = { minDelayMs: 100, maxDelayMs: 1000 }
    expect([0, 1, 2, 3, 4, 5, 60, 5000].map((n) => backoffDelay(n, o, 0.5))).toEqual([50, 100, 200, 400, 500, 500, 500, 500])
    expect(backoffDelay(3, o, 0)).toBe(0)
    expect(backoffDelay(3, o, 0.9999)).toBe(799)
  })
})

describe('closeAction: from the server’s close-code table', () => {
  test('every code in src/errors.ts is read from closeCodeInfo; 1001 reconnects at once', () => {
    for (const [name, code] of Object.entries(CloseCode)) {
      const expected = code === CloseCode.GOING_AWAY ? 'reconnect_now' : closeCodeInfo[name as keyof typeof CloseCode].reconnect ? 'reconnect' : 'stop'
      expect({ code, action: closeAction(code) }).toEqual({ code, action: expected })
    }
  })
  test('codes the server does not send: lost connections retry, protocol errors and 4500–4999 do not', () => {
    expect([1006, 1011, 1012, 4100, 4499].map(closeAction)).toEqual(['reconnect', 'reconnect', 'reconnect', 'reconnect', 'reconnect'])
    expect([1002, 1007, 1008, 4500, 4999].map(closeAction)).toEqual(['stop', 'stop', 'stop', 'stop', 'stop'])
  })
})

describe('reconnect timing (fake clock, real failing sockets)', () => {
  test('consecutive failures wait random × min(max, min·2ⁿ), and nothing is attempted before the delay passes', async () => {
    const timers = new FakeTimers()
    const client = new HeraldClient(`http://127.0.0.1:${closedPort()}`, { timers, waitForFirstConnect: true, minReconnectDelayMs: 100, maxReconnectDelayMs: 1000 })
    const delays: number[] = []
    let attempts = 0
    client.on('state', (c) => {
      if (c.state === 'connecting') attempts++
      if (c.state === 'disconnected') delays.push(c.retryInMs!)
    })
    let disconnected = nextState(client, 'disconnected')
    void client.connect().catch(() => {})
    for (let i = 0; i < 6; i++) {
      await disconnected
      expect(attempts).toBe(i + 1)
      const delay = delays.at(-1)!
      // Just before the delay: no new attempt.
      timers.advance(Math.max(0, delay - 1))
      expect(attempts).toBe(i + 1)
      disconnected = nextState(client, 'disconnected')
      timers.advance(1)
      expect(attempts).toBe(i + 2)
    }
    await disconnected
    expect(delays).toEqual([50, 100, 200, 400, 500, 500, 500])
    client.close()
    expect(client.state).toBe('closed')
    expect(timers.delays()).toEqual([]) // close() leaves no timer behind
  })

  test('the jitter comes from timers.random(): 0 retries at once, 0.9 waits 90% of the window', async () => {
    for (const [random, expected] of [
      [0, 0],
      [0.9, 180],
    ] as const) {
      const timers = new FakeTimers()
      timers.randomValue = random
      const client = new HeraldClient(`http://127.0.0.1:${closedPort()}`, { timers, waitForFirstConnect: true, minReconnectDelayMs: 200, maxReconnectDelayMs: 5000 })
      const disconnected = nextState(client, 'disconnected')
      void client.connect().catch(() => {})
      expect((await disconnected).retryInMs).toBe(expected)
      client.close()
    }
  })

  test('without waitForFirstConnect a failed first attempt rejects connect() with CONNECT_FAILED and schedules nothing', async () => {
    const timers = new FakeTimers()
    const client = new HeraldClient(`http://127.0.0.1:${closedPort()}`, { timers })
    const error = await within(client.connect().then(() => undefined, (e) => e), 3000, 'connect() to reject')
    expect(error).toMatchObject({ name: 'HeraldError', code: 'CONNECT_FAILED' })
    expect(client.state).toBe('closed')
    expect(timers.delays()).toEqual([])
  })

  test('a connection attempt that never opens is abandoned after connectTimeoutMs and retried with backoff', async () => {
    // A TCP listener that accepts and never answers the upgrade.
    const silent = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    try {
      const timers = new FakeTimers()
      const client = new HeraldClient(`http://127.0.0.1:${silent.port}`, { timers, waitForFirstConnect: true, connectTimeoutMs: 2000, minReconnectDelayMs: 100 })
      void client.connect().catch(() => {})
      expect(client.state).toBe('connecting')
      const disconnected = nextState(client, 'disconnected')
      timers.advance(1999)
      expect(client.state).toBe('connecting')
      timers.advance(1)
      expect(await disconnected).toMatchObject({ closeCode: 1006, retryInMs: 50 })
      client.close()
    } finally {
      silent.stop(true)
    }
  })
})
