/** REST: /health (liveness, never behind auth) and /stats. */
import { Type } from '@sinclair/typebox'
import { Elysia, t } from 'elysia'
import type { Broker } from '../broker/broker'
import { ErrorBody } from './rest-errors'

// Plain TypeBox integers: Elysia's t.Integer also accepts numeric strings, which is right for input, not for documenting output.
const Count = (description?: string) => Type.Integer({ minimum: 0, ...(description ? { description } : {}) })

export const HealthBody = t.Object({
  uptime_sec: Count('Seconds since start.'),
  topics: Count(),
  subscribers: Count('All subscriptions over all connections.'),
  connections: Count('Open WebSocket connections.'),
})

export const StatsBody = t.Object({
  topics: t.Record(
    t.String(),
    t.Object({
      messages: Count('Published since the topic was created.'),
      subscribers: Count('Current subscriptions.'),
      dropped: Count('Dropped from slow subscribers’ queues.'),
      bytes: Count('UTF-8 bytes of event frames published.'),
      history: Count('Messages held for replay.'),
      history_bytes: Count('UTF-8 bytes of the messages held for replay.'),
      last_publish: t.Union([t.String({ description: 'ISO-8601 UTC time of the last publish.' }), t.Null()]),
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
      { response: { 200: HealthBody }, detail: { summary: 'Liveness and counts (never needs the API key)', tags: ['status'], security: [] } },
    )
    // A Response, not an object: Elysia's response normalization rebuilds objects by assignment and would
    // drop a topic named '__proto__'. The schema still documents the body.
    .get('/stats', () => Response.json({ topics: broker.stats() }), { response: { 200: StatsBody, 401: ErrorBody }, detail: { summary: 'Per-topic counters', tags: ['status'] } })
}
