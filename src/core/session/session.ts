/**
 * @module The state behind a {@link Session}: lazy loading, per-key changes, and the facts a commit
 * is planned from. Its fields change only through its own methods; the manager reads them and
 * calls those methods, never assigns.
 */
import { isMutable, type Codec } from '../codec.js';
import { TesseraError } from '../errors.js';
import { sessionKey } from '../id.js';
import type { Delta, JsonValue, SealedSession, SessionMeta, StoreRecord } from '../store.js';
import type { SessionRequest } from '../transport/index.js';
import type { IdSource } from '../transport/read.js';
import { Changes, UNSET, visibleKeys } from './changes.js';
import { appendFlash, checkFlash, FLASH_PREFIX, peekFlash, settleFlash } from './flash.js';
import type { DataKey, LockOptions, LoginMeta, Session, SessionData, SetOptions } from './types.js';

/** What a session needs from its manager: the store-side half of its operations. */
export interface SessionHost {
  readonly codec: Codec;
  /**
   * Loads the session's record and hands it to {@link SessionState.accept}: at once when the store
   * answers synchronously (`getNow`), else by the promise returned.
   */
  load(session: SessionState): StoreRecord | undefined | Promise<StoreRecord | undefined>;
  save(session: SessionState): Promise<void>;
  /** The manager's clock (per-key deadlines). */
  now(): number;
  /** Runs `fn` under the session's lease (see {@link Session.lock}). */
  withLock<T>(
    session: SessionState,
    fn: () => T | Promise<T>,
    ttl: number,
    wait: number,
  ): Promise<T>;
  increment(session: SessionState, key: string, by: number): Promise<number>;
  regenerate(session: SessionState): Promise<void>;
  destroy(session: SessionState): Promise<void>;
  login(session: SessionState, userId: string, meta: LoginMeta | undefined): Promise<void>;
}

/** Settled promises shared by every session: reads that need no store call allocate none. */
const SETTLED: Promise<undefined> = Promise.resolve(undefined);
const NOTHING = (): void => undefined;
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);
/** The data key holding a session's own lifetime (ms), set by {@link SessionState.setLifetime}. */
export const LIFETIME_KEY = '__lifetime';
/** The prefix of the data key holding one key's own deadline (`set(key, value, { ttl })`). */
export const KEY_EXPIRY_PREFIX = '__exp.';
/** The longest lifetime a session may be given: browsers cap a cookie's Max-Age at 400 days. */
export const MAX_LIFETIME: number = 400 * 24 * 3600 * 1000;

/** Whether `key` is one a handler may not use: tessera's own (`__…`) or an object's built-in. */
function isReserved(key: string): boolean {
  return typeof key !== 'string' || key === '' || key.startsWith('__') || RESERVED.has(key);
}

/** The error for an increment of a key that holds something other than a number. */
export function notANumber(key: string): TesseraError {
  return new TesseraError(
    'INVALID_DATA',
    `\`increment(${JSON.stringify(key)})\`: the key holds something other than a number, so it was left as it is. Increment only keys that hold numbers (or none yet).`,
  );
}

function checkKey(key: string): void {
  if (isReserved(key)) {
    throw new TesseraError(
      'INVALID_DATA',
      `Session key ${JSON.stringify(String(key))} is not allowed: keys must be non-empty strings that do not start with "__" and are not "constructor" or "prototype".`,
    );
  }
}

/**
 * A request's session. Handlers see it as a {@link Session}; the manager drives the rest. A class
 * (one hidden class for every session), with the maps of changes allocated only when used.
 */
export class SessionState<Data extends SessionData = SessionData> implements Session<Data> {
  /** The manager that made it; sessions are refused by any other. */
  readonly host: SessionHost;
  /** The request, read again only when a cookie is written (https) and at login (device). */
  readonly request: SessionRequest;
  /** How the id arrived, if it did. */
  readonly source: IdSource | undefined;
  /** Whether the request carried the session cookie at all (valid or not). */
  readonly hadCookie: boolean;
  /** With a sealed store (the cookie store): this request's record, used instead of the store. */
  readonly backend: SealedSession | undefined;

