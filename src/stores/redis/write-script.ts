/**
 * @module The Redis store's WRITE script: a delta applied to a session hash in one round trip.
 *
 * Layout and conventions (reserved fields, the padded index deadline, times as strings): see
 * `scripts.ts`.
 */
import { script, type LuaScript } from './scripts.js';

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
