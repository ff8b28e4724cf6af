/**
 * @module Compare-and-swap updates for the Memcached store: `gets`, change, `cas`, retry.
 *
 * Each update reads with `gets`, changes the record, writes it back with `cas` (or `add` for a
 * missing item), and starts over when another writer got there first, a bounded number of times.
 * Writes to one key from this process also take turns in a lane, so they never make each other
 * retry; CAS only settles races between processes. A call whose deadline passed (see
 * `_shared/deadline.ts`) starts no further step: its caller has given up.
 */
import { isLive } from '../../core/expiry.js';
import { TesseraError } from '../../core/errors.js';
import type { Clock, StoreRecord } from '../../core/store.js';
import type { CallScope } from '../_shared/deadline.js';
import { createLanes } from '../_shared/lanes.js';
import type { MemcachedClient } from './client.js';
import { TOMBSTONE, decodeItem, encodeItem, memcachedExptime } from './item.js';

/** What a change asks for: write `record` and return `out`, or return `out` and write nothing. */
export type Change<T> = { record: StoreRecord; out: T } | { out: T };

/** The CAS operations of one store. */
export interface CasOps {
  /** Runs `run` after every earlier call for `key` from this process settled. */
  inLane<T>(key: string, scope: CallScope, run: () => Promise<T>): Promise<T>;
  /** Applies `change` to the live record under `item` (undefined when none) until it sticks. */
  update<T>(
    op: string,
    scope: CallScope,
    item: string,
    change: (current: StoreRecord | undefined, now: number) => Change<T>,
  ): Promise<T>;
  /** Moves a live record from item `from` to item `to`; `false` when there was none. */
  rename(scope: CallScope, from: string, to: string): Promise<boolean>;
}

/** CAS operations over `client`, giving up after `attempts` lost races with `STORE_CONFLICT`. */
export function casOps(client: MemcachedClient, clock: Clock, attempts: number): CasOps {
  const lanes = createLanes();
  const conflict = (op: string): TesseraError =>
    new TesseraError(
      'STORE_CONFLICT',
      `The memcached store lost ${attempts} compare-and-swap races in a row during ${op}; the session was not changed. Retry the request.`,
    );
  /** What a call whose caller gave up rejects with (nobody reads it: the caller has its timeout). */
  const abandoned = (): Error => new Error('the call ran out of time; stopped');
  /** A short random pause between attempts, so racing processes fall out of step. */
  const pause = (attempt: number): Promise<void> =>
    new Promise((r) => setTimeout(r, Math.random() * Math.min(2 ** attempt, 20)));

  return {
    inLane(key, scope, run) {
      return lanes(key, () => (scope.isAbandoned ? Promise.reject(abandoned()) : run()));
    },
    async update(op, scope, key, change) {
      for (let attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0) await pause(attempt);
        if (scope.isAbandoned) throw abandoned();
        const item = await client.gets(key);
        const now = clock.now();
        const current = decodeItem(item?.value);
        const next = change(
          current !== undefined && isLive(current, now) ? current : undefined,
          now,
        );
        if (!('record' in next)) return next.out;
        const value = encodeItem(next.record);
        const exptime = memcachedExptime(next.record.expiresAt, now);
        if (item === undefined) {
          if (await client.add(key, value, exptime)) return next.out;
        } else if ((await client.cas(key, value, exptime, item.cas)) === 'stored') {
          return next.out;
        }
      }
      throw conflict(op);
    },
    async rename(scope, from, to) {
      for (let attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0) await pause(attempt);
        if (scope.isAbandoned) {
          if (attempt > 0) await client.delete(to);
          throw abandoned();
        }
        const item = await client.gets(from);
        const now = clock.now();
        const record = decodeItem(item?.value);
        if (item === undefined || record === undefined || !isLive(record, now)) {
          if (attempt > 0) await client.delete(to);
          return false;
        }
        // The copy first; then the old item gives way to a short-lived tombstone only if nobody
        // wrote to it since it was read: at no moment does neither key hold the session, and no
        // write is lost (a write that slipped in makes the copy start over).
        await client.set(to, item.value, memcachedExptime(record.expiresAt, now));
        const outcome = await client.cas(
          from,
          TOMBSTONE,
          memcachedExptime(now + 2000, now),
          item.cas,
        );
        if (outcome === 'stored') return true;
        if (outcome === 'not-found') {
          await client.delete(to);
          return false;
        }
      }
      await client.delete(to);
      throw conflict('rename');
    },
  };
}
