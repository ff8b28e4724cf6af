/**
 * @module The MySQL/MariaDB store (driver `mysql2`): one row per session, data as JSON, every
 * operation one prepared statement (an increment: one short transaction), deltas applied
 * atomically by the server with JSON_SET/JSON_REMOVE.
 *
 * Tested on MariaDB 10.11, where JSON is LONGTEXT with a JSON_VALID check (the text is kept as
 * written). On MySQL 8, JSON is a binary type: it works the same, but keys come back in MySQL's
 * order and numbers normalised (`7.0` for a double), and `VALUES()` in ON DUPLICATE KEY UPDATE
 * logs a deprecation warning. InnoDB with `innodb_flush_log_at_trx_commit = 1` (the default) keeps
 * an acknowledged write across a crash.
 */
import type { Pool as CallbackPool } from 'mysql2';
import type {
  createPool as CreatePool,
  Pool,
  PoolConnection,
  PoolOptions,
  ResultSetHeader,
  RowDataPacket,
} from 'mysql2/promise';
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
  jsonPath,
  missingTable,
  once,
  optionsFromUrl,
  planDelta,
  runBounded,
  toJson,
  toNumber,
  toRecord,
  toUserSession,
  type SessionRow,
  type SqlStoreOptions,
} from '../_sql/common.js';
import { mySchemaSql, myStatements, myWrite } from './dialect.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'mysql';

/** A `mysql2` pool the application already has: from `mysql2/promise` or `mysql2` (callback API). */
export type MysqlClient = Pool | CallbackPool;

/** Options of {@link mysqlStore}. */
export interface MysqlStoreOptions extends SqlStoreOptions {
  /**
   * A `mysql2` pool the application already has. The store never ends it. Give it a bounded
   * `queueLimit` and a `connectTimeout`; the store bounds each query with `timeout`.
   */
  client?: MysqlClient;
  /**
   * Where to connect when no `client` is given: a `mysql://user:pass@host:port/database` URL or
   * `mysql2` `PoolOptions`. The store then makes its own pool and ends it on `close()`.
   */
  connection?: string | PoolOptions;
  /** The most connections the store's own pool opens. @default 10 */
  connectionLimit?: number;
  /** The most calls the store's own pool lets wait for a connection; more fail at once. @default 1000 */
  queueLimit?: number;
  /** Told about errors of idle connections of the store's own pool (they never crash the process). @default ignore */
  onError?: (error: Error) => void;
}

const DEADLOCK = 1213;

/**
 * Creates a MySQL/MariaDB store. The table is created on first use (see `createTable`).
 *
 * @example
 * import mysql from 'mysql2/promise'
 * const pool = mysql.createPool({ uri: process.env.DATABASE_URL, queueLimit: 1000, connectTimeout: 2000 })
 * const sessions = createSessionManager({ store: mysqlStore({ client: pool }) })
 */
