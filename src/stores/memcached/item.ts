/**
 * @module How the Memcached store keeps a record: one item of compact JSON, with its expiry.
 *
 * The expiry follows Memcached's 30-day rule.
 *
 * The JSON is the compact form the cookie store also seals (`_shared/compact-record.ts`).
 */
import type { StoreRecord } from '../../core/store.js';
import { fromCompact, toCompact } from '../_shared/compact-record.js';

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

/** The item value of a record. */
export function encodeItem(record: StoreRecord): Buffer {
  return Buffer.from(JSON.stringify(toCompact(record)));
}

/** The record in an item, or undefined for a tombstone or an item this store did not write. */
export function decodeItem(value: Buffer | undefined): StoreRecord | undefined {
  if (value === undefined || value.length === 0) return undefined;
  try {
    return fromCompact(JSON.parse(value.toString('utf8')));
  } catch {
    return undefined;
  }
}
