/**
 * @module The session object a handler works with: lazy loading and per-key change tracking.
 */
import { isMutable, type Codec } from './codec.js';
import { TesseraError } from './errors.js';
import type { Delta, JsonValue, SealedSession, SessionMeta, StoreRecord } from './store.js';
import type { SessionRequest } from './transport/index.js';

/** Session data: top-level keys to values. */
export type SessionData = Record<string, unknown>;

/** Keys a handler may use: the string keys of `Data`. */
export type DataKey<Data> = Extract<keyof Data, string>;

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
   * Load the record now if it was not loaded yet (one store read). Afterwards `isNew`, `userId`,
   * `createdAt` and `expiresAt` are known. Reading any key does the same.
   */
  load(): Promise<void>;
  /** The value under `key`, or `undefined`. Objects returned may be mutated: the change is saved. */
  get<K extends DataKey<Data>>(key: K): Promise<Data[K] | undefined>;
  /** Whether `key` holds a value. */
  has(key: DataKey<Data>): Promise<boolean>;
  /** Set `key`. Setting `undefined` deletes it. Throws `INVALID_DATA` for values no store can keep. */
  set<K extends DataKey<Data>>(key: K, value: Data[K]): void;
  /** Delete `key`. */
  delete(key: DataKey<Data>): void;
  /** Delete every key (flash messages included). */
  flush(): void;
  /** All keys and values. */
  all(): Promise<Partial<Data>>;
  /**
   * Add `by` to the number under `key` atomically in the store, right away, and return the new value.
   * Concurrent increments of one session never lose a count.
   */
  increment(key: DataKey<Data>, by?: number): Promise<number>;
  /** Queue a flash message, shown once by {@link Session.consumeFlash}. */
  flash(type: string, message: string): void;
  /** Read and remove the flash messages (of one type, or all). */
  consumeFlash(): Promise<Record<string, string[]>>;
  consumeFlash(type: string): Promise<string[]>;
  /** Read the flash messages without removing them. */
  peekFlash(): Promise<Record<string, string[]>>;
  /** A new id with the same data; the old id stops working at once. */
  regenerate(): Promise<void>;
  /** Delete the record now and clear the cookie; the request carries on with an empty new session. */
  destroy(): Promise<void>;
  /** Renew the id and bind the session to `userId` (recording device information). */
  login(userId: string, meta?: LoginMeta): Promise<void>;
  /** End the session (as {@link Session.destroy}). */
  logout(): Promise<void>;
}

/** What a session needs from its manager. */
export interface SessionHost {
  readonly codec: Codec;
  load(session: SessionState): Promise<StoreRecord | undefined>;
  increment(session: SessionState, key: string, by: number): Promise<number>;
  regenerate(session: SessionState): Promise<void>;
  destroy(session: SessionState): Promise<void>;
  login(session: SessionState, userId: string, meta: LoginMeta | undefined): Promise<void>;
}

const UNSET: unique symbol = Symbol('unset');
/** Settled promises shared by every session: reads that need no store call allocate none. */
const SETTLED: Promise<undefined> = Promise.resolve(undefined);
const NOTHING = (): void => undefined;
const FLASH_PREFIX = '__flash.';
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

interface Handed {
  value: unknown;
  snapshot: string;
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key === '' || key.startsWith('__') || RESERVED.has(key)) {
    throw new TesseraError(
      'INVALID_DATA',
      `Session key ${JSON.stringify(String(key))} is not allowed: keys must be non-empty strings that do not start with "__" and are not "constructor" or "prototype".`,
    );
  }
}

/**
 * The session's state. Internal to tessera: handlers see it through the {@link Session} interface.
 */
export class SessionState implements Session<SessionData> {
  /** The current id (a new one after regenerate; undefined for a new session not yet written). */
  id: string | undefined;
  /** The id the client sent (valid shape), if any. */
  readonly incomingId: string | undefined;
  /** How the id arrived. */
  readonly source: 'cookie' | 'header' | 'query' | undefined;
  /** Whether the request carried our cookie at all (valid or not). */
  readonly hadCookie: boolean;

  record: StoreRecord | undefined;
  isLoaded = false;
  /** The store holds no record for `id` (never stored, unknown, expired or destroyed). */
  isMissing: boolean;
  isDestroyed = false;
  isCommitted = false;
  /** The id changed (regenerate/login/new): the client must be told. */
  isIdChanged = false;
  loading: Promise<StoreRecord | undefined> | undefined;

  // Allocated on first change: most requests only read.
  private changeMap: Map<string, JsonValue | typeof UNSET> | undefined;
  private handedMap: Map<string, Handed> | undefined;
  /** Pending changes per key (UNSET marks a deletion). */
  get changes(): Map<string, JsonValue | typeof UNSET> {
    return (this.changeMap ??= new Map());
  }
  /** Mutable values handed to the handler, with the encoding they had, for the dirty check. */
  get handed(): Map<string, Handed> {
    return (this.handedMap ??= new Map());
  }
  isReplace = false;
  hasPendingFlash = false;
  key: string | undefined;
  /** With a sealed store (the cookie store): this request's record, used instead of the shared store. */
  backend: SealedSession | undefined;

