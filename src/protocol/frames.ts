/**
 * The wire contract of /ws as TypeBox values: the single source of truth for
 * frame validation, the TypeScript types, and the API documents. Extra fields
 * on client frames are ignored (forward compatible); the server's own frames
 * only ever gain fields, never rename them.
 */
import { Type, type Static } from '@sinclair/typebox'

/** Topic names: 1–200 characters of A–Z a–z 0–9 . _ : - (safe in URLs, metrics labels and logs). */
export const TOPIC_NAME_PATTERN = '^[A-Za-z0-9._:-]{1,200}$'
export const TopicName = Type.String({
  pattern: TOPIC_NAME_PATTERN,
  description: 'Topic name: 1–200 characters of A-Z a-z 0-9 . _ : -',
  error: 'topic must be 1–200 characters of A-Z a-z 0-9 . _ : -',
})

export const UUID_PATTERN = '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'
/**
 * Longest request_id accepted. It is echoed in the reply, so an unbounded one
 * would let a client make the server hold replies of any size (1 MiB each).
 */
export const MAX_REQUEST_ID_LENGTH = 1024
/** Longest epoch accepted in a subscribe (the server's own are 12 hex characters). */
export const MAX_EPOCH_LENGTH = 64
const RequestId = Type.Optional(
  Type.String({
    maxLength: MAX_REQUEST_ID_LENGTH,
    description: `Any string of up to ${MAX_REQUEST_ID_LENGTH} characters; echoed in the reply.`,
    // The length has its own message, checked first by the decoder (decode-frame.ts).
    error: 'request_id must be a string',
  }),
)
// With a user token, dispatch fills in the token's sub when client_id is absent, before validation.
const ClientId = Type.String({
  minLength: 1,
  description: 'Labels the subscription; required, except on a connection with a user token, where it defaults to (and must equal) the token’s sub.',
  error: 'client_id must be a non-empty string',
})

export const SubscribeFrame = Type.Object({
  type: Type.Literal('subscribe'),
  topic: TopicName,
  client_id: ClientId,
  last_n: Type.Optional(Type.Integer({ minimum: 0, description: 'Replay up to this many past messages (capped at HISTORY_SIZE); 0 or absent = none. Not with since_seq.', error: 'last_n must be a non-negative integer' })),
  since_seq: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'Resume: the seq of the last event the client has (0 = from the start of this epoch). Needs epoch. The ack says whether every message after it was replayed (recovered).',
      error: 'since_seq must be a non-negative integer',
    }),
  ),
  epoch: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_EPOCH_LENGTH, description: 'With since_seq: the epoch that seq counts in (from an ack or an event’s topic position).', error: `epoch must be a string of 1–${MAX_EPOCH_LENGTH} characters` })),
  presence: Type.Optional(
    Type.Boolean({
      description: 'Also get info join/leave frames: when a client_id’s first subscription to the topic starts, or its last one ends (over the cluster with ENGINE=redis). Default false.',
      error: 'presence must be a boolean',
    }),
  ),
  request_id: RequestId,
})

export const UnsubscribeFrame = Type.Object({
  type: Type.Literal('unsubscribe'),
  topic: TopicName,
  client_id: ClientId,
  request_id: RequestId,
})

export const Message = Type.Object(
  {
    id: Type.String({ pattern: UUID_PATTERN, description: 'A UUID, any version, any case.', error: 'message.id must be a valid UUID' }),
    payload: Type.Unknown({ description: 'Any JSON value.' }),
  },
  { error: 'message must be an object with id and payload' },
)

export const PublishFrame = Type.Object({
  type: Type.Literal('publish'),
  topic: TopicName,
  message: Message,
  request_id: RequestId,
})

export const PingFrame = Type.Object({
  type: Type.Literal('ping'),
  request_id: RequestId,
})

