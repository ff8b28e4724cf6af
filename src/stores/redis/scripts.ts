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
 * Applies a delta. KEYS: session. ARGV: now, expiresAt, flags (`c` create, `r` replace, `i` inline
 * index, `s` bind the user, `d` unbind it), createdAt or '', absoluteExpiresAt or '', userId or '',
 * meta JSON or '', prefix, member, #unset, #set pairs, #incr, then the unset fields, the set pairs,
 * the incr fields and the incr amounts. Returns `{0}` when nothing was written; `{-1, existed,
 * positions...}` when it refused the delta because the incr keys at those (1-based) positions would
 * hold something other than a number once unset and set applied (checked before anything changes,
 * so nothing did); else `{existed, index deadline, user to drop from the index or '', user whose
 * index needs the deadline or '', counter values...}`.
 *
 * The common write (a few keys and the deadline) costs one HMGET, one HSET, one PEXPIREAT (none
 * when the deadline did not move) and the feed's PUBLISH: the bookkeeping and the incr keys' values
 * are read in the one HMGET, the version is bumped in the one HSET, and HDEL runs only when there is
 * something to remove. Lua's `unpack` takes at most a few thousand values, so long lists go in
 * chunks (`CHUNK`, an even number so set pairs stay whole).
 */
export const WRITE: LuaScript = script(
  'write',
  `
local CHUNK = 2000
local function call_list(cmd, k, list)
  for from = 1, #list, CHUNK do
    redis.call(cmd, k, unpack(list, from, math.min(from + CHUNK - 1, #list)))
  end
end
local k = KEYS[1]
local now = tonumber(ARGV[1])
local flags = ARGV[3]
local nUnset, nSet, nIncr = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local sets = 13 + nUnset
local incrs = sets + 2 * nSet
-- cur: ~e, ~a, ~u, ~i, ~v, then the incr fields' values (false: absent).
local cur = redis.call('HMGET', k, '~e', '~a', '~u', '~i', '~v',
  unpack(ARGV, incrs, incrs + math.min(nIncr, CHUNK) - 1))
for from = incrs + CHUNK, incrs + nIncr - 1, CHUNK do
  for _, v in ipairs(redis.call('HMGET', k, unpack(ARGV, from, math.min(from + CHUNK, incrs + nIncr) - 1))) do
    cur[#cur + 1] = v
  end
end
local curExp = tonumber(cur[1])
local existed = curExp ~= nil and curExp > now
local oldUser = cur[3] or nil
if not existed and not string.find(flags, 'c', 1, true) then return {0} end
local replace = existed and string.find(flags, 'r', 1, true) ~= nil
local fresh = not existed or replace
local bases = {}
if nIncr > 0 then
  -- Each incr field's value once unset and set applied (false: absent); the counters start from these.
  local after = {}
  for j = 13, sets - 1 do after[ARGV[j]] = false end
  for j = sets, incrs - 1, 2 do after[ARGV[j]] = ARGV[j + 1] end
  local refused = {}
  for p = 1, nIncr do
    local v = after[ARGV[incrs + p - 1]]
    if v == nil and not fresh then v = cur[5 + p] end
    if v and not is_number(v) then refused[#refused + 1] = p end
    bases[p] = tonumber(v) or 0
  end
  if #refused > 0 then return {-1, existed and 1 or 0, unpack(refused)} end
end
-- The one HSET (field/value pairs) and the one HDEL (fields) this write makes.
local hs, del = {}, {}
local abs, indexed = nil, nil
if existed then
  abs = cur[2] or nil
  indexed = cur[4] or nil
  if replace then
    local keep = redis.call('HMGET', k, '~c', '~m')
    redis.call('DEL', k)
    if keep[1] then hs[#hs + 1] = '~c'; hs[#hs + 1] = keep[1] end
    if abs then hs[#hs + 1] = '~a'; hs[#hs + 1] = abs end
    if keep[2] and ARGV[7] == '' then hs[#hs + 1] = '~m'; hs[#hs + 1] = keep[2] end
  else
    for j = 13, sets - 1 do del[#del + 1] = ARGV[j] end
  end
else
  -- An expired record still there: start from nothing.
  if cur[1] or cur[2] or cur[3] or cur[4] or cur[5] then redis.call('DEL', k) end
  hs[1] = '~c'; hs[2] = ARGV[4]
  if ARGV[5] ~= '' then
    abs = ARGV[5]
    hs[3] = '~a'; hs[4] = abs
  end
end
for j = sets, incrs - 1 do hs[#hs + 1] = ARGV[j] end
local out = {existed and 1 or 0, '', '', ''}
for p = 1, nIncr do
  local n = bases[p] + tonumber(ARGV[incrs + nIncr + p - 1])
  local s = string.format('%.17g', n)
  hs[#hs + 1] = ARGV[incrs + p - 1]
  if n ~= n or n == math.huge or n == -math.huge then hs[#hs + 1] = 'null' else hs[#hs + 1] = s end
  out[#out + 1] = s
end
if ARGV[7] ~= '' then hs[#hs + 1] = '~m'; hs[#hs + 1] = ARGV[7] end
local newUser = nil
if existed then newUser = oldUser end
if string.find(flags, 's', 1, true) then
  newUser = ARGV[6]
  hs[#hs + 1] = '~u'; hs[#hs + 1] = newUser
elseif string.find(flags, 'd', 1, true) then
  newUser = nil
  if existed and oldUser and not replace then del[#del + 1] = '~u' end
elseif replace and oldUser then
  hs[#hs + 1] = '~u'; hs[#hs + 1] = oldUser
end
local e = ARGV[2]
if abs and tonumber(abs) < tonumber(e) then e = abs end
-- The hash's own expiry always equals ~e, so a deadline that did not move needs no PEXPIREAT.
local moved = fresh or e ~= cur[1]
if moved then hs[#hs + 1] = '~e'; hs[#hs + 1] = e end
hs[#hs + 1] = '~v'
hs[#hs + 1] = string.format('%d', (existed and tonumber(cur[5]) or 0) + 1)
if oldUser and oldUser ~= newUser then out[3] = oldUser end
if newUser then
  if newUser ~= oldUser or not indexed or tonumber(e) > tonumber(indexed) then
    out[2] = index_deadline(e, now, abs)
    out[4] = newUser
    hs[#hs + 1] = '~i'; hs[#hs + 1] = out[2]
  elseif replace then
    hs[#hs + 1] = '~i'; hs[#hs + 1] = indexed
  end
elseif indexed and not replace then
  del[#del + 1] = '~i'
end
call_list('HDEL', k, del)
call_list('HSET', k, hs)
if moved then redis.call('PEXPIREAT', k, e) end
if string.find(flags, 'i', 1, true) then
  if out[3] ~= '' then redis.call('ZREM', ukey(ARGV[8], out[3]), ARGV[9]) end
  if out[4] ~= '' then index_add(ukey(ARGV[8], out[4]), ARGV[9], out[2]) end
end
notify(ARGV[8], 'w:', ARGV[9])
return out
`,
);

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
