/**
 * HeraldClient: one WebSocket connection to herald's /ws that survives
 * restarts. It reconnects with backoff (close-policy.ts decides whether),
 * subscribes again from each subscription's last position, detects a dead
 * connection from the server's heartbeat, and refreshes its token before
 * expiry. No runtime dependency: the same code runs in browsers, Bun and
 * Node ≥ 20 (pass `WebSocket` there, e.g. from the `ws` package).
 *
 * States: disconnected → connecting → connected → (connection lost)
 * disconnected → connecting → … ; `closed` is final (close(), a close code
 * that says not to retry, or a failed first attempt without
 * `waitForFirstConnect`).
 */
import { backoffDelay } from './backoff'
import { closeAction } from './close-policy'
import { type Deferred, deferred, uuid } from './deferred'
import { Emitter } from './emitter'
import { HeraldError } from './errors'
import { type SubscribeOptions, Subscription, type SubscriptionHost } from './subscription'
import { realTimers, type Timers } from './timers'
import { tokenClaims, tokenExpiry } from './token'
import { describeClose, wsUrl } from './url'
import type { ClientEvents, ClientState, HeraldClientOptions, PublishResult, StateChange, WebSocketConstructor, WebSocketLike } from './options'
import type { IncomingAck, IncomingError, IncomingFrame, IncomingInfo, OutgoingFrame } from './wire'

interface InFlight {
  resolve(ack: IncomingAck): void
  reject(error: HeraldError): void
  timer: unknown
  /** The frame's JSON while it waits for a connection; unset once written. */
  frame?: string
}

const OPEN = 1
const MAX_TIMER_MS = 2 ** 31 - 1

export class HeraldClient extends Emitter<ClientEvents> implements SubscriptionHost {
  /** The client_id for subscriptions when neither the option nor a token's sub gives one. */
  private readonly randomClientId = uuid()
  private readonly opts: Required<Omit<HeraldClientOptions, 'apiKey' | 'token' | 'getToken' | 'WebSocket' | 'clientId' | 'timers'>>
  private readonly timers: Timers
  private readonly WS: WebSocketConstructor
  private currentState: ClientState = 'disconnected'
  private socket: WebSocketLike | undefined
  private token: string | undefined
  private attempt = 0
  private everConnected = false
  private lastClose: { code: number; reason: string } | undefined
  private connectWaiters: Array<Deferred<void>> = []
  private readonly subs = new Map<string, Subscription>()
  private readonly inflight = new Map<string, InFlight>()
  private requestCounter = 0
  private lastSeen = 0
  private heartbeatTimer: unknown
  private retryTimer: unknown
  private connectTimer: unknown
  private refreshTimer: unknown

  constructor(
    readonly url: string,
    private readonly options: HeraldClientOptions = {},
  ) {
    super()
    this.opts = {
      reconnect: options.reconnect ?? true,
      minReconnectDelayMs: options.minReconnectDelayMs ?? 500,
      maxReconnectDelayMs: options.maxReconnectDelayMs ?? 20_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 75_000,
      tokenRefreshMarginMs: options.tokenRefreshMarginMs ?? 30_000,
      waitForFirstConnect: options.waitForFirstConnect ?? false,
    }
    this.timers = options.timers ?? realTimers
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (!WS) throw new HeraldError('INVALID_ARGUMENT', 'no global WebSocket here (Node 20): pass the WebSocket option, e.g. from the ws package')
    this.WS = WS
    this.token = options.token
    wsUrl(url) // fails fast on a bad URL
  }

  get state(): ClientState {
    return this.currentState
  }

  /**
   * The `client_id` of this client's subscriptions: the `clientId` option, else
   * the current token's `sub` (a server with tokens refuses any other), else a
   * random UUID fixed for this client.
   */
  get clientId(): string {
    return this.options.clientId ?? (this.token === undefined ? undefined : tokenClaims(this.token).sub) ?? this.randomClientId
  }

  /** Resolves once connected; see `waitForFirstConnect` for a first attempt that fails. */
  connect(): Promise<void> {
    if (this.currentState === 'closed') return Promise.reject(new HeraldError('CLOSED', 'the client is closed'))
    if (this.currentState === 'connected') return Promise.resolve()
    const waiter = deferred<void>()
    this.connectWaiters.push(waiter)
    if (this.currentState === 'disconnected' && this.retryTimer === undefined) void this.openSocket()
    return waiter.promise
  }

  /** Closes the connection for good: pending requests reject with CLOSED, subscriptions end. */
  close(): void {
    this.finish(new HeraldError('CLOSED', 'the client is closed'), undefined)
  }

