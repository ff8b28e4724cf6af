/**
 * @module Opening the SQLite store's database file: the driver, WAL, the busy timeout, sync level.
 */
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { TesseraError } from '../../core/errors.js';
import { driverMissing } from '../_sql/options.js';

/** A `better-sqlite3` database. */
export type SqliteDatabase = Database.Database;

async function importDriver(): Promise<typeof Database> {
  try {
    return (await import('better-sqlite3')).default;
  } catch (cause) {
    throw driverMissing('better-sqlite3', cause);
  }
}

/**
 * Opens the database file in WAL mode with `timeout` as its busy timeout (the one bound on each
 * call) and the given sync level. Throws `CONFIG` when the driver or the file cannot be opened.
 */
export async function openDatabase(
  path: string,
  timeout: number,
  synchronous: 'normal' | 'full',
): Promise<SqliteDatabase> {
  const open = await importDriver();
  try {
    const db = new open(path === ':memory:' ? path : resolve(path), { timeout });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    return db;
  } catch (cause) {
    throw new TesseraError(
      'CONFIG',
      `The sqlite store could not open its database file: ${(cause as Error).message}. Check the path and its folder's permissions.`,
      { cause },
    );
  }
}

/** The busy timeout of a database the application opened (ms), or `undefined` if unreadable. */
export function busyTimeoutOf(db: SqliteDatabase): number | undefined {
  try {
    const ms: unknown = db.pragma('busy_timeout', { simple: true });
    return typeof ms === 'number' ? ms : undefined;
  } catch {
    return undefined;
  }
}
