/**
 * REST for a topic's messages: publish over plain HTTP (a backend that only
 * publishes need not hold a WebSocket open) and read its history. Both go
 * through the same PubSub as /ws, so subscribers get the same `event` frame
 * whichever way a message was published, and the history is the one `last_n`
 * and `since_seq` replay.
 */
import { Type } from '@sinclair/typebox'
import { Elysia, t } from 'elysia'
import { ErrorCode, HeraldError } from '../errors'
import type { Logger } from '../log'
import { Message, TopicName, UUID_PATTERN } from '../protocol/frames'
import type { PubSub } from '../pubsub'
import { ErrorBody } from './rest-errors'

/** Most messages one history request returns; the default when `limit` is absent. */
export const HISTORY_PAGE_MAX = 1000
export const HISTORY_PAGE_DEFAULT = 100

export const PublishBody = t.Object({
  id: t.Optional(Type.String({ pattern: UUID_PATTERN, description: 'A UUID; generated when absent.', error: 'id must be a valid UUID' })),
  payload: Type.Unknown({ description: 'Any JSON value.' }),
})

export const Published = t.Object({
  topic: t.String(),
  seq: Type.Integer({ minimum: 1, description: 'The seq the message got.' }),
  epoch: t.String({ description: 'The epoch that seq counts in.' }),
  id: t.String(),
})

export const HistoryQuery = t.Object({
  since_seq: t.Optional(t.Numeric({ minimum: 0, multipleOf: 1, description: 'Messages with seq greater than this, oldest first.', error: 'since_seq must be a non-negative integer' })),
  last: t.Optional(t.Numeric({ minimum: 0, maximum: HISTORY_PAGE_MAX, multipleOf: 1, description: `The newest this many messages (at most ${HISTORY_PAGE_MAX}).`, error: `last must be an integer from 0 to ${HISTORY_PAGE_MAX}` })),
  limit: t.Optional(t.Numeric({ minimum: 1, maximum: HISTORY_PAGE_MAX, multipleOf: 1, description: `With since_seq: at most this many (default ${HISTORY_PAGE_DEFAULT}, at most ${HISTORY_PAGE_MAX}).`, error: `limit must be an integer from 1 to ${HISTORY_PAGE_MAX}` })),
})

export const HistoryPage = t.Object({
  topic: t.String(),
  epoch: t.String(),
  seq: Type.Integer({ minimum: 0, description: "The topic's latest seq when the history was read." }),
  messages: t.Array(
    t.Object({
      seq: Type.Integer({ minimum: 1 }),
      id: t.String(),
      payload: Type.Unknown(),
      ts: t.String({ description: 'ISO-8601 UTC time of the publish.' }),
    }),
  ),
})

export function messageRoutes(pubsub: PubSub, log?: Logger) {
  return new Elysia({ name: 'message-routes' })
    .post(
      '/topics/:name/messages',
      async ({ params, body, status }) => {
        const message: Message = { id: body.id ?? crypto.randomUUID(), payload: body.payload }
        const published = await pubsub.publish(params.name, message)
        log?.debug('http_publish', { topic: params.name, seq: published.seq })
        return status(201, { topic: params.name, seq: published.seq, epoch: published.epoch, id: message.id })
      },
      {
        params: t.Object({ name: TopicName }),
        body: PublishBody,
        response: { 201: Published, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 413: ErrorBody, 503: ErrorBody },
        detail: { summary: "Publish a message; the topic's subscribers get the same event frame as a WebSocket publish", tags: ['messages'] },
      },
    )
    .get(
      '/topics/:name/messages',
      async ({ params, query }) => {
        if (query.since_seq !== undefined && query.last !== undefined) throw new HeraldError(ErrorCode.BAD_REQUEST, 'give since_seq (with limit) or last, not both')
        if (query.limit !== undefined && query.since_seq === undefined) throw new HeraldError(ErrorCode.BAD_REQUEST, 'limit goes with since_seq (use last for the newest messages)')
        const read =
          query.since_seq !== undefined
            ? { sinceSeq: query.since_seq, limit: query.limit ?? HISTORY_PAGE_DEFAULT }
            : { last: query.last ?? HISTORY_PAGE_DEFAULT }
        const history = await pubsub.engine.history(params.name, read)
        const messages = history.publications.map((p) => {
          // The stored event frame is the one source: what the history API returns is what subscribers got.
          const event = JSON.parse(p.frame) as { seq: number; message: Message; ts: string }
          return { seq: event.seq, id: event.message.id, payload: event.message.payload, ts: event.ts }
        })
        // A Response, not an object: Elysia's response normalization would drop a payload key named '__proto__'.
        return Response.json({ topic: params.name, epoch: history.position.epoch, seq: history.position.seq, messages })
      },
      {
        params: t.Object({ name: TopicName }),
        query: HistoryQuery,
        response: { 200: HistoryPage, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody },
        detail: { summary: "A topic's history, oldest first: the newest `last`, or after `since_seq`", tags: ['messages'] },
      },
    )
}
