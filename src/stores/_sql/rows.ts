/**
 * @module Reading what the SQL stores select: rows into records, user sessions, counters, pages.
 */
import type { ScanPage, StoreRecord, UserSession } from '../../core/store.js';

/** A row as the SQL stores select it; drivers hand back JSON as text or parsed, numbers as text or numbers. */
export interface SessionRow {
  data: unknown;
  created_at: unknown;
  expires_at: unknown;
  absolute_expires_at: unknown;
  user_id: unknown;
  meta: unknown;
}

/** The columns a record is read from, in the order of {@link SessionRow}. */
export const RECORD_COLUMNS = 'data, created_at, expires_at, absolute_expires_at, user_id, meta';

/** A number column as a number (pg returns BIGINT as text). */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** A JSON column as a value: parsed already (jsonb, MySQL JSON) or text (MariaDB, SQLite). */
export function toJson(value: unknown): unknown {
  if (typeof value === 'string') return JSON.parse(value) as unknown;
  if (Buffer.isBuffer(value)) return JSON.parse(value.toString('utf8')) as unknown;
  return value;
}

/** Decodes a row into a record. */
export function toRecord(row: SessionRow): StoreRecord {
  const record: StoreRecord = {
    data: toJson(row.data) as StoreRecord['data'],
    createdAt: toNumber(row.created_at),
    expiresAt: toNumber(row.expires_at),
  };
  if (row.absolute_expires_at !== null && row.absolute_expires_at !== undefined)
    record.absoluteExpiresAt = toNumber(row.absolute_expires_at);
  if (typeof row.user_id === 'string') record.userId = row.user_id;
  const meta = row.meta === null || row.meta === undefined ? undefined : toJson(row.meta);
  if (meta !== undefined && meta !== null) record.meta = meta;
  return record;
}

/** Decodes a row of a user listing (`id_hash, created_at, expires_at, meta`). */
export function toUserSession(row: {
  id_hash: unknown;
  created_at: unknown;
  expires_at: unknown;
  meta: unknown;
}): UserSession {
  const session: UserSession = {
    key: String(row.id_hash),
    createdAt: toNumber(row.created_at),
    expiresAt: toNumber(row.expires_at),
  };
  const meta = row.meta === null || row.meta === undefined ? undefined : toJson(row.meta);
  if (meta !== undefined && meta !== null) session.meta = meta;
  return session;
}

/** The value of each key of `keys` after a write, from the row's `c0`, `c1`, … columns. */
export function countersOf(
  keys: readonly string[],
  row: Record<string, unknown>,
  read: (value: unknown) => number = toNumber,
): Record<string, number> {
  const counters: Record<string, number> = {};
  keys.forEach((key, i) => (counters[key] = read(row[`c${i}`])));
  return counters;
}

/** A page of {@link ScanPage} keys: a full page carries its last key as the next cursor. */
export function scanPage(keys: string[], limit: number): ScanPage {
  return keys.length === limit ? { keys, cursor: keys[keys.length - 1]! } : { keys };
}