export function mysqlStore(options: MysqlStoreOptions = {}): Store {
  const clock = options.clock ?? systemClock;
  const timeout = checkTimeout(options.timeout);
  const table = checkIdentifier(options.table ?? DEFAULT_TABLE, 'table');
  const sql = myStatements(table);
  const owned = options.client === undefined;
  let pool: Pool | undefined =
    options.client === undefined ? undefined : asPromisePool(options.client);
  let closed = false;

  async function connect(): Promise<Pool> {
    let createPool: typeof CreatePool;
    try {
      ({ createPool } = await import('mysql2/promise'));
    } catch (cause) {
      throw driverMissing('mysql2', cause);
    }
    const base =
      typeof options.connection === 'string'
        ? mysqlConfigFromUrl(new URL(options.connection))
        : { ...options.connection };
    const created = createPool({
      connectionLimit: options.connectionLimit ?? 10,
      waitForConnections: true,
      queueLimit: options.queueLimit ?? 1000,
      connectTimeout: timeout,
      enableKeepAlive: true,
      idleTimeout: 60_000,
      ...base,
    });
    // A connection that dies while idle emits `error`; mysql2 listens only once, so we listen too.
    created.pool.on('connection', (connection) => {
      connection.on('error', (error: Error) => options.onError?.(error));
    });
    return created;
  }

  const ready = once(async () => {
    pool ??= await connect();
    const statements = mySchemaSql(table);
    if (options.createTable === false) {
      try {
        const [rows] = await pool.query<RowDataPacket[]>({ sql: sql.version, timeout });
        checkSchemaVersion(rows[0]?.['version'], table);
      } catch (cause) {
        if ((cause as { errno?: unknown }).errno === 1146) throw missingTable(table, cause);
        throw cause;
      }
      return;
    }
    let last: RowDataPacket[] = [];
    for (const statement of statements)
      [last] = await pool.query<RowDataPacket[]>({ sql: statement, timeout });
    checkSchemaVersion(last[0]?.['version'], table);
  });

  async function use(): Promise<Pool> {
    if (closed) throw new TesseraError('STORE_UNAVAILABLE', 'The mysql store is closed.');
    await ready();
    return pool!;
  }

  async function exec<T extends RowDataPacket[] | ResultSetHeader>(
    text: string,
    values: unknown[],
    on?: PoolConnection,
  ): Promise<T> {
    const target = on ?? (await use());
    for (let attempt = 1; ; attempt++) {
      try {
        const [result] = await target.execute<T>({ sql: text, timeout }, values as never);
        return result;
      } catch (error) {
        // A deadlock rolls the statement back whole, so running it again is safe.
        if ((error as { errno?: unknown }).errno !== DEADLOCK || attempt === 3 || on !== undefined)
          throw error;
      }
    }
  }

  /** An increment: MySQL has no UPDATE … RETURNING, so the write and the read of the counters share a transaction. */
  async function writeCounting(
    q: { sql: string; values: unknown[] },
    key: string,
    create: boolean,
    keys: string[],
  ): Promise<WriteResult> {
    const connection = await (await use()).getConnection();
    let done = false;
    try {
      await connection.query({ sql: 'START TRANSACTION', timeout });
      const result = await exec<ResultSetHeader>(q.sql, q.values, connection);
      const existed = create ? result.insertId === 1 : matched(result) > 0;
      let counters: Record<string, number> | undefined;
      if (create || existed) {
        const [row] = await exec<RowDataPacket[]>(
          sql.counters(keys.length),
          [...keys.map(jsonPath), key],
          connection,
        );
        counters = {};
        for (const [i, k] of keys.entries()) counters[k] = toNumber(toJson(row?.[`c${i}`]));
      }
      await connection.query({ sql: 'COMMIT', timeout });
      done = true;
      return counters === undefined ? { existed } : { existed, counters };
    } finally {
      // On any failure drop the connection: the server rolls the transaction back.
      if (done) connection.release();
      else connection.destroy();
    }
  }

  const run = <T>(op: string, fn: () => Promise<T>): Promise<T> =>
    runBounded(STORE_NAME, op, timeout, fn);
  const now = (): number => Math.floor(clock.now());

  const store: Store = {
    name: STORE_NAME,
    get: (key) =>
      run('get', async (): Promise<StoreRecord | undefined> => {
        const [row] = await exec<RowDataPacket[]>(sql.get, [key, now()]);
        return row === undefined ? undefined : toRecord(row as unknown as SessionRow);
      }),
    write: (key, delta: Delta, expiresAt) =>
      run('write', async (): Promise<WriteResult> => {
        const plan = planDelta(delta);
        const q = myWrite(table, key, delta, plan, Math.floor(expiresAt), now());
        if (plan.incrKeys.length > 0) {
          for (let attempt = 1; ; attempt++) {
            try {
              return await writeCounting(q, key, delta.create === true, plan.incrKeys);
            } catch (error) {
              if ((error as { errno?: unknown }).errno !== DEADLOCK || attempt === 3) throw error;
            }
          }
        }
        const result = await exec<ResultSetHeader>(q.sql, q.values);
        return { existed: delta.create ? result.insertId === 1 : matched(result) > 0 };
      }),
    touch: (key, expiresAt) =>
      run('touch', async () => {
        const at = Math.floor(expiresAt);
        await exec(sql.touch, [at, at, key, now()]);
      }),
    destroy: (key) =>
      run('destroy', async () => {
        await exec(sql.destroy, [key]);
      }),
    async close() {
      if (closed) return;
      closed = true;
      if (owned && pool !== undefined) await pool.end();
    },
    rename: (oldKey, newKey) =>
      run(
        'rename',
        async () => matched(await exec<ResultSetHeader>(sql.rename, [newKey, oldKey, now()])) === 1,
      ),
    byUser: (userId) =>
      run('byUser', async () =>
        (await exec<RowDataPacket[]>(sql.byUser, [userId, now()])).map((row) =>
          toUserSession(row as never),
        ),
      ),
    destroyByUser: (userId, exceptKey) =>
      run('destroyByUser', async () => {
        const result =
          exceptKey === undefined
            ? await exec<ResultSetHeader>(sql.destroyByUser, [userId, now()])
            : await exec<ResultSetHeader>(sql.destroyByUserExcept, [userId, exceptKey, now()]);
        return result.affectedRows;
      }),
    count: () =>
      run('count', async () =>
        toNumber((await exec<RowDataPacket[]>(sql.count, [now()]))[0]?.['n'] ?? 0),
      ),
    scan: (cursor, limit = 100) =>
      run('scan', async () => {
        const keys = (await exec<RowDataPacket[]>(sql.scan(limit), [cursor ?? '', now()])).map(
          (row) => String(row['id_hash']),
        );
        return keys.length === limit ? { keys, cursor: keys[keys.length - 1]! } : { keys };
      }),
    gc: (gcOptions = {}): Promise<GcResult> => {
      const cutoff = now();
      return gcLoop(
        gcOptions,
        async (size) =>
          (await run('gc', () => exec<ResultSetHeader>(sql.gc(size), [cutoff]))).affectedRows,
      );
    },
    check: () => sqlCheck(store, clock),
  };
  return store;
}

