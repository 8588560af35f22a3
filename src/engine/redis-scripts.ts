/**
 * The Redis engine's Lua scripts. Each runs atomically in Redis, so a publish
 * (next seq + history + PUB/SUB) is one step that no other instance can
 * interleave with. ioredis sends them with EVALSHA and falls back to EVAL
 * (which loads them again) on NOSCRIPT, e.g. after a Redis restart.
 *
 * Keys, for a topic T under prefix P (docs/scale-out.md lists them all):
 *   P:topics           SET    every topic name
 *   P:topic:T          HASH   e = epoch, s = seq of the last message, b = bytes published,
 *                             hb = bytes held in history, ts = ISO time of the last publish
 *   P:history:T        STREAM the last HISTORY_SIZE event frames, entry id "<seq>-0", field f = frame,
 *                             t = Redis's clock (ms) at the publish, for HISTORY_TTL_MS
 * Channel P:events:T carries "p <seq> <epoch> <frame>" per publish and "d <epoch>" when T is deleted.
 *
 * Errors are replies whose message starts with a wire error code
 * (TOPIC_NOT_FOUND, TOPIC_EXISTS, LIMIT_EXCEEDED), mapped back by the engine.
 */

/**
 * Lua shared by the scripts that touch a history stream: drops the entries
 * older than ttl ms by Redis's own clock (one clock for every instance) from
 * the old end, with their bytes. Publish times only grow along the stream, so
 * the expired entries are always a prefix. ttl 0 = no expiry.
 */
const EXPIRE_FN = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function expire(meta, history, ttl, now)
  if ttl <= 0 then return end
  local cutoff = now - ttl
  while true do
    local oldest = redis.call('XRANGE', history, '-', '+', 'COUNT', 1)[1]
    if not oldest then return end
    local at = tonumber(oldest[2][4] or '0')
    if at == 0 or at >= cutoff then return end
    redis.call('XTRIM', history, 'MINID', (tonumber(string.match(oldest[1], '^%d+')) + 1) .. '-0')
    redis.call('HINCRBY', meta, 'hb', -#oldest[2][2])
  end
end
`

/**
 * Publishes a batch: every publish issued in one event-loop turn, in order,
 * in one script (one round trip, one EVALSHA). For message i (1-based):
 * KEYS[2i-1] its topic hash, KEYS[2i] its history stream; ARGV[1] HISTORY_SIZE,
 * ARGV[2] HISTORY_MAX_BYTES (0 = no byte bound), ARGV[3] HISTORY_TTL_MS (0 = none), then four per message: the
 * frame before the seq, the frame after it, the channel, ts. Returns, per
 * message, { seq, epoch }, or { 0, '' } when its topic does not exist.
 */
export const PUBLISH = `${EXPIRE_FN}
local size, maxBytes, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local out = {}
for i = 1, #KEYS / 2 do
  local meta, history = KEYS[2 * i - 1], KEYS[2 * i]
  local a = 3 + 4 * (i - 1)
  local epoch = redis.call('HGET', meta, 'e')
  if not epoch then
    out[i] = { 0, '' }
  else
    local seq = redis.call('HINCRBY', meta, 's', 1)
    local frame = ARGV[a + 1] .. seq .. ARGV[a + 2]
    redis.call('HINCRBY', meta, 'b', #frame)
    redis.call('HSET', meta, 'ts', ARGV[a + 4])
    if size > 0 and maxBytes > 0 and #frame > maxBytes then
      -- Too large to keep: and nothing older either, so that history stays contiguous with the newest message.
      redis.call('DEL', history)
      redis.call('HSET', meta, 'hb', 0)
    elseif size > 0 then
      -- The entry that XADD's MAXLEN trims (when full) leaves the byte count with it.
      local len = redis.call('XLEN', history)
      local freed = 0
      if len >= size then freed = #redis.call('XRANGE', history, '-', '+', 'COUNT', 1)[1][2][2] end
      redis.call('XADD', history, 'MAXLEN', size, seq .. '-0', 'f', frame, 't', now)
      local held = redis.call('HINCRBY', meta, 'hb', #frame - freed)
      len = math.min(len + 1, size)
      -- Past HISTORY_MAX_BYTES: trim the oldest until it fits (the newest always stays).
      while maxBytes > 0 and held > maxBytes and len > 1 do
        local oldest = redis.call('XRANGE', history, '-', '+', 'COUNT', 1)[1]
        -- XTRIM MINID, not XDEL: a deleted entry would stay as a tombstone that every later XRANGE skips.
        redis.call('XTRIM', history, 'MINID', (tonumber(string.match(oldest[1], '^%d+')) + 1) .. '-0')
        held = redis.call('HINCRBY', meta, 'hb', -#oldest[2][2])
        len = len - 1
      end
      expire(meta, history, ttl, now)
    end
    redis.call('PUBLISH', ARGV[a + 3], 'p ' .. seq .. ' ' .. epoch .. ' ' .. frame)
    out[i] = { seq, epoch }
  end
end
return out
`

/**
 * KEYS: topic hash, history stream. ARGV: mode ('last' or 'since'), n (last: count; since: seq),
 * limit (since only), HISTORY_TTL_MS (0 = none; expired entries are dropped first). Returns
 * { epoch, seq, entries } where entries are XRANGE replies, oldest first.
 */
export const READ = `${EXPIRE_FN}
local meta, history = KEYS[1], KEYS[2]
local m = redis.call('HMGET', meta, 'e', 's')
if not m[1] then return redis.error_reply('TOPIC_NOT_FOUND topic does not exist') end
expire(meta, history, tonumber(ARGV[4] or '0'), now_ms())
local entries = {}
local n = tonumber(ARGV[2])
if ARGV[1] == 'last' then
  if n > 0 then
    entries = redis.call('XREVRANGE', history, '+', '-', 'COUNT', n)
    local reversed = {}
    for i = #entries, 1, -1 do reversed[#reversed + 1] = entries[i] end
    entries = reversed
  end
else
  entries = redis.call('XRANGE', history, (n + 1) .. '-0', '+', 'COUNT', tonumber(ARGV[3]))
end
return { m[1], tonumber(m[2]), entries }
`

/** KEYS: topic hash, history stream. ARGV: HISTORY_TTL_MS. Drops the expired entries (an idle topic's too: /stats calls it). */
export const EXPIRE = `${EXPIRE_FN}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
expire(KEYS[1], KEYS[2], tonumber(ARGV[1]), now_ms())
return 1
`

/** KEYS: topics set, topic hash, history stream. ARGV: name, new epoch, MAX_TOPICS. Returns the epoch. */
export const CREATE = `
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('TOPIC_EXISTS topic already exists') end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[3]) then return redis.error_reply('LIMIT_EXCEEDED topic limit reached') end
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[2], 'e', ARGV[2], 's', 0, 'b', 0, 'hb', 0)
redis.call('SADD', KEYS[1], ARGV[1])
return ARGV[2]
`

/** KEYS: topics set, topic hash, history stream. ARGV: name, channel. Followers everywhere get "d <epoch>". */
export const DELETE = `
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then return redis.error_reply('TOPIC_NOT_FOUND topic does not exist') end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], 'd ' .. epoch)
return 1
`
