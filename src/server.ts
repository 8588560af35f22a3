/**
 * Starts herald: metrics, engine, hub, app, listener, heartbeat, and the shutdown sequence.
 */
import type { Server } from 'bun'
import { Credentials } from './auth/credentials'
import { loadTokenKeys } from './auth/keys'
import { createEngine } from './engine/create'
import { Hub } from './hub/hub'
import { PubSub } from './pubsub'
import type { Config } from './config'
import { CloseCode, CloseReason } from './errors'
import { createApp } from './http/app'
import type { AccessState } from './http/access-control'
import { PeerLiveness } from './http/peer-liveness'
import { loadTls } from './http/tls'
import { AccessMetrics } from './metrics/access-metrics'
import { BROADCAST_TOPIC, nativeTopic } from './http/ws-route'
import { type Logger, createLogger } from './log'
import { MetricsObserver } from './metrics/observer'
import { createRegistry } from './metrics/registry'
import { infoFrame } from './protocol/server-frames'
import type { Registry } from 'prom-client'

export interface Herald {
  readonly port: number
  readonly url: string
  /** The hub joined to the engine: what REST and /ws use. */
  readonly pubsub: PubSub
  /** This instance's Prometheus registry (what GET /metrics serves). */
  readonly metrics: Registry
  /** The graceful shutdown sequence; resolves when every socket is closed and the listener stopped. Idempotent. */
  shutdown(): Promise<void>
}

/** Throws ConfigError (before listening) when a TLS or token key file is missing, unreadable or unusable. */
export function startHerald(config: Config, log: Logger = createLogger('silent')): Herald {
  const tls = loadTls(config)
  const credentials = new Credentials({ apiKey: config.apiKey, keys: loadTokenKeys(config), tokenIssuer: config.tokenIssuer, tokenAudience: config.tokenAudience, tokenMaxBytes: config.tokenMaxBytes })
  const accessMetrics = new AccessMetrics()
  const observer = new MetricsObserver(log)
  const hub = new Hub(config, observer)
  const pubsub = new PubSub(hub, createEngine(config, log), observer, { presenceListMax: config.presenceListMax })
  const registry = createRegistry(observer, pubsub, { topicLabels: config.metricsTopicLabels, slowConsumerPolicy: config.slowConsumerPolicy })
  accessMetrics.register(registry)
  const access: AccessState = { accepting: true, connections: 0 }
  // A peer silent for more than two intervals (at least 8 s, Bun's idle floor) is dropped at the next beat.
  // Not capped like Bun's idle timeout (960 s): with pings only every interval, a live peer is silent for up to one.
  const liveness = new PeerLiveness(PeerLiveness.beatsFor(Math.max(2 * config.heartbeatIntervalMs, 8000), config.heartbeatIntervalMs))
  const app = createApp({ config, pubsub, log, access, metrics: { registry, observer }, liveness, wsAccess: { credentials, observer: accessMetrics } }).listen({
    port: config.port,
    hostname: config.host,
    ...(tls ? { tls } : {}),
  })
  const server = app.server as Server<unknown>
  if (config.nativeFanout) hub.useNativeFanout({ publish: (topic, text) => void server.publish(nativeTopic(topic), text) })
  const heartbeat = setInterval(() => {
    server.publish(BROADCAST_TOPIC, infoFrame('ping'))
    liveness.sweep()
  }, config.heartbeatIntervalMs)

  let stopping: Promise<void> | undefined
  /**
   * 1. stop listening and refuse upgrades and operations (UNAVAILABLE);
   * 2. tell every connection {"type":"info","msg":"server_shutdown"};
   * 3. let queued messages flush until everything is written or SHUTDOWN_GRACE_MS passes;
   * 4. close every socket with 1001;
   * 5. stop the server (Bun's stop() waits for open sockets, hence step 4 first);
   * 6. release the engine (Redis connections; this instance's counts leave the cluster's).
   */
  async function shutdown(): Promise<void> {
    access.accepting = false
    clearInterval(heartbeat)
    credentials.stop()
    pubsub.beginShutdown()
    const stopped = server.stop()
    pubsub.notifyAll(infoFrame('server_shutdown'))
    const deadline = performance.now() + config.shutdownGraceMs
    while (!pubsub.idle() && performance.now() < deadline) await Bun.sleep(10)
    const flushed = pubsub.idle()
    const connections = hub.connectionCount()
    pubsub.closeAll(CloseCode.GOING_AWAY, CloseReason.GOING_AWAY)
    await Promise.race([stopped, Bun.sleep(1000)])
    server.stop(true)
    await pubsub.close()
    log.info('shutdown_complete', { flushed, connections })
  }

  if (credentials.tokensEnabled && !config.apiKey) log.warn('tokens_without_api_key', { message: 'user tokens are on but API_KEY is unset: the REST API is open to anyone' })
  log.info('listening', { url: server.url.href, port: server.port, tls: tls !== undefined, engine: pubsub.engine.kind, instance: pubsub.engine.instanceId })
  return {
    port: server.port!,
    url: server.url.href.replace(/\/$/, ''),
    pubsub,
    metrics: registry,
    shutdown: () => (stopping ??= shutdown()),
  }
}
