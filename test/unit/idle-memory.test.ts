/**
 * Idle memory per connection (issue 11): what the hub keeps for a connection
 * that subscribed once and has nothing waiting, measured as JS heap after a
 * full collection, over many connections. It guards the layout of
 * docs/performance.md ("Second pass: memory per connection"): no Map, array,
 * closure or Set entry per idle connection. The layout before it (a Map of
 * subscriptions, a reply array and Set entries per connection) measured
 * ~1,540 bytes here; the second pass's (a separate Ring per subscription, four
 * booleans and a high-water field each) ~640; the third pass's before presence
 * counts became lazy (a Map entry per client_id of an unwatched topic) ~490;
 * the third pass's final one (a subscription that is its own queue) ~320; this
 * one (an idle subscription reads the hub's shared empty queue: 8 fields, 80
 * bytes) 288–307 in 9 runs. test/unit/subscription-queue.test.ts guards the
 * sharing itself.
 */
import { describe, expect, test } from 'bun:test'
import { heapStats } from 'bun:jsc'
import type { Connection } from '../../src/hub/connection'
import type { Sink } from '../../src/hub/sink'
import { memoryPubSub, sync } from '../helpers/pubsub'

const CONNECTIONS = 20_000
/** Bytes of JS heap the hub may keep per idle connection (Connection, Subscription, the client_id, list slots; no queue of its own, no presence count: nobody watches). */
const BOUND = 380

/** One sink for every connection: what is measured is the hub's state, not a test double's. */
const discard: Sink = { send: (text) => text.length, cork: (fn) => fn(), bufferedAmount: () => 0, end() {} }

function heapAfterGc(): number {
  Bun.gc(true)
  return heapStats().heapSize
}

describe('idle memory per connection', () => {
  test(`an idle connection with one subscription keeps under ${BOUND} bytes of JS heap in the hub`, async () => {
    const pubsub = memoryPubSub({ queueSize: 100, historySize: 100 })
    sync(pubsub.createTopic('t'))
    const connections: Connection[] = []
    const before = heapAfterGc()
    for (let i = 0; i < CONNECTIONS; i++) {
      const connection = pubsub.connect(discard)
      sync(pubsub.subscribe(connection, { topic: 't', clientId: `client-${i}`, lastN: 0 }))
      connections.push(connection)
    }
    // The acks go out at the next turn's flush; then nothing waits anywhere. The measure is taken in a
    // task of its own: the collector scans the stack conservatively, and this loop's frames would keep garbage.
    await new Promise((resolve) => setImmediate(resolve))
    expect(pubsub.idle()).toBe(true)
    // Minus this test's own array slot.
    const perConnection = await new Promise<number>((resolve) => setTimeout(() => resolve((heapAfterGc() - before) / CONNECTIONS - 8), 0))
    expect(pubsub.localCounts().connections).toBe(CONNECTIONS)
    expect(perConnection).toBeGreaterThan(0)
    expect(perConnection).toBeLessThan(BOUND)
    connections.length = 0
  })
})