  private currentId: string | undefined;
  private currentKey: string | undefined;
  private stored: StoreRecord | undefined;
  private loaded = false;
  private missing: boolean;
  private destroyed = false;
  private committed = false;
  private idChanged = false;
  private pendingFlash = false;
  private read = false;
  private sent = false;
  private readOnly = false;
  private touchRequested = false;
  /** A key was given its own deadline in this request. */
  private deadlinesSet = false;
  /** The stored data last looked at for per-key deadlines, and whether it holds any. */
  private scannedFor: StoreRecord['data'] | undefined;
  private storedDeadlines = false;
  private loading: Promise<unknown> | undefined;
  private readonly changes = new Changes();

  constructor(
    host: SessionHost,
    request: SessionRequest,
    id: string | undefined,
    source: IdSource | undefined,
    hadCookie: boolean,
    backend?: SealedSession,
  ) {
    this.host = host;
    this.request = request;
    this.currentId = id;
    this.source = source;
    this.hadCookie = hadCookie;
    this.backend = backend;
    this.missing = id === undefined;
  }

  // ---- Facts (read by the manager; see planCommit) ----

  get id(): string | undefined {
    return this.currentId;
  }
  /** The store key of the current id, computed once per id. */
  get key(): string | undefined {
    if (this.currentId === undefined) return undefined;
    return (this.currentKey ??= sessionKey(this.currentId));
  }
  /** The record as loaded (and as this request's writes left it), if any. */
  get record(): StoreRecord | undefined {
    return this.stored;
  }
  get isNew(): boolean {
    return this.missing;
  }
  /** The store holds no record for the id (never stored, unknown, expired or destroyed). */
  get isMissing(): boolean {
    return this.missing;
  }
  get isLoaded(): boolean {
    return this.loaded;
  }
  get isDestroyed(): boolean {
    return this.destroyed;
  }
  get isCommitted(): boolean {
    return this.committed;
  }
  /** The id changed in this request (new, renewed): the client must be told. */
  get isIdChanged(): boolean {
    return this.idChanged;
  }
  /** A commit finished and returned its headers: nothing is left for the answer to carry. */
  get isSent(): boolean {
    return this.sent;
  }
  /** The handler read the session (a value, its keys, its flash): the answer depends on it. */
  get wasRead(): boolean {
    return this.read;
  }
  /** Flash messages were queued and must be merged with the stored ones at commit. */
  get hasPendingFlash(): boolean {
    return this.pendingFlash;
  }
  /** Whether anything may need writing (a handed value may still turn out unchanged). */
  get hasChanges(): boolean {
    return !this.changes.isEmpty || this.pendingFlash;
  }
  /** Opened read-only: every change is refused with `READ_ONLY`, and nothing is ever written. */
  get isReadOnly(): boolean {
    return this.readOnly;
  }
  /** {@link Session.touch} asked for the idle deadline to move at commit. */
  get isTouchRequested(): boolean {
    return this.touchRequested;
  }
  /**
   * The session's own lifetime (ms): its idle timeout and its cookie's Max-Age, as this request
   * left it; `undefined` for the manager's.
   */
  get lifetime(): number | undefined {
    const change = this.changes.changeOf(LIFETIME_KEY);
    const raw = change === undefined ? this.visibleStored()?.[LIFETIME_KEY] : change;
    return typeof raw === 'number' && raw >= 1000 && raw <= MAX_LIFETIME ? raw : undefined;
  }
  /** Whether the request came over https; read only when a cookie is written. */
  get isSecure(): boolean {
    return this.request.isSecure;
  }
  get createdAt(): number | undefined {
    return this.stored?.createdAt;
  }
  get expiresAt(): number | undefined {
    return this.stored?.expiresAt;
  }
  get userId(): string | undefined {
    return this.stored?.userId;
  }

  // ---- Transitions (called by the manager) ----

