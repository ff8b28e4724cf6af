/**
 * @module How the memory store keeps a record: data as one JSON string (compact, and no caller can
 * change a stored object through a reference), bookkeeping as fields.
 */
import { dropExpiredKeys } from '../../core/expiry.js';
import type { StoreRecord } from '../../core/store.js';

/**
 * A record as kept: data as one JSON string (compact, and no caller can change a stored object
 * through a reference), bookkeeping as fields, and the expiry bucket it is filed under.
 */
export interface Entry {
  json: string;
  createdAt: number;
  expiresAt: number;
  absoluteExpiresAt: number | undefined;
  userId: string | undefined;
  meta: string | undefined;
  /** Per-key deadlines as JSON, when any key has one. */
  keyExpiresAt: string | undefined;
  bucket: number;
}

/** The record an entry holds, with keys past their own deadline left out. A fresh object. */
export function toRecord(entry: Entry, now: number): StoreRecord {
  const record: StoreRecord = {
    data: JSON.parse(entry.json) as StoreRecord['data'],
    createdAt: entry.createdAt,
    expiresAt: entry.expiresAt,
  };
  if (entry.absoluteExpiresAt !== undefined) record.absoluteExpiresAt = entry.absoluteExpiresAt;
  if (entry.userId !== undefined) record.userId = entry.userId;
  if (entry.meta !== undefined)
    record.meta = JSON.parse(entry.meta) as StoreRecord['meta'] & object;
  if (entry.keyExpiresAt === undefined) return record;
  record.keyExpiresAt = JSON.parse(entry.keyExpiresAt) as Record<string, number>;
  return dropExpiredKeys(record, now);
}
/** The entry of a record, filed under expiry bucket `bucket`. */
export function toEntry(record: StoreRecord, bucket: number): Entry {
  return {
    json: JSON.stringify(record.data),
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    userId: record.userId,
    meta: record.meta === undefined ? undefined : JSON.stringify(record.meta),
    keyExpiresAt:
      record.keyExpiresAt === undefined ? undefined : JSON.stringify(record.keyExpiresAt),
    bucket,
  };
}
