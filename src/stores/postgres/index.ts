/**
 * @module The PostgreSQL store (driver `pg`): one row per session, data as `jsonb`.
 *
 * Deltas are applied atomically by the server, each operation in one statement.
 *
 * With PostgreSQL's default `synchronous_commit = on`, an acknowledged write survives a server
 * crash; with `off`, the last few hundred milliseconds of writes may be lost, never half-applied.
 */
import type { Client, ClientConfig, Pool, PoolConfig, QueryResultRow } from 'pg';
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
import { withDeadline } from '../_shared/deadline.js';
import { sqlCheck } from '../_sql/check.js';
import { sqlDeadline } from '../_sql/deadline.js';
import { planDelta } from '../_sql/delta-plan.js';
import { writeGuarded } from '../_sql/refusal.js';
import { gcLoop } from '../_sql/gc.js';
import {
  DEFAULT_TABLE,
  URL_OPTION_NAMES,
  checkIdentifier,
  driverMissing,
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
import { feedLoop } from '../_shared/feed-loop.js';
import { pgNames, pgSchemaSql, pgStatements, pgWrite } from './dialect.js';
import { pgFeedConnect, type ListenPool } from './feed.js';
import { pgLeases } from './lease.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'postgres';

/** What the store needs of a client: a `pg` `Pool` (or `Client`) the application already has. */
export type PostgresClient = Pick<Pool, 'query'>;

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions extends SqlStoreOptions {
  /**
   * A `pg` `Pool` the application already has. The store never ends it; attach your own `error`
   * listener to it (an idle client's error with no listener crashes the process). The store
   * bounds each call by `timeout`; a `query_timeout` of the pool's own would end calls with
   * `STORE_UNAVAILABLE` (pg gives that error no code), so leave it unset.
   */
  client?: PostgresClient;
  /**
   * Where to connect when no `client` is given: a connection string or a `pg` `PoolConfig`.
   * The store then makes its own pool, ends it on `close()`, and gives each connection `timeout`
   * as its connect timeout and as `statement_timeout` (a server-side guard that frees a
   * connection whose call gave up).
   * @default 'postgres://localhost/postgres' (and the PG* environment variables `pg` reads)
   */
  connection?: string | PoolConfig;
  /** The schema holding the table; created when missing. @default the connection's search_path */
  schema?: string;
  /** The most connections the store's own pool opens. @default 10 */
  max?: number;
  /**
   * The most calls waiting for a free connection; more fail at once with `STORE_UNAVAILABLE`
   * instead of queueing while the server is slow or down.
   * @default 1000
   */
  queueLimit?: number;
  /** Told about errors of idle connections of the store's own pool (they never crash the process). @default ignore */
  onError?: (error: Error) => void;
}

/**
 * Creates a PostgreSQL store. The table is created on first use (see `createTable`).
 *
 * @example
 * import pg from 'pg'
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * pool.on('error', console.error)
 * const sessions = createSessionManager({ store: postgresStore({ client: pool }) })
 */
export function postgresStore(options: PostgresStoreOptions = {}): Store {
  const clock = options.clock ?? systemClock;
  const timeout = sqlTimeout(options.timeout, STORE_NAME);
  const table = checkIdentifier(options.table ?? DEFAULT_TABLE, 'table');
  const schema =
    options.schema === undefined ? undefined : checkIdentifier(options.schema, 'schema');
  const queueLimit = options.queueLimit ?? 1000;
  const names = pgNames(table, schema);
  const sql = pgStatements(names);
  const owned = options.client === undefined;
  let client: PostgresClient | undefined = options.client;
  let ending: Promise<void> | undefined;

  async function connect(): Promise<PostgresClient> {
    let pg: { Client: typeof Client; Pool: typeof Pool };
    try {
      pg = await import('pg');
    } catch (cause) {
      throw driverMissing('pg', cause);
    }
    // On the pool, `connectionTimeoutMillis` would also time each call's wait for a free
    // connection: a second timer per call. Given to each new connection, it bounds connecting.
    class Connection extends pg.Client {
      constructor(config?: ClientConfig) {
        super({ connectionTimeoutMillis: timeout, ...config });
      }
    }
    const base: PoolConfig =
      typeof options.connection === 'string'
        ? { connectionString: options.connection }
        : { ...options.connection };
    const pool = new pg.Pool({
      Client: Connection,
      max: options.max ?? 10,
      idleTimeoutMillis: 10_000,
      statement_timeout: timeout,
      allowExitOnIdle: true,
      application_name: 'tessera-session',
      ...base,
    });
    // An idle client losing its connection emits `error` on the pool; unheard, it would crash the process.
    pool.on('error', (error) => options.onError?.(error));
    return pool;
  }

  const ready = once(async () => {
    if (client === undefined) client = await connect();
    if (options.createTable === false) {
      let rows: QueryResultRow[];
      try {
        ({ rows } = await client.query(sql.version));
      } catch (cause) {
        if ((cause as { code?: unknown }).code === '42P01') throw missingTable(table, cause);
        throw cause;
      }
      checkSchemaVersion(rows[0]?.['version'], table);
      return;
    }
    const results = (await client.query(pgSchemaSql(names))) as unknown as Array<{
      rows: QueryResultRow[];
    }>;
    checkSchemaVersion(results.at(-1)?.rows[0]?.['version'], table);
  });

  async function query(
    text: string,
    values: unknown[],
  ): Promise<{ rows: QueryResultRow[]; rowCount: number }> {
    if (ending) throw new TesseraError('STORE_UNAVAILABLE', 'The postgres store is closed.');
    await ready();
    const pool = client as PostgresClient & { waitingCount?: number };
    if (typeof pool.waitingCount === 'number' && pool.waitingCount >= queueLimit) {
      throw new TesseraError(
        'STORE_UNAVAILABLE',
        `The postgres store has ${queueLimit} calls waiting for a connection; refusing more until the server catches up.`,
      );
    }
    try {
      const result = await pool.query(text, values);
      return { rows: result.rows as QueryResultRow[], rowCount: result.rowCount ?? 0 };
    } catch (error) {
      if ((error as { code?: unknown }).code === '22P05') {
        throw new TesseraError(
          'INVALID_DATA',
          'PostgreSQL jsonb cannot hold the character U+0000 in a string; remove it from the session data.',
          { cause: error },
        );
      }
      throw error;
    }
  }

  const pool = async (): Promise<ListenPool> => (await ready(), client as ListenPool);
  const feed = feedLoop(pgFeedConnect(pool, names.channel, timeout), (error) =>
    options.onError?.(error as Error),
  );

  const deadline = sqlDeadline(STORE_NAME, timeout);
  const run = <T>(op: string, fn: () => Promise<T>): Promise<T> => withDeadline(deadline, op, fn);
  const now = (): number => Math.floor(clock.now());

  const leases = pgLeases(names, async (text, values) => (await query(text, values)).rowCount, now);

  async function readLive(key: string, at: number): Promise<StoreRecord | undefined> {
    const { rows } = await query(sql.get, [key, at]);
    return rows[0] === undefined ? undefined : toRecord(rows[0] as SessionRow);
  }

  const store: Store = {
    name: STORE_NAME,
    timeoutMs: timeout,
    get: (key) => run('get', () => readLive(key, now())),
    write: (key, delta: Delta, expiresAt) =>
      run('write', (): Promise<WriteResult> => {
        const plan = planDelta(delta);
        const at = now();
        const until = Math.floor(expiresAt);
        return writeGuarded({
          plan,
          delta,
          expiresAt: until,
          now: at,
          async write() {
            const q = pgWrite(names, key, delta, plan, until, at);
            const row = (await query(q.text, q.values)).rows[0];
            if (row === undefined) return undefined;
            const existed = delta.create
              ? row['updated'] === true && row['prior_live'] !== false
              : true;
            if (plan.incrKeys.length === 0) return { existed };
            return { existed, counters: countersOf(plan.incrKeys, row) };
          },
          read: () => readLive(key, at),
        });
      }),
    touch: (key, expiresAt) =>
      run('touch', async () => {
        await query(sql.touch, [key, Math.floor(expiresAt), now()]);
      }),
    destroy: (key) =>
      run('destroy', async () => {
        await query(sql.destroy, [key]);
      }),
    async close() {
      await feed.close();
      if (!owned || client === undefined) {
        ending ??= Promise.resolve();
        return;
      }
      ending ??= (client as Pool).end();
      await ending;
    },
    rename: (oldKey, newKey) =>
      run('rename', async () => (await query(sql.rename, [oldKey, newKey, now()])).rowCount === 1),
    byUser: (userId) =>
      run('byUser', async () =>
        (await query(sql.byUser, [userId, now()])).rows.map((row) => toUserSession(row as never)),
      ),
    destroyByUser: (userId, exceptKey) =>
      run('destroyByUser', async () =>
        toNumber(
          (await query(sql.destroyByUser, [userId, exceptKey ?? null, now()])).rows[0]?.['n'] ?? 0,
        ),
      ),
    count: () =>
      run('count', async () => toNumber((await query(sql.count, [now()])).rows[0]?.['n'] ?? 0)),
    scan: (cursor, limit = 100) =>
      run('scan', async () => {
        const { rows } = await query(sql.scan, [cursor ?? '', now(), limit]);
        return scanPage(
          rows.map((row) => String(row['id_hash'])),
          limit,
        );
      }),
    gc: (gcOptions = {}): Promise<GcResult> => {
      const cutoff = now();
      return gcLoop(
        gcOptions,
        async (size) => (await run('gc', () => query(sql.gc, [cutoff, size]))).rowCount,
      );
    },
    check: () => sqlCheck(store, clock),
    // A lease row in `<table>_locks`, taken by an upsert that only overwrites a lease that ran out.
    lock: (key, ttlMs) => run('lock', () => leases.lock(key, ttlMs)),
    unlock: (key, token) => run('unlock', () => leases.unlock(key, token)),
    // LISTEN on the table's channel; every writing statement notifies it (see feed.ts).
    watch: (onChange) => feed.watch(onChange),
  };
  return store;
}

/**
 * `postgres://` and `postgresql://` URLs for `createStore`, e.g.
 * `postgres://user:pass@host:5432/db?table=sessions&schema=auth&timeout=2000&createTable=false`.
 * Other parameters (`sslmode`, `application_name`, …) go to `pg` as they are.
 */
export const storeFromUrl: StoreFactory = async (url, options) => {
  try {
    await import('pg');
  } catch (cause) {
    throw driverMissing('pg', cause);
  }
  const connection = new URL(url.href);
  for (const name of URL_OPTION_NAMES) connection.searchParams.delete(name);
  const schema = url.searchParams.get('schema');
  const storeOptions: PostgresStoreOptions = {
    ...optionsFromUrl(url),
    connection: connection.href,
  };
  if (schema !== null) storeOptions.schema = schema;
  if (options.clock !== undefined) storeOptions.clock = options.clock;
  return postgresStore(storeOptions);
};
