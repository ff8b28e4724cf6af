/**
 * @module The PostgreSQL store's leases (`lock`/`unlock`): one row per leased key in
 * `<table>_locks` (`id_hash`, `token`, `expires_at`), created with the session table.
 *
 * A lease is taken by one `INSERT … ON CONFLICT DO UPDATE … WHERE expires_at <= now`: it inserts
 * a free key, takes over a lease that ran out, and returns no row while a live lease holds the
 * key. Concurrent takers of one key are serialized by the row's unique index, and the loser
 * re-checks the winner's row, so exactly one gets it. Release deletes the row only while it still
 * holds the caller's token and has not run out.
 *
 * Why rows, not advisory locks: a session-level advisory lock belongs to one connection, and the
 * store runs each call on whatever pooled connection is free, so the unlock could run on another
 * connection (which cannot release it); a lock held by a pooled connection also never expires
 * while the connection lives, so a holder that crashed without closing it (or a pool that keeps
 * it idle) would hold it forever. A lease row ends by its deadline, whoever holds it.
 *
 * Deadlines follow the store's clock, as record expiry does (processes sharing the table must
 * have clocks that agree within a small fraction of the lease's ttl). A row left by a holder that
 * died stays until the next `lock` of its key takes it over (one row per key at most).
 *
 * With `createTable: false`, create `<table>_locks` as the README shows before using leases.
 */
import { randomUUID } from 'node:crypto';
import { missingLeaseTable } from '../_sql/schema.js';
import type { PgNames } from './dialect.js';

/** Runs one statement and gives its row count (the store's `query`). */
export type PgRowCount = (text: string, values: unknown[]) => Promise<number>;

/** The store's `lock` and `unlock` over `query`; `now` is the store's clock in whole ms. */
export function pgLeases(
  names: PgNames,
  query: PgRowCount,
  now: () => number,
): {
  lock(key: string, ttlMs: number): Promise<string | undefined>;
  unlock(key: string, token: string): Promise<boolean>;
} {
  const sql = pgLeaseStatements(names);
  /** A missing `<table>_locks` (tables made by hand before leases existed) is a CONFIG error. */
  async function leased(text: string, values: unknown[]): Promise<number> {
    try {
      return await query(text, values);
    } catch (error) {
      if ((error as { code?: unknown }).code === '42P01')
        throw missingLeaseTable(names.bare, error);
      throw error;
    }
  }
  return {
    async lock(key, ttlMs) {
      const token = randomUUID();
      const at = now();
      const taken = await leased(sql.lock, [key, token, at + Math.ceil(ttlMs), at]);
      return taken === 1 ? token : undefined;
    },
    unlock: async (key, token) => (await leased(sql.unlock, [key, token, now()])) === 1,
  };
}

/** The lease statements for the store's tables. */
export function pgLeaseStatements(n: PgNames) {
  const t = n.leases;
  return {
    /** $1 key, $2 token, $3 deadline, $4 now. Returns the row when the lease was taken. */
    lock: `INSERT INTO ${t} AS l (id_hash, token, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (id_hash) DO UPDATE SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at
WHERE l.expires_at <= $4 RETURNING l.token`,
    /** $1 key, $2 token, $3 now. One row deleted when released. */
    unlock: `DELETE FROM ${t} WHERE id_hash = $1 AND token = $2 AND expires_at > $3`,
  };
}