  subscribe(topic: string, options: SubscribeOptions = {}): Subscription {
    if (this.currentState === 'closed') throw new HeraldError('CLOSED', 'the client is closed')
    if (options.sinceSeq !== undefined && options.lastN !== undefined) throw new HeraldError('INVALID_ARGUMENT', 'give sinceSeq or lastN, not both')
    if (options.sinceSeq !== undefined && options.epoch === undefined) throw new HeraldError('INVALID_ARGUMENT', 'sinceSeq needs the epoch it belongs to')
    if (this.subs.has(topic)) throw new HeraldError('INVALID_ARGUMENT', `already subscribed to '${topic}' (one subscription per topic and client)`)
    const sub = new Subscription(topic, options, this)
    this.subs.set(topic, sub)
    if (this.currentState === 'connected') this.sendSubscribe(sub)
    return sub
  }

  /** @internal Called by Subscription.unsubscribe(). */
  async unsubscribe(sub: Subscription): Promise<void> {
    if (this.subs.get(sub.topic) !== sub) return
    this.subs.delete(sub.topic)
    if (this.currentState !== 'connected') return // the next connection does not subscribe it again
    await this.request({ type: 'unsubscribe', topic: sub.topic, client_id: this.clientId })
  }

  /** Publishes one message; resolves with its seq and epoch from the ack, rejects with a HeraldError. */
  async publish(topic: string, payload: unknown, options: { id?: string; timeoutMs?: number } = {}): Promise<PublishResult> {
    const id = options.id ?? uuid()
    const ack = await this.request({ type: 'publish', topic, message: { id, payload } }, options.timeoutMs)
    return { seq: ack.seq, epoch: ack.epoch, id }
  }

  /** A round trip to the server (ping → pong); resolves with the time it took, in ms. */
  async ping(timeoutMs?: number): Promise<number> {
    const start = this.timers.now()
    await this.request({ type: 'ping' }, timeoutMs)
    return this.timers.now() - start
  }

  // --- requests -----------------------------------------------------------------

  /** Sends a frame with a fresh request_id (now, or once connected) and resolves with its reply. */
  private request(frame: OutgoingFrame, timeoutMs = this.opts.requestTimeoutMs): Promise<IncomingAck> {
    if (this.currentState === 'closed') return Promise.reject(new HeraldError('CLOSED', 'the client is closed'))
    const request_id = `c${++this.requestCounter}`
    let text: string
    try {
      text = JSON.stringify({ ...frame, request_id })
    } catch (error) {
      // A BigInt or a cycle in the payload: refused here, nothing was sent.
      return Promise.reject(new HeraldError('INVALID_ARGUMENT', `${frame.type}: not serializable as JSON (${(error as Error).message})`))
    }
    return new Promise<IncomingAck>((resolve, reject) => {
      const entry: InFlight = {
        resolve,
        reject,
        timer: this.timers.setTimeout(() => {
          this.inflight.delete(request_id)
          const what = entry.frame !== undefined ? 'no connection' : 'no reply'
          reject(new HeraldError('TIMEOUT', `${frame.type}: ${what} within ${timeoutMs} ms`, { topic: 'topic' in frame ? frame.topic : undefined }))
        }, timeoutMs),
      }
      this.inflight.set(request_id, entry)
      if (this.currentState === 'connected') this.socket!.send(text)
      else entry.frame = text
    })
  }

  private sendSubscribe(sub: Subscription): void {
    this.request(sub.subscribeFrame(this.clientId)).then(
      (ack) => sub.acked(ack),
      (error: HeraldError) => {
        // Lost with the connection: the next one subscribes again. Refused or timed out: tell the subscription.
        if (error.code === 'DISCONNECTED' || error.code === 'CLOSED') return
        const final = error.code !== 'TIMEOUT'
        if (final && this.subs.get(sub.topic) === sub) this.subs.delete(sub.topic)
        sub.failed(error, final)
      },
    )
  }

  // --- connection lifecycle -------------------------------------------------------

  private setState(state: ClientState, extra: Omit<StateChange, 'state' | 'previous'> = {}): void {
    const previous = this.currentState
    if (previous === state) return
    this.currentState = state
    this.emit('state', { state, previous, ...extra })
  }

  private async openSocket(): Promise<void> {
    this.retryTimer = undefined
    this.setState('connecting')
    try {
      if (this.options.getToken) this.token = await this.options.getToken()
    } catch (error) {
      this.emit('error', new HeraldError('UNAUTHORIZED', `getToken() failed: ${String(error)}`))
      return this.lost({ code: 1006, reason: 'getToken() failed' })
    }
    if (this.currentState !== 'connecting') return // closed while waiting for the token
    let socket: WebSocketLike
    try {
      socket = new this.WS(wsUrl(this.url, { apiKey: this.options.apiKey, token: this.token }))
    } catch (error) {
      return this.finish(new HeraldError('CONNECT_FAILED', `cannot open ${this.url}: ${String(error)}`), undefined)
    }
    this.socket = socket
    this.connectTimer = this.timers.setTimeout(() => this.drop(socket, { code: 1006, reason: `not open within ${this.opts.connectTimeoutMs} ms` }), this.opts.connectTimeoutMs)
    socket.onopen = () => this.opened(socket)
    socket.onmessage = (event) => this.received(socket, event.data)
    socket.onclose = (event) => this.drop(socket, { code: event.code, reason: event.reason })
    socket.onerror = () => {} // a close event follows
  }

