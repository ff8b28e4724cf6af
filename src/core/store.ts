/**
 * @module The store contract: what every tessera store implements and promises.
 */

/** A JSON value as stores keep it. The codec turns Dates, Maps, Sets, BigInts and bytes into these. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What tessera remembers about the device a session belongs to (for "your devices" lists). */
export interface SessionMeta {
  /** The `User-Agent` header at login. */
  userAgent?: string;
  /** The client address at login, as the adapter saw it. */
  ip?: string;
  /** When the session was bound to the user (epoch ms). */
  loggedInAt?: number;
}

/**
 * A stored session: its data plus bookkeeping. Times are epoch milliseconds.
 * `expiresAt` never exceeds `absoluteExpiresAt` when that is set.
 */
export interface StoreRecord {
  /** Top-level session keys to their encoded values. */
  data: Record<string, JsonValue>;
  /** When the session was first stored. */
  createdAt: number;
  /** The idle deadline: after it the record is gone. */
  expiresAt: number;
  /** The absolute deadline, fixed at creation; `expiresAt` can never move past it. */
  absoluteExpiresAt?: number;
  /** The user this session is bound to, after `login`. */
  userId?: string;
  /** Device information recorded at login. */
  meta?: SessionMeta;
  /**
   * Deadlines of single keys (epoch ms), for keys written with one (`Delta.expire`). Only stores
   * with {@link Store.hasKeyExpiry} keep it; they never return a key past its deadline.
   */
  keyExpiresAt?: Record<string, number>;
}

/**
 * A change to one record, applied atomically by {@link Store.write}.
 *
 * Order of application: `replace` (clear all data), then `unset`, then `set`, then `incr`.
 * `incr` adds to a numeric value; a missing key counts as 0. When a key of `incr` holds anything
 * but a number, the whole delta is refused: nothing changes, and the write reports the key in
 * {@link WriteResult.nonNumeric}.
 */
export interface Delta {
  /** Create the record if it is missing (or expired). Only a delta marked `create` may create one. */
  create?: true;
  /** With `create`: the creation time to record. Defaults to the store's clock. */
  createdAt?: number;
  /** With `create`: the absolute deadline to record. */
  absoluteExpiresAt?: number;
  /** Replace all data with `set` (flush). */
  replace?: true;
  /** Keys to write, with their encoded values. */
  set?: Record<string, JsonValue>;
  /** Keys to remove. */
  unset?: string[];
  /** Keys to add a number to, atomically. */
  incr?: Record<string, number>;
  /** Bind the record to this user (`null` unbinds). Undefined leaves the binding as it is. */
  userId?: string | null;
  /** Replace the device information. */
  meta?: SessionMeta;
  /**
   * Deadlines (epoch ms) for keys of this delta's `set`: from its deadline on, a key reads as
   * absent, while the session's own deadline stays as it is (one-time codes, short-lived tokens).
   * A key set without an entry here loses any deadline it had; `unset` and `replace` drop the
   * deadlines of the keys they remove. Only for stores with {@link Store.hasKeyExpiry}.
   */
  expire?: Record<string, number>;
}

/** What {@link Store.write} reports. */
export interface WriteResult {
  /**
   * Whether a live record was there before the write. For a write without `create` on a missing,
   * destroyed or expired record this is `false` and nothing changed.
   */
  existed: boolean;
  /** The value of each key of `delta.incr` after the write (absent when nothing was written). */
  counters?: Record<string, number>;
  /**
   * Keys of `delta.incr` that hold something other than a number. When set, the write changed
   * nothing at all (the delta is applied whole or not at all).
   */
  nonNumeric?: string[];
}

/** One entry of a user's session list ({@link Store.byUser}). */
export interface UserSession {
  /** The store key (a hash of the session id): a handle, not a credential. */
  key: string;
  createdAt: number;
  expiresAt: number;
  meta?: SessionMeta;
}

/** Options of {@link Store.gc}. */
export interface GcOptions {
  /** Stop after about this many milliseconds. @default 100 */
  budgetMs?: number;
  /** Remove at most this many records. @default 10000 */
  limit?: number;
}

