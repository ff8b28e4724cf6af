/**
 * @module The session manager: loads sessions from requests, commits them, and manages users'
 * sessions across devices.
 */
import { isLive } from './delta.js';
import { TesseraError } from './errors.js';
import { storeKey } from './id.js';
import { resolveOptions, type ResolvedOptions, type SessionManagerOptions } from './options.js';
import { SessionState, type Session, type SessionData, type SessionHost } from './session.js';
import {
  capExpiry,
  isSealedStore,
  type Delta,
  type SealedStore,
  type Store,
  type StoreRecord,
  type WriteResult,
} from './store.js';
import { bounded, unbounded } from './time.js';
import { readQueryParam, type SessionRequest } from './transport/index.js';
import { createUserOps, type UserOps } from './users.js';
import { memoryStore } from '../stores/memory.js';

/** Response headers a commit asks the adapter to add, as `[lower-case name, value]` pairs. */
export type ResponseHeaders = ReadonlyArray<readonly [name: string, value: string]>;

/** The session manager. One per application; share it across requests. */
export interface SessionManager<Data extends SessionData = SessionData> extends UserOps {
  /** The store in use. */
  readonly store: Store;
  /** The session of a request. Costs no store call: the record loads when first read. */
  load(request: SessionRequest): Session<Data>;
  /**
   * Save what the request changed and say which headers to send. Call it before the response
   * headers go out; adapters do. Rejects with `STORE_UNAVAILABLE`/`STORE_TIMEOUT` when the store
   * fails, in which case no header should be sent.
   */
  commit(session: Session<Data>): Promise<ResponseHeaders>;
  /** Drop this request's pending changes: nothing more is written (a failed handler). */
  discard(session: Session<Data>): void;
  /** Whether `commit` would do anything (adapters use it to skip work on untouched sessions). */
  needsCommit(session: Session<Data>): boolean;
  /** The device handle of a session (the hashed id), or `undefined` for a new session. */
  handleOf(session: Session<Data>): string | undefined;
  /** Give the session `id` a new id (returned), or `undefined` when it no longer exists. */
  regenerate(id: string): Promise<string | undefined>;
  /** Stop background work and close the store. */
  close(): Promise<void>;
}

const NO_HEADERS: ResponseHeaders = Object.freeze([]);

/** Internal: what a commit must send besides writing. */
interface Outcome {
  sendId: boolean;
}

/**
 * Creates a session manager.
 *
 * @example
 * import { createSessionManager } from 'tessera-session'
 * import { withSessions } from 'tessera-session/node'
 *
 * const sessions = createSessionManager<{ count: number }>({ idleTimeout: 30 * 60_000 })
 * http.createServer(withSessions(sessions, async (req, res) => {
 *   const count = await req.session.increment('count')
 *   res.end(`visit ${count}`)
 * }))
 */
