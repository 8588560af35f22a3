import { describe, expect, test } from 'bun:test'
import type { ServerWebSocket } from 'bun'
import { type LivePeer, PeerLiveness } from '../../src/http/peer-liveness'
import { keyMatcher } from '../../src/http/auth'

function fakePeer() {
  const socket = { pings: 0, terminated: 0, ping: () => void socket.pings++, terminate: () => void socket.terminated++ }
  const peer = { heardAt: -1, socket: socket as unknown as ServerWebSocket<unknown> }
  return { peer: peer as LivePeer, socket }
}

describe('PeerLiveness (dead-peer sweep, counted in heartbeats)', () => {
  test('pings peers heard recently; terminates (once) those silent for more than silentBeats; forgets removed ones', () => {
    const liveness = new PeerLiveness(2)
    const live = fakePeer()
    const dead = fakePeer()
    const gone = fakePeer()
    for (const p of [live, dead, gone]) liveness.add(p.peer)
    liveness.remove(gone.peer)
    liveness.sweep() // beat 1: 1 beat of silence
    liveness.sweep() // beat 2: 2 beats, not more than 2
    expect([live.socket.pings, dead.socket.pings, gone.socket.pings]).toEqual([2, 2, 0])
    expect([live.socket.terminated, dead.socket.terminated]).toEqual([0, 0])

    liveness.heard(live.peer)
    liveness.sweep() // beat 3: dead silent for 3 > 2 beats; live heard at beat 2
    expect([live.socket.terminated, dead.socket.terminated, gone.socket.terminated]).toEqual([0, 1, 0])
    expect(live.socket.pings).toBe(3)
    liveness.sweep()
    liveness.sweep() // beat 5: live silent for 3 beats now
    expect(live.socket.terminated).toBe(1)
    liveness.sweep() // already terminated: not again, not pinged
    expect([live.socket.terminated, dead.socket.terminated]).toEqual([1, 1])
    expect([live.socket.pings, dead.socket.pings]).toEqual([4, 2])
  })

  test('beatsFor covers the silence with whole beats, at least one', () => {
    expect(PeerLiveness.beatsFor(8000, 1000)).toBe(8)
    expect(PeerLiveness.beatsFor(8000, 3000)).toBe(3)
    expect(PeerLiveness.beatsFor(60_000, 30_000)).toBe(2)
    expect(PeerLiveness.beatsFor(100, 30_000)).toBe(1)
  })
})

describe('keyMatcher (API key check)', () => {
  test('accepts exactly the key; rejects missing, empty, prefixes, extensions and case changes', () => {
    const matches = keyMatcher('s3cr3t')
    expect(matches('s3cr3t')).toBe(true)
    for (const given of [null, undefined, '', 's3cr3', 's3cr3t ', 'S3CR3T', 's3cr3tt', ' s3cr3t']) expect(matches(given)).toBe(false)
  })
})
