/**
 * The dashboard's only WebSocket code: one topic's live feed over the raw /ws protocol
 * (docs/protocol.md). Written against the protocol because the client SDK (issue 13) does not
 * exist yet; when it lands, this module is the one to replace with it, behind the same
 * `TopicFeed` interface.
 *
 * - Subscribes with `last_n` on every (re)connect; after a reconnect, events at or below the last
 *   seq shown are skipped, so the tail neither repeats nor (within the history kept) misses events.
 *   A topic deleted, or a subscribe ack with a different `epoch` (issue 9's field), starts seq over.
 * - Reconnects after 0.5 s, doubling to at most 10 s; a close by the page itself does not.
 * - The API key, when there is one, goes in the `api_key` query parameter: browsers cannot set
 *   headers on a WebSocket, and this is the only URL the key ever appears in.
 */
import { uuid } from './dom'

export interface LiveEvent {
  seq: number
  id: string
  ts: string
  payload: unknown
}

/** `unsubscribed`: the socket is open but the subscribe was refused, or the topic was deleted. */
export type FeedState = 'connecting' | 'live' | 'reconnecting' | 'unsubscribed' | 'closed'

/** Something the tail shows between events: a slow-consumer notice, the topic's deletion, an error. */
export interface FeedNotice {
  kind: 'slow_consumer' | 'topic_deleted' | 'error'
  text: string
}

export interface TopicFeedOptions {
  topic: string
  /** Past events replayed on subscribe (capped by the server's HISTORY_SIZE). */
  lastN: number
  apiKey: string | null
  onEvent(event: LiveEvent): void
  onNotice(notice: FeedNotice): void
  onState(state: FeedState): void
}

export interface TopicFeed {
  /** Publishes `payload`; resolves with the seq the server gave it. */
  publish(payload: unknown): Promise<{ seq: number }>
  close(): void
}

const RECONNECT_MIN_MS = 500
const RECONNECT_MAX_MS = 10_000
/** How long a publish waits for its ack, and then for its own event when the ack carries no seq. */
const PUBLISH_TIMEOUT_MS = 5000

type Frame = Record<string, any>

export function wsUrl(apiKey: string | null, base: Location = location): string {
  const url = new URL('/ws', base.href)
  url.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:'
  if (apiKey) url.searchParams.set('api_key', apiKey)
  return url.href
}

export function openTopicFeed(options: TopicFeedOptions): TopicFeed {
  const clientId = `dashboard-${uuid().slice(0, 8)}`
  let socket: WebSocket | undefined
  let closedByPage = false
  let delay = RECONNECT_MIN_MS
  let lastSeq = 0
  let epoch: string | undefined
  let nextRequest = 0
  /** Replies awaited, by request_id. */
  const pending = new Map<string, { resolve: (f: Frame) => void; reject: (e: Error) => void }>()
  /** Publishes whose ack had no seq, waiting for their own event, by message id. */
  const awaitingEvent = new Map<string, (seq: number) => void>()

  function connect() {
    options.onState(socket ? 'reconnecting' : 'connecting')
    const ws = new WebSocket(wsUrl(options.apiKey))
    socket = ws
    ws.onopen = () => {
      delay = RECONNECT_MIN_MS
      const lastN = lastSeq === 0 ? options.lastN : Math.max(options.lastN, 100)
      request({ type: 'subscribe', topic: options.topic, client_id: clientId, last_n: lastN }).then(
        (ack) => {
          if (ack.epoch !== undefined && epoch !== undefined && ack.epoch !== epoch) lastSeq = 0
          epoch = ack.epoch
          options.onState('live')
        },
        (error: Error) => {
          options.onState('unsubscribed')
          options.onNotice({ kind: 'error', text: error.message })
        },
      )
    }
    ws.onmessage = (e) => {
      let frame: Frame
      try {
        frame = JSON.parse(String(e.data))
      } catch {
        return
      }
      receive(frame)
    }
    ws.onclose = () => {
      for (const p of pending.values()) p.reject(new Error('connection closed'))
      pending.clear()
      if (closedByPage) return options.onState('closed')
      options.onState('reconnecting')
      setTimeout(connect, delay)
      delay = Math.min(RECONNECT_MAX_MS, delay * 2)
    }
  }

  function receive(frame: Frame) {
    const waiter = typeof frame.request_id === 'string' ? pending.get(frame.request_id) : undefined
    if (waiter) {
      pending.delete(frame.request_id)
      if (frame.type === 'error') waiter.reject(new Error(`${frame.error?.code}: ${frame.error?.message}`))
      else waiter.resolve(frame)
      return
    }
    if (frame.type === 'event' && frame.topic === options.topic) {
      const seq = Number(frame.seq)
      if (seq <= lastSeq) return
      lastSeq = seq
      const id = String(frame.message?.id)
      awaitingEvent.get(id)?.(seq)
      awaitingEvent.delete(id)
      options.onEvent({ seq, id, ts: String(frame.ts), payload: frame.message?.payload })
    } else if (frame.type === 'info' && frame.msg === 'topic_deleted' && frame.topic === options.topic) {
      lastSeq = 0
      options.onState('unsubscribed')
      options.onNotice({ kind: 'topic_deleted', text: 'The topic was deleted.' })
    } else if (frame.type === 'error' && frame.error?.code === 'SLOW_CONSUMER') {
      options.onNotice({ kind: 'slow_consumer', text: String(frame.error.message) })
    }
  }

  function request(frame: Frame): Promise<Frame> {
    const request_id = `dash-${++nextRequest}`
    return new Promise((resolve, reject) => {
      if (socket?.readyState !== WebSocket.OPEN) return reject(new Error('not connected'))
      pending.set(request_id, { resolve, reject })
      socket.send(JSON.stringify({ ...frame, request_id }))
      setTimeout(() => pending.delete(request_id) && reject(new Error('no reply from the server')), PUBLISH_TIMEOUT_MS)
    })
  }

  connect()
  return {
    async publish(payload) {
      const id = uuid()
      // The subscription sees its own event: with no seq in the ack (servers before issue 9), that event tells it.
      const ownEvent = new Promise<number>((resolve, reject) => {
        awaitingEvent.set(id, resolve)
        setTimeout(() => awaitingEvent.delete(id) && reject(new Error('published, but the event did not come back')), PUBLISH_TIMEOUT_MS)
      })
      ownEvent.catch(() => {})
      const ack = await request({ type: 'publish', topic: options.topic, message: { id, payload } }).catch((error) => {
        awaitingEvent.delete(id)
        throw error
      })
      if (typeof ack.seq === 'number') {
        awaitingEvent.delete(id)
        return { seq: ack.seq }
      }
      return { seq: await ownEvent }
    },
    close() {
      closedByPage = true
      socket?.close(1000)
    },
  }
}
