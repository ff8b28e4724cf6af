/**
 * @module Internal: express-session's session API over a tessera session: property access mapped onto
 * per-key changes, and `regenerate`/`save`/`reload`/`destroy` with callbacks (Passport,
 * connect-flash, csrf-sync and the tutorials expect them).
 */
import type { IncomingMessage } from 'node:http';
import { TesseraError } from '../../core/errors.js';
import type { SessionState } from '../../core/session/session.js';
import type { Session, SessionData } from '../../core/session/types.js';

/** A callback in express-session's style: called with the error, or with nothing. */
export type SessionCallback = (error?: unknown) => void;

/**
 * `req.session.cookie` of express-session: the session's lifetime, settable per session (kept
 * in the record as {@link Session.setLifetime}, so every store honours it and it survives a
 * renewed id). The other cookie attributes are the manager's (`cookie` option) and are not
 * reflected here.
 */
export interface CompatCookie {
  /**
   * The session's own lifetime (ms) left, or `null` while it follows the manager's. Setting it
   * gives the session its own idle timeout and a persistent cookie (`null` goes back).
   */
  maxAge: number | null;
  /** When the session's own lifetime ends, or `null`. Setting it sets `maxAge` from now. */
  expires: Date | null;
  /** The session's own lifetime as set (ms), or `null`. */
  readonly originalMaxAge: number | null;
}

/** express-session's methods and fields on `req.session`. */
export interface CompatMethods {
  /** The session id; `undefined` until a new session is first saved. */
  readonly id: string | undefined;
  /** The session's lifetime, express-session style. */
  cookie: CompatCookie;
  /**
   * A new, empty session under a new id (express-session's behaviour, which Passport relies on
   * at login). The old record is renamed, then emptied, so a failed step never logs anyone out.
   */
  regenerate(callback: SessionCallback): void;
  regenerate(): Promise<void>;
  /** Write the changes made so far now (the commit writes the rest). */
  save(callback: SessionCallback): void;
  save(): Promise<void>;
  /** Drop unsaved changes and read the record again. */
  reload(callback: SessionCallback): void;
  reload(): Promise<void>;
  /** Delete the session now; the request goes on with an empty new one. */
  destroy(callback: SessionCallback): void;
  destroy(): Promise<void>;
  /** Move the idle deadline at commit. */
  touch(): this;
  /** As `touch`. */
  resetMaxAge(): this;
}

/**
 * `req.session` with express-session's API: data as properties (`req.session.userId = 'x'`,
 * `delete req.session.cart`), each a per-key change, so concurrent requests still lose nothing.
 */
export type CompatSession<Data extends SessionData = SessionData> = CompatMethods & Partial<Data>;

/** Names express-session's API takes: no data key may use them. */
const API_NAMES = new Set([
  'id',
  'cookie',
  'regenerate',
  'save',
  'reload',
  'destroy',
  'touch',
  'resetMaxAge',
  'toJSON',
]);

/** Calls `callback` outside any promise chain, as express-session's stores do: its throw is uncaught. */
function settleInto(
  work: Promise<void>,
  callback: SessionCallback | undefined,
): Promise<void> | void {
  if (callback === undefined) return work;
  work.then(
    () => setImmediate(callback),
    (error: unknown) => setImmediate(callback, error),
  );
}

/** What a compat view reads from: the live session, or (after a regenerate) the old data. */
interface View {
  state: SessionState;
  /** The data of a session left behind by `regenerate` (Passport's `keepSessionInfo` merges it). */
  frozen: Record<string, unknown> | undefined;
}

function snapshot(state: SessionState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of state.peekKeys()) out[key] = state.peek(key);
  return out;
}

function readKey(view: View, key: string): unknown {
  if (view.frozen !== undefined)
    return Object.hasOwn(view.frozen, key) ? view.frozen[key] : undefined;
  return view.state.peek(key);
}

function cookieOf(view: View): CompatCookie {
  const s = view.state;
  const remaining = (): number | null => {
    const lifetime = s.lifetime;
    if (lifetime === undefined) return null;
    const deadline = s.record?.expiresAt;
    const now = Date.now();
    return deadline === undefined || deadline <= now
      ? lifetime
      : Math.min(lifetime, deadline - now);
  };
  return {
    get maxAge() {
      return remaining();
    },
    set maxAge(ms: number | null) {
      s.setLifetime(ms === null ? undefined : ms);
    },
    get expires() {
      const left = remaining();
      return left === null ? null : new Date(Date.now() + left);
    },
    set expires(at: Date | null) {
      s.setLifetime(at === null ? undefined : at.getTime() - Date.now());
    },
    get originalMaxAge() {
      return s.lifetime ?? null;
    },
  };
}

