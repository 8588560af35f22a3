/**
 * The Elysia application: one plugin per concern, composed. Bun's WebSocket
 * options live here because they only take effect in `new Elysia({ websocket })`.
 */
import { Elysia } from 'elysia'
import type { Broker } from '../broker/broker'
import { type Config, idleTimeoutSeconds } from '../config'
import type { Logger } from '../log'
import { type AccessState, accessControl } from './access-control'
import { restErrors } from './rest-errors'
import { statusRoutes } from './status-routes'
import { topicRoutes } from './topic-routes'
import { type PeerLiveness, wsRoute } from './ws-route'

export interface AppDeps {
  config: Config
  broker: Broker
  log: Logger
  access: AccessState
  /** Dead-peer detection, swept by the server's heartbeat. */
  liveness?: PeerLiveness
}

export function createApp({ config, broker, log, access, liveness }: AppDeps) {
  return new Elysia({
    websocket: {
      maxPayloadLength: config.maxPayloadBytes,
      idleTimeout: idleTimeoutSeconds(config),
      sendPings: true,
      // The broker never lets a socket's buffer pass socketHighWaterBytes by more than one frame,
      // so Bun's own limit (past which it silently drops) is set well above that.
      backpressureLimit: config.socketHighWaterBytes + 2 * config.maxPayloadBytes + 64 * 1024,
      closeOnBackpressureLimit: false,
      perMessageDeflate: false,
    },
    serve: { maxRequestBodySize: config.maxPayloadBytes },
  })
    .use(restErrors(log))
    .use(accessControl(config.apiKey, access))
    .use(statusRoutes(broker))
    .use(topicRoutes(broker))
    .use(wsRoute(broker, log, liveness))
}

export type App = ReturnType<typeof createApp>
