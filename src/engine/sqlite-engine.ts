/**
 * The embedded durable engine (ENGINE=sqlite): the memory engine's state kept
 * in one SQLite file (Bun's built-in `bun:sqlite`, WAL mode), so that topics,
 * their seq and epoch, and their history survive a restart and a SIGKILL. The
 * epoch of a topic does not change across a restart: that is what lets a
 * client resume with `since_seq` and get `recovered: true`.
 *
 * Publishing: a publish takes the next seq at once, and waits in this turn's
 * batch; all the publishes of one event-loop turn are committed in one
 * transaction (one WAL append, not one per message). Only after the commit
 * are the events handed to the hub and the publishes resolved (so the ack
 * follows the commit): a message a subscriber saw, or a publisher had acked,
 * is on disk. If the commit fails (disk full, I/O error), every publish of
 * the batch gets UNAVAILABLE, their seqs are given back (nobody saw them), and
 * the next turn tries again: the engine recovers by itself when space returns.
 *
 * Reads are served from memory: the newest messages of every topic, within
 * the same limits as the memory engine (HISTORY_SIZE, HISTORY_MAX_BYTES,
 * HISTORY_TOTAL_MAX_BYTES, HISTORY_TTL_MS), are loaded at start-up. Rows that
 * fall out of those limits are deleted from the file in the next transaction,
 * so the file does not grow without bound.
 *
 * Durability: `synchronous=NORMAL` in WAL mode — a committed transaction
 * survives the process being killed (it is in the OS's page cache and the WAL);
 * the last few transactions may be lost if the whole machine loses power.
 *
 * One process per file: the database is opened in exclusive locking mode, so
 * a second herald on the same file fails at start-up with "locked".
 */
import { Database, type Statement } from 'bun:sqlite'
import { ConfigError } from '../config'
import { ErrorCode, HeraldError } from '../errors'
import { History as HistoryRing, HistoryBudget } from './history'
import type { Message } from '../protocol/frames'
import { eventFrame } from '../protocol/server-frames'
import type { ClusterCounts, Engine, EngineHandler, EngineTopicStats, History, HistoryRead, Publication, Published, StreamPosition } from './engine'
import { newEpoch } from './epoch'
import type { MemoryEngineOptions } from './memory-engine'

/** The memory engine's options (history limits, MAX_TOPICS, INSTANCE_ID) and the file. */
export interface SqliteEngineOptions extends MemoryEngineOptions {
  /** The database file (SQLITE_PATH); created when missing. */
  path: string
}

/** The engine could not open its file: the message names the file and says why. A ConfigError: start-up stops with exit 2. */
export class EngineStartError extends ConfigError {
  override name = 'EngineStartError'
}

interface StoredPublication extends Publication {
  /** ms since the Unix epoch, for HISTORY_TTL_MS. */
  readonly at: number
}

class DurableTopic {
  /** The seq of the last committed message. */
  seq: number
  /** The seq of the last message given out (committed or in this turn's batch). */
  pendingSeq: number
  bytes: number
  lastPublish: string | null
  readonly history: HistoryRing<StoredPublication>
  /** Rows with seq below this may be deleted from the file (they are no longer held). */
  deletedBelow = 0

  constructor(
    readonly name: string,
    readonly epoch: string,
    state: { seq: number; bytes: number; lastPublish: string | null },
    history: HistoryRing<StoredPublication>,
  ) {
    this.seq = state.seq
    this.pendingSeq = state.seq
    this.bytes = state.bytes
    this.lastPublish = state.lastPublish
    this.history = history
  }

  position(): StreamPosition {
    return { seq: this.seq, epoch: this.epoch }
  }

  /** The lowest seq still held (seq + 1 when nothing is). Held seqs are contiguous up to `seq`. */
  oldestHeld(): number {
    this.history.expire()
    return this.seq - this.history.size + 1
  }
}

interface Pending {
  topic: DurableTopic
  publication: StoredPublication
  ts: string
  resolve(published: Published): void
  reject(error: unknown): void
}

/** Rows per multi-row INSERT (4 values each; SQLite allows 32,766 bound values). */
const INSERT_CHUNK = 64

/** How often history is expired and trimmed rows deleted while nothing is published. */
const SWEEP_MS = 1000

