/**
 * @module Operations on stored sessions outside a request: users' devices, revocation, counts,
 * garbage collection (one timer) and the health check.
 */
import { TesseraError } from '../errors.js';
import { isStoreKey, storeKey } from '../id.js';
import { probeStore } from '../probe.js';
import type { GcOptions, GcResult, SessionMeta, Store, UserSession } from '../store.js';
import type { ManagerContext } from './context.js';

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
  /**
   * Sweep every `intervalMs` in the background (replacing the manager's own sweep, so one timer
   * runs at most); returns a function that stops it. @default 60000
   */
  startGC(intervalMs?: number): () => void;
  /** Write, read back and delete a probe record: rejects when the store does not work. */
  check(): Promise<void>;
}

/** The admin side of a manager, and what its `close()` must stop. */
export interface Admin extends UserOps {
  /** Stops the background sweep, if any. */
  readonly stopGC: () => void;
}

function unsupported(store: Store, what: string): TesseraError {
  return new TesseraError(
    'UNSUPPORTED',
    `The ${store.name} store has no ${what}; pick a store that has one (memory, redis, SQL, file).`,
  );
}

/** The live sessions of a user, as the store lists them (a store may list some just expired). */
export async function liveSessionsOf(ctx: ManagerContext, userId: string): Promise<UserSession[]> {
  const { store } = ctx;
  if (!store.byUser) throw unsupported(store, 'user index');
  const list = await ctx.call('byUser', () => store.byUser!(userId));
  const now = ctx.o.clock.now();
  return list.filter((s) => s.expiresAt > now);
}

const loggedIn = (s: UserSession): number => s.meta?.loggedInAt ?? s.createdAt;

/** Oldest login first; ties by key, so every process orders one list the same way. */
export function loginOrder(a: UserSession, b: UserSession): number {
  return loggedIn(a) - loggedIn(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Builds the admin side of a manager; starts its background sweep when `gcInterval` asks. */
export function createAdmin(ctx: ManagerContext): Admin {
  const { o, store, call } = ctx;
  const onGc = o.observers.onGc;
  let timer: NodeJS.Timeout | undefined;

  async function gc(options?: GcOptions): Promise<GcResult> {
    if (!store.gc) return { removed: 0, done: true };
    const started = onGc ? performance.now() : 0;
    const result = await call('gc', () => store.gc!(options));
    if (onGc) onGc({ ...result, durationMs: performance.now() - started });
    return result;
  }
  function stopGC(): void {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  }
  function startGC(intervalMs = 60_000): () => void {
    stopGC();
    if (!store.gc) return stopGC;
    const mine = setInterval(() => void gc().catch((error) => ctx.report(error, 'gc')), intervalMs);
    mine.unref();
    timer = mine;
    return () => {
      if (timer === mine) stopGC();
    };
  }
  if (o.gcInterval !== undefined) startGC(o.gcInterval);

  return {
    async sessionsOf(userId, current) {
      const list = await liveSessionsOf(ctx, userId);
      list.sort(loginOrder);
      return list.map((s) => device(s, current, o.expiry.idleTimeout));
    },
    async revoke(handle) {
      if (typeof handle !== 'string' || !isStoreKey(handle)) {
        throw new TesseraError(
          'BAD_ID',
          'A device handle is 43 characters of A-Z, a-z, 0-9, "_" and "-"; take it from `sessionsOf`.',
        );
      }
      await call('destroy', () => store.destroy(handle));
      ctx.event('revoked');
    },
    async revokeUser(userId, options = {}) {
      if (!store.destroyByUser) throw unsupported(store, 'user index');
      const count = await call('destroyByUser', () => store.destroyByUser!(userId, options.except));
      if (count > 0) ctx.event('revoked', count);
      return count;
    },
    async destroy(id) {
      if (typeof id !== 'string' || !o.ids.isValid(id))
        throw new TesseraError('BAD_ID', 'That is not a session id this manager issues.');
      const key = storeKey(id);
      await call('destroy', () => store.destroy(key));
      ctx.event('revoked');
    },
    async activeCount() {
      if (!store.count) throw unsupported(store, 'count');
      return call('count', () => store.count!());
    },
    gc,
    startGC,
    stopGC,
    async check() {
      if (store.check) return call('check', () => store.check!());
      await probeStore(
        {
          name: store.name,
          write: (key, delta, expiresAt) => call('write', () => store.write(key, delta, expiresAt)),
          get: (key) => call('get', () => store.get(key)),
          destroy: (key) => call('destroy', () => store.destroy(key)),
        },
        storeKey(o.ids.generate()),
        o.clock.now(),
      );
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
