/**
 * @module The plaintext inside a cookie store seal: a record, its session id and its exemption
 * time, as compact JSON. Internal to the cookie store.
 */
import type { JsonValue, SessionMeta, StoreRecord } from '../../core/store.js';

/** A record as opened from a seal. */
export interface SealedRecord {
  record: StoreRecord;
  /** The session id the record was sealed under. */
  id: string | undefined;
  /** When the session was kept through a `revokeUser(…, { except })` (epoch ms). */
  exemptAt: number | undefined;
}

interface Wire {
  d: Record<string, JsonValue>;
  c: number;
  e: number;
  a?: number;
  u?: string;
  m?: SessionMeta;
  i?: string;
  x?: number;
}

/** The sealed plaintext of a record. */
export function encodeRecord(
  record: StoreRecord,
  id: string,
  exemptAt: number | undefined,
): Buffer {
  const wire: Wire = { d: record.data, c: record.createdAt, e: record.expiresAt, i: id };
  if (record.absoluteExpiresAt !== undefined) wire.a = record.absoluteExpiresAt;
  if (record.userId !== undefined) wire.u = record.userId;
  if (record.meta !== undefined) wire.m = record.meta;
  if (exemptAt !== undefined) wire.x = exemptAt;
  return Buffer.from(JSON.stringify(wire), 'utf8');
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isTime = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/**
 * The record in an opened seal, or `undefined` when the plaintext does not have the expected
 * shape (which only a bug or a future format could cause: the seal was authenticated).
 */
export function decodeRecord(plaintext: Buffer): SealedRecord | undefined {
  let wire: unknown;
  try {
    wire = JSON.parse(plaintext.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(wire) || !isObject(wire['d']) || !isTime(wire['c']) || !isTime(wire['e']))
    return undefined;
  const { a, u, m, i, x } = wire;
  if (
    (a !== undefined && !isTime(a)) ||
    (u !== undefined && typeof u !== 'string') ||
    (m !== undefined && !isObject(m))
  )
    return undefined;
  if ((i !== undefined && typeof i !== 'string') || (x !== undefined && !isTime(x)))
    return undefined;
  const record: StoreRecord = {
    data: wire['d'] as Record<string, JsonValue>,
    createdAt: wire['c'],
    expiresAt: wire['e'],
  };
  if (a !== undefined) record.absoluteExpiresAt = a;
  if (u !== undefined) record.userId = u;
  if (m !== undefined) record.meta = m;
  return { record, id: i, exemptAt: x };
}
