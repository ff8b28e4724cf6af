/**
 * @module The Lua scripts of the Redis store, each one atomic round trip on the server.
 *
 * A delta, a touch or a rename is one round trip that no other client can interleave with.
 *
 * Layout (see `record.ts`): a session is the hash `<prefix>s:{<key>}` whose data fields hold
 * JSON values and whose reserved fields are `~c` (createdAt), `~e` (expiresAt), `~a`
 * (absoluteExpiresAt), `~u` (userId), `~m` (meta JSON), `~v` (a version bumped by every change)
 * and `~i` (the deadline the user index holds for it).
 *
 * A user's index is the sorted set `<prefix>u:{<userId>}`: members are store keys, scores a
 * deadline no earlier than the session's own, and the set expires with its last member. That
 * deadline is padded: when a session's `expiresAt` passes the one indexed, the index gets
 * `expiresAt + (expiresAt - now)` (at most the absolute deadline). An active session thus moves its
 * index entry about once per idle period, not on every write or touch, which in a cluster saves
 * the second call to the index's slot. Readers check each member's own hash, so the padding never
 * shows a dead session; it only lets the index forget it a little later.
 *
 * Scripts take the store's `now` as an argument instead of reading the server's clock, so expiry
 * follows the store's clock (tests move it). Times travel as strings and are never formatted by
 * Lua's `tostring`, which would print 13-digit numbers in exponent form.
 *
 * "Inline" (flag `i`) scripts also update the user index: allowed on one server or Sentinel, where
 * a script may touch any key. In a cluster the index lives in another slot, so the scripts report
 * what the index needs and the store sends it in a second call.
 */
import { createHash } from 'node:crypto';

/** A script and its SHA-1, for EVALSHA. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

const PRELUDE = `
local function ukey(prefix, u) return prefix .. 'u:{' .. u .. '}' end
-- The change feed (see feed.ts): every write and destroy tells the prefix's channel, in the same
-- script, so no change is made without its notice.
local function notify(prefix, kind, member) redis.call('PUBLISH', prefix .. 'feed', kind .. member) end
-- The padded index deadline for a session whose deadline is e (see the module comment).
local function index_deadline(e, now, abs)
  local target = 2 * tonumber(e) - now
  if abs and tonumber(abs) < target then target = tonumber(abs) end
  return string.format('%d', math.floor(target))
end
local function index_add(k, member, score)
  local s = redis.call('ZSCORE', k, member)
  if not s or tonumber(s) < tonumber(score) then redis.call('ZADD', k, score, member) end
  local top = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', k, top[2])
end
-- Whether a stored value is a JSON number: what JSON.stringify or the counters' '%.17g' write.
-- tonumber alone would also take ' 5', '0x10' or 'inf'.
local function is_number(v)
  return string.find(v, '^-?%d[%d.eE+-]*$') ~= nil and tonumber(v) ~= nil
end
`;

/** A script with the shared helpers in front, and its SHA-1. */
export function script(name: string, body: string): LuaScript {
  const source = `${PRELUDE}${body}`;
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Moves the idle deadline. KEYS: session. ARGV: now, expiresAt, flags, prefix, member. Returns `{0}`
 * for a missing or expired record, else `{1, index deadline, '', user whose index needs it or ''}`.
 * One HMGET, one HSET (deadline, version and, when it moves, the index deadline) and a PEXPIREAT.
 */
export const TOUCH: LuaScript = script(
  'touch',
  `
local k = KEYS[1]
local now = tonumber(ARGV[1])
local cur = redis.call('HMGET', k, '~e', '~a', '~u', '~i', '~v')
local curExp = tonumber(cur[1])
if not curExp or curExp <= now then return {0} end
local e = ARGV[2]
if cur[2] and tonumber(cur[2]) < tonumber(e) then e = cur[2] end
local v = string.format('%d', (tonumber(cur[5]) or 0) + 1)
local out = {1, '', '', ''}
if not cur[3] or (cur[4] and tonumber(e) <= tonumber(cur[4])) then
  redis.call('HSET', k, '~e', e, '~v', v)
else
  out[2] = index_deadline(e, now, cur[2] or nil)
  out[4] = cur[3]
  redis.call('HSET', k, '~e', e, '~v', v, '~i', out[2])
end
if e ~= cur[1] then redis.call('PEXPIREAT', k, e) end
if out[4] ~= '' and ARGV[3] == 'i' then index_add(ukey(ARGV[4], out[4]), ARGV[5], out[2]) end
return out
`,
);

/** Removes a session. KEYS: session. ARGV: flags, prefix, member. Returns `{0, '', user or '', ''}`. */
export const DESTROY: LuaScript = script(
  'destroy',
  `
local u = redis.call('HGET', KEYS[1], '~u')
if redis.call('DEL', KEYS[1]) == 1 then notify(ARGV[2], 'd:', ARGV[3]) end
if u and ARGV[1] == 'i' then redis.call('ZREM', ukey(ARGV[2], u), ARGV[3]) end
return {0, '', u or '', ''}
`,
);

/**
 * Renames a live session with RENAME (one server or Sentinel). KEYS: old, new. ARGV: now, prefix,
 * old member, new member. Returns 1, or 0 when the old record is missing or expired.
 */
export const RENAME: LuaScript = script(
  'rename',
  `
local cur = redis.call('HMGET', KEYS[1], '~e', '~u', '~i')
local e = tonumber(cur[1])
if not e or e <= tonumber(ARGV[1]) then return 0 end
local taken = redis.call('HGET', KEYS[2], '~u')
if taken then redis.call('ZREM', ukey(ARGV[2], taken), ARGV[4]) end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HINCRBY', KEYS[2], '~v', 1)
if cur[2] then
  local uk = ukey(ARGV[2], cur[2])
  redis.call('ZREM', uk, ARGV[3])
  index_add(uk, ARGV[4], cur[3] or cur[1])
end
notify(ARGV[2], 'd:', ARGV[3])
notify(ARGV[2], 'w:', ARGV[4])
return 1
`,
);

/**
 * A user's live sessions, cleaning the index as it reads (one server or Sentinel). KEYS: index.
 * ARGV: now, prefix, userId. Returns flat `{member, createdAt, expiresAt, meta or ''}` groups.
 */
export const BY_USER: LuaScript = script(
  'by-user',
  `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local out = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f = redis.call('HMGET', ARGV[2] .. 's:{' .. m .. '}', '~c', '~e', '~m', '~u')
  local e = tonumber(f[2])
  if e and e > now and f[4] == ARGV[3] then
    out[#out + 1] = m
    out[#out + 1] = f[1] or '0'
    out[#out + 1] = f[2]
    out[#out + 1] = f[3] or ''
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return out
`,
);

/**
 * Destroys a user's sessions but one (one server or Sentinel). KEYS: index. ARGV: now, prefix,
 * userId, member to keep or ''. Returns how many live sessions it destroyed.
 */
export const DESTROY_BY_USER: LuaScript = script(
  'destroy-by-user',
  `
local n = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if m ~= ARGV[4] then
    local sk = ARGV[2] .. 's:{' .. m .. '}'
    local f = redis.call('HMGET', sk, '~e', '~u')
    if f[2] == ARGV[3] then
      local e = tonumber(f[1])
      if e and e > tonumber(ARGV[1]) then n = n + 1 end
      redis.call('DEL', sk)
      notify(ARGV[2], 'd:', m)
    end
    redis.call('ZREM', KEYS[1], m)
  end
end
return n
`,
);
