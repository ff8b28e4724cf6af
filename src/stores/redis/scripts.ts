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
 * index, `s` bind the user, `d` unbind it, `m` meta), the feed channel, the feed notice (`w:` and
 * the member), #unset, #set pairs, #incr, then the unset fields, the set pairs, the incr fields and
 * the incr amounts, then createdAt and absoluteExpiresAt or '' (with `c`), userId (with `s`) and
 * meta JSON (with `m`). Returns `{0}` when nothing was written; `{-1, existed, positions...}` when
 * it refused the delta because the incr keys at those (1-based) positions would hold something
 * other than a number once unset and set applied (checked before anything changes, so nothing
 * did); else `{existed, index deadline, user to drop from the index or '', user whose index needs
 * the deadline or '', counter values...}`.
 *
 * The common write (a few keys and the deadline) makes one HMGET (the bookkeeping and the incr
 * keys' values), one HSET (the keys, the deadline and the version), one PEXPIREAT (none when the
 * deadline did not move) and the feed's PUBLISH; HDEL runs only when something goes. Each Lua step
 * costs about as much as a small command here (a `tonumber` or `string.find` over a thousand
 * instructions, a table growing by one slot more), so the common path compares strings instead
 * (`'0'` counts, `''`/`'i'` flags), and builds no table it does not send. Lua's `unpack` takes at
 * most a few thousand values, so long lists go in chunks of `CHUNK` (even, so pairs stay whole).
 */