const NO_HANDLER: EngineHandler = { publication() {}, topicGone() {}, localCounts: () => ({ connections: 0, subscribers: new Map() }) }

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS topics (
    name TEXT PRIMARY KEY,
    epoch TEXT NOT NULL,
    seq INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    last_publish TEXT
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS messages (
    topic TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    frame TEXT NOT NULL,
    PRIMARY KEY (topic, seq)
  ) WITHOUT ROWID;
`

export class SqliteEngine implements Engine {
  readonly kind = 'sqlite'
  readonly instanceId: string
  private readonly db: Database
  private readonly topics = new Map<string, DurableTopic>()
  private readonly budget: HistoryBudget
  private handler: EngineHandler = NO_HANDLER
  private batch: Pending[] = []
  private commitQueued = false
  private readonly sweep: ReturnType<typeof setInterval>
  /** Multi-row INSERT statements by row count (see insertRows). */
  private readonly inserts = new Map<number, Statement>()
  private readonly sql: {
    insertTopic: Statement
    deleteTopic: Statement
    deleteTopicMessages: Statement
    updateTopic: Statement
    trim: Statement
  }

  constructor(private readonly options: SqliteEngineOptions) {
    this.instanceId = options.instanceId ?? 'local'
    this.budget = new HistoryBudget(options.historyTotalMaxBytes ?? Infinity)
    this.db = openDatabase(options.path)
    this.sql = {
      insertTopic: this.db.prepare('INSERT INTO topics (name, epoch, seq, bytes, last_publish) VALUES (?, ?, 0, 0, NULL)'),
      deleteTopic: this.db.prepare('DELETE FROM topics WHERE name = ?'),
      deleteTopicMessages: this.db.prepare('DELETE FROM messages WHERE topic = ?'),
      updateTopic: this.db.prepare('UPDATE topics SET seq = ?, bytes = ?, last_publish = ? WHERE name = ?'),
      trim: this.db.prepare('DELETE FROM messages WHERE topic = ? AND seq < ?'),
    }
    this.load()
    this.sweep = setInterval(this.tidy, SWEEP_MS)
    this.sweep.unref?.()
  }

  attach(handler: EngineHandler): void {
    this.handler = handler
  }

  ready(): boolean {
    return true
  }

  createTopic(name: string): StreamPosition {
    if (this.topics.has(name)) throw new HeraldError(ErrorCode.TOPIC_EXISTS, `Topic '${name}' already exists`)
    const max = this.options.maxTopics ?? Infinity
    if (this.topics.size >= max) throw new HeraldError(ErrorCode.LIMIT_EXCEEDED, `topic limit reached (MAX_TOPICS=${max})`)
    const epoch = newEpoch()
    this.write(() => this.sql.insertTopic.run(name, epoch))
    const topic = new DurableTopic(name, epoch, { seq: 0, bytes: 0, lastPublish: null }, this.newHistory())
    this.topics.set(name, topic)
    return topic.position()
  }

  deleteTopic(name: string): void {
    const topic = this.topic(name)
    this.write(() =>
      this.db.transaction(() => {
        this.sql.deleteTopic.run(name)
        this.sql.deleteTopicMessages.run(name)
      })(),
    )
    this.topics.delete(name)
    topic.history.clear()
    this.handler.topicGone(name, 'deleted')
  }

  topicNames(): string[] {
    return [...this.topics.keys()]
  }

  stats(): Map<string, EngineTopicStats> {
    const out = new Map<string, EngineTopicStats>()
    for (const t of this.topics.values()) {
      t.history.expire()
      out.set(t.name, { messages: t.seq, bytes: t.bytes, history: t.history.size, historyBytes: t.history.bytes, lastPublish: t.lastPublish, epoch: t.epoch })
    }
    return out
  }

  publish(topicName: string, message: Message, ts: string): Promise<Published> {
    const topic = this.topic(topicName)
    const seq = topic.pendingSeq + 1
    // Serialized before it counts: a payload that cannot be serialized must not consume a seq.
    const frame = eventFrame(topic.name, seq, message, ts)
    topic.pendingSeq = seq
    const publication: StoredPublication = { topic: topic.name, seq, frame, bytes: Buffer.byteLength(frame), at: Date.now() }
    const done = Promise.withResolvers<Published>()
    this.batch.push({ topic, publication, ts, resolve: done.resolve, reject: done.reject })
    if (!this.commitQueued) {
      this.commitQueued = true
      setImmediate(this.commit)
    }
    return done.promise
  }

  history(topicName: string, read: HistoryRead): History {
    const topic = this.topic(topicName)
    return { position: topic.position(), publications: topic.history.read(topic.seq, read) }
  }

  /** Publications go to the handler after each commit (the hub ignores topics nobody here subscribes to), so following is only a read. */
  subscribe(topicName: string, read: HistoryRead): History {
    return this.history(topicName, read)
  }

  unsubscribe(): void {}

  cluster(): ClusterCounts {
    const local = this.handler.localCounts()
    return { instances: 1, connections: local.connections, subscribers: local.subscribers }
  }

  /** Commits what is pending, then closes the file. */
  async close(): Promise<void> {
    clearInterval(this.sweep)
    if (this.batch.length > 0) this.commit()
    // Statements hold the connection open (SQLite closes a connection only when none is left): finalize them first.
    for (const statement of [...Object.values(this.sql), ...this.inserts.values()]) statement.finalize()
    this.db.close()
  }

  /**
   * One transaction for every publish of this turn, plus the rows that fell out
   * of history since the last one (so deletes lag one batch, or one sweep
   * interval when publishing stops: the file holds at most the history plus
   * that).
   */
  private readonly commit = (): void => {
    this.commitQueued = false
    const batch: Pending[] = []
    for (const p of this.batch) {
      // A topic deleted (or deleted and created again) while its publish waited: never written.
      if (this.topics.get(p.topic.name) === p.topic) batch.push(p)
      else p.reject(new HeraldError(ErrorCode.TOPIC_NOT_FOUND, `Topic '${p.topic.name}' does not exist`))
    }
    this.batch = []
    const touched = new Map<DurableTopic, { seq: number; bytes: number; ts: string }>()
    for (const p of batch) {
      const t = touched.get(p.topic) ?? { seq: 0, bytes: p.topic.bytes, ts: '' }
      t.seq = p.publication.seq
      t.bytes += p.publication.bytes
      t.ts = p.ts
      touched.set(p.topic, t)
    }
    try {
      this.db.transaction(() => {
        this.insertRows(batch)
        for (const [topic, t] of touched) this.sql.updateTopic.run(t.seq, t.bytes, t.ts, topic.name)
        this.trimRows()
      })()
    } catch (error) {
      // Nothing of this batch was seen by anyone: give the seqs back, so the next publish reuses them.
      for (const topic of touched.keys()) topic.pendingSeq = topic.seq
      const failure = new HeraldError(ErrorCode.UNAVAILABLE, `could not store the message: ${describeSqliteError(error)}`)
      for (const p of batch) p.reject(failure)
      return
    }
    for (const p of batch) {
      const topic = p.topic
      const pub = p.publication
      topic.seq = pub.seq
      topic.bytes += pub.bytes
      topic.lastPublish = p.ts
      topic.history.push(pub)
      this.handler.publication(pub)
      p.resolve({ seq: pub.seq, epoch: topic.epoch, bytes: pub.bytes })
    }
  }

  /**
   * Inserts the batch's rows with multi-row INSERTs of up to INSERT_CHUNK rows
   * (one statement step per chunk instead of one per message: the insert was
   * most of a publish's cost). Statements are prepared once per chunk size.
   */
  private insertRows(batch: Pending[]): void {
    for (let i = 0; i < batch.length; i += INSERT_CHUNK) {
      const rows = Math.min(INSERT_CHUNK, batch.length - i)
      let statement = this.inserts.get(rows)
      if (!statement) {
        statement = this.db.prepare(`INSERT INTO messages (topic, seq, at, frame) VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?)').join(', ')}`)
        this.inserts.set(rows, statement)
      }
      const values: Array<string | number> = new Array(rows * 4)
      for (let k = 0; k < rows; k++) {
        const pub = batch[i + k]!.publication
        values[4 * k] = pub.topic
        values[4 * k + 1] = pub.seq
        values[4 * k + 2] = pub.at
        values[4 * k + 3] = pub.frame
      }
      statement.run(...values)
    }
  }

  /** Deletes the rows of messages no longer held (trimmed by count, bytes, the total budget or the TTL). Inside a transaction. */
  private trimRows(): void {
    for (const t of this.topics.values()) {
      const below = t.oldestHeld()
      if (below > t.deletedBelow) {
        this.sql.trim.run(t.name, below)
        t.deletedBelow = below
      }
    }
  }

  /** Every second: expires history (HISTORY_TTL_MS) and deletes the rows no longer held when no publish is coming to do it. */
  private readonly tidy = (): void => {
    const now = Date.now()
    let trim = false
    for (const t of this.topics.values()) {
      t.history.expire(now)
      if (t.oldestHeld() > t.deletedBelow) trim = true
    }
    if (trim && !this.commitQueued) {
      try {
        this.db.transaction(() => this.trimRows())()
      } catch {
        // Disk trouble: the next commit or sweep tries again.
      }
    }
  }

  private load(): void {
    const topicsQuery = this.db.prepare('SELECT name, epoch, seq, bytes, last_publish FROM topics ORDER BY name')
    const rows = topicsQuery.all() as Array<{ name: string; epoch: string; seq: number; bytes: number; last_publish: string | null }>
    topicsQuery.finalize()
    const recent = this.db.prepare('SELECT seq, at, frame FROM messages WHERE topic = ? AND seq > ? ORDER BY seq')
    // Oldest first across topics, so that the total budget keeps the newest, as it would have while running.
    const loaded: Array<{ topic: DurableTopic; pub: StoredPublication }> = []
    for (const row of rows) {
      const topic = new DurableTopic(row.name, row.epoch, { seq: row.seq, bytes: row.bytes, lastPublish: row.last_publish }, this.newHistory())
      this.topics.set(row.name, topic)
      const from = Math.max(0, row.seq - this.options.historySize)
      for (const m of recent.all(row.name, from) as Array<{ seq: number; at: number; frame: string }>)
        loaded.push({ topic, pub: { topic: row.name, seq: m.seq, frame: m.frame, bytes: Buffer.byteLength(m.frame), at: m.at } })
    }
    recent.finalize()
    loaded.sort((a, b) => a.pub.at - b.pub.at)
    for (const { topic, pub } of loaded) topic.history.push(pub)
    // What the limits no longer hold (a smaller HISTORY_SIZE than last time, expired, over budget) goes now.
    this.write(() => this.db.transaction(() => this.trimRows())())
  }

  private newHistory(): HistoryRing<StoredPublication> {
    const o = this.options
    return new HistoryRing<StoredPublication>({ size: o.historySize, maxBytes: o.historyMaxBytes, ttlMs: o.historyTtlMs }, this.budget)
  }

  /** A synchronous write (create/delete topic): a failure is UNAVAILABLE for that request. */
  private write(fn: () => void): void {
    try {
      fn()
    } catch (error) {
      throw new HeraldError(ErrorCode.UNAVAILABLE, `could not write the database: ${describeSqliteError(error)}`)
    }
  }

  private topic(name: string): DurableTopic {
    const topic = this.topics.get(name)
    if (!topic) throw new HeraldError(ErrorCode.TOPIC_NOT_FOUND, `Topic '${name}' does not exist`)
    return topic
  }
}

