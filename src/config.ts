/**
 * The one typed configuration. Every option is a row of `options`: its
 * environment variable, its flag, its TypeBox type (with the default and the
 * doc), and nothing else. Precedence: defaults < environment < flags. The
 * result is validated once at start-up; `--help` is generated from the rows.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

const MiB = 1024 * 1024
/** Empty, or printable ASCII (0x20–0x7E) that neither starts nor ends with a space (header values are trimmed). */
export const API_KEY_PATTERN = '^([!-~]([ -~]*[!-~])?)?$'

export const options = {
  port: {
    env: 'PORT',
    schema: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'TCP port to listen on (0 picks a free port).' }),
  },
  host: {
    env: 'HOST',
    schema: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Address to bind.' }),
  },
  engine: {
    env: 'ENGINE',
    schema: Type.Union([Type.Literal('memory'), Type.Literal('redis'), Type.Literal('sqlite')], {
      default: 'memory',
      description: 'Where topics, seq and history live: memory (this process only, lost on restart), sqlite (this process, kept in SQLITE_PATH across restarts and crashes) or redis (shared by every instance on REDIS_URL; see docs/scale-out.md).',
    }),
  },
  sqlitePath: {
    env: 'SQLITE_PATH',
    schema: Type.String({ minLength: 1, default: './herald.db', description: 'ENGINE=sqlite: the database file (created when missing; WAL mode, one herald process per file). A corrupt, locked or unwritable file stops the start-up with exit 2.' }),
  },
  redisUrl: {
    env: 'REDIS_URL',
    schema: Type.String({ minLength: 1, pattern: '^rediss?://', default: 'redis://127.0.0.1:6379', description: 'The Redis of ENGINE=redis: redis://[user:password@]host:port[/db], or rediss:// for TLS.' }),
  },
  redisPrefix: {
    env: 'REDIS_PREFIX',
    schema: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._:-]+$', default: 'herald', description: 'Every Redis key and channel starts with it, so several herald clusters can share one Redis.' }),
  },
  instanceId: {
    env: 'INSTANCE_ID',
    schema: Type.String({ maxLength: 100, pattern: '^[A-Za-z0-9._:-]*$', default: '', description: 'This instance in /health, logs and the cluster counts. Empty = hostname plus a random suffix.' }),
  },
  redisCommandTimeoutMs: {
    env: 'REDIS_COMMAND_TIMEOUT_MS',
    schema: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000, description: 'ENGINE=redis: a Redis command unanswered this long fails; the client gets UNAVAILABLE (REST 503) instead of waiting.' }),
  },
  maxFramesInFlight: {
    env: 'MAX_FRAMES_IN_FLIGHT',
    schema: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000, description: 'Frames of one connection that may wait for the engine at once (only ENGINE=redis makes them wait); past it a frame gets RATE_LIMITED unexecuted, at twice it the connection is closed with 4429.' }),
  },
  apiKey: {
    env: 'API_KEY',
    secret: true,
    schema: Type.String({
      // Printable ASCII only: HTTP header values are bytes, and a key outside ASCII could never be sent in X-API-Key.
      pattern: API_KEY_PATTERN,
      error: 'API_KEY must be printable ASCII (letters, digits, punctuation; spaces only inside): it is sent in the X-API-Key header',
      default: '',
      description: 'When set, REST (except /health) needs header X-API-Key and /ws needs X-API-Key or ?api_key=. Printable ASCII. Empty = no auth.',
    }),
  },
  tokenHmacSecret: {
    env: 'TOKEN_HMAC_SECRET',
    secret: true,
    schema: Type.String({ default: '', description: 'Secret (at least 32 bytes) that verifies HS256 user tokens on /ws, and that `herald token` signs with. Set at most one TOKEN_* key source. Empty = tokens off.' }),
  },
  tokenPublicKeyFile: {
    env: 'TOKEN_PUBLIC_KEY_FILE',
    schema: Type.String({ default: '', description: 'PEM public key file that verifies user tokens: an RSA key (RS256) or an EC P-256 key (ES256).' }),
  },
  tokenJwksFile: {
    env: 'TOKEN_JWKS_FILE',
    schema: Type.String({ default: '', description: 'JWKS JSON file of public keys (RS256/ES256), each with a kid; the token header kid selects the key.' }),
  },
  tokenIssuer: {
    env: 'TOKEN_ISSUER',
    schema: Type.String({ default: '', description: 'When set, a token must carry this iss. Empty = not checked.' }),
  },
  tokenAudience: {
    env: 'TOKEN_AUDIENCE',
    schema: Type.String({ default: '', description: 'When set, a token must carry this aud. Empty = not checked.' }),
  },
  tokenMaxBytes: {
    env: 'TOKEN_MAX_BYTES',
    schema: Type.Integer({ minimum: 256, maximum: 65_536, default: 8192, description: 'Longest token accepted (in ?token=, Authorization or a refresh frame); longer is refused unread. Request heads over 16 KiB get 431 from Bun first.' }),
  },
  tlsCertFile: {
    env: 'TLS_CERT_FILE',
    schema: Type.String({ default: '', description: 'PEM certificate (chain) file: with TLS_KEY_FILE, serve https and wss on PORT. Both or neither.' }),
  },
  tlsKeyFile: {
    env: 'TLS_KEY_FILE',
    schema: Type.String({ default: '', description: 'PEM private key file of TLS_CERT_FILE.' }),
  },
  queueSize: {
    env: 'QUEUE_SIZE',
    schema: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100, description: 'Messages each subscription may hold while its socket is backed up; past it the oldest is dropped.' }),
  },
  historySize: {
    env: 'HISTORY_SIZE',
    schema: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 100, description: 'Messages kept per topic for replay with last_n (0 = no replay).' }),
  },
  historyTtlMs: {
    env: 'HISTORY_TTL_MS',
    schema: Type.Integer({ minimum: 0, maximum: 365 * 24 * 3_600_000, default: 0, description: 'Messages older than this (ms) are no longer held: not replayed, not returned by the history API, and a resume from before them gets recovered: false. 0 = no expiry. Every engine (with ENGINE=redis, by the Redis server clock).' }),
  },
  historyMaxBytes: {
    env: 'HISTORY_MAX_BYTES',
    schema: Type.Integer({ minimum: 0, maximum: 64 * 1024 * MiB, default: 16 * MiB, description: 'Bytes of history kept per topic (UTF-8 bytes of the event frames); the oldest go first. A message larger than this is not kept, and the older ones are dropped with it so that history stays contiguous.' }),
  },
  historyTotalMaxBytes: {
    env: 'HISTORY_TOTAL_MAX_BYTES',
    schema: Type.Integer({ minimum: 0, maximum: 1024 * 1024 * MiB, default: 512 * MiB, description: 'Bytes of history kept over all topics; when reached, the oldest messages across all topics are evicted. Memory held is at most about twice this (JS strings).' }),
  },
  maxQueuedBytesPerConnection: {
    env: 'MAX_QUEUED_BYTES_PER_CONNECTION',
    schema: Type.Integer({ minimum: 64 * 1024, maximum: 64 * 1024 * MiB, default: 16 * MiB, description: "Bytes that may wait inside the server for one connection, over its replies, replays and subscription queues (on top of the socket's own buffer, SOCKET_HIGH_WATER_BYTES). Past it, drop_oldest drops the oldest events of the subscription being published to; what still does not fit closes the connection with SLOW_CONSUMER / 4000." }),
  },
  closeFlushTimeoutMs: {
    env: 'CLOSE_FLUSH_TIMEOUT_MS',
    schema: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 60_000, description: 'When the server closes a socket (slow consumer 4000, rate-limit abuse 4429), what was already written to it is delivered first and the close frame follows; a client that has not read it all after this long is dropped without a close frame.' }),
  },
  heartbeatIntervalMs: {
    env: 'HEARTBEAT_INTERVAL_MS',
    schema: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000, description: 'Interval of the {"type":"info","msg":"ping"} frame and a WebSocket ping; a peer silent for more than two intervals (at least 8 s) is closed at the next beat.' }),
  },
  slowConsumerPolicy: {
    env: 'SLOW_CONSUMER_POLICY',
    schema: Type.Union([Type.Literal('drop_oldest'), Type.Literal('disconnect')], { default: 'drop_oldest', description: 'On queue overflow: drop_oldest keeps the newest messages and sends a SLOW_CONSUMER notice; disconnect sends SLOW_CONSUMER and closes with 4000.' }),
  },
  maxPayloadBytes: {
    env: 'MAX_PAYLOAD_BYTES',
    schema: Type.Integer({ minimum: 64, maximum: 64 * MiB, default: MiB, description: 'Largest WebSocket frame (larger closes with 1009) and REST body (larger gets 413).' }),
  },
  shutdownGraceMs: {
    env: 'SHUTDOWN_GRACE_MS',
    schema: Type.Integer({ minimum: 0, maximum: 600_000, default: 5000, description: 'On SIGTERM/SIGINT, how long to flush queued messages before closing sockets with 1001.' }),
  },
  socketHighWaterBytes: {
    env: 'SOCKET_HIGH_WATER_BYTES',
    schema: Type.Integer({ minimum: 1024, maximum: 256 * MiB, default: MiB, description: 'Bytes buffered in the server for one socket above which its messages wait in its queue (where drop-oldest applies).' }),
  },
  nativeFanout: {
    env: 'NATIVE_FANOUT',
    schema: Type.Boolean({ default: true, description: "Write a topic's events with Bun's native fan-out (server.publish) in the turns where every subscriber of the topic has only those events waiting and room for them in its socket: the same frames in the same order, without a JavaScript call per subscriber (less CPU under load); a topic whose last turns had one event each is written per subscriber (faster for a shallow publisher). false: always one send per subscriber." }),
  },
  logLevel: {
    env: 'LOG_LEVEL',
    schema: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('silent')], { default: 'info', description: 'Least severe log level written (see docs/operations.md for the events at each level).' }),
  },
  logFormat: {
    env: 'LOG_FORMAT',
    schema: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')], { default: 'auto', description: 'json: one JSON object per line; pretty: human-readable; auto: pretty when stdout is a terminal, else json.' }),
  },
  metricsTopicLabels: {
    env: 'METRICS_TOPIC_LABELS',
    schema: Type.Boolean({ default: false, description: 'Add a topic label to per-topic metrics. Off by default: topic names are unbounded, and every name becomes a time series.' }),
  },
  metricsPublic: {
    env: 'METRICS_PUBLIC',
    schema: Type.Boolean({ default: false, description: 'Serve GET /metrics without the API key (when API_KEY is set). Default: /metrics needs X-API-Key like the rest of the REST API.' }),
  },
  docsPublic: {
    env: 'DOCS_PUBLIC',
    schema: Type.Boolean({ default: true, description: 'Serve the API documents (/openapi, /openapi/json, /asyncapi.json) without the API key. They describe the contract and hold no data.' }),
  },
  dashboard: {
    env: 'DASHBOARD',
    schema: Type.Boolean({ default: true, description: 'Serve the web dashboard at / (its page and assets are built into the binary and hold no data; with API_KEY set it asks for the key or a user token). false = no dashboard routes.' }),
  },
  maxTopics: {
    env: 'MAX_TOPICS',
    schema: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 10_000, description: 'Topics that may exist at once; POST /topics past it gets 429 LIMIT_EXCEEDED.' }),
  },
  maxSubscriptionsPerConnection: {
    env: 'MAX_SUBSCRIPTIONS_PER_CONNECTION',
    schema: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000, description: 'Topics one connection may subscribe to; past it subscribe gets error LIMIT_EXCEEDED.' }),
  },
  presenceListMax: {
    env: 'PRESENCE_LIST_MAX',
    schema: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 1000, description: 'Most client_ids GET /topics/{name}/subscribers lists (the first by client_id); its total still counts them all.' }),
  },
  maxConnections: {
    env: 'MAX_CONNECTIONS',
    schema: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000, description: 'Open WebSocket connections; a refused upgrade gets HTTP 503.' }),
  },
  rateLimitPerSec: {
    env: 'RATE_LIMIT_PER_SEC',
    schema: Type.Number({ minimum: 0, maximum: 1_000_000, default: 0, description: 'Frames per second each connection may send (token bucket); past it a frame gets error RATE_LIMITED and is not executed. 0 = off.' }),
  },
  rateLimitBurst: {
    env: 'RATE_LIMIT_BURST',
    schema: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0, description: 'Bucket size: frames a connection may send at once above the rate. 0 = same as RATE_LIMIT_PER_SEC (at least 1).' }),
  },
  rateLimitCloseAfterMs: {
    env: 'RATE_LIMIT_CLOSE_AFTER_MS',
    schema: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 5000, description: 'A connection rate-limited without a one-second pause for this long is closed with 4429.' }),
  },
  allowedOrigins: {
    env: 'ALLOWED_ORIGINS',
    schema: Type.String({ default: '', description: 'Comma-separated exact origins (e.g. https://app.example.com) allowed to open /ws; others get 403. Empty = any. Requests without Origin (non-browser clients) are allowed.' }),
  },
} as const satisfies Record<string, { env: string; schema: TSchema; /** Never echoed in an error message. */ secret?: boolean }>

