/**
 * @module How the memory store keeps a record: decoded and frozen, so a read hands out the stored
 * object itself (no parse, no copy) and no caller can change what is stored through it. A write
 * makes a new record: the data object is copied shallowly and only the values the write brings are
 * copied deeply (and frozen), so its cost follows the size of the change, not of the session.
 */
import type { Delta, StoreRecord } from '../../core/store.js';
import { frozenCopy } from '../_shared/frozen.js';

/** A record as kept, filed under an expiry bucket. `record` is frozen all the way down. */
export interface Entry {
  record: StoreRecord;
  /** The expiry second it is filed under (see the store's buckets). */
  bucket: number;
}

/**
 * The frozen record to keep after `delta` made `record` (from `applyDelta`, which copied the data
 * object and took `delta.set`'s values as they are): those values are copied and frozen; values
 * that came from the stored record are frozen already.
 */
export function freezeRecord(record: StoreRecord, delta: Delta): StoreRecord {
  const data = record.data;
  if (delta.set !== undefined)
    for (const key in delta.set) if (Object.hasOwn(data, key)) data[key] = frozenCopy(data[key]!);
  Object.freeze(data);
  if (record.meta !== undefined && !Object.isFrozen(record.meta))
    record.meta = Object.freeze({ ...record.meta });
  if (record.keyExpiresAt !== undefined) Object.freeze(record.keyExpiresAt);
  return Object.freeze(record);
}
