/**
 * @module The Redis store's leases (`lock`/`unlock`): one string key per leased session key.
 *
 * A lease is `<prefix>l:{<key>}` holding a random token, taken with `SET … NX PX ttl`, so Redis
 * itself ends it after `ttl` whatever happens to its holder. The braces put it in the session's
 * hash slot (`<prefix>s:{<key>}`): in a cluster a lease lives on the node that serves its session.
 * Release is a script that deletes the key only while it still holds the caller's token, so a
 * holder whose lease ran out can never release the next holder's lease.
 *
 * Expiry follows the server's clock, not the store's: a lease must end for every process at
 * once, and a holder that died cannot be counted on to say when.
 */
import { randomUUID } from 'node:crypto';
import type { RedisCommands } from './commands.js';
import { script, type LuaScript } from './scripts.js';

/** The lease key of a session key, in the session's hash slot. */
export const leaseKey = (prefix: string, key: string): string => `${prefix}l:{${key}}`;

/** Deletes KEYS[1] if it holds ARGV[1]. Returns 1 when it did, else 0. */
export const UNLOCK: LuaScript = script(
  'unlock',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
);

/** Takes the lease on `key` for `ttlMs` (at least 1 ms): its token, or `undefined` when held. */
export async function takeLease(
  c: RedisCommands,
  prefix: string,
  key: string,
  ttlMs: number,
): Promise<string | undefined> {
  const lease = leaseKey(prefix, key);
  const token = randomUUID();
  const ms = String(Math.max(1, Math.ceil(ttlMs)));
  const reply = await c.send(['SET', lease, token, 'NX', 'PX', ms], lease);
  return reply === 'OK' ? token : undefined;
}

/** Releases the lease on `key` if `token` still holds it. */
export async function releaseLease(
  c: RedisCommands,
  prefix: string,
  key: string,
  token: string,
): Promise<boolean> {
  const lease = leaseKey(prefix, key);
  return Number(await c.run(UNLOCK, [lease], [token])) === 1;
}