type Options = typeof options
export const ConfigSchema = Type.Object(
  Object.fromEntries(Object.entries(options).map(([k, o]) => [k, o.schema])) as { [K in keyof Options]: Options[K]['schema'] },
  { additionalProperties: false },
)
export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

function flagOf(env: string): string {
  return '--' + env.toLowerCase().replaceAll('_', '-')
}

/** Reads `--flag value` and `--flag=value` pairs; unknown flags are an error. */
function readFlags(argv: readonly string[]): Record<string, string> {
  const byFlag = new Map(Object.entries(options).map(([key, o]) => [flagOf(o.env), key]))
  const out: Record<string, string> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const eq = arg.indexOf('=')
    const flag = eq === -1 ? arg : arg.slice(0, eq)
    const key = byFlag.get(flag)
    if (!key) throw new ConfigError(`unknown argument '${arg}' (see --help)`)
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined) throw new ConfigError(`${flag} needs a value`)
    out[key] = value
  }
  return out
}

/** Builds and validates the config. Throws ConfigError with a message naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env, argv: readonly string[] = []): Config {
  const flags = readFlags(argv)
  const raw: Record<string, unknown> = {}
  for (const [key, o] of Object.entries(options)) {
    const given = flags[key] ?? env[o.env]
    if (given === undefined) {
      raw[key] = o.schema.default
      continue
    }
    const source = flags[key] !== undefined ? flagOf(o.env) : o.env
    const value = parseRaw(o.schema, given)
    if (!Value.Check(o.schema, value)) {
      const err = Value.Errors(o.schema, value).First()
      const shown = 'secret' in o && o.secret ? ' (value not shown)' : `=${JSON.stringify(given)}`
      throw new ConfigError(`invalid ${source}${shown}: ${describe(o.schema) ?? err?.message}`)
    }
    raw[key] = value
  }
  return raw as Config
}

const BOOLEANS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false }

/** Environment and flags are strings: numbers and booleans are converted, anything else is checked as given. */
function parseRaw(schema: TSchema, given: string): unknown {
  const text = given.trim()
  if (schema.type === 'integer' || schema.type === 'number') return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : given
  if (schema.type === 'boolean') return BOOLEANS[text.toLowerCase()] ?? given
  return given
}