  private readonly host: SessionHost;
  /** The request, read again only at login (user agent, address). */
  readonly request: SessionRequest;

  constructor(
    host: SessionHost,
    id: string | undefined,
    source: 'cookie' | 'header' | 'query' | undefined,
    hadCookie: boolean,
    request: SessionRequest,
  ) {
    this.host = host;
    this.request = request;
    this.id = id;
    this.incomingId = id;
    this.source = source;
    this.hadCookie = hadCookie;
    this.isMissing = id === undefined;
  }

  /** Whether the request came over https; read only when a cookie is written. */
  get isSecure(): boolean {
    return this.request.isSecure;
  }
  get isNew(): boolean {
    return this.isMissing;
  }
  get createdAt(): number | undefined {
    return this.record?.createdAt;
  }
  get expiresAt(): number | undefined {
    return this.record?.expiresAt;
  }
  get userId(): string | undefined {
    return this.record?.userId;
  }

  /** Whether commit has anything to do beyond reading. */
  get hasChanges(): boolean {
    return (
      (this.changeMap?.size ?? 0) > 0 ||
      (this.handedMap?.size ?? 0) > 0 ||
      this.isReplace ||
      this.hasPendingFlash
    );
  }

  private assertOpen(): void {
    if (this.isCommitted) {
      throw new TesseraError(
        'ALREADY_COMMITTED',
        'The session was changed after it was committed; change it before the response is sent.',
      );
    }
  }

  load(): Promise<void> {
    return this.ensureLoaded().then(NOTHING);
  }

  /** Loads the record once; settles when it is there (or known missing). Not async: no promise of its own. */
  ensureLoaded(): Promise<unknown> {
    if (this.isLoaded || this.isMissing) return SETTLED;
    return (this.loading ??= this.host.load(this));
  }

  /** The stored (encoded) value of a key, as last loaded; ignores pending changes. */
  private stored(key: string): JsonValue | undefined {
    return this.isReplace ? undefined : this.record?.data[key];
  }

