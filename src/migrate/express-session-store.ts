/**
 * @module A bridge that lets express-session keep its sessions in any tessera store, as a first
 * step of a switch (or to use tessera's stores from an app that stays on express-session).
 */
import { createRequire } from 'node:module';
import type session from 'express-session';
import { TesseraError } from '../core/errors.js';
import { storeKey } from '../core/id.js';
import type { JsonValue, Store } from '../core/store.js';
import { bounded } from '../core/store-call.js';

/** Options of {@link expressSessionStore}. */
export interface ExpressSessionStoreOptions {
  /**
   * How long a session lives when its cookie has no expiry (a browser-session cookie), in ms;
   * connect-redis's default. @default 86400000 (one day)
   */
  ttl?: number | undefined;
  /** The longest any store call may take before it fails (ms). @default 2000 */
  timeout?: number | undefined;
}

type Callback<T = void> = (error?: unknown, value?: T) => void;

/** express-session's `Store` base class, which supplies `regenerate`, `load` and `createSession`. */
function storeBase(): typeof session.Store {
  try {
    return (createRequire(import.meta.url)('express-session') as typeof session).Store;
  } catch (cause) {
    throw new TesseraError(
      'CONFIG',
      'Cannot load `express-session`. Install it (npm install express-session) to use expressSessionStore.',
      { cause },
    );
  }
}

/** The session data express-session hands a store: its own JSON-safe object. */
type SessionBody = session.SessionData;

/**
 * An express-session `Store` over a tessera store. Session ids are hashed the way tessera hashes
 * them (`base64url(sha256(id))`), so the store never sees a usable cookie; each top-level key of
 * the session (express-session's `cookie` included) is one key of the record. express-session
 * always saves a whole session: a `set` replaces the record's data in one atomic write, and
 * `touch` only moves the deadline (express-session's `resave: false` is then safe). Every call is
 * bounded by `timeout`.
 *
 * `length`, `all` and `clear` exist when the tessera store can count or scan. Since raw ids are
 * never stored, `all` keys its sessions by their hashed id.
 *
 * @example
 * import session from 'express-session'
 * import { expressSessionStore } from 'tessera-session/migrate/express-session-store'
 * import { redisStore } from 'tessera-session/stores/redis'
 *
 * app.use(session({ secret, resave: false, saveUninitialized: false,
 *   store: expressSessionStore(redisStore({ url: process.env.REDIS_URL })) }))
 */
export function expressSessionStore(
  store: Store,
  options: ExpressSessionStoreOptions = {},
): session.Store {
  const ttl = options.ttl ?? 86_400_000;
  const timeout = options.timeout ?? 2000;
  const call = <T>(op: string, run: () => Promise<T>): Promise<T> =>
    bounded(store.name, op, timeout, run);
  const expiresAt = (body: SessionBody): number => {
    const expires = body.cookie?.expires as Date | string | null | undefined;
    const at = expires === null || expires === undefined ? Number.NaN : new Date(expires).getTime();
    return Number.isFinite(at) ? at : Date.now() + ttl;
  };
  /**
   * Calls back outside the promise chain, as express-session's MemoryStore does (it defers with
   * setImmediate): an exception thrown by the callback is an uncaught exception, as the app
   * expects, never an unhandled rejection.
   */
  const settle = <T>(promise: Promise<T>, callback: Callback<T> | undefined): void => {
    if (callback === undefined) {
      promise.catch(() => undefined);
      return;
    }
    promise.then(
      (value) => setImmediate(callback, null, value),
      (error: unknown) => setImmediate(callback, error),
    );
  };
  const keys = async (): Promise<string[]> => {
    const found: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call('scan', () => store.scan!(cursor, 500));
      found.push(...page.keys);
      cursor = page.cursor;
    } while (cursor !== undefined);
    return found;
  };

  class TesseraSessionStore extends storeBase() {
    override get(sid: string, callback: (error: unknown, body?: SessionBody | null) => void): void {
      settle(
        call('get', () => store.get(storeKey(sid))).then((record) =>
          // express-session changes the body it is given (its cookie, its own fields), and a
          // store may hand out its stored record itself (frozen): the bridge gives it a copy.
          record ? (structuredClone(record.data) as unknown as SessionBody) : null,
        ),
        callback as Callback<SessionBody | null>,
      );
    }
    override set(sid: string, body: SessionBody, callback?: (error?: unknown) => void): void {
      const data = JSON.parse(JSON.stringify(body)) as Record<string, JsonValue>;
      const write = call('write', () =>
        store.write(storeKey(sid), { create: true, replace: true, set: data }, expiresAt(body)),
      );
      settle(
        write.then(() => undefined),
        callback,
      );
    }
    override touch(sid: string, body: SessionBody, callback?: () => void): void {
      settle(
        call('touch', () => store.touch(storeKey(sid), expiresAt(body))),
        callback as Callback | undefined,
      );
    }
    override destroy(sid: string, callback?: (error?: unknown) => void): void {
      settle(
        call('destroy', () => store.destroy(storeKey(sid))),
        callback,
      );
    }
  }
  const bridge = new TesseraSessionStore();

  if (store.count) {
    bridge.length = (callback) =>
      settle(
        call('count', () => store.count!()),
        callback as Callback<number>,
      );
  }
  if (store.scan) {
    bridge.all = (callback) => {
      const all = async (): Promise<Record<string, SessionBody>> => {
        const out: Record<string, SessionBody> = {};
        for (const key of await keys()) {
          const record = await call('get', () => store.get(key));
          if (record) out[key] = record.data as unknown as SessionBody;
        }
        return out;
      };
      settle(all(), callback as Callback<Record<string, SessionBody>>);
    };
    bridge.clear = (callback) => {
      const clear = async (): Promise<void> => {
        for (const key of await keys()) await call('destroy', () => store.destroy(key));
      };
      settle(clear(), callback as Callback | undefined);
    };
  }
  return bridge;
}