/**
 * Installs express-session's API on `req`: `req.session` (a view of the loaded session) and
 * `req.sessionID`. The session must be loaded: property reads cannot wait for the store.
 */
export function installCompat(req: IncomingMessage, state: SessionState<SessionData>): void {
  compatStates.set(req, state);
  let current = compatView(req, state);
  Object.defineProperty(req, 'session', {
    get: () => current,
    set(value: unknown) {
      // Only the views this module makes (a regenerate swaps them); anything else is refused.
      if (views.has(value as object)) current = value as CompatSession;
      else
        throw new TesseraError(
          'CONFIG',
          '`req.session` is managed by tessera: change its keys, not the object.',
        );
    },
    configurable: true,
    enumerable: true,
  });
  Object.defineProperty(req, 'sessionID', {
    get: () => state.id,
    configurable: true,
    enumerable: true,
  });
}

/** Views made by {@link compatView}, so `req.session = view` can be told from a foreign object. */
const views = new WeakSet<object>();

function compatView(req: IncomingMessage, state: SessionState): CompatSession {
  const view: View = { state, frozen: undefined };
  const swap = (): void => {
    (req as IncomingMessage & { session: CompatSession }).session = compatView(req, state);
  };
  const methods: Record<string, unknown> = {
    regenerate(callback?: SessionCallback) {
      const work = (async () => {
        const before = snapshot(state);
        // Renamed first (the old id dies, the data is safe under the new one), then emptied at
        // commit: a failure at any step leaves the user a working session.
        await state.regenerate();
        state.flush();
        view.frozen = before;
        swap();
      })();
      return settleInto(work, callback);
    },
    save: (callback?: SessionCallback) => settleInto(state.save(), callback),
    reload: (callback?: SessionCallback) => settleInto(state.reload(), callback),
    destroy: (callback?: SessionCallback) => settleInto(state.destroy(), callback),
    touch() {
      state.touch();
      return proxy;
    },
    resetMaxAge() {
      state.touch();
      return proxy;
    },
    toJSON: () => ({ ...(view.frozen ?? snapshot(state)), cookie: cookieOf(view) }),
  };
  let cookie: CompatCookie | undefined;
  const proxy = new Proxy({} as CompatSession, {
    get(target, key) {
      if (typeof key === 'symbol') return Reflect.get(target, key) as unknown;
      if (key === 'id') return state.id;
      if (key === 'cookie') return (cookie ??= cookieOf(view));
      if (API_NAMES.has(key)) return methods[key];
      return readKey(view, key);
    },
    set(_target, key, value: unknown) {
      if (typeof key === 'symbol') return false;
      // A session left behind by regenerate: its changes go nowhere, as with express-session.
      if (view.frozen !== undefined) return true;
      if (key === 'cookie') {
        const maxAge = (value as Partial<CompatCookie> | null)?.originalMaxAge;
        state.setLifetime(typeof maxAge === 'number' ? maxAge : undefined);
        return true;
      }
      if (API_NAMES.has(key))
        throw new TesseraError(
          'INVALID_DATA',
          `Session key ${JSON.stringify(key)} is taken by express-session's API; use another name.`,
        );
      state.set(key, value);
      return true;
    },
    deleteProperty(_target, key) {
      if (typeof key === 'string' && view.frozen === undefined && !API_NAMES.has(key))
        state.delete(key);
      return true;
    },
    has(_target, key) {
      if (typeof key === 'symbol') return false;
      return API_NAMES.has(key) || readKey(view, key) !== undefined;
    },
    ownKeys() {
      return view.frozen === undefined ? state.peekKeys() : Object.keys(view.frozen);
    },
    getOwnPropertyDescriptor(_target, key) {
      if (typeof key === 'symbol' || API_NAMES.has(key)) return undefined;
      const value = readKey(view, key);
      if (value === undefined) return undefined;
      return { value, writable: true, enumerable: true, configurable: true };
    },
  });
  views.add(proxy);
  return proxy;
}

/** The tessera session behind each compat `req.session`. */
export const compatStates: WeakMap<IncomingMessage, Session<SessionData>> = new WeakMap<
  IncomingMessage,
  Session<SessionData>
>();