  get(key: string): Promise<unknown> {
    try {
      const handed = this.handedMap?.get(key);
      if (handed) return Promise.resolve(handed.value);
      const change = this.changeMap?.get(key);
      if (change === UNSET) return SETTLED;
      if (change !== undefined) return Promise.resolve(this.host.codec.decode(change));
      if (this.isReplace) return SETTLED;
      if (this.isLoaded || this.isMissing) return Promise.resolve(this.readStored(key));
    } catch (error) {
      // As an async function would: a throw becomes the promise's rejection.
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    // The common first read: one promise on top of the store's, no async frames.
    return this.ensureLoaded().then(() => this.readStored(key));
  }

  private readStored(key: string): unknown {
    const raw = this.stored(key);
    if (raw === undefined) return undefined;
    const value = this.host.codec.decode(raw);
    if (isMutable(value)) this.handed.set(key, { value, snapshot: JSON.stringify(raw) });
    return value;
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  set(key: string, value: unknown): void {
    this.assertOpen();
    checkKey(key);
    if (value === undefined) return this.delete(key);
    this.put(key, value);
  }

  private put(key: string, value: unknown): void {
    const encoded = this.host.codec.encode(value);
    this.changes.set(key, encoded);
    if (isMutable(value)) this.handed.set(key, { value, snapshot: JSON.stringify(encoded) });
    else this.handed.delete(key);
  }

  delete(key: string): void {
    this.assertOpen();
    this.changes.set(key, UNSET);
    this.handed.delete(key);
  }

  flush(): void {
    this.assertOpen();
    this.changes.clear();
    this.handed.clear();
    this.isReplace = true;
  }

  async all(): Promise<Record<string, unknown>> {
    await this.ensureLoaded();
    const out: Record<string, unknown> = {};
    const keys = new Set<string>();
    if (!this.isReplace && this.record)
      for (const key of Object.keys(this.record.data)) keys.add(key);
    for (const key of this.changes.keys()) keys.add(key);
    for (const key of keys) {
      if (key.startsWith('__')) continue;
      const value: unknown = await this.get(key);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }

  async increment(key: string, by = 1): Promise<number> {
    this.assertOpen();
    checkKey(key);
    if (!Number.isFinite(by))
      throw new TesseraError('INVALID_DATA', '`increment` takes a finite number.');
    return this.host.increment(this, key, by);
  }

  flash(type: string, message: string): void {
    this.assertOpen();
    if (
      typeof type !== 'string' ||
      !/^[A-Za-z0-9_-]{1,32}$/.test(type) ||
      typeof message !== 'string'
    ) {
      throw new TesseraError(
        'INVALID_DATA',
        'A flash type is 1 to 32 letters, digits, "_" or "-", and a message is a string.',
      );
    }
    const key = FLASH_PREFIX + type;
    const pending = this.changes.get(key);
    const list = Array.isArray(pending) ? pending : [];
    this.changes.set(key, [...list, message]);
    // Appending needs what is stored already: the commit loads the session if nothing else did.
    this.hasPendingFlash = true;
  }

  async peekFlash(): Promise<Record<string, string[]>> {
    await this.ensureLoaded();
    const out: Record<string, string[]> = {};
    const keys = new Set<string>(
      this.isReplace || !this.record ? [] : Object.keys(this.record.data),
    );
    for (const key of this.changes.keys()) keys.add(key);
    for (const key of keys) {
      if (!key.startsWith(FLASH_PREFIX)) continue;
      const messages = this.flashList(key);
      if (messages.length > 0) out[key.slice(FLASH_PREFIX.length)] = messages;
    }
    return out;
  }

  private flashList(key: string): string[] {
    const change = this.changeMap?.get(key);
    const stored = this.stored(key);
    const merged: unknown[] = [];
    if (Array.isArray(stored)) merged.push(...stored);
    if (change === UNSET) return [];
    if (Array.isArray(change)) merged.push(...change);
    return merged.filter((m): m is string => typeof m === 'string');
  }

  consumeFlash(): Promise<Record<string, string[]>>;
  consumeFlash(type: string): Promise<string[]>;
  async consumeFlash(type?: string): Promise<Record<string, string[]> | string[]> {
    this.assertOpen();
    const all = await this.peekFlash();
    for (const name of Object.keys(all)) {
      if (type === undefined || name === type) this.changes.set(FLASH_PREFIX + name, UNSET);
    }
    if (type !== undefined) return all[type] ?? [];
    return all;
  }

  /** Merge pending flash appends with what was stored; called by the commit after loading. */
  settleFlash(): void {
    for (const [key, change] of this.changes) {
      if (!key.startsWith(FLASH_PREFIX) || change === UNSET) continue;
      this.changes.set(key, this.flashList(key));
    }
    this.hasPendingFlash = false;
  }

  regenerate(): Promise<void> {
    this.assertOpen();
    return this.host.regenerate(this);
  }

  destroy(): Promise<void> {
    this.assertOpen();
    return this.host.destroy(this);
  }

  login(userId: string, meta?: LoginMeta): Promise<void> {
    this.assertOpen();
    if (typeof userId !== 'string' || userId === '' || userId.length > 256) {
      throw new TesseraError('INVALID_DATA', '`login` takes a user id of 1 to 256 characters.');
    }
    return this.host.login(this, userId, meta);
  }

  logout(): Promise<void> {
    return this.destroy();
  }

  /**
   * The delta of this request: explicit changes plus objects handed out and mutated since.
   * Returns `undefined` when nothing changed.
   */
  buildDelta(): Delta | undefined {
    if (this.handedMap === undefined && this.changeMap === undefined && !this.isReplace)
      return undefined;
    for (const [key, handed] of this.handed) {
      const encoded = this.host.codec.encode(handed.value);
      if (JSON.stringify(encoded) !== handed.snapshot) this.changes.set(key, encoded);
    }
    if (this.changes.size === 0 && !this.isReplace) return undefined;
    const delta: Delta = {};
    let set: Record<string, JsonValue> | undefined;
    let unset: string[] | undefined;
    for (const [key, change] of this.changes) {
      if (change === UNSET) {
        if (!this.isReplace) (unset ??= []).push(key);
      } else {
        (set ??= {})[key] = change;
      }
    }
    if (this.isReplace) delta.replace = true;
    if (set) delta.set = set;
    if (unset) delta.unset = unset;
    return delta;
  }

  /** After a write: fold the applied delta into the loaded view and forget pending changes. */
  applied(delta: Delta | undefined, counters?: Record<string, number>): void {
    if (this.record) {
      const data = delta?.replace ? {} : { ...this.record.data };
      for (const key of delta?.unset ?? []) delete data[key];
      Object.assign(data, delta?.set, counters);
      this.record = { ...this.record, data };
    }
    this.changes.clear();
    this.isReplace = false;
    this.hasPendingFlash = false;
    // Objects handed out stay tracked, now against what was just written.
    for (const [key, handed] of this.handed) {
      handed.snapshot = JSON.stringify(this.host.codec.encode(handed.value));
      if (delta?.replace && !(key in (delta.set ?? {}))) this.handed.delete(key);
    }
  }

  /** Forget everything: the request goes on with an empty new session. */
  reset(): void {
    this.record = undefined;
    this.isLoaded = true;
    this.isMissing = true;
    this.loading = undefined;
    this.changes.clear();
    this.handed.clear();
    this.isReplace = false;
    this.hasPendingFlash = false;
    this.id = undefined;
    this.key = undefined;
  }
}