/** What a {@link Store.gc} pass did. */
export interface GcResult {
  /** Records removed. */
  removed: number;
  /** `true` when every expired record was removed; `false` when budget or limit stopped the pass. */
  done: boolean;
}

/** A page of {@link Store.scan}. */
export interface ScanPage {
  keys: string[];
  /** Pass back to get the next page; absent on the last page. */
  cursor?: string;
}

/**
 * A change to the stored sessions, as a {@link Store.watch} feed reports it: a record written
 * (created, changed, bound, renamed to this key) or destroyed (destroyed, revoked, renamed away)
 * by any process. Touches are not reported: they move a deadline, never data.
 */
export type StoreChange =
  | { readonly kind: 'write' | 'destroy'; readonly key: string }
  /**
   * The feed lost its connection (`isLive: false`) or has it again (`isLive: true`); changes made
   * in between are unknown, so whatever was cached from the feed must be dropped.
   */
  | { readonly kind: 'feed'; readonly isLive: boolean };

/** Stops a {@link Store.watch} feed. */
export type Unwatch = () => Promise<void>;

/** A source of time. Stores and the manager take one so tests can move time. */
export interface Clock {
  now(): number;
}

/**
 * A session store.
 *
 * Keys are never raw session ids: the manager passes `base64url(sha256(id))` (43 characters of
 * `[A-Za-z0-9_-]`), so a leaked store holds no usable cookie and a key is always safe in a path,
 * a Redis key or an SQL parameter.
 *
 * Promises every store keeps (the contract suite in `test/contract/store.ts` checks each):
 * - A missing or expired key reads as `undefined`, never as an error, even before any GC ran.
 * - `write` is atomic per call: two writes of different keys to one record at the same moment both
 *   survive, and `incr` never loses an increment.
 * - Only a delta with `create` makes a record. A write to a missing, destroyed or expired record
 *   changes nothing and returns `existed: false`, so a slow request cannot bring back a session
 *   that was logged out.
 * - `expiresAt` passed to `write` and `touch` is capped at the record's `absoluteExpiresAt`.
 * - `destroy` and `touch` of an unknown key are no-ops.
 * - Failures reject with an error; the manager turns it into `STORE_UNAVAILABLE`.
 *
 * Optional abilities are found by presence: a method that exists is used (and tested by the
 * contract suite, `tessera-session/testing`); one that does not exist is never called.
 */
export interface Store {
  /** The store's `STORE_NAME`, used in messages and metrics. */
  readonly name: string;
  /**
   * Set by stores whose calls never wait on I/O (memory). The manager then skips the timeout timer.
   */
  readonly isLocal?: boolean;
  /**
   * The bound (ms) this store puts on each of its own calls, through the one store-call layer
   * (`bounded` in `tessera-session`), for stores that talk to a server. The manager then adds no
   * timer of its own, so every call has exactly one deadline. Unset: the manager's `storeTimeout`
   * bounds the calls.
   */
  readonly timeoutMs?: number;
  /** Whether the store keeps per-key deadlines (`Delta.expire`, `StoreRecord.keyExpiresAt`). */
  readonly hasKeyExpiry?: boolean;
  /**
   * The live record, or `undefined`. The record may be the store's own, frozen and handed to every
   * caller (the memory store does this, so a read costs no parse and no copy): treat it as
   * read-only, and copy what you need to change.
   */
  get(key: string): Promise<StoreRecord | undefined>;
  /**
   * What `get` would resolve to, at once: for stores whose reads never wait (the memory store).
   * The manager then loads a session in the same step as its first read, with no promise of the
   * store's and no turn of the microtask queue. Throws where `get` would reject.
   */
  getNow?(key: string): StoreRecord | undefined;
  /** Apply `delta` atomically and set the idle deadline to `expiresAt` (capped, see above). */
  write(key: string, delta: Delta, expiresAt: number): Promise<WriteResult>;
  /** Move the idle deadline (capped), touching no data. A no-op for a missing record. */
  touch(key: string, expiresAt: number): Promise<void>;
  /** Remove the record and its user-index entry. A no-op for a missing record. */
  destroy(key: string): Promise<void>;
  /** Release connections and timers. */
  close(): Promise<void>;