export function createSessionManager<Data extends SessionData = SessionData>(
  options: SessionManagerOptions = {},
): SessionManager<Data> {
  const o: ResolvedOptions = resolveOptions(options);
  const store: Store = o.store ?? memoryStore({ clock: o.clock });
  const { ids, cookie, transports, clock } = o;
  const sealed = isSealedStore(store) ? store : undefined;
  if (
    sealed &&
    (!transports.cookie || transports.header !== undefined || transports.query !== undefined)
  ) {
    throw new TesseraError(
      'CONFIG',
      `The ${store.name} store carries sessions in cookies only: keep \`transport: { cookie: true }\` and switch off \`header\` and \`query\`.`,
    );
  }
  // The longest `name=value` a sealed cookie may take so the whole Set-Cookie stays within 4096 bytes.
  const maxCookieBytes = 4096 - (cookie.serializeNamed('', '', true).length - 1);
  /** Where a session's store calls go: its own sealed record (cookie store), or the shared store. */
  const storeOf = (s: SessionState): Store => s.backend ?? store;

  const call = store.isLocal
    ? <T>(op: string, run: () => Promise<T>): Promise<T> => unbounded(store.name, op, run)
    : <T>(op: string, run: () => Promise<T>): Promise<T> =>
        bounded(store.name, op, o.storeTimeout, run);

  const keyOf = (s: SessionState): string => (s.key ??= storeKey(s.id as string));
  const deadline = (now: number, absoluteExpiresAt: number | undefined): number =>
    capExpiry(now + o.idleTimeout, absoluteExpiresAt);
  const forget = (s: SessionState): void => {
    s.isMissing = true;
    s.id = undefined;
    s.key = undefined;
    s.record = undefined;
  };

  /** Not async: the store's promise and one `then` are all a read from a local store costs. */
  function load(s: SessionState): Promise<StoreRecord | undefined> {
    const key = keyOf(s);
    const get = (): Promise<StoreRecord | undefined> => storeOf(s).get(key);
    const accept = (record: StoreRecord | undefined) => loaded(s, key, record);
    return store.isLocal
      ? unbounded(store.name, 'get', get, accept)
      : bounded(store.name, 'get', o.storeTimeout, get).then(accept);
  }

  function loaded(
    s: SessionState,
    key: string,
    record: StoreRecord | undefined,
  ): StoreRecord | undefined | Promise<StoreRecord | undefined> {
    s.isLoaded = true;
    if (record === undefined || !isLive(record, clock.now()) || !isWellFormed(record)) {
      if (record !== undefined) storeOf(s).destroy(key).catch(o.onError);
      forget(s);
      return undefined;
    }
    if (o.schema)
      return matchesSchema(record).then((matches) => {
        if (!matches) return void forget(s);
        s.record = record;
        return record;
      });
    s.record = record;
    return record;
  }

  async function matchesSchema(record: StoreRecord): Promise<boolean> {
    const data: Record<string, unknown> = {};
    try {
      for (const [key, value] of Object.entries(record.data))
        if (!key.startsWith('__')) data[key] = o.codec.decode(value);
      const result = await o.schema!['~standard'].validate(data);
      if (!result.issues) return true;
      o.onError(
        new TesseraError(
          'INVALID_DATA',
          `A stored session failed the schema (${result.issues.length} issue(s)); it was treated as a new session.`,
        ),
      );
    } catch (error) {
      o.onError(error);
    }
    return false;
  }

  /** Writes a delta to the current record, or creates a new record under a fresh id. */
  async function write(s: SessionState, delta: Delta, now: number): Promise<WriteResult & Outcome> {
    if (!s.isMissing) {
      const result = await call('write', () =>
        storeOf(s).write(keyOf(s), delta, deadline(now, s.record?.absoluteExpiresAt)),
      );
      if (result.existed) return { ...result, sendId: o.isPersistentCookie };
      // The record vanished (expired, destroyed or never issued): the change starts a new session.
      forget(s);
    }
    s.id = ids.generate();
    s.key = undefined;
    const absoluteExpiresAt = o.absoluteTimeout === undefined ? undefined : now + o.absoluteTimeout;
    const create: Delta = { ...delta, create: true, createdAt: now };
    if (absoluteExpiresAt !== undefined) create.absoluteExpiresAt = absoluteExpiresAt;
    const expiresAt = deadline(now, absoluteExpiresAt);
    const result = await call('write', () => storeOf(s).write(keyOf(s), create, expiresAt));
    s.isMissing = false;
    s.isIdChanged = true;
    s.record = { data: {}, createdAt: now, expiresAt };
    if (absoluteExpiresAt !== undefined) s.record.absoluteExpiresAt = absoluteExpiresAt;
    s.isLoaded = true;
    return { ...result, sendId: true };
  }

  async function settle(s: SessionState): Promise<Delta | undefined> {
    if (s.hasPendingFlash) {
      await s.ensureLoaded();
      s.settleFlash();
    }
    return s.buildDelta();
  }

  async function renew(s: SessionState): Promise<void> {
    if (s.isMissing) return;
    const oldKey = keyOf(s);
    const newId = ids.generate();
    const newKey = storeKey(newId);
    let moved: boolean;
    const target = storeOf(s);
    if (target.rename) {
      moved = await call('rename', () => target.rename!(oldKey, newKey));
    } else {
      await s.ensureLoaded();
      const r = s.record;
      moved = r !== undefined;
      if (r) {
        const copy: Delta = { create: true, createdAt: r.createdAt, set: r.data };
        if (r.absoluteExpiresAt !== undefined) copy.absoluteExpiresAt = r.absoluteExpiresAt;
        if (r.userId !== undefined) copy.userId = r.userId;
        if (r.meta !== undefined) copy.meta = r.meta;
        await call('write', () => target.write(newKey, copy, r.expiresAt));
        await call('destroy', () => target.destroy(oldKey));
      }
    }
    if (!moved) return forget(s);
    s.id = newId;
    s.key = newKey;
    s.isIdChanged = true;
  }

  const host: SessionHost = {
    codec: o.codec,
    load,
    async increment(s, key, by) {
      const delta = (await settle(s)) ?? {};
      delta.incr = { [key]: by };
      const result = await write(s, delta, clock.now());
      s.applied(delta, result.counters);
      const value = result.counters?.[key];
      if (value === undefined)
        throw new TesseraError(
          'STORE_UNAVAILABLE',
          `The ${store.name} store did not report the new value of an increment.`,
        );
      return value;
    },
    regenerate: renew,
    async destroy(s) {
      if (!s.isMissing && s.id !== undefined) {
        const key = keyOf(s);
        await call('destroy', () => storeOf(s).destroy(key));
      }
      s.reset();
      s.isDestroyed = true;
    },
    async login(s, userId, meta) {
      await renew(s);
      const delta = (await settle(s)) ?? {};
      const now = clock.now();
      delta.userId = userId;
      delta.meta = {
        ...deviceOf(s),
        loggedInAt: now,
        ...meta,
      };
      await write(s, delta, now);
      s.applied(delta);
      s.isIdChanged = true;
      if (s.record) {
        s.record.userId = userId;
        s.record.meta = delta.meta;
      }
      await enforceLimit(userId, keyOf(s), async () => {
        s.reset();
        s.isDestroyed = true;
      });
    },
  };

  const { enforceLimit, ...users } = createUserOps(store, o, call);
  let gcTimer: NodeJS.Timeout | undefined;
  if (o.gcInterval !== undefined && store.gc) {
    gcTimer = setInterval(() => void users.gc().catch(o.onError), o.gcInterval);
    gcTimer.unref();
  }

  function cookieHeaders(
    s: SessionState,
    sendId: boolean,
    out: Array<readonly [string, string]>,
  ): void {
    if (s.backend) {
      for (const [name, value] of s.backend.cookies(s.id)) {
        out.push([
          'set-cookie',
          value === undefined
            ? cookie.clear(s.isSecure, name)
            : cookie.serializeNamed(name, value, s.isSecure),
        ]);
      }
    } else if (sendId && s.id !== undefined) {
      if (transports.cookie) out.push(['set-cookie', cookie.serialize(s.id, s.isSecure)]);
      if (transports.header) out.push([transports.header, s.id]);
    } else if (s.id === undefined && s.hadCookie && (s.isDestroyed || s.isLoaded)) {
      out.push(['set-cookie', cookie.clear(s.isSecure)]);
    }
    if (out.length > 0) {
      out.push(['cache-control', 'no-store'], ['vary', 'Cookie']);
      if (s.source === 'query') out.push(['referrer-policy', 'no-referrer']);
    }
  }

  /** A request's session with a sealed store: its record comes from, and goes back to, its cookies. */
  function loadSealed(sealed: SealedStore, request: SessionRequest): Session<Data> {
    const header = request.header('cookie');
    // Two different values under the cookie's name: refuse both rather than guess (as for ids).
    const isAmbiguous = cookie.read(header) === null;
    const cookies = isAmbiguous ? {} : cookie.parse(header);
    const backend = sealed.bind({
      name: cookie.name,
      read: (name) => cookies[name],
      maxCookieBytes,
      isValidId: (id) => ids.isValid(id),
    });
    const id = backend.sessionId;
    const hadCookie = isAmbiguous || backend.hadCookie;
    const s = new SessionState(
      host,
      id,
      id === undefined ? undefined : 'cookie',
      hadCookie,
      request,
    );
    s.backend = backend;
    return s as unknown as Session<Data>;
  }

  const manager: SessionManager<Data> = {
    ...users,
    store,
    load(request) {
      if (sealed) return loadSealed(sealed, request);
      let id: string | undefined;
      let source: 'cookie' | 'header' | 'query' | undefined;
      let hadCookie = false;
      if (transports.header) {
        const value = request.header(transports.header);
        if (value !== undefined && ids.isValid(value)) {
          id = value;
          source = 'header';
        }
      }
      if (id === undefined && transports.cookie) {
        const value = cookie.read(request.header('cookie'));
        if (value !== undefined) {
          hadCookie = true;
          if (value !== null && ids.isValid(value)) {
            id = value;
            source = 'cookie';
          }
        }
      }
      if (id === undefined && transports.query) {
        const value = readQueryParam(request.url, transports.query);
        if (value !== undefined && ids.isValid(value)) {
          id = value;
          source = 'query';
        }
      }
      return new SessionState(host, id, source, hadCookie, request) as unknown as Session<Data>;
    },
    discard(session) {
      (session as unknown as SessionState).isCommitted = true;
    },
    needsCommit(session) {
      const s = session as unknown as SessionState;
      if (s.isCommitted) return false;
      if (s.hasChanges || s.isIdChanged || s.isDestroyed || (o.saveNew && s.isMissing)) return true;
      // A sealed session changed by an immediate write (increment) still needs its cookies set.
      if (s.backend !== undefined && s.backend.isChanged) return true;
      if (!s.isLoaded) return false;
      // A read: commit only to touch, to renew a query-borne id, or to clear a dead cookie.
      if (s.record)
        return s.source === 'query' || s.record.expiresAt - clock.now() <= o.touchWithin;
      return s.hadCookie;
    },
    handleOf(session) {
      const s = session as unknown as SessionState;
      return s.isMissing || s.id === undefined ? undefined : keyOf(s);
    },
    async commit(session) {
      const s = session as unknown as SessionState;
      if (!manager.needsCommit(session)) return NO_HEADERS;
      // Closed before the first await: a change made while the commit runs would be lost silently.
      s.isCommitted = true;
      // An id that arrived in the query string is renewed before anything is written, so a
      // leaked URL stops working (it needs a cookie or header transport to carry the new id).
      if (s.source === 'query' && !s.isIdChanged && (s.hasChanges || s.isLoaded)) await renew(s);
      const delta = await settle(s);
      const now = clock.now();
      let sendId = s.isIdChanged;
      if (delta !== undefined || (o.saveNew && s.isMissing && !s.isDestroyed)) {
        const result = await write(s, delta ?? {}, now);
        sendId ||= result.sendId;
      } else if (s.isLoaded && s.record && s.record.expiresAt - now <= o.touchWithin) {
        const key = keyOf(s);
        await call('touch', () =>
          storeOf(s).touch(key, deadline(now, s.record?.absoluteExpiresAt)),
        );
        sendId ||= o.isPersistentCookie;
      }
      const out: Array<readonly [string, string]> = [];
      cookieHeaders(s, sendId, out);
      return out.length === 0 ? NO_HEADERS : out;
    },
    async regenerate(id) {
      if (typeof id !== 'string' || !ids.isValid(id))
        throw new TesseraError('BAD_ID', 'That is not a session id this manager issues.');
      const newId = ids.generate();
      if (!store.rename)
        throw new TesseraError(
          'UNSUPPORTED',
          `The ${store.name} store cannot rename records; regenerate inside a request instead.`,
        );
      const moved = await call('rename', () => store.rename!(storeKey(id), storeKey(newId)));
      return moved ? newId : undefined;
    },
    async close() {
      if (gcTimer) clearInterval(gcTimer);
      await store.close();
    },
  };
  return manager;
}

function deviceOf(s: SessionState): { userAgent?: string; ip?: string } {
  const userAgent = s.request.header('user-agent');
  const ip = s.request.ip;
  return {
    ...(userAgent === undefined ? {} : { userAgent: userAgent.slice(0, 512) }),
    ...(ip === undefined ? {} : { ip }),
  };
}

function isWellFormed(record: StoreRecord): boolean {
  return (
    typeof record.data === 'object' &&
    record.data !== null &&
    !Array.isArray(record.data) &&
    typeof record.expiresAt === 'number' &&
    typeof record.createdAt === 'number'
  );
}