/** Rows an UPDATE matched, whether or not the client set CLIENT_FOUND_ROWS (mysql2 does by default). */
function matched(result: ResultSetHeader): number {
  const found = /Rows matched: (\d+)/.exec(result.info ?? '');
  return found ? Number(found[1]) : result.affectedRows;
}

function asPromisePool(client: MysqlClient): Pool {
  const callbackPool = client as Partial<CallbackPool>;
  return typeof callbackPool.promise === 'function' ? callbackPool.promise() : (client as Pool);
}

/** `mysql2` pool options from a `mysql://` or `mariadb://` URL (user, password, host, port, database). */
export function mysqlConfigFromUrl(url: URL): PoolOptions {
  const config: PoolOptions = {
    host: url.hostname || 'localhost',
    port: url.port === '' ? 3306 : Number(url.port),
  };
  if (url.username !== '') config.user = decodeURIComponent(url.username);
  if (url.password !== '') config.password = decodeURIComponent(url.password);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database !== '') config.database = database;
  return config;
}

/**
 * `mysql://` and `mariadb://` URLs for `createStore`, e.g.
 * `mysql://user:pass@host:3306/app?table=sessions&timeout=2000&createTable=false`.
 */
export const storeFromUrl: StoreFactory = async (url, options) => {
  try {
    await import('mysql2/promise');
  } catch (cause) {
    throw driverMissing('mysql2', cause);
  }
  if (url.searchParams.has('schema')) {
    throw new TesseraError(
      'CONFIG',
      'A mysql URL takes no `schema` parameter: name the database in the path (mysql://host/database?table=…).',
    );
  }
  const storeOptions: MysqlStoreOptions = {
    ...optionsFromUrl(url),
    connection: mysqlConfigFromUrl(url),
  };
  if (options.clock !== undefined) storeOptions.clock = options.clock;
  return mysqlStore(storeOptions);
};
