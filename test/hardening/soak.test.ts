/**
 * The soak script, briefly: `bench/soak.ts` against a spawned server (its own
 * checks: /health back to zero, RSS within 10% of the post-warm-up baseline,
 * full queues happened, no client error, exit 0 on SIGTERM), then the same
 * churn against an in-process server, to look inside the broker afterwards:
 * nothing held, no timer left running.
 */
import { describe, expect, test } from 'bun:test'
import { heapStats } from 'bun:jsc'
import { join } from 'node:path'
import { FLOOD_TOPIC, TOPICS, churn } from '../../bench/soak'
import { startServer } from '../helpers/server'
import { until, within } from '../helpers/wait'

const SECONDS = Number(process.env.SOAK_TEST_SECONDS ?? 4)

describe('soak', () => {
  test(`bench/soak.ts for ${SECONDS} s exits 0`, async () => {
    const proc = Bun.spawn([process.execPath, 'run', 'bench/soak.ts'], {
      cwd: join(import.meta.dir, '..', '..'),
      env: { ...process.env, SOAK_SECONDS: String(SECONDS), SOAK_SETTLE_MS: '5000' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    try {
      const code = await within(proc.exited, (SECONDS + 40) * 1000, 'the soak to finish')
      const out = await new Response(proc.stdout).text()
      const err = await new Response(proc.stderr).text()
      const summary = JSON.parse(out.trim().split('\n').at(-1)!)
      if (code !== 0) console.error(out, err)
      expect(summary.failures).toEqual([])
      expect(code).toBe(0)
      expect(summary.soak).toBe('ok')
      expect(summary.connections).toBeGreaterThan(1000)
      expect(summary.tcp_resets_mid_frame).toBeGreaterThan(0)
      expect(summary.full_queue_disconnects).toBeGreaterThan(0)
      expect(summary.health_at_end).toMatchObject({ connections: 0, subscribers: 0 })
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL')
    }
  }, (SECONDS + 45) * 1000)

  test('the same churn in-process: afterwards the broker holds nothing, runs no timer, and the JS heap is back', async () => {
    await using server = startServer({ queueSize: 50, socketHighWaterBytes: 16 * 1024 })
    for (const name of [...TOPICS, FLOOD_TOPIC]) expect(await server.createTopic(name)).toBe(201)
    const opts = { http: server.http, ws: server.ws, port: server.port, workers: 6 }
    const heapAfterGc = () => {
      Bun.gc(true)
      return heapStats().heapSize
    }
    // Warm-up, then the measured round: the JS heap after a full GC (exact, unlike RSS) must come back within 10%.
    expect((await churn({ ...opts, seconds: 1 })).errors).toEqual([])
    await until(() => (server.pubsub.hub.connectionCount() === 0 ? true : undefined), 10_000, 'every connection released')
    const heapBefore = heapAfterGc()
    const stats = await churn({ ...opts, seconds: 2 })
    expect(stats.errors).toEqual([])
    expect(stats.connections).toBeGreaterThan(100)
    expect(stats.fullQueues).toBeGreaterThan(0)
    await until(() => (server.pubsub.hub.connectionCount() === 0 ? true : undefined), 10_000, 'every connection released')
    expect(await server.pubsub.health()).toMatchObject({ topics: TOPICS.length + 1, subscribers: 0, connections: 0 })
    expect(server.pubsub.hub.connectionCount()).toBe(0)
    expect(server.pubsub.backlog()).toEqual({ queued: 0, stalled: 0, oldestQueuedSeconds: 0 })
    expect(server.pubsub.hub.polling()).toBe(false)
    expect(server.pubsub.hub.flushScheduled()).toBe(false)
    expect((await server.pubsub.stats())[FLOOD_TOPIC]!.dropped).toBeGreaterThan(0)
    expect(server.pubsub.idle()).toBe(true)
    const heapAfter = heapAfterGc()
    console.log(`soak in-process: ${stats.connections} connections; JS heap ${(heapBefore / 1e6).toFixed(1)} → ${(heapAfter / 1e6).toFixed(1)} MB`)
    expect(heapAfter).toBeLessThan(heapBefore * 1.1)
  }, 40_000)
})
