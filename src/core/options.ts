/**
 * @module Manager options: their types, defaults and the checks run once at start-up.
 */
import { jsonCodec, type Codec } from './codec.js';
import { TesseraError } from './errors.js';
import type { ExpiryPolicy } from './expiry.js';
import { createIdScheme, type IdScheme } from './id.js';
import { combineObservers, type Observer, type Observers } from './observer.js';
import type { StandardSchemaV1 } from './schema.js';
import { systemClock, type Clock, type Store } from './store.js';
import { checkShapes, type Kind } from './options-check.js';
import { checkDuration, HOUR, MINUTE } from './time.js';
import { createCookieCodec, type CookieCodec, type CookieOptions } from './transport/cookie.js';
import { resolveTransports, type TransportOptions, type Transports } from './transport/index.js';
import {
  createOriginCheck,
  type CrossOriginOptions,
  type OriginCheck,
} from './transport/origin.js';

/** What to do when a login would exceed `maxSessionsPerUser`. */
export type SessionLimitPolicy = 'evict-oldest' | 'refuse';

/** Options of `createSessionManager`. */
export interface SessionManagerOptions {
  /** Where sessions live. @default memoryStore() */
  store?: Store | undefined;
  /** A session unused for this long ends (rolling; ms). @default 1800000 (30 minutes) */
  idleTimeout?: number | undefined;
  /** A session ends this long after it was created, however active (ms); `false` for none. @default 43200000 (12 hours) */
  absoluteTimeout?: number | false | undefined;
  /**
   * A request that only reads its session moves the idle deadline only when at least this long
   * has passed since it last moved (ms), so most reads cost no write. @default idleTimeout / 10
   */
  touchAfter?: number | undefined;
  /** The session cookie. */
  cookie?: CookieOptions | undefined;
  /** Which transports carry the id. @default { cookie: true } */
  transport?: TransportOptions | undefined;
  /**
   * `false` reads the id from the cookie (and the other transports) but never sends `Set-Cookie`
   * (beego's `EnableSetCookie: false`): the app hands the id out itself, as `session.id` after
   * `await session.save()` or the commit. @default true
   */
  setCookie?: boolean | undefined;
  /** Random bytes per id, 16 to 64. @default 32 */
  idBytes?: number | undefined;
  /** A prefix for ids (letters, digits, "_" and "-"), e.g. `"sess_"`. @default '' */
  idPrefix?: string | undefined;
  /** Your own id generator: fixed-length strings of `[A-Za-z0-9_-]` with at least 128 random bits. */
  generateId?: (() => string) | undefined;
  /** Store (and send a cookie for) a new session even when nothing was written to it. @default false */
  saveNew?: boolean | undefined;
  /** How values are encoded for the store. @default jsonCodec */
  codec?: Codec | undefined;
  /** A Standard Schema validator (zod, valibot, …) for the session data, checked on load. */
  schema?: StandardSchemaV1 | undefined;
  /**
   * The most a session's data may take in the store (bytes of its JSON). A write that would pass
   * it is refused with `TOO_LARGE` naming the key, and nothing is written (GoFrame's size limit).
   * With it, writing a session not read yet reads it first. @default unlimited (the store's own)
   */
  maxBytes?: number | undefined;
  /** The longest any store call may take before it fails with `STORE_TIMEOUT` (ms). @default 2000 */
  storeTimeout?: number | undefined;
  /** At most this many live sessions per user; see `sessionLimitPolicy`. @default unlimited */
  maxSessionsPerUser?: number | undefined;
  /**
   * `'evict-oldest'` ends the user's oldest sessions at login; `'refuse'` makes the new login fail
   * with `TOO_MANY_SESSIONS`. @default 'evict-oldest'
   */
  sessionLimitPolicy?: SessionLimitPolicy | undefined;
  /** How often to sweep expired records from stores that need it (ms); `false` for never. @default 60000 */
  gcInterval?: number | false | undefined;
  /** Called with errors that happen off the request path (background clean-up, GC). */
  onError?: ((error: unknown) => void) | undefined;
  /**
   * Receivers of what the manager does: store calls, commits, session lifecycle events, errors,
   * GC passes (metrics, tracing, debug logs attach here). None by default, at no cost.
   * @default []
   */
  observers?: readonly Observer[] | undefined;
  /** The clock; tests pass one they can move. @default Date.now */
  clock?: Clock | undefined;
  /**
   * Refuse state-changing requests (POST, PUT, PATCH, DELETE, …) that a browser says come from
   * another site (`Sec-Fetch-Site: cross-site`/`same-site`, or an `Origin` that is not this host),
   * with `CROSS_SITE` (403) before the handler runs, as Go's `http.CrossOriginProtection` does: a
   * form on any site can otherwise post with your users' cookies (login CSRF included). Requests
   * that carry neither header (curl, servers, old clients) pass. `false` switches it off.
   * @default {} (on, no trusted origins, no bypass)
   */
  crossOrigin?: CrossOriginOptions | false | undefined;
}

