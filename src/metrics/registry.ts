/**
 * The Prometheus metrics of one herald instance, in its own prom-client
 * Registry (never the global one, so several servers in one process, as in
 * the tests, do not collide). Every herald metric is computed at scrape time:
 * counters copy the totals that `MetricsObserver` keeps in plain fields, and
 * gauges ask the broker. docs/operations.md explains each metric.
 *
 * Per-topic series (label `topic`) exist only with METRICS_TOPIC_LABELS=true;
 * they come from `broker.stats()`, so a deleted topic's series disappear and a
 * re-created topic's counters start again from 0 (Prometheus treats that as a
 * counter reset).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { PubSub } from '../pubsub'
import type { MetricsObserver } from './observer'

export interface MetricsOptions {
  topicLabels: boolean
  slowConsumerPolicy: string
}

type Source = Pick<PubSub, 'health' | 'stats' | 'backlog' | 'localCounts'>
type Setter = (value: number, labels?: Record<string, string>) => void

/**
 * `source` with its health and stats answers shared by the metrics of one
 * scrape: prom-client collects every metric in the same event-loop turn, and
 * a Redis engine answers each question with a round trip.
 */
function cached(source: Source): { health: () => Promise<Awaited<ReturnType<Source['health']>>>; stats: () => Promise<Awaited<ReturnType<Source['stats']>>> } {
  const memo = <T>(read: () => T | Promise<T>) => {
    let value: Promise<T> | undefined
    return () => {
      if (value === undefined) {
        value = Promise.resolve().then(read)
        setImmediate(() => (value = undefined))
      }
      return value
    }
  }
  return { health: memo(() => source.health()), stats: memo(() => source.stats()) }
}

