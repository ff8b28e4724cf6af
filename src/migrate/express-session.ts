/**
 * @module Switching from express-session without logging anyone out: accept its signed
 * `connect.sid` cookie, move the session its store left behind into tessera on first use, then
 * delete the old record and clear the old cookie.
 */
import { parseCookie, stringifySetCookie } from 'cookie';
import { TesseraError } from '../core/errors.js';
import type { ResponseHeaders, SessionManager } from '../core/manager/index.js';
import type { Session, SessionData } from '../core/session/index.js';
import { bounded } from '../core/store-call.js';
import { storeKey } from '../core/id.js';
import type { LegacySession, LegacySource } from './legacy-sources.js';

export { connectPgSource, connectRedisSource, expressStoreSource } from './legacy-sources.js';
export type {
  ConnectPgSourceOptions,
  ConnectRedisSourceOptions,
  LegacyExpressStore,
  LegacyPgClient,
  LegacyRedisClient,
  LegacySession,
  LegacySource,
} from './legacy-sources.js';

/** Options of {@link migrateExpressSession}. */
export interface ExpressSessionMigrationOptions {
  /** express-session's `secret`: one, or several (old ones too) when it was rotated. */
  secret: string | readonly string[];
  /** Where express-session kept its sessions: `connectRedisSource`, `connectPgSource`, … */
  source: LegacySource;
  /** express-session's cookie name. @default 'connect.sid' */
  name?: string | undefined;
  /** The old cookie's `path` and `domain`, needed to clear it. @default { path: '/' } */
  cookie?: { path?: string | undefined; domain?: string | undefined } | undefined;
  /**
   * The user an old session belonged to, if any: the migrated session is then bound to that user
   * (`login`), so it shows in their devices list. E.g. `(old) => old.passport?.user` for Passport.
   */
  userOf?: ((legacy: LegacySession) => string | undefined) | undefined;
  /** The longest a call to the old store may take (ms). @default 2000 */
  timeout?: number | undefined;
  /** Told about old keys that could not be carried over, and failed clean-ups. */
  onError?: ((error: unknown) => void) | undefined;
}

type Unsign = (value: string, secret: string) => string | false;
let unsignModule: Promise<Unsign> | undefined;

/** cookie-signature's `unsign` (HMAC-SHA256, compared with `timingSafeEqual`), loaded once. */
function loadUnsign(): Promise<Unsign> {
  unsignModule ??= import('cookie-signature').then(
    (m: { unsign?: Unsign; default?: { unsign: Unsign } }) => m.unsign ?? m.default!.unsign,
    (cause: unknown) => {
      unsignModule = undefined;
      throw new TesseraError(
        'CONFIG',
        'Cannot import `cookie-signature`. Install it (npm install cookie-signature) to accept express-session cookies.',
        { cause },
      );
    },
  );
  return unsignModule;
}

/** One request's migration: its wrapped session and what the commit must do afterwards. */
interface Migration<Data extends SessionData> {
  readonly inner: Session<Data>;
  readonly session: Session<Data>;
  /** Runs the migration once; every read of the session waits for it. */
  ready(): Promise<void>;
  /** The verified old session id, once the migration ran and found the cookie genuine. */
  sid: string | undefined;
  /** The old cookie's lifetime (ms), carried onto the new cookie; `undefined` for a browser-session one. */
  maxAge: number | undefined;
  /**
   * The old session moved moments ago in another request of this browser (still in flight): this
   * one must not hand out a cookie of its own, which would replace the migrated one.
   */
  isLate: boolean;
  isDone: boolean;
}

/** How long a moved session is remembered, for requests that were already on their way. */
const MOVED_FOR_MS = 60_000;
/** The store key marking that the old session `sid` moved (no raw id is ever stored). */
const movedKey = (sid: string): string => storeKey(`tessera:migrated:${sid}`);

/** The keys of an old session that are never carried: express-session's own, and reserved ones. */
function isCarried(key: string): boolean {
  return key !== 'cookie' && !key.startsWith('__') && key !== 'constructor' && key !== 'prototype';
}

/**
 * `Set-Cookie` lines with the old cookie's lifetime added where tessera's cookie has none (a
 * browser-session cookie), so a persistent login stays persistent across the switch.
 */
function withLifetime(headers: ResponseHeaders, maxAge: number, now: number): ResponseHeaders {
  const seconds = Math.ceil(maxAge / 1000);
  const expires = new Date(now + seconds * 1000).toUTCString();
  return headers.map(([name, value]) =>
    name === 'set-cookie' && !/;\s*(max-age|expires)=/i.test(value)
      ? ([name, `${value}; Max-Age=${seconds}; Expires=${expires}`] as const)
      : ([name, value] as const),
  );
}

