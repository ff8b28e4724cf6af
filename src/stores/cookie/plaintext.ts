/**
 * @module The plaintext inside a cookie store seal: a record, its session id, its exemption time.
 *
 * The record travels in the compact form the Memcached store also uses
 * (`_shared/compact-record.ts`), with two fields of the cookie store's own: `i` (the session id)
 * and `x` (the exemption time).
 */
import type { StoreRecord } from '../../core/store.js';
import { fromCompact, toCompact, type CompactRecord } from '../_shared/compact-record.js';

/** A record as opened from a seal. */
export interface SealedRecord {
  record: StoreRecord;
  /** The session id the record was sealed under. */
  id: string | undefined;
  /** When the session was kept through a `revokeUser(…, { except })` (epoch ms). */
  exemptAt: number | undefined;
}

/** The sealed plaintext of a record. */
export function encodePlaintext(
  record: StoreRecord,
  id: string,
  exemptAt: number | undefined,
): Buffer {
  const wire: CompactRecord & { i: string; x?: number } = { ...toCompact(record), i: id };
  if (exemptAt !== undefined) wire.x = exemptAt;
  return Buffer.from(JSON.stringify(wire), 'utf8');
}

/**
 * The record in an opened seal, or `undefined` when the plaintext does not have the expected
 * shape (which only a bug or a future format could cause: the seal was authenticated).
 */
export function decodePlaintext(plaintext: Buffer): SealedRecord | undefined {
  let wire: unknown;
  try {
    wire = JSON.parse(plaintext.toString('utf8'));
  } catch {
    return undefined;
  }
  const record = fromCompact(wire);
  if (record === undefined) return undefined;
  const { i, x } = wire as { i?: unknown; x?: unknown };
  if (i !== undefined && typeof i !== 'string') return undefined;
  if (x !== undefined && (typeof x !== 'number' || !Number.isFinite(x))) return undefined;
  return { record, id: i, exemptAt: x };
}