  private opened(socket: WebSocketLike): void {
    if (socket !== this.socket) return
    this.timers.clearTimeout(this.connectTimer)
    this.attempt = 0
    this.everConnected = true
    this.lastSeen = this.timers.now()
    this.setState('connected')
    this.armHeartbeat()
    this.armRefresh()
    for (const sub of this.subs.values()) this.sendSubscribe(sub)
    // Requests made while disconnected go out after the subscribes, in the order they were made.
    for (const entry of this.inflight.values())
      if (entry.frame !== undefined) {
        this.socket!.send(entry.frame)
        entry.frame = undefined
      }
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve()
  }

  private received(socket: WebSocketLike, data: unknown): void {
    if (socket !== this.socket) return
    this.lastSeen = this.timers.now()
    let frame: IncomingFrame
    try {
      frame = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer))
    } catch {
      return // not from herald; nothing sensible to do with it
    }
    if (!isFrame(frame)) return
    switch (frame.type) {
      case 'event':
        this.subs.get(frame.topic)?.event(frame)
        return
      case 'ack':
      case 'pong':
        this.settle(frame.request_id, (entry) => entry.resolve(frame as IncomingAck))
        return
      case 'error':
        return this.receivedError(frame)
      case 'info':
        return this.receivedInfo(frame)
    }
  }

  private settle(requestId: string | undefined, how: (entry: InFlight) => void): boolean {
    const entry = requestId === undefined ? undefined : this.inflight.get(requestId)
    if (!entry) return false
    this.inflight.delete(requestId!)
    this.timers.clearTimeout(entry.timer)
    how(entry)
    return true
  }

  private receivedError(frame: IncomingError): void {
    const error = new HeraldError(frame.error.code, frame.error.message, { topic: frame.topic })
    if (this.settle(frame.request_id, (entry) => entry.reject(error))) return
    if (frame.error.code === 'SLOW_CONSUMER' && frame.topic !== undefined) {
      // Today the count is only in the sentence; prefer the field when the server sends one.
      // The field; the sentence only for a server older than the field.
      const dropped = frame.error.dropped ?? Number(/dropped (\d+)/.exec(frame.error.message)?.[1] ?? NaN)
      this.subs.get(frame.topic)?.slowConsumer({ dropped: Number.isFinite(dropped) ? dropped : undefined, message: frame.error.message })
      return
    }
    this.emit('error', error)
  }

  private receivedInfo(frame: IncomingInfo): void {
    const sub = frame.topic === undefined ? undefined : this.subs.get(frame.topic)
    switch (frame.msg) {
      case 'server_shutdown':
        this.emit('shutdown', { ts: frame.ts })
        return
      case 'topic_deleted':
      case 'unsubscribed':
        if (!sub) return
        this.subs.delete(sub.topic)
        sub.endedByServer(frame.msg === 'topic_deleted' ? 'deleted' : 'unsubscribed', frame.reason)
        return
      case 'join':
      case 'leave':
        if (sub && frame.client_id !== undefined) sub.presence({ msg: frame.msg, client_id: frame.client_id })
        return
      // 'ping' (the heartbeat) only refreshes lastSeen, done above.
    }
  }

  /** The heartbeat check runs once per timeout, not once per frame: a frame only records when it came. */
  private armHeartbeat(): void {
    const timeout = this.opts.heartbeatTimeoutMs
    if (timeout <= 0) return
    const check = () => {
      const silent = this.timers.now() - this.lastSeen
      if (silent >= timeout) return this.drop(this.socket!, { code: 1006, reason: `no frame from the server for ${timeout} ms` })
      this.heartbeatTimer = this.timers.setTimeout(check, timeout - silent)
    }
    this.heartbeatTimer = this.timers.setTimeout(check, timeout)
  }

  /** Before the token's exp: getToken() and a refresh frame on the open connection. */
  private armRefresh(): void {
    const getToken = this.options.getToken
    const exp = this.token === undefined ? undefined : tokenExpiry(this.token)
    if (!getToken || exp === undefined) return
    // setTimeout fires at once past 2³¹−1 ms (24.8 days): a longer wait is re-armed from there.
    const wait = Math.max(0, exp - this.opts.tokenRefreshMarginMs - this.timers.epochMs())
    if (wait > MAX_TIMER_MS) {
      this.refreshTimer = this.timers.setTimeout(() => this.armRefresh(), MAX_TIMER_MS)
      return
    }
    const delay = wait
    this.refreshTimer = this.timers.setTimeout(async () => {
      try {
        const token = await getToken()
        // The same (or an older) token again would refresh in a loop; the server's TOKEN_EXPIRED ends it instead.
        if ((tokenExpiry(token) ?? 0) <= exp) throw new HeraldError('UNAUTHORIZED', 'getToken() returned a token that expires no later than the current one')
        this.token = token
        await this.request({ type: 'refresh', token })
        this.armRefresh()
      } catch (error) {
        // The server closes with TOKEN_EXPIRED at exp; the reconnect asks getToken() again.
        this.emit('error', error instanceof HeraldError ? error : new HeraldError('UNAUTHORIZED', `token refresh failed: ${String(error)}`))
      }
    }, delay)
  }

  private clearConnectionTimers(): void {
    for (const timer of [this.heartbeatTimer, this.connectTimer, this.refreshTimer]) this.timers.clearTimeout(timer)
    this.heartbeatTimer = this.connectTimer = this.refreshTimer = undefined
  }

  /** Forgets `socket` (closing it if still open) and handles the loss. Later events of that socket are ignored. */
  private drop(socket: WebSocketLike, close: { code: number; reason: string }): void {
    if (socket !== this.socket) return
    this.socket = undefined
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null
    try {
      if (socket.readyState <= OPEN) socket.close()
    } catch {}
    this.lost(close)
  }

  private lost(close: { code: number; reason: string }): void {
    this.clearConnectionTimers()
    this.lastClose = close
    for (const [id, entry] of this.inflight)
      if (entry.frame === undefined) {
        this.inflight.delete(id)
        this.timers.clearTimeout(entry.timer)
        entry.reject(new HeraldError('DISCONNECTED', `connection lost (${close.code}${close.reason ? ` ${close.reason}` : ''}) before the reply`, { closeCode: close.code, closeReason: close.reason }))
      }
    for (const sub of this.subs.values()) sub.disconnected()
    if (this.currentState === 'closed') return
    const details = { closeCode: close.code, closeReason: close.reason }
    if (!this.everConnected && !this.opts.waitForFirstConnect)
      return this.finish(new HeraldError('CONNECT_FAILED', `cannot connect to ${this.url} (${describeClose(close)})`, details), close)
    const action = closeAction(close.code)
    if (!this.opts.reconnect || action === 'stop') return this.finish(new HeraldError('CLOSED', `connection closed: ${describeClose(close)}`, details), close)
    const wasConnected = this.currentState === 'connected'
    // Immediate only right after a working connection: a failed immediate attempt backs off as usual.
    const delay = action === 'reconnect_now' && wasConnected ? 0 : backoffDelay(this.attempt++, { minDelayMs: this.opts.minReconnectDelayMs, maxDelayMs: this.opts.maxReconnectDelayMs }, this.timers.random())
    this.setState('disconnected', { closeCode: close.code, closeReason: close.reason, retryInMs: delay })
    this.retryTimer = this.timers.setTimeout(() => void this.openSocket(), delay)
  }

  /** The final state: everything pending rejects with `error`. */
  private finish(error: HeraldError, close: { code: number; reason: string } | undefined): void {
    if (this.currentState === 'closed') return
    this.timers.clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    const socket = this.socket
    if (socket) {
      this.socket = undefined
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null
      try {
        socket.close(1000)
      } catch {}
    }
    this.clearConnectionTimers()
    this.setState('closed', close ? { closeCode: close.code, closeReason: close.reason } : {})
    for (const [, entry] of this.inflight) {
      this.timers.clearTimeout(entry.timer)
      entry.reject(error)
    }
    this.inflight.clear()
    for (const sub of this.subs.values()) sub.end()
    this.subs.clear()
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(error)
    if (error.code !== 'CLOSED' || close) this.emit('error', error)
  }

  /** The close code and reason of the last lost connection, if any. */
  lastCloseEvent(): { code: number; reason: string } | undefined {
    return this.lastClose && { ...this.lastClose }
  }
}

/**
 * The shape the dispatch relies on; anything else is ignored (a proxy's or
 * another server's frames must not throw inside the socket's handler).
 */
function isFrame(value: unknown): value is IncomingFrame {
  if (typeof value !== 'object' || value === null) return false
  const f = value as Record<string, any>
  switch (f.type) {
    case 'event':
      return typeof f.topic === 'string' && typeof f.seq === 'number' && typeof f.message === 'object' && f.message !== null
    case 'error':
      return typeof f.error === 'object' && f.error !== null && typeof f.error.code === 'string' && typeof f.error.message === 'string'
    case 'ack':
    case 'pong':
    case 'info':
      return true
    default:
      return false
  }
}