/**
 * Wraps a manager so it also accepts express-session's signed cookie (this needs the
 * `cookie-signature` package). A visitor who brings one and has no tessera session gets the old
 * session's data in a new tessera session, on the first request that uses the session: every key
 * but express-session's `cookie` and the keys tessera reserves (`__…`, `constructor`,
 * `prototype`); keys the handler already set win. What the old store says is live is live (its
 * TTL, not the `cookie.expires` stamp, which touches leave stale), and a persistent old cookie
 * stays persistent: the new cookie gets its lifetime. Once that commit succeeded, the old record
 * is deleted and the old cookie cleared; for a minute the store remembers that it moved, so a
 * request of the same browser already in flight with the old cookie drops its own changes instead
 * of handing out an anonymous cookie that would replace the migrated session. Requests without the old cookie cost nothing more; a request that never touches the
 * session leaves the old cookie for a later one. A cookie with a wrong signature is ignored and
 * left alone. The old store's failures reach the handler as `STORE_UNAVAILABLE`/`STORE_TIMEOUT`,
 * like tessera's own store's.
 *
 * Works with every adapter: pass the wrapped manager to it.
 *
 * @example
 * import { createClient } from 'redis'
 * import { migrateExpressSession, connectRedisSource } from 'tessera-session/migrate/express-session'
 *
 * const legacy = await createClient({ url: process.env.REDIS_URL }).connect()
 * const sessions = migrateExpressSession(createSessionManager({ store }), {
 *   secret: process.env.SESSION_SECRET,
 *   source: connectRedisSource({ client: legacy }),
 *   userOf: (old) => (old.passport as { user?: string } | undefined)?.user,
 * })
 * app.use(expressSession(sessions))
 */
