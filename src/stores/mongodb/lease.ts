/**
 * @module The MongoDB store's leases (`lock`/`unlock`): one document per leased key in
 * `<collection>_locks`.
 *
 * A lease is taken by one upsert that matches only a lease past its end (`until <= $$NOW`): a
 * free key is inserted, a lapsed lease is overwritten, and a held one makes the upsert's insert
 * fail on the duplicate `_id`, which reads as "held". Release deletes the document only while it
 * still holds the caller's token and has not lapsed. Both compare with the server's clock
 * (`$$NOW`, MongoDB 4.2+), not the store's: a lease must end for every process at once. A TTL
 * index on `until` removes old leases.
 */
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { isDuplicateKey } from './errors.js';
import type { MongoLeaseDocument } from './update.js';

/** The filter matching the lease on `key` only when it lapsed. */
export function lapsedLease(key: string): Record<string, unknown> {
  return { _id: key, $expr: { $lte: ['$until', '$$NOW'] } };
}

/** The pipeline that gives the lease on a key to `token` for `ttlMs` by the server's clock. */
export function takeLeasePipeline(token: string, ttlMs: number): Array<Record<string, unknown>> {
  const ms = Math.max(1, Math.ceil(ttlMs));
  return [{ $set: { token: { $literal: token }, until: { $add: ['$$NOW', ms] } } }];
}

/** The filter matching the lease on `key` while `token` holds it. */
export function heldLease(key: string, token: string): Record<string, unknown> {
  return { _id: key, token, $expr: { $gt: ['$until', '$$NOW'] } };
}

/** Leases on `leases`, with `maxTimeMS` sent along with each command. */
export function mongoLeases(
  leases: () => Promise<Collection<MongoLeaseDocument>>,
  maxTimeMS: number,
): {
  lock(key: string, ttlMs: number): Promise<string | undefined>;
  unlock(key: string, token: string): Promise<boolean>;
} {
  return {
    async lock(key, ttlMs) {
      const token = randomUUID();
      const collection = await leases();
      try {
        const result = await collection.updateOne(
          lapsedLease(key),
          takeLeasePipeline(token, ttlMs),
          { upsert: true, maxTimeMS },
        );
        return result.upsertedCount + result.modifiedCount === 1 ? token : undefined;
      } catch (error) {
        if (isDuplicateKey(error)) return undefined;
        throw error;
      }
    },
    async unlock(key, token) {
      const collection = await leases();
      const result = await collection.deleteOne(heldLease(key, token), { maxTimeMS });
      return result.deletedCount === 1;
    },
  };
}
