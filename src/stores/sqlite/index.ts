/**
 * @module The SQLite store (driver `better-sqlite3`): sessions in one database file, shared by
 * every process that opens it. The durable embedded choice: `TESSERA_STORE=sqlite:./sessions.db`.
 *
 * The file is opened in WAL mode with a busy timeout. Every write is one statement, which
 * SQLite runs as its own transaction taking the write lock up front (a create is one
 * `BEGIN IMMEDIATE` transaction), so writers from several processes queue for the lock instead
 * of failing with SQLITE_BUSY.
 *
 * After a crash: a write that returned is in the file. With `synchronous: 'normal'` (the default)
 * that holds when the process is killed; a power loss or OS crash may roll back the last
 * writes, never corrupt the file. `synchronous: 'full'` keeps acknowledged writes across power
 * loss too, at the price of one fsync per write.
 *
 * better-sqlite3 is synchronous: a query, and a wait for another process's write lock (at most
 * `timeout`), blocks the event loop. Writes are short, so in normal use the wait is microseconds.
 */
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { TesseraError } from '../../core/errors.js';
import type { StoreFactory } from '../../core/store-url.js';
import {
  systemClock,
  type Delta,
  type GcResult,
  type Store,
  type StoreRecord,
  type WriteResult,
} from '../../core/store.js';
import { sqlCheck } from '../_sql/check.js';
import {
  DEFAULT_TABLE,
  checkIdentifier,
  checkSchemaVersion,
  checkTimeout,
  driverMissing,
  gcLoop,
  missingTable,
  once,
  optionsFromUrl,
  planDelta,
  toNumber,
  toStoreError,
  toRecord,
  toUserSession,
  type SessionRow,
  type SqlStoreOptions,
} from '../_sql/common.js';
import { liteNumber, liteSchemaSql, liteStatements, liteWrite } from './dialect.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'sqlite';

/** A `better-sqlite3` database. */
export type SqliteDatabase = Database.Database;

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions extends SqlStoreOptions {
  /**
   * A `better-sqlite3` database the application already has. The store never closes it and
   * leaves its settings alone; open it with WAL and a busy timeout (see the README).
   */
  client?: SqliteDatabase;
  /** The database file when no `client` is given; created when missing. Relative to the working directory. */
  path?: string;
  /**
   * How hard SQLite syncs (for a file the store opens): `normal` survives a killed process,
   * `full` also a power loss.
   * @default 'normal'
   */
  synchronous?: 'normal' | 'full';
}

/**
 * Creates a SQLite store. The file is opened (and the table created) on first use.
 *
 * @example
 * const sessions = createSessionManager({ store: sqliteStore({ path: './sessions.db' }) })
 */
export function sqliteStore(options: SqliteStoreOptions): Store {
  if (options.client !== undefined)
    return sqliteStoreOn(() => Promise.resolve(options.client!), options, false);
  const path = options.path;
  if (path === undefined || path === '') {
    throw new TesseraError(
      'CONFIG',
      'The sqlite store needs option `path` (a database file) or `client` (a better-sqlite3 database).',
    );
  }
  const timeout = checkTimeout(options.timeout);
  return sqliteStoreOn(
    async () => openDatabase(await importDriver(), path, timeout, options.synchronous ?? 'normal'),
    options,
    true,
  );
}

async function importDriver(): Promise<typeof Database> {
  try {
    return (await import('better-sqlite3')).default;
  } catch (cause) {
    throw driverMissing('better-sqlite3', cause);
  }
}

