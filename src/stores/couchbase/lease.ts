/**
 * @module The Couchbase store's leases (`lock`/`unlock`): a document `<prefix>l:<key>` holding
 * `{ token, until }`, taken by `insert` (or by a CAS `replace` of a lapsed one), released by a CAS
 * `remove` while it holds the caller's token. The document also expires by itself shortly after
 * `until`. Deadlines follow the store's clock, so app servers' clocks must agree to well within a
 * lease's ttl.
 */
import { randomUUID } from 'node:crypto';
import type { CouchbaseContext } from './context.js';
import { isCouchbaseError, isRace } from './errors.js';
import { documentExpiry } from './paths.js';

/** The leases of one store. */
export interface CouchbaseLeases {
  lock: (key: string, ttlMs: number) => Promise<string | undefined>;
  unlock: (key: string, token: string) => Promise<boolean>;
}

/** Leases over `ctx`. */
export function couchbaseLeases(ctx: CouchbaseContext): CouchbaseLeases {
  const { open, keys, timeout, now } = ctx;
  async function lock(key: string, ttlMs: number): Promise<string | undefined> {
    const { collection } = await open();
    const token = randomUUID();
    const at = now();
    const lease = { token, until: at + Math.max(1, Math.ceil(ttlMs)) };
    const options = { expiry: documentExpiry(lease.until, at), timeout };
    try {
      await collection.insert(keys.lease(key), lease, options);
      return token;
    } catch (error) {
      if (!isCouchbaseError(error, 'DocumentExistsError')) throw error;
    }
    // Held, or lapsed but not yet expired by the server: take it over only if lapsed, under CAS.
    try {
      const got = await collection.get(keys.lease(key), { timeout });
      if ((got.content as { until?: number }).until! > at) return undefined;
      await collection.replace(keys.lease(key), lease, { ...options, cas: got.cas });
      return token;
    } catch (error) {
      if (isRace(error)) return undefined;
      throw error;
    }
  }

  async function unlock(key: string, token: string): Promise<boolean> {
    const { collection } = await open();
    try {
      const got = await collection.get(keys.lease(key), { timeout });
      const held = got.content as { token?: string; until?: number };
      if (held.token !== token || !(held.until! > now())) return false;
      await collection.remove(keys.lease(key), { cas: got.cas, timeout });
      return true;
    } catch (error) {
      if (isRace(error)) return false;
      throw error;
    }
  }

  return { lock, unlock };
}
