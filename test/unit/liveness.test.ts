import { describe, expect, test } from 'bun:test'
import type { ServerWebSocket } from 'bun'
import { PeerLiveness } from '../../src/http/ws-route'
import { keyMatcher } from '../../src/http/auth'

function fakeSocket() {
  const s = { pings: 0, terminated: 0, ping: () => void s.pings++, terminate: () => void s.terminated++ }
  return s
}
const asWs = (s: ReturnType<typeof fakeSocket>) => s as unknown as ServerWebSocket<unknown>

describe('PeerLiveness (dead-peer sweep)', () => {
  test('pings sockets seen recently; terminates (once) those silent too long; forgets closed ones', () => {
    const liveness = new PeerLiveness()
    const live = fakeSocket()
    const dead = fakeSocket()
    const gone = fakeSocket()
    for (const s of [live, dead, gone]) liveness.seen(asWs(s))
    liveness.forget(asWs(gone))
    liveness.sweep(60_000)
    expect([live.pings, dead.pings, gone.pings]).toEqual([1, 1, 0])
    expect([live.terminated, dead.terminated]).toEqual([0, 0])

    liveness.seen(asWs(live))
    liveness.sweep(-1) // everything counts as silent too long
    expect([live.terminated, dead.terminated, gone.terminated]).toEqual([1, 1, 0])
    liveness.sweep(-1) // already terminated: not again, not pinged
    expect([live.terminated, dead.terminated]).toEqual([1, 1])
    expect([live.pings, dead.pings]).toEqual([1, 1])
  })
})

describe('keyMatcher (API key check)', () => {
  test('accepts exactly the key; rejects missing, empty, prefixes, extensions and case changes', () => {
    const matches = keyMatcher('s3cr3t')
    expect(matches('s3cr3t')).toBe(true)
    for (const given of [null, undefined, '', 's3cr3', 's3cr3t ', 'S3CR3T', 's3cr3tt', ' s3cr3t']) expect(matches(given)).toBe(false)
  })
})
