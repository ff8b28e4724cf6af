/**
 * @module The MySQL/MariaDB store (driver `mysql2`): one row per session, data as JSON.
 *
 * Every operation is one prepared statement (an increment: one short transaction), deltas applied
 * atomically by the server with JSON_SET/JSON_REMOVE.
 *
 * Tested on MariaDB 10.11, where JSON is LONGTEXT with a JSON_VALID check (the text is kept as
 * written). On MySQL 8, JSON is a binary type: it works the same, but keys come back in MySQL's
 * order and numbers normalised (`7.0` for a double), and `VALUES()` in ON DUPLICATE KEY UPDATE
 * logs a deprecation warning. InnoDB with `innodb_flush_log_at_trx_commit = 1` (the default) keeps
 * an acknowledged write across a crash.
 */
import type {
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
import { withDeadline, type CallScope } from '../_shared/deadline.js';
import { sqlCheck } from '../_sql/check.js';
import { sqlDeadline } from '../_sql/deadline.js';
import { jsonPath, planDelta } from '../_sql/delta-plan.js';
import { writeGuarded } from '../_sql/refusal.js';
import { gcLoop } from '../_sql/gc.js';
import {
  DEFAULT_TABLE,
  checkIdentifier,
  driverMissing,
  optionsFromUrl,
  sqlTimeout,
  type SqlStoreOptions,
} from '../_sql/options.js';
import {
  countersOf,
  scanPage,
  toJson,
  toNumber,
  toRecord,
  toUserSession,
  type SessionRow,
} from '../_sql/rows.js';
import { checkSchemaVersion, missingTable, once } from '../_sql/schema.js';
import { mySchemaSql, myStatements, myWrite, rowsMatched } from './dialect.js';
import { myLeases } from './lease.js';
import { asPromisePool, createMysqlPool, mysqlConfigFromUrl, type MysqlClient } from './pool.js';

export { mysqlConfigFromUrl } from './pool.js';
export type { MysqlClient } from './pool.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'mysql';

/** Options of {@link mysqlStore}. */
export interface MysqlStoreOptions extends SqlStoreOptions {
  /**
   * A `mysql2` pool the application already has. The store never ends it. Give it a bounded
   * `queueLimit` and a `connectTimeout`; the store bounds each call by `timeout`.
   */
  client?: MysqlClient;
  /**
   * Where to connect when no `client` is given: a `mysql://user:pass@host:port/database` URL or
   * `mysql2` `PoolOptions`. The store then makes its own pool, with `timeout` as its
   * `connectTimeout`, and ends it on `close()`.
   */
  connection?: string | PoolOptions;
  /** The most connections the store's own pool opens. @default 10 */
  connectionLimit?: number;
  /** The most calls the store's own pool lets wait for a connection; more fail at once. @default 1000 */
  queueLimit?: number;
  /** Told about errors of idle connections of the store's own pool (they never crash the process). @default ignore */
  onError?: (error: Error) => void;
}

/** `ER_LOCK_DEADLOCK`: the server rolled the statement back to break a deadlock. */
const DEADLOCK = 1213;
/** `ER_NO_SUCH_TABLE`. */
const NO_SUCH_TABLE = 1146;

/** Runs `step` again, three times in all, while it fails on a deadlock (rolled back whole: safe). */
async function retryDeadlock<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if ((error as { errno?: unknown }).errno !== DEADLOCK || attempt === 3) throw error;
    }
  }
}

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
  const timeout = sqlTimeout(options.timeout, STORE_NAME);
  const table = checkIdentifier(options.table ?? DEFAULT_TABLE, 'table');
  const sql = myStatements(table);
  const owned = options.client === undefined;
  let pool: Pool | undefined =
    options.client === undefined ? undefined : asPromisePool(options.client);
  let closed = false;

  const ready = once(async () => {
    pool ??= await createMysqlPool(options, timeout);
    const statements = mySchemaSql(table);
    if (options.createTable === false) {
      try {
        const [rows] = await pool.query<RowDataPacket[]>(sql.version);
        checkSchemaVersion(rows[0]?.['version'], table);
      } catch (cause) {
        if ((cause as { errno?: unknown }).errno === NO_SUCH_TABLE)
          throw missingTable(table, cause);
        throw cause;
      }
      return;
    }
    let last: RowDataPacket[] = [];
    for (const statement of statements) [last] = await pool.query<RowDataPacket[]>(statement);
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
    if (on !== undefined) return (await on.execute<T>(text, values as never))[0];
    const target = await use();
    return retryDeadlock(async () => (await target.execute<T>(text, values as never))[0]);
  }

  /**
   * An increment: MySQL has no UPDATE … RETURNING, so the write and the read of the counters
   * share a transaction. A counter read back as anything but a number held a non-number before
   * (see `liveData` in `dialect.ts`): the delta is refused and the transaction rolled back, so it
   * changed nothing. When the call's deadline passes first, the connection is dropped at once, so
   * the server rolls the transaction back instead of committing it late.
   */
  async function writeCounting(
    q: { sql: string; values: unknown[] },
    key: string,
    create: boolean,
    keys: string[],
    scope: CallScope,
  ): Promise<WriteResult> {
    const connection = await (await use()).getConnection();
    if (scope.isAbandoned) {
      connection.release();
      throw new Error('the call ran out of time while it waited for a connection');
    }
    let isDone = false;
    let isDropped = false;
    // On any failure, or once the caller gave up, drop the connection: the server rolls back.
    const drop = (): void => {
      if (isDone || isDropped) return;
      isDropped = true;
      connection.destroy();
    };
    scope.onAbandon(drop);
    try {
      await connection.query('START TRANSACTION');
      const result = await exec<ResultSetHeader>(q.sql, q.values, connection);
      const existed = create ? result.insertId === 1 : rowsMatched(result) > 0;
      let counters: Record<string, number> | undefined;
      if (create || existed) {
        const [row] = await exec<RowDataPacket[]>(
          sql.counters(keys.length),
          [...keys.map(jsonPath), key],
          connection,
        );
        const values = keys.map((_, i) => toJson(row?.[`c${i}`]));
        const nonNumeric = keys.filter((_, i) => typeof values[i] !== 'number');
        if (nonNumeric.length > 0) {
          await connection.query('ROLLBACK');
          isDone = true;
          return { existed, nonNumeric };
        }
        counters = countersOf(keys, row ?? {}, (value) => toNumber(toJson(value)));
      }
      await connection.query('COMMIT');
      isDone = true;
      return counters === undefined ? { existed } : { existed, counters };
    } finally {
      if (isDone) connection.release();
      else drop();
    }
  }

  const deadline = sqlDeadline(STORE_NAME, timeout);
  const run = <T>(op: string, fn: (scope: CallScope) => Promise<T>): Promise<T> =>
    withDeadline(deadline, op, fn);
  const now = (): number => Math.floor(clock.now());
  const leases = myLeases(table, (text, values) => exec<ResultSetHeader>(text, values), now);

  async function readLive(key: string, at: number): Promise<StoreRecord | undefined> {
    const [row] = await exec<RowDataPacket[]>(sql.get, [key, at]);
    return row === undefined ? undefined : toRecord(row as unknown as SessionRow);
  }

  const store: Store = {
    name: STORE_NAME,
    timeoutMs: timeout,
    get: (key) => run('get', () => readLive(key, now())),
    write: (key, delta: Delta, expiresAt) =>
      run('write', (scope): Promise<WriteResult> => {
        const plan = planDelta(delta);
        const at = now();
        const until = Math.floor(expiresAt);
        return writeGuarded({
          plan,
          delta,
          expiresAt: until,
          now: at,
          async write() {
            const q = myWrite(table, key, delta, plan, until, at);
            if (plan.incrKeys.length > 0)
              return retryDeadlock(() =>
                writeCounting(q, key, delta.create === true, plan.incrKeys, scope),
              );
            const result = await exec<ResultSetHeader>(q.sql, q.values);
            return { existed: delta.create ? result.insertId === 1 : rowsMatched(result) > 0 };
          },
          read: () => readLive(key, at),
        });
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
        async () =>
          rowsMatched(await exec<ResultSetHeader>(sql.rename, [newKey, oldKey, now()])) === 1,
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
        const rows = await exec<RowDataPacket[]>(sql.scan(limit), [cursor ?? '', now()]);
        return scanPage(
          rows.map((row) => String(row['id_hash'])),
          limit,
        );
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
    // A lease row in `<table>_locks` (see lease.ts).
    lock: (key, ttlMs) => run('lock', () => leases.lock(key, ttlMs)),
    unlock: (key, token) => run('unlock', () => leases.unlock(key, token)),
  };
  return store;
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
