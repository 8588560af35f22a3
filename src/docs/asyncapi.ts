/**
 * The AsyncAPI 3 document of the /ws protocol, generated from the TypeBox
 * frame schemas that the server validates with (src/protocol/frames.ts), the
 * error codes and the close codes (src/errors.ts). Nothing about a frame's
 * shape is written here a second time: this file only names the messages,
 * says which operation sends which, and gives one example of each (the test
 * suite checks every example against its schema).
 *
 * Served at GET /asyncapi.json and written to docs/asyncapi.json by
 * `npm run docs:asyncapi`; a test keeps the two identical.
 */
import type { TSchema } from '@sinclair/typebox'
import pkg from '../../package.json'
import { CloseCode, closeCodeInfo, type ErrorCode, errorCodeInfo } from '../errors'
import { AckFrame, ErrorFrame, EventFrame, InfoFrame, PingFrame, PongFrame, PublishFrame, RefreshFrame, SubscribeFrame, UnsubscribeFrame } from '../protocol/frames'

/** TypeBox schema → plain JSON Schema: symbols drop out in JSON, and the `error` option (our own validation message) is renamed to an extension. */
export function toJsonSchema(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema), (key, value) => {
    if (value && typeof value === 'object' && !Array.isArray(value) && typeof value.error === 'string') {
      const { error, ...rest } = value
      return { ...rest, 'x-validation-message': error }
    }
    return value
  })
}

const wsErrorCodes = (Object.keys(errorCodeInfo) as ErrorCode[]).filter((c) => errorCodeInfo[c].ws)

function errorFrameSchema(): Record<string, unknown> {
  const schema = toJsonSchema(ErrorFrame) as any
  schema.properties.error.properties.code = {
    type: 'string',
    enum: wsErrorCodes,
    description: wsErrorCodes.map((c) => `${c}: ${errorCodeInfo[c].description}`).join('\n'),
  }
  return schema
}

const ts = '2026-01-01T12:00:00.000Z'
const id = '3f1c8f4e-6c1a-4d2b-9a77-0f5e2f5b9c11'

