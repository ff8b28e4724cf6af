/**
 * @module How the Memcached store keeps a record: one item of compact JSON, with an expiry that
 * follows Memcached's 30-day rule.
 */
import type { JsonValue, SessionMeta, StoreRecord } from '../../core/store.js';

/** Memcached reads an expiry above 30 days as an absolute Unix time instead of a number of seconds. */
const RELATIVE_LIMIT_S = 30 * 24 * 3600;

/** What a renamed session leaves under its old key: an item that reads as no session. */
export const TOMBSTONE: Buffer = Buffer.alloc(0);

/** Memcached's expiry field for a deadline: seconds from now up to 30 days, else a Unix time. */
export function memcachedExptime(expiresAt: number, now: number): number {
  const ms = expiresAt - now;
  if (ms <= 0) return -1;
  // Memcached's clock ticks once a second, so an item may go up to a second early: add one.
  const seconds = Math.ceil(ms / 1000) + 1;
  return seconds <= RELATIVE_LIMIT_S ? seconds : Math.ceil(expiresAt / 1000) + 1;
}

/** The item's JSON: data, createdAt, expiresAt, absoluteExpiresAt, userId, meta. */
interface Stored {
  d: Record<string, JsonValue>;
  c: number;
  e: number;
  a?: number;
  u?: string;
  m?: SessionMeta;
}

/** The item value of a record. */
export function encodeRecord(record: StoreRecord): Buffer {
  const stored: Stored = { d: record.data, c: record.createdAt, e: record.expiresAt };
  if (record.absoluteExpiresAt !== undefined) stored.a = record.absoluteExpiresAt;
  if (record.userId !== undefined) stored.u = record.userId;
  if (record.meta !== undefined) stored.m = record.meta;
  return Buffer.from(JSON.stringify(stored));
}

/** The record in an item, or undefined for a tombstone or an item this store did not write. */
export function decodeRecord(value: Buffer | undefined): StoreRecord | undefined {
  if (value === undefined || value.length === 0) return undefined;
  try {
    const s = JSON.parse(value.toString('utf8')) as Stored;
    if (
      typeof s !== 'object' ||
      s === null ||
      typeof s.e !== 'number' ||
      typeof s.c !== 'number' ||
      typeof s.d !== 'object' ||
      s.d === null
    ) {
      return undefined;
    }
    const record: StoreRecord = { data: s.d, createdAt: s.c, expiresAt: s.e };
    if (s.a !== undefined) record.absoluteExpiresAt = s.a;
    if (s.u !== undefined) record.userId = s.u;
    if (s.m !== undefined) record.meta = s.m;
    return record;
  } catch {
    return undefined;
  }
}