export function migrateExpressSession<Data extends SessionData>(
  manager: SessionManager<Data>,
  options: ExpressSessionMigrationOptions,
): SessionManager<Data> {
  const secrets = typeof options.secret === 'string' ? [options.secret] : [...options.secret];
  if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s === '')) {
    throw new TesseraError(
      'CONFIG',
      "migrateExpressSession: `secret` must be express-session's secret (a non-empty string, or a list of them).",
    );
  }
  const { source } = options;
  if (typeof source?.get !== 'function' || typeof source.destroy !== 'function') {
    throw new TesseraError(
      'CONFIG',
      'migrateExpressSession: `source` must be a legacy source, e.g. connectRedisSource({ client }).',
    );
  }
  const name = options.name ?? 'connect.sid';
  const timeout = options.timeout ?? 2000;
  const onError = options.onError ?? (() => {});
  const call = <T>(op: string, run: () => Promise<T>): Promise<T> =>
    bounded(source.name, op, timeout, run);
  const clearCookie = (isSecure: boolean): string =>
    stringifySetCookie({
      name,
      value: '',
      path: options.cookie?.path ?? '/',
      ...(options.cookie?.domain === undefined ? {} : { domain: options.cookie.domain }),
      httpOnly: true,
      secure: isSecure,
      maxAge: 0,
      expires: new Date(0),
    });
  void loadUnsign().catch(onError);

  const migrations = new WeakMap<object, Migration<Data> & { isSecure: boolean }>();

  async function verify(signed: string): Promise<string | undefined> {
    const unsign = await loadUnsign();
    for (const secret of secrets) {
      const sid = unsign(signed, secret);
      if (sid !== false && /^[\x21-\x7e]{1,256}$/.test(sid)) return sid;
    }
    return undefined;
  }

  function migrate(inner: Session<Data>, signed: string): Migration<Data> {
    const touched = new Set<string>();
    let flushed = false;
    let running: Promise<void> | undefined;
    const loose = inner as unknown as Session<SessionData>;
    const m: Migration<Data> = {
      inner,
      sid: undefined,
      maxAge: undefined,
      isLate: false,
      isDone: false,
      ready: () => (running ??= run()),
      session: wrap(
        inner,
        () => m.ready(),
        touched,
        () => (flushed = true),
      ),
    };
    async function run(): Promise<void> {
      const sid = await verify(signed);
      if (sid === undefined) return;
      await inner.load();
      if (inner.isNew) {
        const legacy = await call('get', () => source.get(sid));
        if (legacy === undefined) {
          // Gone from the old store: expired, or moved by a request of this browser still in flight.
          m.isLate = (await manager.store.get(movedKey(sid)).catch(() => undefined)) !== undefined;
        } else if (!flushed) {
          const reserved = Object.keys(legacy).filter((key) => key !== 'cookie' && !isCarried(key));
          if (reserved.length > 0)
            onError(
              new TesseraError(
                'INVALID_DATA',
                `An old session's keys ${reserved.map((k) => `\`${k}\``).join(', ')} were not carried over: tessera reserves keys starting with "__" and the names "constructor" and "prototype". Rename them in the old app first if you need them.`,
              ),
            );
          for (const [key, value] of Object.entries(legacy)) {
            if (!isCarried(key) || touched.has(key)) continue;
            try {
              loose.set(key, value);
            } catch (error) {
              onError(error);
            }
          }
          const maxAge = legacy.cookie?.originalMaxAge;
          if (typeof maxAge === 'number' && maxAge >= 1000) m.maxAge = maxAge;
          const userId = options.userOf?.(legacy);
          if (typeof userId === 'string' && userId !== '') await inner.login(userId);
        }
      }
      m.sid = sid;
    }
    return m;
  }

  const wrapped: SessionManager<Data> = {
    ...manager,
    load(request) {
      const inner = manager.load(request);
      const header = request.header('cookie');
      if (header === undefined || !header.includes(`${name}=`)) return inner;
      const signed = parseCookie(header)[name];
      if (signed === undefined || !signed.startsWith('s:')) return inner;
      const m = Object.assign(migrate(inner, signed.slice(2)), { isSecure: request.isSecure });
      migrations.set(m.session, m);
      return m.session;
    },
    needsCommit(session) {
      const m = migrations.get(session);
      if (m === undefined) return manager.needsCommit(session);
      return (m.sid !== undefined && !m.isDone) || manager.needsCommit(m.inner);
    },
    discard(session) {
      const m = migrations.get(session);
      if (m) m.isDone = true;
      return manager.discard(m?.inner ?? session);
    },
    handleOf: (session) => manager.handleOf(migrations.get(session)?.inner ?? session),
    async commit(session) {
      const m = migrations.get(session);
      if (m === undefined) return manager.commit(session);
      // Something changed without a read: the old data still has to come along.
      if (!m.isDone && manager.needsCommit(m.inner)) await m.ready();
      if (m.isLate && !m.isDone) {
        // The old session moved in a request still in flight: its cookie must win. This request's
        // own changes are dropped rather than saved under an anonymous cookie that would replace it.
        m.isDone = true;
        manager.discard(m.inner);
        return [
          ['cache-control', 'no-store'],
          ['vary', 'Cookie'],
        ];
      }
      let headers = await manager.commit(m.inner);
      const sid = m.isDone ? undefined : m.sid;
      m.isDone = true;
      if (sid === undefined) return headers;
      if (m.maxAge !== undefined) headers = withLifetime(headers, m.maxAge, Date.now());
      if (!m.inner.isNew) {
        // Remembered before the old record goes, so no request in flight finds neither.
        await call('write', () =>
          manager.store.write(movedKey(sid), { create: true }, Date.now() + MOVED_FOR_MS),
        ).catch(onError);
      }
      await call('destroy', () => source.destroy(sid)).catch(onError);
      const out: Array<readonly [string, string]> = [
        ...headers,
        ['set-cookie', clearCookie(m.isSecure)],
      ];
      if (headers.length === 0) out.push(['cache-control', 'no-store'], ['vary', 'Cookie']);
      return out;
    },
  };
  return wrapped;
}

/** The session a handler sees during a migration: reads wait for it, writes are noted. */
function wrap<Data extends SessionData>(
  inner: Session<Data>,
  ready: () => Promise<void>,
  touched: Set<string>,
  onFlush: () => void,
): Session<Data> {
  const after =
    <A extends unknown[], R>(run: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await ready();
      return run(...args);
    };
  return {
    get id() {
      return inner.id;
    },
    get isNew() {
      return inner.isNew;
    },
    get createdAt() {
      return inner.createdAt;
    },
    get expiresAt() {
      return inner.expiresAt;
    },
    get userId() {
      return inner.userId;
    },
    get isLoaded() {
      return inner.isLoaded;
    },
    get isReadOnly() {
      return inner.isReadOnly;
    },
    get lifetime() {
      return inner.lifetime;
    },
    load: after(() => inner.load()),
    save: after(() => inner.save()),
    lock: after((fn, options) => inner.lock(fn, options)),
    update: after((key, fn, options) => inner.update(key, fn, options)),
    reload: after(() => inner.reload()),
    setLifetime: (ms) => inner.setLifetime(ms),
    touch: () => inner.touch(),
    get: after((key) => inner.get(key)),
    has: after((key) => inner.has(key)),
    all: after(() => inner.all()),
    size: after(() => inner.size()),
    increment: after((key, by) => inner.increment(key, by)),
    peekFlash: after(() => inner.peekFlash()),
    consumeFlash: (async (type?: string) => {
      await ready();
      return type === undefined ? inner.consumeFlash() : inner.consumeFlash(type);
    }) as Session<Data>['consumeFlash'],
    regenerate: after(() => inner.regenerate()),
    destroy: after(() => inner.destroy()),
    login: after((userId, meta) => inner.login(userId, meta)),
    logout: after(() => inner.logout()),
    set(key, value, options) {
      inner.set(key, value, options);
      touched.add(key);
    },
    delete(key) {
      inner.delete(key);
      touched.add(key);
    },
    flush() {
      inner.flush();
      onFlush();
    },
    flash: (type, message) => inner.flash(type, message),
  };
}