/** Every frame of the protocol: its schema, who sends it, and one example. */
export const frames = {
  subscribe: {
    schema: SubscribeFrame,
    from: 'client',
    summary: 'Subscribe this connection to a topic; optionally replay up to last_n past messages.',
    example: { type: 'subscribe', topic: 'orders', client_id: 'dashboard-1', last_n: 5, request_id: 'r1' },
  },
  unsubscribe: {
    schema: UnsubscribeFrame,
    from: 'client',
    summary: 'Remove this connection’s subscription to a topic (idempotent).',
    example: { type: 'unsubscribe', topic: 'orders', client_id: 'dashboard-1', request_id: 'r2' },
  },
  publish: {
    schema: PublishFrame,
    from: 'client',
    summary: 'Publish a message to every subscriber of a topic (no subscription needed).',
    example: { type: 'publish', topic: 'orders', message: { id, payload: { order: 42, status: 'paid' } }, request_id: 'r3' },
  },
  ping: { schema: PingFrame, from: 'client', summary: 'Application-level ping; answered with pong.', example: { type: 'ping', request_id: 'r4' } },
  refresh: {
    schema: RefreshFrame,
    from: 'client',
    summary: 'Replace the connection’s user token with a new one for the same sub, before it expires; subscriptions the new token does not allow end with info unsubscribed, then the ack.',
    example: { type: 'refresh', token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl', request_id: 'r5' },
  },
  ack: {
    schema: AckFrame,
    from: 'server',
    summary: 'Success reply to subscribe, unsubscribe or publish; echoes request_id. The ack of a subscribe carries the topic’s seq and epoch when the subscription started; the ack of a publish, the message’s.',
    example: { type: 'ack', request_id: 'r1', topic: 'orders', status: 'ok', seq: 41, epoch: '9f3a61c02b7e', ts },
  },
  event: {
    schema: EventFrame,
    from: 'server',
    summary: 'A message on a subscribed topic: replayed history first (after the ack), then live; seq is 1, 2, 3, … per topic.',
    example: { type: 'event', topic: 'orders', seq: 17, message: { id, payload: { order: 42, status: 'paid' } }, ts },
  },
  error: {
    schema: ErrorFrame,
    from: 'server',
    summary: 'Failure reply (echoes request_id), or an unsolicited SLOW_CONSUMER notice (with topic).',
    example: { type: 'error', request_id: 'r3', error: { code: 'TOPIC_NOT_FOUND', message: "Topic 'orderz' does not exist" }, ts },
  },
  pong: { schema: PongFrame, from: 'server', summary: 'Reply to ping; echoes request_id.', example: { type: 'pong', request_id: 'r4', ts } },
  info: {
    schema: InfoFrame,
    from: 'server',
    summary:
      'Server notice: msg "ping" (heartbeat, every HEARTBEAT_INTERVAL_MS), "topic_deleted" (with topic; the subscription is gone), "server_shutdown" (close with 1001 follows), "unsubscribed" (with topic and reason: a refreshed token no longer allows the topic; the subscription is gone).',
    example: { type: 'info', topic: 'orders', msg: 'topic_deleted', ts },
  },
} as const satisfies Record<string, { schema: TSchema; from: 'client' | 'server'; summary: string; example: unknown }>

type FrameName = keyof typeof frames

/** Client frame → the replies it gets. */
const replies: Partial<Record<FrameName, FrameName[]>> = {
  subscribe: ['ack', 'error'],
  unsubscribe: ['ack', 'error'],
  publish: ['ack', 'error'],
  ping: ['pong', 'error'],
  refresh: ['ack', 'info', 'error'],
}

function closeCodesMarkdown(): string {
  const rows = (Object.keys(CloseCode) as (keyof typeof CloseCode)[]).map(
    (k) => `| ${CloseCode[k]} | ${k} | ${closeCodeInfo[k].reconnect ? 'yes' : 'no'} | ${closeCodeInfo[k].description} |`,
  )
  return ['| code | name | reconnect | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n')
}

function errorCodesMarkdown(): string {
  return ['| code | meaning |', '| --- | --- |', ...wsErrorCodes.map((c) => `| ${c} | ${errorCodeInfo[c].description} |`)].join('\n')
}

export function asyncApiDocument(): Record<string, unknown> {
  const names = Object.keys(frames) as FrameName[]
  const schemaName = (n: FrameName) => `${n[0]!.toUpperCase()}${n.slice(1)}Frame`
  const channelMessage = (n: FrameName) => ({ $ref: `#/channels/ws/messages/${n}` })
  const channel = { $ref: '#/channels/ws' }

  const operations: Record<string, unknown> = {}
  for (const n of names) {
    const f = frames[n]
    const reply = replies[n]
    operations[f.from === 'client' ? `receive${schemaName(n).replace('Frame', '')}` : `send${schemaName(n).replace('Frame', '')}`] = {
      action: f.from === 'client' ? 'receive' : 'send',
      channel,
      summary: f.summary,
      messages: [channelMessage(n)],
      ...(reply ? { reply: { channel, messages: reply.map(channelMessage) } } : {}),
    }
  }

  return {
    asyncapi: '3.1.0',
    id: 'urn:herald:ws',
    info: {
      title: 'herald WebSocket API',
      version: pkg.version,
      description: [
        'Publish/subscribe over one WebSocket at `/ws`. Every frame is a JSON text frame; every server frame has `ts` (ISO-8601 UTC ending in Z), and every reply to a frame that carried `request_id` echoes it. See docs/protocol.md.',
        '',
        '## Error codes (error frames)',
        errorCodesMarkdown(),
        '',
        '## Close codes',
        closeCodesMarkdown(),
      ].join('\n'),
      license: { name: pkg.license },
    },
    defaultContentType: 'application/json',
    servers: {
      herald: {
        host: '{host}',
        protocol: 'ws',
        pathname: '/ws',
        description:
          'A herald instance. When it runs with API_KEY set, the upgrade needs header X-API-Key or query parameter api_key; with a TOKEN_* key set, a user token (Authorization: Bearer, or query parameter token) or the API key (HTTP 401 otherwise). See docs/security.md.',
        variables: { host: { default: 'localhost:8080', description: 'host:port of the server (HOST, PORT).' } },
        security: [
          { $ref: '#/components/securitySchemes/apiKeyHeader' },
          { $ref: '#/components/securitySchemes/apiKeyQuery' },
          { $ref: '#/components/securitySchemes/tokenBearer' },
          { $ref: '#/components/securitySchemes/tokenQuery' },
        ],
      },
    },
    channels: {
      ws: {
        address: '/ws',
        title: 'The publish/subscribe socket',
        description: `One connection carries any number of subscriptions and publishes.\n\n${closeCodesMarkdown()}`,
        messages: Object.fromEntries(names.map((n) => [n, { $ref: `#/components/messages/${n}` }])),
        'x-close-codes': Object.fromEntries((Object.keys(CloseCode) as (keyof typeof CloseCode)[]).map((k) => [String(CloseCode[k]), { name: k, ...closeCodeInfo[k] }])),
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              properties: {
                api_key: { type: 'string', description: 'The API key, for clients that cannot set headers (browsers).' },
                token: { type: 'string', description: 'A user token (JWT), for browsers.' },
              },
            },
            headers: {
              type: 'object',
              properties: {
                'X-API-Key': { type: 'string', description: 'The API key, when the server has one.' },
                Authorization: { type: 'string', description: 'Bearer <user token>, when the server has a TOKEN_* key.' },
              },
            },
            bindingVersion: '0.1.0',
          },
        },
      },
    },
    operations,
    components: {
      schemas: Object.fromEntries(names.map((n) => [schemaName(n), n === 'error' ? errorFrameSchema() : toJsonSchema(frames[n].schema)])),
      messages: Object.fromEntries(
        names.map((n) => [
          n,
          {
            name: n,
            title: `${n} (${frames[n].from} → ${frames[n].from === 'client' ? 'server' : 'client'})`,
            summary: frames[n].summary,
            contentType: 'application/json',
            payload: { $ref: `#/components/schemas/${schemaName(n)}` },
            examples: [{ name: n, payload: frames[n].example }],
          },
        ]),
      ),
      securitySchemes: {
        apiKeyHeader: { type: 'httpApiKey', name: 'X-API-Key', in: 'header', description: 'Needed only when the server runs with API_KEY.' },
        apiKeyQuery: { type: 'httpApiKey', name: 'api_key', in: 'query', description: 'Same key as a query parameter, for browsers.' },
        tokenBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A user token with topic permissions (docs/security.md), when the server has a TOKEN_* key.' },
        tokenQuery: { type: 'httpApiKey', name: 'token', in: 'query', description: 'Same user token as a query parameter, for browsers.' },
      },
    },
  }
}

/** The document as written to docs/asyncapi.json and served at /asyncapi.json. */
export function asyncApiJson(): string {
  return JSON.stringify(asyncApiDocument(), null, 2) + '\n'
}