/** Opens (or creates) the file, takes it for this process alone, and checks it. Throws EngineStartError naming the file. */
function openDatabase(path: string): Database {
  let db: Database | undefined
  try {
    db = new Database(path, { create: true, strict: true })
    db.exec('PRAGMA busy_timeout = 0')
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    const mode = pragma(db, 'journal_mode = WAL') as { journal_mode: string }
    if (mode.journal_mode !== 'wal') throw new Error(`could not switch to WAL mode (got ${mode.journal_mode})`)
    db.exec('PRAGMA synchronous = NORMAL')
    const check = (pragma(db, 'quick_check') as { quick_check: string }).quick_check
    if (check !== 'ok') throw new Error(`the file is damaged (${check})`)
    // The first write takes the exclusive lock, and keeps it while this process lives.
    db.exec(SCHEMA)
    db.exec('BEGIN IMMEDIATE; COMMIT')
    return db
  } catch (error) {
    try {
      db?.close()
    } catch {}
    throw new EngineStartError(`cannot use the database file ${path} (SQLITE_PATH): ${describeSqliteError(error)}`)
  }
}

/** One PRAGMA's first row, its statement finalized (an open statement would keep the file open after close). */
function pragma(db: Database, text: string): unknown {
  const statement = db.prepare(`PRAGMA ${text}`)
  try {
    return statement.get()
  } finally {
    statement.finalize()
  }
}

/** SQLite's own words for what went wrong, without a stack. */
function describeSqliteError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as { code?: unknown }).code
  const message = error.message.replace(/\s+/g, ' ').trim()
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message
}
