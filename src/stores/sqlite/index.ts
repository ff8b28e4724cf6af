/**
 * @module The SQLite store (driver `better-sqlite3`): sessions in one file shared by processes.
 *
 * The durable embedded choice: `TESSERA_STORE=sqlite:./sessions.db`; every process that opens the
 * file shares its sessions.
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
 * That busy timeout is each call's one deadline: it frees the statement on expiry and reports
 * itself as `SQLITE_BUSY`, and no timer could interrupt a synchronous call anyway.
 */
import type Database from 'better-sqlite3';
import { TesseraError } from '../../core/errors.js';
import type { StoreFactory } from '../../core/store-url.js';
import {
  systemClock,
  type Delta,
  type GcResult,
  type Store,
  type StoreRecord,
} from '../../core/store.js';
import { callFailure } from '../_shared/deadline.js';
import { sqlCheck } from '../_sql/check.js';
import { sqlDeadline } from '../_sql/deadline.js';
import { planDelta } from '../_sql/delta-plan.js';
import { writeGuarded } from '../_sql/refusal.js';
import { gcLoop } from '../_sql/gc.js';
import {
  DEFAULT_TABLE,
  checkIdentifier,
  optionsFromUrl,
  sqlTimeout,
  type SqlStoreOptions,
} from '../_sql/options.js';
import {
  countersOf,
  scanPage,
  toNumber,
  toRecord,
  toUserSession,
  type SessionRow,
} from '../_sql/rows.js';
import { checkSchemaVersion, missingTable, once } from '../_sql/schema.js';
import { busyTimeoutOf, openDatabase, type SqliteDatabase } from './database.js';
import { liteLeases } from './lease.js';
import { liteNumber, liteSchemaSql, liteStatements, liteWrite } from './dialect.js';

export type { SqliteDatabase } from './database.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'sqlite';

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions extends SqlStoreOptions {
  /**
   * A `better-sqlite3` database the application already has. The store never closes it and
   * leaves its settings alone; open it with WAL and a busy timeout (see the README). That busy
   * timeout, not `timeout`, bounds each call.
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
    return sqliteStoreOn(
      () => Promise.resolve(options.client!),
      options,
      false,
      busyTimeoutOf(options.client),
    );
  const path = options.path;
  if (path === undefined || path === '') {
    throw new TesseraError(
      'CONFIG',
      'The sqlite store needs option `path` (a database file) or `client` (a better-sqlite3 database).',
    );
  }
  const timeout = sqlTimeout(options.timeout, STORE_NAME);
  return sqliteStoreOn(
    () => openDatabase(path, timeout, options.synchronous ?? 'normal'),
    options,
    true,
    timeout,
  );
}

/** The store on the database `open` gives; `busyTimeoutMs` is its busy timeout, when known. */
function sqliteStoreOn(
  open: () => Promise<SqliteDatabase>,
  options: SqliteStoreOptions,
  owned: boolean,
  busyTimeoutMs: number | undefined,
): Store {
  const clock = options.clock ?? systemClock;
  const table = checkIdentifier(options.table ?? DEFAULT_TABLE, 'table');
  const deadline = sqlDeadline(
    STORE_NAME,
    busyTimeoutMs ?? sqlTimeout(options.timeout, STORE_NAME),
  );
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
    // A missing table fails with the generic SQLITE_ERROR code only: ask the schema instead.
    if (opened.prepare(sql.hasTable).get(`${table}_schema`) === undefined)
      throw missingTable(table);
    const row = opened.prepare(sql.version).get() as { version?: unknown } | undefined;
    checkSchemaVersion(row?.version, table);
  }

  /** Runs one operation, turning a failure into a store error (a busy file, a full disk, …). */
  async function run<T>(op: string, fn: () => T | Promise<T>): Promise<T> {
    try {
      if (closed) throw new TesseraError('STORE_UNAVAILABLE', 'The sqlite store is closed.');
      if (db === undefined) await ready();
      return await fn();
    } catch (error) {
      throw callFailure(deadline, op, error);
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

  const leases = liteLeases({
    table,
    prepare,
    immediate: (step) => db!.transaction(step).immediate(),
    now,
  });

  const readLive = (key: string, at: number): StoreRecord | undefined => {
    const row = prepare(sql.get).get(key, liteNumber(at)) as SessionRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  };

  const store: Store = {
    name: STORE_NAME,
    // The busy timeout bounds every call (see the module comment): no timer of the manager's.
    ...(busyTimeoutMs === undefined ? {} : { timeoutMs: busyTimeoutMs }),
    get: (key) => run('get', () => readLive(key, now())),
    write: (key, delta: Delta, expiresAt) =>
      run('write', () => {
        const plan = planDelta(delta);
        const at = now();
        const until = Math.floor(expiresAt);
        return writeGuarded({
          plan,
          delta,
          expiresAt: until,
          now: at,
          async write() {
            const q = liteWrite(table, key, delta, plan, until, at);
            let existed: boolean;
            let row: Record<string, unknown> | undefined;
            if (delta.create) ({ existed, row } = create(key, q.sql, q.values, at));
            else {
              row = prepare(q.sql).get(...q.values) as Record<string, unknown> | undefined;
              existed = row !== undefined;
            }
            if (row === undefined) return undefined;
            if (plan.incrKeys.length === 0) return { existed };
            return { existed, counters: countersOf(plan.incrKeys, row) };
          },
          read: async () => readLive(key, at),
        });
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
        return scanPage(
          rows.map((row) => row.id_hash),
          limit,
        );
      }),
    gc: (gcOptions = {}): Promise<GcResult> => {
      const cutoff = liteNumber(now());
      return gcLoop(gcOptions, (size) =>
        run('gc', () => prepare(sql.gc).run(cutoff, size).changes),
      );
    },
    check: () => sqlCheck(store, clock),
    // A lease row in `<table>_locks`, taken by an upsert under BEGIN IMMEDIATE (see lease.ts).
    lock: (key, ttlMs) => run('lock', () => leases.lock(key, ttlMs)),
    unlock: (key, token) => run('unlock', () => leases.unlock(key, token)),
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
  const timeout = sqlTimeout(storeOptions.timeout, STORE_NAME);
  const db = await openDatabase(path, timeout, storeOptions.synchronous ?? 'normal');
  return sqliteStoreOn(() => Promise.resolve(db), storeOptions, true, timeout);
};
