/**
 * @module Operations on stored sessions outside a request: users' devices, revocation, counts,
 * garbage collection and health checks.
 */
import { TesseraError } from './errors.js';
import { isStoreKey, storeKey } from './id.js';
import type { ResolvedOptions } from './options.js';
import type { GcOptions, GcResult, SessionMeta, Store, UserSession } from './store.js';

/** One of a user's sessions, as a "your devices" list shows it. */
export interface DeviceSession {
  /** A handle for `revoke`: the hashed session id, never the id itself. */
  handle: string;
  createdAt: number;
  expiresAt: number;
  /** Roughly when the session was last used: when its idle deadline last moved. */
  lastSeenAt: number;
  /** When the session was bound to the user. */
  loggedInAt: number | undefined;
  userAgent: string | undefined;
  ip: string | undefined;
  /** Whether this is the session passed as `current`. */
  current: boolean;
}

/** Options of `revokeUser`. */
export interface RevokeUserOptions {
  /** Keep this session (a device handle, e.g. `manager.handleOf(session)`). */
  except?: string | undefined;
}

/** Session operations outside a request. */
export interface UserOps {
  /** A user's live sessions, oldest first. `current` marks the one with that handle. */
  sessionsOf(userId: string, current?: string): Promise<DeviceSession[]>;
  /** End one session by its device handle. */
  revoke(handle: string): Promise<void>;
  /** End every session of a user (except one); returns how many ended. */
  revokeUser(userId: string, options?: RevokeUserOptions): Promise<number>;
  /** End a session by its id (e.g. from an admin tool). Malformed ids throw `BAD_ID`. */
  destroy(id: string): Promise<void>;
  /** How many live sessions the store holds (beego's GetActiveSession). */
  activeCount(): Promise<number>;
  /** One bounded pass removing expired records (a no-op for stores with native expiry). */
  gc(options?: GcOptions): Promise<GcResult>;
  /** Sweep every `intervalMs` in the background; returns a function that stops it. */
  startGC(intervalMs?: number): () => void;
  /** Write, read back and delete a probe record: rejects when the store does not work. */
  check(): Promise<void>;
}

type Call = <T>(op: string, run: () => Promise<T>) => Promise<T>;

function unsupported(store: Store, what: string): TesseraError {
  return new TesseraError(
    'UNSUPPORTED',
    `The ${store.name} store has no ${what}; pick a store that has one (memory, redis, SQL, file).`,
  );
}

/** Builds the operations, and the session-limit check used at login. */
export function createUserOps(
  store: Store,
  o: ResolvedOptions,
  call: Call,
): UserOps & {
  enforceLimit: (userId: string, key: string, onRefused: () => Promise<void>) => Promise<void>;
} {
  const byUser = async (userId: string): Promise<UserSession[]> => {
    if (!store.byUser) throw unsupported(store, 'user index');
    const list = await call('byUser', () => store.byUser!(userId));
    const now = o.clock.now();
    return list.filter((s) => s.expiresAt > now);
  };
  const loggedIn = (s: UserSession): number => s.meta?.loggedInAt ?? s.createdAt;
  const order = (a: UserSession, b: UserSession): number =>
    loggedIn(a) - loggedIn(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

  return {
    async sessionsOf(userId, current) {
      const list = await byUser(userId);
      list.sort(order);
      return list.map((s) => device(s, current, o.idleTimeout));
    },
    async revoke(handle) {
      if (typeof handle !== 'string' || !isStoreKey(handle)) {
        throw new TesseraError(
          'BAD_ID',
          'A device handle is 43 characters of A-Z, a-z, 0-9, "_" and "-"; take it from `sessionsOf`.',
        );
      }
      await call('destroy', () => store.destroy(handle));
    },
    async revokeUser(userId, options = {}) {
      if (!store.destroyByUser) throw unsupported(store, 'user index');
      return call('destroyByUser', () => store.destroyByUser!(userId, options.except));
    },
    async destroy(id) {
      if (typeof id !== 'string' || !o.ids.isValid(id))
        throw new TesseraError('BAD_ID', 'That is not a session id this manager issues.');
      const key = storeKey(id);
      await call('destroy', () => store.destroy(key));
    },
    async activeCount() {
      if (!store.count) throw unsupported(store, 'count');
      return call('count', () => store.count!());
    },
    async gc(options) {
      if (!store.gc) return { removed: 0, done: true };
      return call('gc', () => store.gc!(options));
    },
    startGC(intervalMs = 60_000) {
      const timer = setInterval(() => {
        if (store.gc) store.gc().catch(o.onError);
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
    async check() {
      if (store.check) return call('check', () => store.check!());
      const key = storeKey(o.ids.generate());
      const now = o.clock.now();
      await call('write', () =>
        store.write(key, { create: true, set: { probe: now } }, now + 60_000),
      );
      const back = await call('get', () => store.get(key));
      await call('destroy', () => store.destroy(key));
      if (back?.data['probe'] !== now)
        throw new TesseraError(
          'STORE_UNAVAILABLE',
          `The ${store.name} store did not return the probe record it was given.`,
        );
    },
    async enforceLimit(userId, key, onRefused) {
      const max = o.maxSessionsPerUser;
      if (max === undefined) return;
      const list = await byUser(userId);
      if (list.length <= max) return;
      if (o.sessionLimitPolicy === 'refuse') {
        // Refuse when `max` others are live. Every login checks after writing its own session, so
        // concurrent logins can only refuse too many, never admit too many.
        if (list.filter((s) => s.key !== key).length < max) return;
        await call('destroy', () => store.destroy(key));
        await onRefused();
        throw new TesseraError(
          'TOO_MANY_SESSIONS',
          `This user already has ${max} sessions; log out on another device first.`,
          { status: 409 },
        );
      }
      // Every login orders the same list the same way and trims it after writing its own session,
      // so concurrent logins converge on exactly the newest `max`.
      list.sort(order);
      for (const s of list.slice(0, list.length - max))
        await call('destroy', () => store.destroy(s.key));
      if (!list.slice(list.length - max).some((s) => s.key === key)) await onRefused();
    },
  };
}

function device(s: UserSession, current: string | undefined, idleTimeout: number): DeviceSession {
  const meta: SessionMeta = s.meta ?? {};
  return {
    handle: s.key,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
    lastSeenAt: Math.max(s.createdAt, s.expiresAt - idleTimeout),
    loggedInAt: meta.loggedInAt,
    userAgent: meta.userAgent,
    ip: meta.ip,
    current: s.key === current,
  };
}
