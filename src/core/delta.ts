/**
 * @module Applying a delta to a record in memory, for stores that hold records as objects
 * (memory, file, cookie). Server-side stores apply deltas in their own atomic statements.
 */
import { capExpiry, type Delta, type JsonValue, type StoreRecord } from './store.js';

/**
 * The record after `delta`, as a new object (the input is not changed), or `undefined` when the
 * delta may not apply (no live record and no `create`). Also returns the counters of `delta.incr`.
 */
export function applyDelta(
  current: StoreRecord | undefined,
  delta: Delta,
  expiresAt: number,
  now: number,
): { record: StoreRecord; counters: Record<string, number> | undefined } | undefined {
  const live = current !== undefined && isLive(current, now) ? current : undefined;
  if (live === undefined && !delta.create) return undefined;
  const data: Record<string, JsonValue> = live && !delta.replace ? { ...live.data } : {};
  if (delta.unset) for (const key of delta.unset) delete data[key];
  if (delta.set) Object.assign(data, delta.set);
  let counters: Record<string, number> | undefined;
  if (delta.incr) {
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
  return { record, counters };
}

/** Whether a record is still live at `now`. */
export function isLive(record: StoreRecord, now: number): boolean {
  return (
    record.expiresAt > now &&
    (record.absoluteExpiresAt === undefined || record.absoluteExpiresAt > now)
  );
}
