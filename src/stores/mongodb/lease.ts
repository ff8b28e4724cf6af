/**
 * @module The MongoDB store's leases (`lock`/`unlock`): one document per leased key in
 * `<collection>_locks`.
 *
 * A lease is taken by one `findOneAndUpdate` upsert on `_id` whose update pipeline gives the
 * lease to the caller's token only when the stored one lapsed (`until <= $$NOW`, which a new
 * document's missing `until` also is), and otherwise leaves it as it is; the caller holds the
 * lease when the document comes back with its token. Release deletes the document only while it
 * still holds the caller's token and has not lapsed. Both compare with the server's clock
 * (`$$NOW`, MongoDB 4.2+), not the store's: a lease must end for every process at once. (The
 * decision sits in the pipeline because MongoDB refuses `$expr` in the filter of an upsert.) A TTL
 * index on `until` removes old leases.
 */
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { isDuplicateKey } from './errors.js';
import type { MongoLeaseDocument } from './update.js';

/** A transient field of the lease pipeline: whether the stored lease lapsed. */
const TAKE = '_tesseraTake';

/**
 * The pipeline that gives the lease on a key to `token` for `ttlMs` by the server's clock, if the
 * stored lease lapsed (or there is none), and leaves a live one untouched.
 */
export function takeLeasePipeline(token: string, ttlMs: number): Array<Record<string, unknown>> {
  const ms = Math.max(1, Math.ceil(ttlMs));
  return [
    { $set: { [TAKE]: { $lte: [{ $ifNull: ['$until', new Date(0)] }, '$$NOW'] } } },
    {
      $set: {
        token: { $cond: [`$${TAKE}`, { $literal: token }, '$token'] },
        until: { $cond: [`$${TAKE}`, { $add: ['$$NOW', ms] }, '$until'] },
      },
    },
    { $unset: [TAKE] },
  ];
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
      // Two first takers at once: the server retries a plain `_id` upsert that lost the insert
      // race; a duplicate key reaching here is retried once the same way.
      for (let attempt = 1; ; attempt++) {
        try {
          const lease = await collection.findOneAndUpdate(
            { _id: key },
            takeLeasePipeline(token, ttlMs),
            { upsert: true, returnDocument: 'after', projection: { token: 1 }, maxTimeMS },
          );
          return lease?.token === token ? token : undefined;
        } catch (error) {
          if (!isDuplicateKey(error) || attempt >= 2) throw error;
        }
      }
    },
    async unlock(key, token) {
      const collection = await leases();
      const result = await collection.deleteOne(heldLease(key, token), { maxTimeMS });
      return result.deletedCount === 1;
    },
  };
}
