/**
 * The Elysia application: one plugin per concern, composed. Bun's WebSocket
 * options live here because they only take effect in `new Elysia({ websocket })`.
 */
import { Elysia } from 'elysia'
import type { Registry } from 'prom-client'
import type { Credentials } from '../auth/credentials'
import { type Config, idleTimeoutSeconds } from '../config'
import type { Logger } from '../log'
import type { PubSub } from '../pubsub'
import type { AccessObserver } from '../metrics/access-metrics'
import { type AccessState, restAccess } from './access-control'
import { PUBLIC_PATHS } from './auth'
import { cors } from './cors'
import { dashboardRoutes } from './dashboard-routes'
import { DOCS_PATHS, docsRoutes } from './docs-routes'
import { messageRoutes } from './message-routes'
import { metricsRoute } from './metrics-route'
import { restErrors } from './rest-errors'
import { statusRoutes } from './status-routes'
import { topicRoutes } from './topic-routes'
import type { PeerLiveness } from './peer-liveness'
import { type WsObserver, wsRoute } from './ws-route'

export interface AppDeps {
  config: Config
  pubsub: PubSub
  log: Logger
  access: AccessState
  /** The instance's metrics: /metrics serves `registry`, the /ws route reports to `observer`. Absent: no /metrics. */
  metrics?: { registry: Registry; observer: WsObserver }
  /** Dead-peer detection, swept by the server's heartbeat. */
  liveness?: PeerLiveness
  /** The API key and user tokens for /ws, and where access is counted. Absent: API_KEY only. */
  wsAccess?: { credentials: Credentials; observer?: AccessObserver }
}

/** Routes (templates, which are also their only paths) reachable without the API key: /health always, /metrics and the documents when configured so. */
export function publicPaths(config: Config): Set<string> {
  const paths = new Set(PUBLIC_PATHS)
  if (config.metricsPublic) paths.add('/metrics')
  if (config.docsPublic) for (const p of DOCS_PATHS) paths.add(p)
  return paths
}

export function createApp({ config, pubsub, log, access, metrics, liveness, wsAccess }: AppDeps) {
  return new Elysia({
    websocket: {
      maxPayloadLength: config.maxPayloadBytes,
      idleTimeout: idleTimeoutSeconds(config),
      sendPings: true,
      // The hub never lets a socket's buffer pass socketHighWaterBytes by more than one frame,
      // so Bun's own limit (past which it silently drops) is set well above that.
      backpressureLimit: config.socketHighWaterBytes + 2 * config.maxPayloadBytes + 64 * 1024,
      closeOnBackpressureLimit: false,
      perMessageDeflate: false,
    },
    // development: false, whatever NODE_ENV says: Bun's development mode rebuilds HTML imports with a
    // hot-reload client and prints to stdout (dashboard-routes.ts). `routes` go to Bun.serve as they are.
    serve: { maxRequestBodySize: config.maxPayloadBytes, development: false, routes: dashboardRoutes(config) },
  })
    .use(restErrors(log))
    .use(cors(config))
    .use(restAccess(config, publicPaths(config), wsAccess?.credentials))
    .use(statusRoutes(pubsub))
    .use(topicRoutes(pubsub, log))
    .use(messageRoutes(pubsub, log))
    .use(metrics ? metricsRoute(metrics.registry, config.metricsPublic) : new Elysia({ name: 'no-metrics' }))
    .use(wsRoute({ pubsub, log, config, access, observer: metrics?.observer, liveness, wsAccess }))
    .use(docsRoutes(config.docsPublic, config.dashboard))
}
