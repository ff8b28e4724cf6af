/**
 * @module How the SQL stores bound their calls: `timeout` through the one deadline, codes read.
 *
 * PostgreSQL and MySQL calls run through `withDeadline` (`_shared/deadline.ts`) with `timeout` as
 * their only client-side timer. The drivers' own per-call timers do not qualify to replace it, and
 * the stores set none of them: pg's `query_timeout` leaves the connection busy with the query and
 * its error has no code ("Query read timeout"); pg-pool's `connectionTimeoutMillis` also times the
 * wait for a free connection and reports by message only ("timeout exceeded when trying to
 * connect"), so it is given to each new connection instead, where it bounds connecting alone;
 * mysql2's per-query `timeout` (code `PROTOCOL_SEQUENCE_TIMEOUT`) leaves the connection busy with
 * the statement and covers one statement, not a call. SQLite calls are synchronous and bounded by
 * the database's busy timeout.
 */
import type { Classified, Deadline } from '../_shared/deadline.js';

/**
 * Driver error codes (`err.code`) meaning that a time limit of the server or driver ran out:
 * - `57014` (pg SQLSTATE `query_canceled`): the server's `statement_timeout` cancelled the query.
 * - `ETIMEDOUT` (mysql2's `connectTimeout`, or Node's own TCP connect): connecting took too long.
 * - `SQLITE_BUSY` (better-sqlite3): the busy timeout ran out waiting for another process's lock.
 */
const TIMEOUT_CODES: ReadonlySet<unknown> = new Set(['57014', 'ETIMEDOUT', 'SQLITE_BUSY']);

/** Reads a driver error by its `code`: a timeout, or left to become `STORE_UNAVAILABLE`. */
export function classifySqlError(error: unknown): Classified {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return TIMEOUT_CODES.has(code) ? 'timeout' : undefined;
}

/** The deadline of an SQL store's calls: `timeoutMs`, set by the store's `timeout` option. */
export function sqlDeadline(store: string, timeoutMs: number): Deadline {
  return { store, timeoutMs, setting: '`timeout`', classify: classifySqlError };
}
