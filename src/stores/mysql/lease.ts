/**
 * @module The MySQL/MariaDB store's leases (`lock`/`unlock`): one row per leased key in
 * `<table>_locks` (`id_hash`, `token`, `expires_at`), created with the session table.
 *
 * Taking a lease is two statements, each atomic on its own: `INSERT IGNORE` of a free key, and,
 * when a row was already there, an `UPDATE … WHERE expires_at <= now` that takes over a lease
 * that ran out. InnoDB locks the row for the UPDATE and re-reads it, so of several processes
 * taking over one expired lease only one matches; a racing INSERT loses on the primary key. (No
 * single `INSERT … ON DUPLICATE KEY UPDATE` will do: mysql2 sets `CLIENT_FOUND_ROWS`, under which
 * its affected-rows count cannot tell a takeover from a lease left as it was.) Release deletes the
 * row only while it still holds the caller's token and has not run out.
 *
 * Why rows, not `GET_LOCK`: a named lock belongs to the connection that took it, and the store runs
 * each call on whatever pooled connection is free, so `RELEASE_LOCK` could run on another one
 * (where it does nothing); and a named lock has no deadline: it lasts while its connection does,
 * so a holder that hung (or a pool that keeps the connection idle) holds it without end. A lease
 * row ends by its deadline, whoever holds it.
 *
 * Deadlines follow the store's clock, as record expiry does (processes sharing the table must
 * have clocks that agree within a small fraction of a lease's ttl). A row left by a holder that
 * died stays until the next `lock` of its key takes it over (one row per key at most).
 */
import type { ResultSetHeader } from 'mysql2/promise';
import { randomUUID } from 'node:crypto';
import { missingLeaseTable } from '../_sql/schema.js';

/** `ER_NO_SUCH_TABLE`. */
const NO_SUCH_TABLE = 1146;

/** Runs one statement (the store's `exec`, with its deadlock retries). */
export type LeaseExec = (text: string, values: unknown[]) => Promise<ResultSetHeader>;

/** The lease statements of `table`. */
export function myLeaseStatements(table: string) {
  const t = `\`${table}_locks\``;
  return {
    insert: `INSERT IGNORE INTO ${t} (id_hash, token, expires_at) VALUES (?, ?, ?)`,
    takeOver: `UPDATE ${t} SET token = ?, expires_at = ? WHERE id_hash = ? AND expires_at <= ?`,
    unlock: `DELETE FROM ${t} WHERE id_hash = ? AND token = ? AND expires_at > ?`,
  };
}

/** The store's `lock` and `unlock` over `exec`; `now` is the store's clock in whole ms. */
export function myLeases(
  table: string,
  exec: LeaseExec,
  now: () => number,
): {
  lock(key: string, ttlMs: number): Promise<string | undefined>;
  unlock(key: string, token: string): Promise<boolean>;
} {
  const sql = myLeaseStatements(table);
  /** A missing `<table>_locks` (tables made by hand before leases existed) is a CONFIG error. */
  async function leased(text: string, values: unknown[]): Promise<number> {
    try {
      return (await exec(text, values)).affectedRows;
    } catch (error) {
      if ((error as { errno?: unknown }).errno === NO_SUCH_TABLE)
        throw missingLeaseTable(table, error);
      throw error;
    }
  }
  return {
    async lock(key, ttlMs) {
      const token = randomUUID();
      const at = now();
      const until = at + Math.ceil(ttlMs);
      if ((await leased(sql.insert, [key, token, until])) === 1) return token;
      return (await leased(sql.takeOver, [token, until, key, at])) === 1 ? token : undefined;
    },
    unlock: async (key, token) => (await leased(sql.unlock, [key, token, now()])) === 1,
  };
}
