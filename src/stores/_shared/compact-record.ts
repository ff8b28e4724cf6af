/**
 * @module The compact JSON form of a record (`d`, `c`, `e`, `a`, `u`, `m`).
 *
 * For stores that keep a whole record in one value: the cookie store's seal and the Memcached
 * store's item.
 */
import type { JsonValue, SessionMeta, StoreRecord } from '../../core/store.js';

/** A record in compact form: data, createdAt, expiresAt, absoluteExpiresAt, userId, meta. */
export interface CompactRecord {
  d: Record<string, JsonValue>;
  c: number;
  e: number;
  a?: number;
  u?: string;
  m?: SessionMeta;
}

/** The compact form of a record (keys in a fixed order: `d c e a u m`). */
export function toCompact(record: StoreRecord): CompactRecord {
  const compact: CompactRecord = { d: record.data, c: record.createdAt, e: record.expiresAt };
  if (record.absoluteExpiresAt !== undefined) compact.a = record.absoluteExpiresAt;
  if (record.userId !== undefined) compact.u = record.userId;
  if (record.meta !== undefined) compact.m = record.meta;
  return compact;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isTime = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/** The record in a parsed compact value, or `undefined` when it does not have the shape. */
export function fromCompact(value: unknown): StoreRecord | undefined {
  if (!isObject(value) || !isObject(value['d']) || !isTime(value['c']) || !isTime(value['e']))
    return undefined;
  const { a, u, m } = value;
  if (
    (a !== undefined && !isTime(a)) ||
    (u !== undefined && typeof u !== 'string') ||
    (m !== undefined && !isObject(m))
  )
    return undefined;
  const record: StoreRecord = {
    data: value['d'] as Record<string, JsonValue>,
    createdAt: value['c'],
    expiresAt: value['e'],
  };
  if (a !== undefined) record.absoluteExpiresAt = a;
  if (u !== undefined) record.userId = u;
  if (m !== undefined) record.meta = m;
  return record;
}