function describe(schema: TSchema): string | undefined {
  if (typeof schema.error === 'string') return schema.error
  if (schema.type === 'boolean') return 'expected true or false'
  if (schema.type === 'integer') return `expected an integer from ${schema.minimum} to ${schema.maximum}`
  if (schema.type === 'number') return `expected a number from ${schema.minimum} to ${schema.maximum}`
  if (schema.anyOf) return `expected one of ${schema.anyOf.map((s: TSchema) => s.const).join(', ')}`
  return undefined
}

export function helpText(): string {
  const lines = [
    'herald — WebSocket publish/subscribe server',
    '',
    'Usage: herald [--flag value]...   (each flag has an environment variable; flags win)',
    '',
  ]
  for (const o of Object.values(options)) {
    const def = o.schema.default === '' ? '(unset)' : JSON.stringify(o.schema.default)
    lines.push(`  ${flagOf(o.env).padEnd(28)} ${o.env.padEnd(24)} default ${def}`)
    lines.push(`      ${o.schema.description}`)
  }
  lines.push('', '  --help                       print this text and exit', '', 'Subcommands: herald help lists them (pub, sub, topics, stats, bench, token); herald help CMD explains one.')
  return lines.join('\n')
}

/** The origins of ALLOWED_ORIGINS as a set; empty = any origin. */
export function allowedOriginSet(config: Config): Set<string> {
  return new Set(config.allowedOrigins.split(',').map((o) => o.trim()).filter(Boolean))
}

/** Bun's idle timeout (seconds) for a heartbeat: two intervals, at least Bun's floor of 8 s, at most 960 s. */
export function idleTimeoutSeconds(config: Config): number {
  return Math.min(960, Math.max(8, Math.ceil((2 * config.heartbeatIntervalMs) / 1000)))
}