  /** The load finished: with this live, valid record, or with none (`undefined`). */
  accept(record: StoreRecord | undefined): StoreRecord | undefined {
    this.loaded = true;
    if (record === undefined) return this.forget();
    this.stored = record;
    return record;
  }

  /** The record is gone (vanished at a write, not renamed): forget the id. */
  forget(): undefined {
    this.missing = true;
    this.currentId = undefined;
    this.currentKey = undefined;
    this.stored = undefined;
    return undefined;
  }

  /** A new record was stored under a new id. */
  created(id: string, record: StoreRecord): void {
    this.currentId = id;
    this.currentKey = undefined;
    this.stored = record;
    this.loaded = true;
    this.missing = false;
    this.idChanged = true;
  }

  /** The record moved to a new id. */
  renamed(id: string, key: string): void {
    this.currentId = id;
    this.currentKey = key;
    this.idChanged = true;
  }

  /** The record is bound to a user (login): the id was renewed for it. */
  bound(userId: string, meta: SessionMeta): void {
    this.idChanged = true;
    if (this.stored) this.stored = { ...this.stored, userId, meta };
  }

  /** The user binding was given back (a login refused after all by the per-user cap). */
  unbound(): void {
    if (this.stored) {
      const { userId: _userId, ...rest } = this.stored;
      this.stored = rest;
    }
  }

  /** The commit finished: its headers are the answer's. */
  committedAll(): void {
    this.sent = true;
  }

  /** Opens the session read-only (before the handler sees it). */
  makeReadOnly(): this {
    this.readOnly = true;
    return this;
  }

  /** No more changes: the commit started, or the request's changes are dropped. */
  close(): void {
    this.committed = true;
  }

  /** The record was destroyed: the request goes on with an empty new session. */
  ended(): void {
    this.stored = undefined;
    this.loaded = true;
    this.missing = true;
    this.loading = undefined;
    this.changes.clear();
    this.pendingFlash = false;
    this.currentId = undefined;
    this.currentKey = undefined;
    this.destroyed = true;
  }

  /** Merges queued flash messages with the stored ones (the record must be loaded). */
  settleFlash(): void {
    settleFlash(this.changes, this.visibleStored());
    this.pendingFlash = false;
  }

  /** This request's delta, or `undefined` when nothing changed. */
  buildDelta(): Delta | undefined {
    const delta = this.changes.buildDelta(this.host.codec);
    // Keys past their own deadline leave the store with the session's next write.
    const stored = this.visibleStored();
    if (delta === undefined || stored === undefined || !this.mayHaveKeyDeadlines()) return delta;
    const now = this.host.now();
    for (const marker in stored) {
      if (!marker.startsWith(KEY_EXPIRY_PREFIX)) continue;
      const deadline = stored[marker];
      const key = marker.slice(KEY_EXPIRY_PREFIX.length);
      if (typeof deadline !== 'number' || deadline > now) continue;
      if (this.changes.changeOf(key) !== undefined || this.changes.changeOf(marker) !== undefined)
        continue;
      (delta.unset ??= []).push(key, marker);
    }
    return delta;
  }

  /** After a write: fold the applied delta into the loaded view and forget pending changes. */
  applied(delta: Delta | undefined, counters?: Record<string, number>): void {
    if (this.stored) {
      const data = delta?.replace ? {} : { ...this.stored.data };
      for (const key of delta?.unset ?? []) delete data[key];
      Object.assign(data, delta?.set, counters);
      this.stored = { ...this.stored, data };
    }
    this.changes.written(delta, this.host.codec);
    this.pendingFlash = false;
  }

  // ---- The Session API ----

  private assertOpen(): void {
    if (this.readOnly) {
      throw new TesseraError(
        'READ_ONLY',
        'This session was opened read-only (a Server Component, a WebSocket handshake): it cannot be changed here. Change it in a route handler, a Server Action or a request handler.',
      );
    }
    if (this.committed) {
      throw new TesseraError(
        'ALREADY_COMMITTED',
        'The session was changed after it was committed; change it before the response is sent.',
      );
    }
  }