/** Options resolved and checked. */
export interface ResolvedOptions {
  store: Store | undefined;
  expiry: ExpiryPolicy;
  cookie: CookieCodec;
  isPersistentCookie: boolean;
  /** Whether commits send `Set-Cookie` (see the `setCookie` option). */
  setCookie: boolean;
  transports: Transports;
  ids: IdScheme;
  saveNew: boolean;
  codec: Codec;
  schema: StandardSchemaV1 | undefined;
  storeTimeout: number;
  maxBytes: number | undefined;
  /** Whether `storeTimeout` was given (rather than defaulted). */
  isStoreTimeoutExplicit: boolean;
  maxSessionsPerUser: number | undefined;
  sessionLimitPolicy: SessionLimitPolicy;
  gcInterval: number | undefined;
  onError: (error: unknown) => void;
  observers: Observers;
  clock: Clock;
  /** The cross-site check, or `undefined` when switched off. */
  originCheck: OriginCheck | undefined;
}

/** Every option and the kinds it may be (besides `undefined`): what `checkShapes` accepts. */
const OPTION_KINDS: Record<keyof SessionManagerOptions, readonly Kind[]> = {
  store: ['object'],
  idleTimeout: ['number'],
  absoluteTimeout: ['number', 'boolean'],
  touchAfter: ['number'],
  cookie: ['object'],
  transport: ['object'],
  setCookie: ['boolean'],
  idBytes: ['number'],
  idPrefix: ['string'],
  generateId: ['function'],
  saveNew: ['boolean'],
  codec: ['object'],
  schema: ['object', 'function'],
  storeTimeout: ['number'],
  maxBytes: ['number'],
  maxSessionsPerUser: ['number'],
  sessionLimitPolicy: ['string'],
  gcInterval: ['number', 'boolean'],
  onError: ['function'],
  observers: ['array'],
  clock: ['object'],
  crossOrigin: ['object', 'boolean'],
};

/** Checks every option; a mistake throws `CONFIG` naming the option and what to do. */
export function resolveOptions(options: SessionManagerOptions): ResolvedOptions {
  checkShapes(options, OPTION_KINDS);
  const idleTimeout = checkDuration('idleTimeout', options.idleTimeout, 30 * MINUTE);
  const absoluteTimeout =
    options.absoluteTimeout === false
      ? undefined
      : checkDuration('absoluteTimeout', options.absoluteTimeout, 12 * HOUR);
  const touchAfter = options.touchAfter === undefined ? idleTimeout / 10 : options.touchAfter;
  if (!Number.isFinite(touchAfter) || touchAfter < 0 || touchAfter >= idleTimeout) {
    throw new TesseraError(
      'CONFIG',
      'Option `touchAfter` must be at least 0 and less than `idleTimeout`.',
    );
  }
  const maxSessionsPerUser = options.maxSessionsPerUser;
  if (
    maxSessionsPerUser !== undefined &&
    (!Number.isInteger(maxSessionsPerUser) || maxSessionsPerUser < 1)
  ) {
    throw new TesseraError(
      'CONFIG',
      'Option `maxSessionsPerUser` must be a whole number of at least 1.',
    );
  }
  const policy = options.sessionLimitPolicy ?? 'evict-oldest';
  if (policy !== 'evict-oldest' && policy !== 'refuse') {
    throw new TesseraError(
      'CONFIG',
      'Option `sessionLimitPolicy` must be "evict-oldest" or "refuse".',
    );
  }
  const store = options.store;
  if (maxSessionsPerUser !== undefined && store && !store.byUser) {
    throw new TesseraError(
      'CONFIG',
      `Option \`maxSessionsPerUser\` needs a store with a user index; the ${store.name} store has none. Pick another store or drop the option.`,
    );
  }
  const gcInterval =
    options.gcInterval === false
      ? undefined
      : checkDuration('gcInterval', options.gcInterval, MINUTE);
  const schema = options.schema;
  if (schema !== undefined && typeof schema['~standard']?.validate !== 'function') {
    throw new TesseraError(
      'CONFIG',
      'Option `schema` must be a Standard Schema validator (zod 3.24+, valibot 1, arktype 2, …).',
    );
  }
  const cookieOptions = options.cookie ?? {};
  return {
    store,
    expiry: { idleTimeout, absoluteTimeout, touchWithin: idleTimeout - touchAfter },
    cookie: createCookieCodec(cookieOptions),
    isPersistentCookie: cookieOptions.maxAge !== undefined && cookieOptions.maxAge !== 'session',
    setCookie: options.setCookie ?? true,
    transports: resolveTransports(options.transport),
    ids: createIdScheme(options),
    saveNew: options.saveNew ?? false,
    codec: options.codec ?? jsonCodec,
    schema,
    storeTimeout: checkDuration('storeTimeout', options.storeTimeout, 2000),
    maxBytes: checkMaxBytes(options.maxBytes),
    isStoreTimeoutExplicit: options.storeTimeout !== undefined,
    maxSessionsPerUser,
    sessionLimitPolicy: policy,
    gcInterval,
    onError: options.onError ?? (() => {}),
    observers: combineObservers(options.observers),
    clock: options.clock ?? systemClock,
    originCheck: options.crossOrigin === false ? undefined : createOriginCheck(options.crossOrigin),
  };
}

function checkMaxBytes(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 256)
    throw new TesseraError(
      'CONFIG',
      'Option `maxBytes` must be a whole number of bytes, 256 or more.',
    );
  return value;
}
