/**
 * @module Where express-session left its sessions: connect-redis, connect-pg-simple, or any
 * express-session store. Used by `migrateExpressSession`.
 */
import { TesseraError } from '../core/errors.js';

/** An express-session session as its store kept it: the data plus express-session's `cookie`. */
export type LegacySession = Record<string, unknown> & {
  cookie?:
    | {
        /** When express-session last set the cookie's expiry; stale when only touches kept it alive. */
        expires?: string | null;
        /** The cookie's lifetime (`cookie.maxAge`) in ms; `null` for a browser-session cookie. */
        originalMaxAge?: number | null;
      }
    | undefined;
};

/** Reads and deletes the sessions express-session left behind, by their (unsigned) session id. */
export interface LegacySource {
  /** A name for messages, e.g. `"connect-redis"`. */
  readonly name: string;
  /**
   * The live session of `sid`, or `undefined`. The source decides what is live, as the old store
   * does (Redis by its TTL, connect-pg-simple by its `expire` column, a store by its own `get`):
   * the `cookie.expires` stamp inside a session is stale whenever the store kept it alive by
   * touching it (express-session's `resave: false`), so the migration never judges by it.
   */
  get(sid: string): Promise<LegacySession | undefined>;
  /** Delete the session of `sid` (a no-op when it is gone). */
  destroy(sid: string): Promise<void>;
}

/** A stored value as a session, or `undefined` when it is not one. */
function asSession(value: unknown): LegacySession | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as LegacySession)
    : undefined;
}

/** The Redis commands the connect-redis reader needs; node-redis 4–6 and ioredis clients have them. */
export interface LegacyRedisClient {
  get(key: string): Promise<string | null>;
  del(key: string): Promise<unknown>;
}

/** Options of {@link connectRedisSource}. */
export interface ConnectRedisSourceOptions {
  /** A connected node-redis or ioredis client. */
  client: LegacyRedisClient;
  /** connect-redis's key prefix. @default 'sess:' */
  prefix?: string | undefined;
}

/**
 * Reads what connect-redis left: one JSON string per session under `sess:<sid>` (its default
 * serializer). Costs one GET per migrated visitor and one DEL once the session moved.
 */
export function connectRedisSource(options: ConnectRedisSourceOptions): LegacySource {
  const { client } = options;
  const prefix = options.prefix ?? 'sess:';
  return {
    name: 'connect-redis',
    async get(sid) {
      const raw = await client.get(prefix + sid);
      if (raw === null) return undefined;
      try {
        return asSession(JSON.parse(raw));
      } catch (cause) {
        throw new TesseraError(
          'INVALID_DATA',
          'A connect-redis session is not JSON; pass a source with your own serializer.',
          { cause },
        );
      }
    },
    async destroy(sid) {
      await client.del(prefix + sid);
    },
  };
}

/** The query method of a `pg` Pool or Client. */
export interface LegacyPgClient {
  query(text: string, values: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** Options of {@link connectPgSource}. */
export interface ConnectPgSourceOptions {
  /** A `pg` Pool (or Client). */
  pool: LegacyPgClient;
  /** connect-pg-simple's table. @default 'session' */
  tableName?: string | undefined;
  /** connect-pg-simple's schema; unset uses the search path, as connect-pg-simple does. */
  schemaName?: string | undefined;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/**
 * Reads what connect-pg-simple left: rows of `session(sid, sess json, expire)`. Costs one SELECT
 * per migrated visitor and one DELETE once the session moved.
 */
export function connectPgSource(options: ConnectPgSourceOptions): LegacySource {
  const { pool } = options;
  const parts = [options.schemaName, options.tableName ?? 'session'].filter(
    (p): p is string => p !== undefined,
  );
  for (const part of parts) {
    if (!IDENTIFIER.test(part))
      throw new TesseraError(
        'CONFIG',
        `connectPgSource: ${JSON.stringify(part)} is not a plain SQL identifier.`,
      );
  }
  const table = parts.map((p) => `"${p}"`).join('.');
  return {
    name: 'connect-pg-simple',
    async get(sid) {
      const { rows } = await pool.query(
        `SELECT sess FROM ${table} WHERE sid = $1 AND expire >= to_timestamp($2)`,
        [sid, Date.now() / 1000],
      );
      const sess = rows[0]?.['sess'];
      return asSession(typeof sess === 'string' ? (JSON.parse(sess) as unknown) : sess);
    },
    async destroy(sid) {
      await pool.query(`DELETE FROM ${table} WHERE sid = $1`, [sid]);
    },
  };
}

const toError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(String(error));

/** The callback API of an express-session store (connect-mongo, express-mysql-session, …). */
export interface LegacyExpressStore {
  get(sid: string, callback: (error: unknown, session?: unknown) => void): void;
  destroy(sid: string, callback?: (error?: unknown) => void): void;
}

/** Reads through any express-session store, for sources without a reader of their own. */
export function expressStoreSource(
  store: LegacyExpressStore,
  name = 'express-session store',
): LegacySource {
  return {
    name,
    get: (sid) =>
      new Promise((resolve, reject) => {
        store.get(sid, (error, session) =>
          error ? reject(toError(error)) : resolve(asSession(session)),
        );
      }),
    destroy: (sid) =>
      new Promise((resolve, reject) => {
        store.destroy(sid, (error) => (error ? reject(toError(error)) : resolve()));
      }),
  };
}
