/** REST: /health (liveness, never behind auth) and /stats. */
import { Elysia, t } from 'elysia'
import type { Broker } from '../broker/broker'

export const HealthBody = t.Object({
  uptime_sec: t.Integer({ minimum: 0 }),
  topics: t.Integer({ minimum: 0 }),
  /** All subscriptions over all connections. */
  subscribers: t.Integer({ minimum: 0 }),
  connections: t.Integer({ minimum: 0 }),
})

export const StatsBody = t.Object({
  topics: t.Record(
    t.String(),
    t.Object({
      messages: t.Integer({ minimum: 0, description: 'Published since the topic was created.' }),
      subscribers: t.Integer({ minimum: 0 }),
      dropped: t.Integer({ minimum: 0, description: 'Dropped from slow subscribers’ queues.' }),
      bytes: t.Integer({ minimum: 0, description: 'UTF-8 bytes of event frames published.' }),
      history: t.Integer({ minimum: 0, description: 'Messages held for replay.' }),
      last_publish: t.Union([t.String(), t.Null()]),
    }),
  ),
})

export function statusRoutes(broker: Broker, startedAt: number = performance.now()) {
  return new Elysia({ name: 'status-routes' })
    .get(
      '/health',
      () => {
        const h = broker.health()
        return { uptime_sec: Math.floor((performance.now() - startedAt) / 1000), topics: h.topics, subscribers: h.subscribers, connections: h.connections }
      },
      { response: { 200: HealthBody }, detail: { summary: 'Liveness and counts (no auth)', tags: ['status'] } },
    )
    // A Response, not an object: Elysia's response normalization rebuilds objects by assignment and would
    // drop a topic named '__proto__'. The schema still documents the body.
    .get('/stats', () => Response.json({ topics: broker.stats() }), { response: { 200: StatsBody }, detail: { summary: 'Per-topic counters', tags: ['status'] } })
}
