/**
 * @module The SQLite store's leases (`lock`/`unlock`): one row per leased key in `<table>_locks`
 * (`id_hash`, `token`, `expires_at`) in the same database file, created with the session table.
 *
 * A lease is taken by one upsert that inserts a free key or takes over a lease that ran out
 * (`ON CONFLICT DO UPDATE … WHERE expires_at <= now`, returning the row only when it wrote it),
 * run in a `BEGIN IMMEDIATE` transaction: it takes the file's write lock before it reads, so
 * processes sharing the file take turns (waiting up to the busy timeout) instead of one failing
 * on a stale snapshot. Release deletes the row only while it still holds the caller's token and
 * has not run out.
 *
 * Deadlines follow the store's clock, as record expiry does. A row left by a holder that died
 * stays until the next `lock` of its key takes it over (one row per key at most).
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { missingLeaseTable } from '../_sql/schema.js';
import { liteNumber } from './dialect.js';

/** What the leases need of the store. */
export interface LiteLeaseSettings {
  /** The session table (the lease table is `<table>_locks`). */
  table: string;
  /** A cached prepared statement. */
  prepare(text: string): Database.Statement;
  /** Runs `step` in a `BEGIN IMMEDIATE` transaction. */
  immediate<T>(step: () => T): T;
  /** The store's clock, in whole ms. */
  now(): number;
}

/** The store's `lock` and `unlock`, synchronous (the store runs them as calls). */
export function liteLeases(s: LiteLeaseSettings): {
  lock(key: string, ttlMs: number): string | undefined;
  unlock(key: string, token: string): boolean;
} {
  const sql = liteLeaseStatements(s.table);
  /** A missing `<table>_locks` (tables made by hand before leases existed) is a CONFIG error. */
  function leased<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      if (/no such table/i.test((error as Error).message)) throw missingLeaseTable(s.table, error);
      throw error;
    }
  }
  return {
    lock(key, ttlMs) {
      const token = randomUUID();
      const at = s.now();
      const until = liteNumber(at + Math.ceil(ttlMs));
      const row = leased(() =>
        s.immediate(() => s.prepare(sql.lock).get(key, token, until, liteNumber(at))),
      );
      return row === undefined ? undefined : token;
    },
    unlock: (key, token) =>
      leased(() => s.prepare(sql.unlock).run(key, token, liteNumber(s.now())).changes) === 1,
  };
}

/** The lease statements of `table`. */
export function liteLeaseStatements(table: string) {
  const t = `"${table}_locks"`;
  return {
    /** key, token, deadline, now. Returns the row when the lease was taken. */
    lock: `INSERT INTO ${t} (id_hash, token, expires_at) VALUES (?, ?, ?)
ON CONFLICT (id_hash) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
WHERE ${t}.expires_at <= ? RETURNING token`,
    /** key, token, now. */
    unlock: `DELETE FROM ${t} WHERE id_hash = ? AND token = ? AND expires_at > ?`,
  };
}
