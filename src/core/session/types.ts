/**
 * @module The public types of a session: what a handler sees.
 */
import type { SessionMeta } from '../store.js';

/** Session data: top-level keys to values. */
export type SessionData = Record<string, unknown>;

/** Keys a handler may use: the string keys of `Data`. */
export type DataKey<Data> = Extract<keyof Data, string>;

/**
 * Keys of `Data` whose values are numbers, the keys {@link Session.increment} takes. Every key
 * when a value's type is `unknown` (untyped session data).
 */
export type NumberKey<Data> = {
  [K in DataKey<Data>]: unknown extends Data[K]
    ? K
    : [Data[K]] extends [number | undefined]
      ? K
      : never;
}[DataKey<Data>];

/** Options of {@link Session.set}. */
export interface SetOptions {
  /**
   * The key's own lifetime (ms): it disappears after this long, on every store, without moving
   * the session's deadline (one-time codes, short-lived tokens). Setting the key again without a
   * `ttl` makes it live as long as the session.
   */
  ttl?: number | undefined;
}

/** Options of {@link Session.lock}. */
export interface LockOptions {
  /**
   * How long the lease lasts (ms). If this request dies, other requests get the lock after it. If
   * `fn` takes longer, its changes are not saved and `lock` rejects with `LOCK_TIMEOUT`.
   * @default 5000
   */
  ttl?: number | undefined;
  /** How long to wait for another request's lease (ms) before `LOCK_TIMEOUT`. @default 5000 */
  wait?: number | undefined;
}

/** Metadata given to {@link Session.login}. */
export type LoginMeta = SessionMeta;

/**
 * One request's view of its session. Reading loads the record once (lazily); writing records a
 * change per key that the commit applies atomically. Nothing touches the store until data is read,
 * changed, or the session is renewed or destroyed.
 */
export interface Session<Data extends SessionData = SessionData> {
  /** The session id, or `undefined` while a new session has not been given one yet. */
  readonly id: string | undefined;
  /** `true` until the session has a stored record (a new visitor, or an unknown or expired id). */
  readonly isNew: boolean;
  /** When the session was created (epoch ms), once loaded; `undefined` for a new session. */
  readonly createdAt: number | undefined;
  /** The idle deadline (epoch ms), once loaded. */
  readonly expiresAt: number | undefined;
  /** The user this session is bound to, once loaded. */
  readonly userId: string | undefined;
  /** Whether the session was loaded from the store in this request. */
  readonly isLoaded: boolean;
  /**
   * Whether the session was opened read-only (`manager.load(request, { readOnly: true })`: a
   * Server Component, a WebSocket handshake). Every change is refused with `READ_ONLY`.
   */
  readonly isReadOnly: boolean;
  /**
   * The session's own lifetime in ms (see {@link Session.setLifetime}), or `undefined` while it
   * follows the manager's `idleTimeout` and cookie `maxAge`. Known once loaded.
   */
  readonly lifetime: number | undefined;

  /**
   * Load the record now if it was not loaded yet (one store read). Afterwards `isNew`, `userId`,
   * `createdAt` and `expiresAt` are known. Reading any key does the same.
   */
  load(): Promise<void>;
  /** The value under `key`, or `undefined`. Objects returned may be mutated: the change is saved. */
  get<K extends DataKey<Data>>(key: K): Promise<Data[K] | undefined>;
  /** Whether `key` holds a value. */
  has(key: DataKey<Data>): Promise<boolean>;
  /** Set `key`. Setting `undefined` deletes it. Throws `INVALID_DATA` for values no store can keep. */
  set<K extends DataKey<Data>>(key: K, value: Data[K], options?: SetOptions): void;
  /** Delete `key`. */
  delete(key: DataKey<Data>): void;
  /** Delete every key (flash messages included). */
  flush(): void;
  /** All keys and values. */
  all(): Promise<Partial<Data>>;
  /**
   * How large the session is as this request left it: its keys (tessera's own left out) and the
   * bytes of its data's JSON, as the `maxBytes` option counts them (GoFrame's `Size`).
   */
  size(): Promise<{ keys: number; bytes: number }>;
  /**
   * Add `by` to the number under `key` atomically in the store, right away, and return the new value.
   * Concurrent increments of one session never lose a count. A missing key counts as 0; a key that
   * holds anything but a number is refused with `INVALID_DATA` (its value is left as it is).
   */
  increment(key: NumberKey<Data>, by?: number): Promise<number>;
  /** Queue a flash message, shown once by {@link Session.consumeFlash}. */
  flash(type: string, message: string): void;
  /** Read and remove the flash messages (of one type, or all). */
  consumeFlash(): Promise<Record<string, string[]>>;
  consumeFlash(type: string): Promise<string[]>;
  /** Read the flash messages without removing them. */
  peekFlash(): Promise<Record<string, string[]>>;
  /** A new id with the same data; the old id stops working at once. */
  regenerate(): Promise<void>;
  /**
   * Give this session its own lifetime ("remember me"): it ends after `ms` unused (instead of the
   * manager's `idleTimeout`) and its cookie becomes persistent with that Max-Age, both capped by
   * the absolute timeout. Kept in the record (every store honours it), it survives id renewal and
   * login. `undefined` goes back to the manager's. From 1000 ms to 400 days (`INVALID_DATA`
   * otherwise). Saved at commit, like any change.
   */
  setLifetime(ms: number | undefined): void;
  /** Move the idle deadline at commit even if the session was not changed and no touch is due. */
  touch(): void;
  /**
   * Write this request's changes now (one store call), instead of when the response goes out;
   * the session stays open for more. Rejects as the commit would (`STORE_UNAVAILABLE`, …).
   */
  save(): Promise<void>;
  /** Drop this request's unsaved changes and read the record again (one store read). */
  reload(): Promise<void>;
  /**
   * Run `fn` while holding this session's lock, across every process (GoFrame's session lock):
   * what the request changed so far is saved, the lease is taken (waiting up to `wait`), the
   * session is read fresh, `fn` runs, its changes are saved, and the lease is released. Another
   * request's `lock` on the same session waits meanwhile. Keep `fn` short: never hold the lock
   * over slow I/O. Needs a store with locks (`UNSUPPORTED` otherwise); `LOCK_TIMEOUT` (503) when
   * the wait or the lease runs out.
   */
  lock<T>(fn: () => T | Promise<T>, options?: LockOptions): Promise<T>;
  /**
   * Replace `key`'s value with `fn(current)` without losing a concurrent update (a cart push from
   * two tabs keeps both items): the read, `fn` and the write run under {@link Session.lock}.
   * Returns the new value.
   */
  update<K extends DataKey<Data>>(
    key: K,
    fn: (current: Data[K] | undefined) => Data[K] | Promise<Data[K]>,
    options?: LockOptions,
  ): Promise<Data[K]>;
  /** Delete the record now and clear the cookie; the request carries on with an empty new session. */
  destroy(): Promise<void>;
  /** Renew the id and bind the session to `userId` (recording device information). */
  login(userId: string, meta?: LoginMeta): Promise<void>;
  /** End the session (as {@link Session.destroy}). */
  logout(): Promise<void>;
}
