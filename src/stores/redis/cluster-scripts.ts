/**
 * @module The Redis store's scripts for a cluster: user index steps, and a rename across slots.
 *
 * Used by `cluster.ts`, where a session and its user's index live in different hash slots.
 * Layout and conventions: `scripts.ts`.
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
 * Cluster rename, step 2: writes a copied hash. KEYS: new. ARGV: prefix, new member, expiresAt,
 * then field/value pairs. Returns the user of a record it replaced, or ''.
 */
export const PUT: LuaScript = script(
  'put',
  `
local u = redis.call('HGET', KEYS[1], '~u')
redis.call('DEL', KEYS[1])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
notify(ARGV[1], 'w:', ARGV[2])
return u or ''
`,
);

/**
 * Cluster rename, step 3: deletes the old record only if nothing changed it since the snapshot.
 * KEYS: old. ARGV: version, prefix, old member. Returns 1 deleted, 0 changed meanwhile, -1 gone.
 */
export const DELETE_IF_VERSION: LuaScript = script(
  'delete-if-version',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local v = redis.call('HGET', KEYS[1], '~v') or ''
if v ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
notify(ARGV[2], 'd:', ARGV[3])
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
 * userId, now, prefix, member. Returns 1 (deleted a live record), 0 (deleted an expired one) or -1 (not the user's).
 */
export const DESTROY_IF_USER: LuaScript = script(
  'destroy-if-user',
  `
local f = redis.call('HMGET', KEYS[1], '~e', '~u')
if f[2] ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
notify(ARGV[3], 'd:', ARGV[4])
local e = tonumber(f[1])
if e and e > tonumber(ARGV[2]) then return 1 end
return 0
`,
);

/** Cluster rename, undo: deletes the copy and tells the feed. KEYS: new. ARGV: prefix, new member. */
export const DESTROY_COPY: LuaScript = script(
  'destroy-copy',
  `
if redis.call('DEL', KEYS[1]) == 1 then notify(ARGV[1], 'd:', ARGV[2]) end
return 1
`,
);
