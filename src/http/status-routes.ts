/** REST: /health (liveness, never behind auth), /ready (for load balancers, never behind auth) and /stats. */
import { Type } from '@sinclair/typebox'
import { Elysia, t } from 'elysia'
import type { PubSub } from '../pubsub'
import { ErrorBody } from './rest-errors'

// Plain TypeBox integers: Elysia's t.Integer also accepts numeric strings, which is right for input, not for documenting output.
const Count = (description?: string) => Type.Integer({ minimum: 0, ...(description ? { description } : {}) })

export const HealthBody = t.Object({
  uptime_sec: Count('Seconds since start.'),
  topics: Count('Topics in the cluster.'),
  subscribers: Count('All subscriptions over the cluster (other instances’ at most about 2 s stale).'),
  connections: Count('Open WebSocket connections of this instance.'),
  instance: t.String({ description: 'This instance (INSTANCE_ID).' }),
  engine: t.String({ description: 'memory or redis (ENGINE).' }),
  instances: Count('Live instances of the cluster, this one included (1 with ENGINE=memory).'),
  engine_ready: t.Boolean({ description: 'False while the engine cannot be reached (Redis down): the counts are then this instance’s own.' }),
})

export const ReadyBody = t.Object({
  ready: t.Boolean({ description: 'True: this instance takes new connections and work. False (503): shutting down, or its engine unreachable.' }),
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

export function statusRoutes(pubsub: PubSub, startedAt: number = performance.now()) {
  const { engine } = pubsub
  return new Elysia({ name: 'status-routes' })
    .get(
      '/health',
      async () => {
        // Liveness: answers 200 even while the engine is unreachable (then with this instance's own counts).
        const h = await pubsub.health()
        return {
          uptime_sec: Math.floor((performance.now() - startedAt) / 1000),
          topics: h.topics,
          subscribers: h.subscribers,
          connections: h.connections,
          instance: engine.instanceId,
          engine: engine.kind,
          instances: h.instances,
          engine_ready: h.engineReady,
        }
      },
      { response: { 200: HealthBody }, detail: { summary: 'Liveness and counts (never needs the API key)', tags: ['status'], security: [] } },
    )
    .get(
      '/ready',
      ({ status }) => {
        const ready = pubsub.ready()
        return ready ? { ready } : status(503, { ready })
      },
      { response: { 200: ReadyBody, 503: ReadyBody }, detail: { summary: 'Readiness for load balancers: 503 while shutting down or while the engine is unreachable (never needs the API key)', tags: ['status'], security: [] } },
    )
    // A Response, not an object: Elysia's response normalization rebuilds objects by assignment and would
    // drop a topic named '__proto__'. The schema still documents the body.
    .get('/stats', async () => Response.json({ topics: await pubsub.stats() }), {
      response: { 200: StatsBody, 401: ErrorBody, 503: ErrorBody },
      detail: { summary: 'Per-topic counters', tags: ['status'] },
    })
}