export const WRITE: LuaScript = script(
  'write',
  `
local CHUNK = 2000
local k = KEYS[1]
local flags = ARGV[3]
local create, replace, inline, bind, unbind, meta = false, false, false, false, false, false
if flags == 'i' then inline = true
elseif flags ~= '' then
  create = string.find(flags, 'c', 1, true) ~= nil
  replace = string.find(flags, 'r', 1, true) ~= nil
  inline = string.find(flags, 'i', 1, true) ~= nil
  bind = string.find(flags, 's', 1, true) ~= nil
  unbind = string.find(flags, 'd', 1, true) ~= nil
  meta = string.find(flags, 'm', 1, true) ~= nil
end
local nUnset = ARGV[6] == '0' and 0 or tonumber(ARGV[6])
local nSet = ARGV[7] == '0' and 0 or tonumber(ARGV[7])
local nIncr = ARGV[8] == '0' and 0 or tonumber(ARGV[8])
local sets = 9 + nUnset
local incrs = sets + 2 * nSet
local extra = incrs + 2 * nIncr
-- cur: ~e, ~a, ~u, ~i, ~v, then the incr fields' values (false: absent).
local cur
if nIncr == 0 then
  cur = redis.call('HMGET', k, '~e', '~a', '~u', '~i', '~v')
else
  cur = redis.call('HMGET', k, '~e', '~a', '~u', '~i', '~v',
    unpack(ARGV, incrs, incrs + math.min(nIncr, CHUNK) - 1))
  for from = incrs + CHUNK, extra - 1, CHUNK do
    local more = redis.call('HMGET', k, unpack(ARGV, from, math.min(from + CHUNK, extra) - 1))
    for j = 1, #more do cur[#cur + 1] = more[j] end
  end
end
local now = tonumber(ARGV[1])
local curExp = cur[1] and tonumber(cur[1]) or nil
local existed = curExp ~= nil and curExp > now
if not existed and not create then return {0} end
local oldUser = cur[3] or nil
replace = existed and replace
local fresh = not existed or replace
local out = {existed and 1 or 0, '', '', ''}
local values = nil
if nIncr > 0 then
  -- Each incr field's value once unset and set applied (false: absent); the counters start there.
  local after = nil
  if nUnset > 0 or nSet > 0 then
    after = {}
    for j = 9, sets - 1 do after[ARGV[j]] = false end
    for j = sets, incrs - 1, 2 do after[ARGV[j]] = ARGV[j + 1] end
  end
  local refused = nil
  values = {}
  for p = 1, nIncr do
    local v = nil
    if after then v = after[ARGV[incrs + p - 1]] end
    if v == nil and not fresh then v = cur[5 + p] end
    local base = 0
    if v then
      base = tonumber(v)
      if base == nil or not is_number(v) then
        refused = refused or {}
        refused[#refused + 1] = p
        base = 0
      end
    end
    local n = base + tonumber(ARGV[incrs + nIncr + p - 1])
    local s = string.format('%.17g', n)
    out[4 + p] = s
    if n ~= n or n == math.huge or n == -math.huge then s = 'null' end
    values[p] = s
  end
  if refused then return {-1, existed and 1 or 0, unpack(refused)} end
end
local abs = nil
local e = ARGV[2]
if existed then abs = cur[2] or nil
elseif create and ARGV[extra + 1] ~= '' then abs = ARGV[extra + 1] end
if abs and tonumber(abs) < tonumber(e) then e = abs end
-- The hash's own expiry always equals ~e, so a deadline that did not move needs no PEXPIREAT.
local moved = fresh or e ~= cur[1]
local version = '1'
if existed then version = string.format('%d', (tonumber(cur[5]) or 0) + 1) end
-- The one HSET this write makes (field/value pairs), and the fields its one HDEL removes.
local hs = {'~v', version}
local n = 2
if moved then hs[3] = '~e'; hs[4] = e; n = 4 end
local del = nil
local newUser = nil
if existed then newUser = oldUser end
if bind then newUser = ARGV[extra + (create and 2 or 0)] end
if unbind then newUser = nil end
if existed then
  local indexed = cur[4] or nil
  if replace then
    local keep = redis.call('HMGET', k, '~c', '~m')
    redis.call('DEL', k)
    if keep[1] then hs[n + 1] = '~c'; hs[n + 2] = keep[1]; n = n + 2 end
    if abs then hs[n + 1] = '~a'; hs[n + 2] = abs; n = n + 2 end
    if keep[2] and not meta then hs[n + 1] = '~m'; hs[n + 2] = keep[2]; n = n + 2 end
    if newUser and not bind then hs[n + 1] = '~u'; hs[n + 2] = newUser; n = n + 2 end
    indexed = newUser and newUser == oldUser and indexed
    if indexed then hs[n + 1] = '~i'; hs[n + 2] = indexed; n = n + 2 end
  else
    if nUnset > 0 then del = {unpack(ARGV, 9, math.min(sets - 1, 8 + CHUNK))}
      for j = 9 + CHUNK, sets - 1 do del[#del + 1] = ARGV[j] end
    end
    if unbind and oldUser then del = del or {}; del[#del + 1] = '~u' end
    if indexed and not newUser then del = del or {}; del[#del + 1] = '~i' end
  end
  if newUser and (newUser ~= oldUser or not indexed or tonumber(e) > tonumber(indexed)) then
    out[2] = index_deadline(e, now, abs)
    out[4] = newUser
  end
else
  -- An expired record still there: start from nothing.
  if cur[1] or cur[2] or cur[3] or cur[4] or cur[5] then redis.call('DEL', k) end
  hs[n + 1] = '~c'; hs[n + 2] = ARGV[extra]; n = n + 2
  if abs then hs[n + 1] = '~a'; hs[n + 2] = abs; n = n + 2 end
  if newUser then
    out[2] = index_deadline(e, now, abs)
    out[4] = newUser
  end
end
if oldUser and oldUser ~= newUser then out[3] = oldUser end
if out[2] ~= '' then hs[n + 1] = '~i'; hs[n + 2] = out[2]; n = n + 2 end
if bind then hs[n + 1] = '~u'; hs[n + 2] = newUser; n = n + 2 end
if meta then hs[n + 1] = '~m'; hs[n + 2] = ARGV[#ARGV]; n = n + 2 end
for j = sets, incrs - 1 do n = n + 1; hs[n] = ARGV[j] end
for p = 1, nIncr do
  hs[n + 1] = ARGV[incrs + p - 1]; hs[n + 2] = values[p]; n = n + 2
end
if del then
  for from = 1, #del, CHUNK do redis.call('HDEL', k, unpack(del, from, math.min(from + CHUNK - 1, #del))) end
end
for from = 1, n, CHUNK do redis.call('HSET', k, unpack(hs, from, math.min(from + CHUNK - 1, n))) end
if moved then redis.call('PEXPIREAT', k, e) end
if inline and (out[3] ~= '' or out[4] ~= '') then
  local prefix, member = string.sub(ARGV[4], 1, -5), string.sub(ARGV[5], 3)
  if out[3] ~= '' then redis.call('ZREM', ukey(prefix, out[3]), member) end
  if out[4] ~= '' then index_add(ukey(prefix, out[4]), member, out[2]) end
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
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
