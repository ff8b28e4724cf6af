/**
 * @module The Redis store's scripts for the user index, and for the steps of a rename across hash
 * slots in a cluster (see `redis-cluster.ts`). Layout and conventions: `redis-scripts.ts`.
 */
import { script, type LuaScript } from './scripts.js';

/** Cluster rename, step 1: the whole hash of a live record, or `{}`. KEYS: old. ARGV: now. */
export const SNAPSHOT: LuaScript = script(
  'snapshot',
  `
local e = tonumber(redis.call('HGET', KEYS[1], '~e'))
if not e or e <= tonumber(ARGV[1]) then return {} end
return redis.call('HGETALL', KEYS[1])
`,
);

/**
 * Cluster rename, step 2: writes a copied hash. KEYS: new. ARGV: expiresAt, then field/value pairs.
 * Returns the user of a record it replaced, or ''.
 */
export const PUT: LuaScript = script(
  'put',
  `
local u = redis.call('HGET', KEYS[1], '~u')
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return u or ''
`,
);

/**
 * Cluster rename, step 3: deletes the old record only if nothing changed it since the snapshot.
 * KEYS: old. ARGV: version. Returns 1 deleted, 0 changed meanwhile, -1 gone.
 */
export const DELETE_IF_VERSION: LuaScript = script(
  'delete-if-version',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local v = redis.call('HGET', KEYS[1], '~v') or ''
if v ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`,
);

/** Adds or raises a member of a user index. KEYS: index. ARGV: member, score. */
export const INDEX_ADD: LuaScript = script(
  'index-add',
  `
index_add(KEYS[1], ARGV[1], ARGV[2])
return 1
`,
);

/**
 * Removes members of a user index whose score is still at most the one given (so a member that a
 * concurrent write re-added with a later deadline stays). KEYS: index. ARGV: member/score pairs.
 */
export const INDEX_PRUNE: LuaScript = script(
  'index-prune',
  `
local n = 0
for i = 1, #ARGV, 2 do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) <= tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n
`,
);

/** Drops expired members and lists the rest with scores. KEYS: index. ARGV: now. */
export const INDEX_READ: LuaScript = script(
  'index-read',
  `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
`,
);

/**
 * Cluster revoke, per session: deletes it if it is still bound to the user. KEYS: session. ARGV:
 * userId, now. Returns 1 (deleted a live record), 0 (deleted an expired one) or -1 (not the user's).
 */
export const DESTROY_IF_USER: LuaScript = script(
  'destroy-if-user',
  `
local f = redis.call('HMGET', KEYS[1], '~e', '~u')
if f[2] ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
local e = tonumber(f[1])
if e and e > tonumber(ARGV[2]) then return 1 end
return 0
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
    end
    redis.call('ZREM', KEYS[1], m)
  end
end
return n
`,
);