function openDatabase(
  open: typeof Database,
  path: string,
  timeout: number,
  synchronous: 'normal' | 'full',
): SqliteDatabase {
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

function sqliteStoreOn(
  open: () => Promise<SqliteDatabase>,
  options: SqliteStoreOptions,
  owned: boolean,
): Store {
  const clock = options.clock ?? systemClock;
  const table = checkIdentifier(options.table ?? DEFAULT_TABLE, 'table');
  const timeout = checkTimeout(options.timeout);
  const sql = liteStatements(table);
  const cache = new Map<string, Database.Statement>();
  let db: SqliteDatabase | undefined;
  let handle: SqliteDatabase | undefined;
  let closed = false;
  const ready = once(async () => {
    handle ??= await open();
    init(handle);
    db = handle;
  });

  function prepare(text: string): Database.Statement {
    let statement = cache.get(text);
    if (statement === undefined) {
      statement = db!.prepare(text);
      // Delta statements vary with the shape of the delta; keep the cache bounded.
      if (cache.size >= 500) cache.delete(cache.keys().next().value!);
      cache.set(text, statement);
    }
    return statement;
  }

  function init(opened: SqliteDatabase): void {
    if (options.createTable !== false)
      opened.transaction(() => opened.exec(liteSchemaSql(table))).immediate();
    let version: unknown;
    try {
      version = (opened.prepare(sql.version).get() as { version?: unknown } | undefined)?.version;
    } catch (cause) {
      if (/no such table/.test((cause as Error).message)) throw missingTable(table, cause);
      throw cause;
    }
    checkSchemaVersion(version, table);
  }

  /** Runs one operation, turning a failure into a store error (a busy file, a full disk, …). */
  async function run<T>(op: string, fn: () => T): Promise<T> {
    try {
      if (closed) throw new TesseraError('STORE_UNAVAILABLE', 'The sqlite store is closed.');
      if (db === undefined) await ready();
      return fn();
    } catch (error) {
      throw toStoreError(STORE_NAME, op, timeout, error);
    }
  }
  const now = (): number => Math.floor(clock.now());

  /** A create: whether a live row was there, and the upsert, in one BEGIN IMMEDIATE transaction. */
  const create = (
    key: string,
    text: string,
    values: unknown[],
    at: number,
  ): { existed: boolean; row: Record<string, unknown> | undefined } =>
    db!
      .transaction(() => {
        const prior = prepare(sql.live).get(liteNumber(at), key) as { live: number } | undefined;
        const row = prepare(text).get(...values) as Record<string, unknown> | undefined;
        return { existed: prior?.live === 1, row };
      })
      .immediate();

  const store: Store = {
    name: STORE_NAME,
    get: (key) =>
      run('get', (): StoreRecord | undefined => {
        const row = prepare(sql.get).get(key, liteNumber(now())) as SessionRow | undefined;
        return row === undefined ? undefined : toRecord(row);
      }),
    write: (key, delta: Delta, expiresAt) =>
      run('write', (): WriteResult => {
        const plan = planDelta(delta);
        const at = now();
        const q = liteWrite(table, key, delta, plan, Math.floor(expiresAt), at);
        let existed: boolean;
        let row: Record<string, unknown> | undefined;
        if (delta.create) ({ existed, row } = create(key, q.sql, q.values, at));
        else {
          row = prepare(q.sql).get(...q.values) as Record<string, unknown> | undefined;
          existed = row !== undefined;
        }
        if (row === undefined || plan.incrKeys.length === 0) return { existed };
        const counters: Record<string, number> = {};
        plan.incrKeys.forEach((k, i) => (counters[k] = toNumber(row[`c${i}`])));
        return { existed, counters };
      }),
    touch: (key, expiresAt) =>
      run('touch', () => {
        const at = liteNumber(Math.floor(expiresAt));
        prepare(sql.touch).run(at, at, key, liteNumber(now()));
      }),
    destroy: (key) =>
      run('destroy', () => {
        prepare(sql.destroy).run(key);
      }),
    async close() {
      if (closed) return;
      closed = true;
      cache.clear();
      if (owned) handle?.close();
    },
    rename: (oldKey, newKey) =>
      run('rename', () => prepare(sql.rename).run(newKey, oldKey, liteNumber(now())).changes === 1),
    byUser: (userId) =>
      run('byUser', () =>
        prepare(sql.byUser)
          .all(userId, liteNumber(now()))
          .map((row) => toUserSession(row as never)),
      ),
    destroyByUser: (userId, exceptKey) =>
      run('destroyByUser', () => {
        const at = now();
        const gone = prepare(sql.destroyByUser).all(userId, exceptKey ?? null) as Array<{
          expires_at: number;
        }>;
        return gone.filter((row) => toNumber(row.expires_at) > at).length;
      }),
    count: () =>
      run('count', () => toNumber((prepare(sql.count).get(liteNumber(now())) as { n: unknown }).n)),
    scan: (cursor, limit = 100) =>
      run('scan', () => {
        const rows = prepare(sql.scan).all(cursor ?? '', liteNumber(now()), limit) as Array<{
          id_hash: string;
        }>;
        const keys = rows.map((row) => row.id_hash);
        return keys.length === limit ? { keys, cursor: keys[keys.length - 1]! } : { keys };
      }),
    gc: (gcOptions = {}): Promise<GcResult> => {
      const cutoff = liteNumber(now());
      return gcLoop(gcOptions, (size) =>
        run('gc', () => prepare(sql.gc).run(cutoff, size).changes),
      );
    },
    check: () => sqlCheck(store, clock),
  };
  return store;
}

/**
 * `sqlite:` URLs for `createStore`: `sqlite:./sessions.db` (relative to the working directory),
 * `sqlite:/var/lib/app/sessions.db` or `sqlite:///var/lib/app/sessions.db`, with optional
 * `?table=…&createTable=false&timeout=…&synchronous=full`.
 */
export const storeFromUrl: StoreFactory = async (url, options) => {
  if (url.host !== '') {
    throw new TesseraError(
      'CONFIG',
      `A sqlite URL names a file, not a host: write sqlite:./sessions.db or sqlite:/absolute/path.db (got host "${url.host}").`,
    );
  }
  const path = decodeURIComponent(url.pathname);
  const storeOptions: SqliteStoreOptions = { ...optionsFromUrl(url), path };
  const synchronous = url.searchParams.get('synchronous');
  if (synchronous !== null) {
    if (synchronous !== 'normal' && synchronous !== 'full')
      throw new TesseraError('CONFIG', 'URL parameter `synchronous` must be normal or full.');
    storeOptions.synchronous = synchronous;
  }
  if (options.clock !== undefined) storeOptions.clock = options.clock;
  // Open now, so a wrong path or a missing driver fails at start-up rather than on the first request.
  const db = openDatabase(
    await importDriver(),
    path,
    checkTimeout(storeOptions.timeout),
    storeOptions.synchronous ?? 'normal',
  );
  return sqliteStoreOn(() => Promise.resolve(db), storeOptions, true);
};