export function createRegistry(observer: MetricsObserver, pubsub: Source, options: MetricsOptions): Registry {
  const engine = cached(pubsub)
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const topicLabel = options.topicLabels ? ['topic'] : []

  /** A counter whose value is copied from `read()` at scrape time. */
  // An engine that cannot answer (Redis unreachable) leaves its series out of this scrape instead of failing it.
  function counter(name: string, help: string, labelNames: string[], read: (set: Setter) => void | Promise<void>) {
    new Counter({
      name,
      help,
      labelNames,
      registers,
      async collect(this: Counter) {
        this.reset()
        await Promise.resolve(read((value, labels) => (labels ? this.inc(labels, value) : this.inc(value)))).catch(() => {})
      },
    })
  }
  function gauge(name: string, help: string, labelNames: string[], read: (set: Setter) => void | Promise<void>) {
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect(this: Gauge) {
        this.reset()
        await Promise.resolve(read((value, labels) => (labels ? this.set(labels, value) : this.set(value)))).catch(() => {})
      },
    })
  }
  const perTopic = async (field: 'messages' | 'dropped' | 'bytes' | 'history' | 'history_bytes', set: Setter, extra: Record<string, string> = {}) => {
    for (const [topic, s] of Object.entries(await engine.stats())) set(s[field], { ...extra, topic })
  }

  // Gauges: the state now.
  gauge('herald_connections', 'Open WebSocket connections.', [], (set) => set(pubsub.localCounts().connections))
  gauge('herald_topics', 'Topics that exist.', [], async (set) => set((await engine.health()).topics))
  // This instance's own (summing the series of every instance gives the cluster's).
  gauge('herald_subscriptions', 'Subscriptions (connection + topic pairs) on this instance.', topicLabel, async (set) => {
    const counts = pubsub.localCounts().subscribers
    if (options.topicLabels) for (const topic of Object.keys(await engine.stats())) set(counts.get(topic) ?? 0, { topic })
    else set([...counts.values()].reduce((a, n) => a + n, 0))
  })
  gauge('herald_history_messages', 'Messages held in topic histories for replay.', topicLabel, async (set) => {
    if (options.topicLabels) return perTopic('history', set)
    let total = 0
    for (const s of Object.values(await engine.stats())) total += s.history
    set(total)
  })
  gauge('herald_history_bytes', 'UTF-8 bytes of the messages held in topic histories (bounded by HISTORY_MAX_BYTES per topic and HISTORY_TOTAL_MAX_BYTES in all).', topicLabel, async (set) => {
    if (options.topicLabels) return perTopic('history_bytes', set)
    let total = 0
    for (const s of Object.values(await engine.stats())) total += s.history_bytes
    set(total)
  })
  gauge('herald_queued_frames', 'Frames waiting inside the server for slow sockets (subscription queues and reply queues).', [], (set) => set(pubsub.backlog().queued))
  gauge('herald_stalled_connections', 'Connections whose socket is backed up (waiting for the client to read).', [], (set) => set(pubsub.backlog().stalled))
  gauge('herald_oldest_queued_seconds', 'Age of the oldest event still waiting in a subscription queue (0 when none waits).', [], (set) =>
    set(pubsub.backlog().oldestQueuedSeconds),
  )

  // Counters: totals since start.
  counter('herald_messages_published_total', 'Messages published (accepted publish frames).', topicLabel, (set) =>
    options.topicLabels ? perTopic('messages', set) : set(observer.publishedCount),
  )
  counter('herald_published_bytes_total', 'UTF-8 bytes of the event frames published (once per message, before fan-out).', topicLabel, (set) =>
    options.topicLabels ? perTopic('bytes', set) : set(observer.publishedBytes),
  )
  counter('herald_messages_delivered_total', 'Event frames written to subscribers’ sockets (live and replayed), one per subscriber per message.', [], (set) =>
    set(observer.deliveredCount),
  )
  counter('herald_messages_delivered_native_total', 'Of herald_messages_delivered_total, those written by the runtime’s native fan-out (NATIVE_FANOUT: a turn in which every subscriber of a topic had only that turn’s events of it waiting).', [], (set) =>
    set(observer.castCount),
  )
  counter('herald_messages_dropped_total', 'Messages dropped from slow subscribers’ queues, by slow-consumer policy.', ['policy', ...topicLabel], (set) =>
    options.topicLabels ? perTopic('dropped', set, { policy: options.slowConsumerPolicy }) : set(observer.droppedCount, { policy: options.slowConsumerPolicy }),
  )
  counter('herald_slow_consumer_total', 'Slow-consumer episodes: action="notice" (SLOW_CONSUMER error sent, drop_oldest) or "disconnect" (closed with 4000).', ['action'], (set) => {
    set(observer.slowNotices, { action: 'notice' })
    set(observer.slowDisconnects, { action: 'disconnect' })
  })
  counter('herald_errors_sent_total', 'Error frames sent on /ws, by error code.', ['code'], (set) => {
    for (const [code, n] of observer.errorsSent) set(n, { code })
  })
  counter('herald_ws_frames_received_total', 'Client frames received on /ws, by type ("invalid" when the frame did not decode).', ['type'], (set) => {
    for (const [type, n] of observer.framesReceived) set(n, { type })
  })
  counter('herald_ws_frames_sent_total', 'Frames written to sockets by the broker (events, replies, notices).', [], (set) => set(observer.framesSent))
  counter('herald_ws_bytes_received_total', 'Bytes of WebSocket messages received (payloads, without framing).', [], (set) => set(observer.bytesReceived))
  counter('herald_ws_bytes_sent_total', 'Bytes of frames written to sockets by the broker (payloads, without framing).', [], (set) => set(observer.bytesSent))
  counter('herald_ws_connections_opened_total', 'WebSocket connections accepted.', [], (set) => set(observer.connectionsOpened))
  counter('herald_ws_connections_closed_total', 'WebSocket connections closed, by close code (codes the server does not know are counted as "other").', ['code'], (set) => {
    for (const [code, n] of observer.closes) set(n, { code })
  })

  registry.registerMetric(observer.flushDelayHistogram)
  return registry
}
