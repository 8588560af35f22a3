/** The client's options, states and events (the public types of client.ts). */
import type { HeraldError } from './errors'
import type { Timers } from './timers'

/** The part of the standard WebSocket the client uses (browsers, Bun, Node 22+, the `ws` package). */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((event: any) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: any) => void) | null
}
export type WebSocketConstructor = new (url: string) => WebSocketLike

export interface HeraldClientOptions {
  /** Sent as `?api_key=` (the admin credential; browsers cannot set headers on a WebSocket). */
  apiKey?: string
  /** A user token, sent as `?token=`. */
  token?: string
  /** Called before every connection attempt and before the token expires; its result replaces `token`. */
  getToken?: () => string | Promise<string>
  /** The WebSocket constructor; default the global one (Node 20 has none: pass `ws`). */
  WebSocket?: WebSocketConstructor
  /** The `client_id` of subscriptions. Default: the token's `sub` with a token, else a random UUID per client. */
  clientId?: string
  /** Reconnect after a lost connection. Default true. */
  reconnect?: boolean
  /** Ceiling of the first reconnect delay (full jitter: a random delay in [0, ceiling)). Default 500 ms. */
  minReconnectDelayMs?: number
  /** Largest reconnect delay ceiling. Default 20 000 ms. */
  maxReconnectDelayMs?: number
  /** A connection attempt that has not opened after this long is abandoned (and retried). Default 10 000 ms. */
  connectTimeoutMs?: number
  /** publish/unsubscribe/subscribe without a reply after this long reject with TIMEOUT (this includes waiting for a connection). Default 10 000 ms. */
  requestTimeoutMs?: number
  /**
   * No frame from the server for this long (the server sends `info ping` every
   * HEARTBEAT_INTERVAL_MS, default 30 s) → the connection is taken as dead and
   * replaced. Must exceed the server's interval. Default 75 000 ms; 0 = off.
   */
  heartbeatTimeoutMs?: number
  /** getToken() is called this long before the token's `exp`, and the result sent in a `refresh` frame. Default 30 000 ms. */
  tokenRefreshMarginMs?: number
  /** When false (default), connect() rejects with CONNECT_FAILED if the first attempt fails; when true it keeps trying. */
  waitForFirstConnect?: boolean
  /** Clock, timers and randomness; default the real ones (tests inject fakes). */
  timers?: Timers
}

export type ClientState = 'disconnected' | 'connecting' | 'connected' | 'closed'

export interface StateChange {
  state: ClientState
  previous: ClientState
  /** On disconnected/closed after a socket closed: its close code and reason. */
  closeCode?: number
  closeReason?: string
  /** On disconnected: the delay before the next attempt. */
  retryInMs?: number
}

export interface ClientEvents {
  state: StateChange
  /** Errors that belong to no request: a failed attempt, TOKEN_EXPIRED, a refused refresh, a final close code. */
  error: HeraldError
  /** The server said `info server_shutdown`: it closes with 1001 soon, and the client reconnects at once. */
  shutdown: { ts: string }
}

export interface PublishResult {
  /** The message's seq, when the server's ack carries it. */
  seq: number | undefined
  epoch: string | undefined
  id: string
}