  load(): Promise<void> {
    return this.ensureLoaded().then(NOTHING);
  }

  /**
   * Loads the record once; settles when it is there (or known missing). No promise of its own:
   * `SETTLED` when the record is known at once (loaded before, or read from a store that answers
   * synchronously), else the load's.
   */
  ensureLoaded(): Promise<unknown> {
    this.read = true;
    if (this.loaded || this.missing) return SETTLED;
    if (this.loading !== undefined) return this.loading;
    const loaded = this.host.load(this);
    return loaded instanceof Promise ? (this.loading = loaded) : SETTLED;
  }

  /** The stored data still in view: none once `flush()` asked to replace it. */
  private visibleStored(): StoreRecord['data'] | undefined {
    return this.changes.isReplace ? undefined : this.stored?.data;
  }

  get<K extends DataKey<Data>>(key: K): Promise<Data[K] | undefined> {
    this.read = true;
    // Only keys a handler may set count: never tessera's own (`__…`) nor an object's built-ins.
    if (isReserved(key)) return SETTLED;
    try {
      const handed = this.changes.handedOf(key);
      if (handed) return Promise.resolve(handed.value as Data[K]);
      const change = this.changes.changeOf(key);
      if (change === UNSET) return SETTLED;
      if (change !== undefined) return Promise.resolve(this.host.codec.decode(change) as Data[K]);
      if (this.changes.isReplace) return SETTLED;
      // The common first read: from a store that answers at once (memory), the value's promise
      // is the only one made; otherwise one promise on top of the store's, no async frames.
      const loading = this.ensureLoaded();
      if (loading === SETTLED) return Promise.resolve(this.readStored(key));
      return loading.then(() => this.readStored(key));
    } catch (error) {
      // As an async function would: a throw becomes the promise's rejection.
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * The value under `key` without waiting: the session must be loaded (or new). What `get`
   * resolves to, for callers that cannot wait (express-session's property access).
   */
  peek<K extends DataKey<Data>>(key: K): Data[K] | undefined {
    this.read = true;
    if (isReserved(key)) return undefined;
    if (!this.loaded && !this.missing) {
      throw new TesseraError(
        'CONFIG',
        'The session was read before it was loaded: `await session.load()` first.',
      );
    }
    const handed = this.changes.handedOf(key);
    if (handed) return handed.value as Data[K];
    const change = this.changes.changeOf(key);
    if (change === UNSET) return undefined;
    if (change !== undefined) return this.host.codec.decode(change) as Data[K];
    return this.changes.isReplace ? undefined : this.readStored(key);
  }

  /** The keys a handler sees now (tessera's own left out); the session must be loaded (or new). */
  peekKeys(): string[] {
    this.read = true;
    const out: string[] = [];
    for (const key of visibleKeys(this.changes, this.visibleStored()))
      if (!key.startsWith('__') && this.peek(key as DataKey<Data>) !== undefined) out.push(key);
    return out;
  }

  private readStored<K extends DataKey<Data>>(key: K): Data[K] | undefined {
    const stored = this.visibleStored();
    const raw = stored !== undefined && Object.hasOwn(stored, key) ? stored[key] : undefined;
    if (raw === undefined || this.isKeyExpired(key)) return undefined;
    const value = this.host.codec.decode(raw);
    if (isMutable(value)) this.changes.track(key, value, raw);
    return value as Data[K];
  }

  async has(key: DataKey<Data>): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  set<K extends DataKey<Data>>(key: K, value: Data[K], options?: SetOptions): void {
    this.assertOpen();
    checkKey(key);
    const ttl = options?.ttl;
    if (
      ttl !== undefined &&
      (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 1 || ttl > MAX_LIFETIME)
    )
      throw new TesseraError(
        'INVALID_DATA',
        `\`set(${JSON.stringify(key)}, value, { ttl })\` takes milliseconds from 1 to ${MAX_LIFETIME}; got ${String(ttl)}.`,
      );
    if (value === undefined) return this.delete(key);
    this.changes.set(key, this.encodeFor(key, value), value);
    if (ttl !== undefined) {
      this.deadlinesSet = true;
      this.changes.setEncoded(KEY_EXPIRY_PREFIX + key, Math.ceil(this.host.now() + ttl));
    } else this.dropKeyExpiry(key);
  }

  /** Whether `key`'s own deadline (stored, or set in this request) has passed. */
  private isKeyExpired(key: string): boolean {
    if (!this.mayHaveKeyDeadlines()) return false;
    const marker = KEY_EXPIRY_PREFIX + key;
    const change = this.changes.changeOf(marker);
    const deadline = change === undefined ? this.visibleStored()?.[marker] : change;
    return typeof deadline === 'number' && deadline <= this.host.now();
  }

  /**
   * Whether any key may have its own deadline: one was set in this request, or the stored data
   * holds one (looked for once per loaded record, so most reads pay one comparison).
   */
  private mayHaveKeyDeadlines(): boolean {
    if (this.deadlinesSet) return true;
    const stored = this.stored?.data;
    if (stored === undefined) return false;
    if (this.scannedFor !== stored) {
      this.scannedFor = stored;
      this.storedDeadlines = false;
      for (const key in stored)
        if (key.startsWith(KEY_EXPIRY_PREFIX)) {
          this.storedDeadlines = true;
          break;
        }
    }
    return this.storedDeadlines;
  }

  /**
   * Forgets `key`'s own deadline, if it may have one: a key set without a `ttl` lives as long as
   * the session. Skipped when the loaded record shows none (no extra change on most writes).
   */
  private dropKeyExpiry(key: string): void {
    const marker = KEY_EXPIRY_PREFIX + key;
    const known = this.loaded || this.missing;
    if (known && !this.mayHaveKeyDeadlines()) return;
    if (
      known &&
      this.changes.changeOf(marker) === undefined &&
      this.visibleStored()?.[marker] === undefined
    )
      return;
    this.changes.setEncoded(marker, UNSET);
  }

  /** Encodes the value of `key`; a refusal names the key. */
  private encodeFor(key: string, value: unknown): JsonValue {
    try {
      return this.host.codec.encode(value);
    } catch (error) {
      if (error instanceof TesseraError && error.code === 'INVALID_DATA')
        throw new TesseraError(
          'INVALID_DATA',
          `Session key ${JSON.stringify(key)}: ${error.message}`,
          {
            cause: error,
          },
        );
      throw error;
    }
  }

  delete(key: DataKey<Data>): void {
    this.assertOpen();
    this.changes.delete(key);
    this.dropKeyExpiry(key);
  }

  flush(): void {
    this.assertOpen();
    this.changes.flush();
  }

  async all(): Promise<Partial<Data>> {
    await this.ensureLoaded();
    const out: Partial<Data> = {};
    for (const key of visibleKeys(this.changes, this.visibleStored())) {
      if (key.startsWith('__')) continue;
      const value = await this.get(key as DataKey<Data>);
      if (value !== undefined) out[key as DataKey<Data>] = value;
    }
    return out;
  }

  async size(): Promise<{ keys: number; bytes: number }> {
    await this.ensureLoaded();
    const data: Record<string, JsonValue> = {};
    let keys = 0;
    for (const key of visibleKeys(this.changes, this.visibleStored())) {
      const value = key.startsWith('__') ? this.rawOf(key) : this.peek(key as DataKey<Data>);
      if (value === undefined) continue;
      data[key] = key.startsWith('__') ? (value as JsonValue) : this.host.codec.encode(value);
      if (!key.startsWith('__')) keys++;
    }
    return { keys, bytes: Buffer.byteLength(JSON.stringify(data)) };
  }

  /** The encoded value of one of tessera's own keys as this request left it. */
  private rawOf(key: string): JsonValue | undefined {
    const change = this.changes.changeOf(key);
    if (change === UNSET) return undefined;
    return change ?? this.visibleStored()?.[key];
  }

  async increment(key: DataKey<Data>, by = 1): Promise<number> {
    this.assertOpen();
    checkKey(key);
    if (typeof by !== 'number' || !Number.isFinite(by))
      throw new TesseraError('INVALID_DATA', '`increment` takes a finite number.');
    // What this request already knows of the key; the store refuses what it does not know yet.
    const known =
      this.loaded || this.changes.changeOf(key) !== undefined ? await this.get(key) : undefined;
    if (known !== undefined && typeof known !== 'number') throw notANumber(key);
    return this.host.increment(this, key, by);
  }

  flash(type: string, message: string): void {
    this.assertOpen();
    checkFlash(type, message);
    appendFlash(this.changes, FLASH_PREFIX + type, message);
    // Appending needs what is stored already: the commit loads the session if nothing else did.
    this.pendingFlash = true;
  }

  async peekFlash(): Promise<Record<string, string[]>> {
    await this.ensureLoaded();
    return peekFlash(this.changes, this.visibleStored());
  }

  consumeFlash(): Promise<Record<string, string[]>>;
  consumeFlash(type: string): Promise<string[]>;
  async consumeFlash(type?: string): Promise<Record<string, string[]> | string[]> {
    this.assertOpen();
    const all = await this.peekFlash();
    for (const name of Object.keys(all)) {
      if (type === undefined || name === type) this.changes.setEncoded(FLASH_PREFIX + name, UNSET);
    }
    if (type !== undefined) return all[type] ?? [];
    return all;
  }

  regenerate(): Promise<void> {
    this.assertOpen();
    return this.host.regenerate(this);
  }

  setLifetime(ms: number | undefined): void {
    this.assertOpen();
    if (ms === undefined) return this.changes.setEncoded(LIFETIME_KEY, UNSET);
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 1000 || ms > MAX_LIFETIME) {
      throw new TesseraError(
        'INVALID_DATA',
        `\`setLifetime\` takes milliseconds from 1000 (one second) to ${MAX_LIFETIME} (400 days, the longest a browser keeps a cookie); got ${String(ms)}.`,
      );
    }
    this.changes.setEncoded(LIFETIME_KEY, Math.ceil(ms));
  }

  touch(): void {
    this.assertOpen();
    this.touchRequested = true;
  }

  save(): Promise<void> {
    this.assertOpen();
    return this.host.save(this);
  }

  lock<T>(fn: () => T | Promise<T>, options?: LockOptions): Promise<T> {
    this.assertOpen();
    const ttl = options?.ttl ?? 5000;
    const wait = options?.wait ?? 5000;
    for (const [name, value] of [
      ['ttl', ttl],
      ['wait', wait],
    ] as const)
      if (typeof value !== 'number' || !Number.isFinite(value) || value < (name === 'ttl' ? 10 : 0))
        throw new TesseraError(
          'INVALID_DATA',
          `\`lock\`: \`${name}\` must be a number of milliseconds.`,
        );
    return this.host.withLock(this, fn, ttl, wait);
  }

  update<K extends DataKey<Data>>(
    key: K,
    fn: (current: Data[K] | undefined) => Data[K] | Promise<Data[K]>,
    options?: LockOptions,
  ): Promise<Data[K]> {
    checkKey(key);
    return this.lock(async () => {
      const next = await fn(await this.get(key));
      this.set(key, next);
      return next;
    }, options);
  }

  async reload(): Promise<void> {
    // A read-only session may read again (an open WebSocket checking it is still live).
    if (!this.readOnly) this.assertOpen();
    this.changes.clear();
    this.pendingFlash = false;
    this.touchRequested = false;
    if (this.missing) return;
    this.loaded = false;
    this.stored = undefined;
    this.loading = undefined;
    await this.ensureLoaded();
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
}

/** Whether `session` is a {@link SessionState} (made by a manager), typed without `any`. */
export function isSessionState(session: Session<SessionData>): session is SessionState {
  return session instanceof SessionState;
}
