/**
 * @module Frozen copies of stored values and records, for stores that keep records in memory and
 * hand the same object to every reader (the contract lets `get` do that: callers treat records as
 * read-only). A reader then pays no parse and no copy, and no reader or writer can change what is
 * kept through a reference.
 */
import type { JsonValue, StoreRecord } from '../../core/store.js';

/** A deep copy of `value`, frozen all the way down. */
export function frozenCopy(value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const list = value.map(frozenCopy);
    Object.freeze(list);
    return list;
  }
  const out: Record<string, JsonValue> = {};
  for (const key of Object.keys(value)) out[key] = frozenCopy(value[key]!);
  Object.freeze(out);
  return out;
}

/** A deep copy of `record`, frozen all the way down. */
export function frozenRecord(record: StoreRecord): StoreRecord {
  const copy: StoreRecord = { ...record, data: frozenCopy(record.data) as StoreRecord['data'] };
  if (record.meta !== undefined) copy.meta = Object.freeze({ ...record.meta });
  if (record.keyExpiresAt !== undefined)
    copy.keyExpiresAt = Object.freeze({ ...record.keyExpiresAt });
  return Object.freeze(copy);
}

/** The same frozen record with a new idle deadline: data and bookkeeping are shared. */
export function withExpiry(record: StoreRecord, expiresAt: number): StoreRecord {
  return Object.freeze({ ...record, expiresAt });
}
