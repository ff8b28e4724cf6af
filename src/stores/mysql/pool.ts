/**
 * @module The MySQL store's pool: the one it makes from a URL or options, or the one it is given.
 */
import type { Pool as CallbackPool } from 'mysql2';
import type { createPool as CreatePool, Pool, PoolOptions } from 'mysql2/promise';
import { driverMissing } from '../_sql/options.js';

/** A `mysql2` pool the application already has: from `mysql2/promise` or `mysql2` (callback API). */
export type MysqlClient = Pool | CallbackPool;

/** What the store's own pool is made from (see `MysqlStoreOptions`). */
export interface MysqlPoolSettings {
  /** A `mysql://` URL or `mysql2` `PoolOptions`, merged over the store's own settings. */
  connection?: string | PoolOptions;
  /** The most connections the pool opens. @default 10 */
  connectionLimit?: number;
  /** The most calls that may wait for a connection; more fail at once. @default 1000 */
  queueLimit?: number;
  /** Told about errors of idle connections. @default ignore */
  onError?: (error: Error) => void;
}

/** The promise API of a pool the application passed, whichever API it was made with. */
export function asPromisePool(client: MysqlClient): Pool {
  const callbackPool = client as Partial<CallbackPool>;
  return typeof callbackPool.promise === 'function' ? callbackPool.promise() : (client as Pool);
}

/**
 * Makes the store's own pool. `timeoutMs` bounds connecting only (`connectTimeout`); each call is
 * bounded by the store. No per-query `timeout`: on expiry it leaves the connection busy with the
 * statement, so it would only be a second timer.
 */
export async function createMysqlPool(s: MysqlPoolSettings, timeoutMs: number): Promise<Pool> {
  let createPool: typeof CreatePool;
  try {
    ({ createPool } = await import('mysql2/promise'));
  } catch (cause) {
    throw driverMissing('mysql2', cause);
  }
  const base =
    typeof s.connection === 'string'
      ? mysqlConfigFromUrl(new URL(s.connection))
      : { ...s.connection };
  const created = createPool({
    connectionLimit: s.connectionLimit ?? 10,
    waitForConnections: true,
    queueLimit: s.queueLimit ?? 1000,
    connectTimeout: timeoutMs,
    enableKeepAlive: true,
    idleTimeout: 60_000,
    ...base,
  });
  // A connection that dies while idle emits `error`; mysql2 listens only once, so we listen too.
  created.pool.on('connection', (connection) => {
    connection.on('error', (error: Error) => s.onError?.(error));
  });
  return created;
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