export const RefreshFrame = Type.Object({
  type: Type.Literal('refresh'),
  token: Type.String({ minLength: 1, description: 'A new token for the same sub; replaces the connection’s token (docs/security.md).', error: 'token must be a non-empty string' }),
  request_id: RequestId,
})

export const ClientFrame = Type.Union([SubscribeFrame, UnsubscribeFrame, PublishFrame, PingFrame, RefreshFrame])
export type SubscribeFrame = Static<typeof SubscribeFrame>
export type UnsubscribeFrame = Static<typeof UnsubscribeFrame>
export type PublishFrame = Static<typeof PublishFrame>
export type PingFrame = Static<typeof PingFrame>
export type RefreshFrame = Static<typeof RefreshFrame>
export type ClientFrame = Static<typeof ClientFrame>
export type Message = Static<typeof Message>

/** Every server frame has `ts`: ISO-8601 UTC ending in Z. */
const Ts = Type.String({ description: 'ISO-8601 UTC timestamp ending in Z.' })

export const AckFrame = Type.Object({
  type: Type.Literal('ack'),
  request_id: Type.Optional(Type.String()),
  topic: Type.Optional(TopicName),
  status: Type.Literal('ok'),
  seq: Type.Optional(
    Type.Integer({ minimum: 0, description: "On the ack of a subscribe: the topic's latest seq when the subscription started (0 if none; the replay ends there, live events continue after it). On the ack of a publish: the message's seq." }),
  ),
  recovered: Type.Optional(
    Type.Boolean({
      description:
        'On the ack of a subscribe with since_seq: true when the epoch matched and every message after since_seq was still held — exactly those follow the ack, then live events; false when not — nothing is replayed (never a partial recovery).',
    }),
  ),
  missed: Type.Optional(
    Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
      description: 'With recovered: false — how many messages after since_seq are no longer held (trimmed or expired; the rest can still be read with GET /topics/{name}/messages), or null when the epoch changed and the server cannot know.',
    }),
  ),
  epoch: Type.Optional(
    Type.String({ description: "With seq: the epoch that seq counts in. It changes whenever the topic's seq starts again (topic deleted and created again, server restarted with ENGINE=memory, Redis lost the topic's data), so seq 5 of one epoch is not seq 5 of another." }),
  ),
  ts: Ts,
})

export const EventFrame = Type.Object({
  type: Type.Literal('event'),
  topic: TopicName,
  seq: Type.Integer({ minimum: 1, description: "The topic's message sequence number: 1, 2, 3, … per topic." }),
  message: Message,
  ts: Ts,
})

export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  request_id: Type.Optional(Type.String()),
  topic: Type.Optional(Type.String()),
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    dropped: Type.Optional(Type.Integer({ minimum: 1, description: 'On a SLOW_CONSUMER notice (drop_oldest): how many messages of the topic were dropped in this episode — the seq gap after it. The message says the same for people.' })),
  }),
  ts: Ts,
})

export const PongFrame = Type.Object({
  type: Type.Literal('pong'),
  request_id: Type.Optional(Type.String()),
  ts: Ts,
})

export const InfoFrame = Type.Object({
  type: Type.Literal('info'),
  topic: Type.Optional(TopicName),
  msg: Type.Union([Type.Literal('topic_deleted'), Type.Literal('ping'), Type.Literal('server_shutdown'), Type.Literal('unsubscribed'), Type.Literal('join'), Type.Literal('leave')], {
    description: 'join / leave: only to a subscription made with presence: true — client_id’s first subscription to the topic started, or its last one ended.',
  }),
  reason: Type.Optional(Type.String({ description: 'Why (unsubscribed: the refreshed token no longer allows the topic).' })),
  client_id: Type.Optional(Type.String({ description: 'With join / leave: the client_id that joined or left.' })),
  ts: Ts,
})

export const ServerFrame = Type.Union([AckFrame, EventFrame, ErrorFrame, PongFrame, InfoFrame])
export type ServerFrame = Static<typeof ServerFrame>