  /**
   * Move a record to a new key with no moment where neither key holds it. Returns `false` (and
   * changes nothing) when the old record is missing or expired.
   */
  rename?(oldKey: string, newKey: string): Promise<boolean>;
  /** The live sessions of a user, oldest first. */
  byUser?(userId: string): Promise<UserSession[]>;
  /** Destroy every session of a user except `exceptKey`; returns how many were destroyed. */
  destroyByUser?(userId: string, exceptKey?: string): Promise<number>;
  /** How many live records there are (may include some expired ones not yet collected). */
  count?(): Promise<number>;
  /** Page through the keys of live records. */
  scan?(cursor?: string, limit?: number): Promise<ScanPage>;
  /** Remove expired records within a time budget (stores without native expiry). */
  gc?(options?: GcOptions): Promise<GcResult>;
  /** Write, read back and delete a probe record; reject with a clear error when that fails. */
  check?(): Promise<void>;
  /**
   * Take a lease on `key` for `ttlMs` milliseconds, across every process using this store: a new
   * token when it was free (or its last lease expired), `undefined` when another holder has it.
   * Never waits; callers retry. The lease ends by itself after `ttlMs`, so a holder that dies
   * frees it. A lease is independent of the record: it may be taken on a key with no record.
   */
  lock?(key: string, ttlMs: number): Promise<string | undefined>;
  /**
   * Release the lease on `key` if `token` still holds it; `false` (changing nothing) when the
   * lease expired or another holder has it now. Never releases another holder's lease.
   */
  unlock?(key: string, token: string): Promise<boolean>;
  /**
   * Report changes to stored records made by any process, for caches that must stay fresh (near
   * caches, tiered stores). Resolves once the feed listens, so no change after it is missed.
   * Events arrive after the change is visible to `get`.
   */
  watch?(onChange: (change: StoreChange) => void): Promise<Unwatch>;
}

/** The system clock. */
export const systemClock: Clock = { now: Date.now };

/** What a {@link SealedStore} needs from one request. */
export interface SealedRequest {
  /** The session cookie's name; chunks are `name.0`, `name.1`, … */
  readonly name: string;
  /** A request cookie by name. */
  read(name: string): string | undefined;
  /** The most bytes one `name=value` may take so the whole `Set-Cookie` stays within 4096 bytes. */
  readonly maxCookieBytes: number;
  /** Whether a session id found in a sealed record has the shape this manager issues. */
  isValidId(id: string): boolean;
}

/**
 * One request's sealed session: a {@link Store} over the one record the request's cookies carry
 * (keys are not used to find it), changed in memory, and turned back into cookies at commit.
 */
export interface SealedSession extends Store {
  /** The session id sealed in the request's cookies, when they opened to a live record. */
  readonly sessionId: string | undefined;
  /** Whether the request carried any of the store's cookies (valid or not). */
  readonly hadCookie: boolean;
  /** Whether the record changed since it was read from the cookies (so the cookies must be set). */
  readonly isChanged: boolean;
  /**
   * The cookies to set after this request, sealing the record under `sessionId`: `[name, value]`,
   * or `[name, undefined]` to clear one. Empty when nothing changed. Throws `TOO_LARGE` when the
   * sealed record passes the store's bound.
   */
  cookies(
    sessionId: string | undefined,
  ): ReadonlyArray<readonly [name: string, value: string | undefined]>;
}

/**
 * A store with no server state (the cookie store): each request's record travels in its cookies.
 * The manager calls {@link SealedStore.bind} once per request and routes that session's calls to
 * the result. Its own {@link Store} methods serve calls outside a request (`revokeUser`, `check`).
 */
export interface SealedStore extends Store {
  readonly isSealed: true;
  /** The sealed session of one request. Never throws: unreadable cookies give an empty session. */
  bind(request: SealedRequest): SealedSession;
}

/** Whether `store` is a {@link SealedStore}. */
export function isSealedStore(store: Store): store is SealedStore {
  return (store as Partial<SealedStore>).isSealed === true;
}
