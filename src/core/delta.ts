/**
 * @module Applying a delta to a record in memory, for stores that hold records as objects
 * (memory, file, cookie). Server-side stores apply deltas in their own atomic statements.
 */
import { capExpiry, dropExpiredKeys, isLive } from './expiry.js';
import type { Delta, JsonValue, StoreRecord } from './store.js';

/**
 * The record after `delta`, as a new object (the input is not changed), or `undefined` when the
 * delta may not apply (no live record and no `create`). Also returns the counters of `delta.incr`,
 * or the keys that made it refuse the whole delta (see {@link Applied}).
 * Per-key deadlines (`delta.expire`) are kept; keys already past theirs count as absent.
 */
export function applyDelta(
  current: StoreRecord | undefined,
  delta: Delta,
  expiresAt: number,
  now: number,
): Applied | undefined {
  const live =
    current !== undefined && isLive(current, now) ? dropExpiredKeys(current, now) : undefined;
  if (live === undefined && !delta.create) return undefined;
  const data: Record<string, JsonValue> = live && !delta.replace ? { ...live.data } : {};
  let deadlines: Record<string, number> | undefined =
    live?.keyExpiresAt && !delta.replace ? { ...live.keyExpiresAt } : undefined;
  if (delta.unset)
    for (const key of delta.unset) {
      delete data[key];
      if (deadlines) delete deadlines[key];
    }
  if (delta.set) {
    Object.assign(data, delta.set);
    if (deadlines) for (const key in delta.set) delete deadlines[key];
  }
  if (delta.expire)
    for (const key in delta.expire)
      if (Object.hasOwn(data, key)) (deadlines ??= {})[key] = delta.expire[key]!;
  let counters: Record<string, number> | undefined;
  if (delta.incr) {
    const nonNumeric = Object.keys(delta.incr).filter(
      (key) => data[key] !== undefined && typeof data[key] !== 'number',
    );
    if (nonNumeric.length > 0) return { record: undefined, counters: undefined, nonNumeric };
    counters = {};
    for (const [key, by] of Object.entries(delta.incr)) {
      const before = data[key];
      const value = (typeof before === 'number' ? before : 0) + by;
      data[key] = value;
      counters[key] = value;
    }
  }
  const absoluteExpiresAt = live ? live.absoluteExpiresAt : delta.absoluteExpiresAt;
  const record: StoreRecord = {
    data,
    createdAt: live ? live.createdAt : (delta.createdAt ?? now),
    expiresAt: capExpiry(expiresAt, absoluteExpiresAt),
  };
  if (absoluteExpiresAt !== undefined) record.absoluteExpiresAt = absoluteExpiresAt;
  const userId = delta.userId === undefined ? live?.userId : (delta.userId ?? undefined);
  if (userId !== undefined) record.userId = userId;
  const meta = delta.meta ?? live?.meta;
  if (meta !== undefined) record.meta = meta;
  if (deadlines !== undefined && Object.keys(deadlines).length > 0) record.keyExpiresAt = deadlines;
  return { record, counters, nonNumeric: undefined };
}

/**
 * What {@link applyDelta} made: the new record and the counters of `incr`; or, when a key of
 * `incr` holds something other than a number, no record and those keys (the store writes nothing).
 */
export type Applied =
  | { record: StoreRecord; counters: Record<string, number> | undefined; nonNumeric: undefined }
  | { record: undefined; counters: undefined; nonNumeric: string[] };
