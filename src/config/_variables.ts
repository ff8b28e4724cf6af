/**
 * @module The `TESSERA_*` variables: what each sets and how its value is read.
 */
import type { SessionManagerOptions } from '../core/options.js';
import type { CookieOptions } from '../core/transport/cookie.js';
import type { TransportOptions } from '../core/transport/index.js';
import { isOff, parseBoolean, parseChoice, parseDuration, parseWhole } from './_values.js';

/** The options being built: the nested objects always present, dropped at the end when empty. */
export interface Draft {
  options: SessionManagerOptions;
  cookie: CookieOptions;
  transport: TransportOptions;
  trustedOrigins?: string[];
  isCrossOriginOff?: boolean;
}

/** One variable fromEnv reads. */
export interface EnvVariable {
  /** What it sets, for the README and `--help`. */
  readonly doc: string;
  /** The option it sets, as named in the manager's own messages. */
  readonly option: string;
  read?(draft: Draft, text: string, name: string): void;
}

const duration = (name: string, text: string): number => parseDuration(name, text);
const durationOrOff = (name: string, text: string): number | false =>
  isOff(text) ? false : parseDuration(name, text);
const nameOrOff = (text: string): string | false => (isOff(text) ? false : text.trim());

/** Every `TESSERA_*` variable fromEnv reads. */
export const ENV_VARIABLES: Readonly<Record<string, EnvVariable>> = {
  TESSERA_STORE: {
    option: 'store',
    doc: 'The store URL (`createStore`). Unset: the memory store.',
  },
  TESSERA_SECRET: {
    option: 'secret',
    doc: 'Secrets for stores that take them (the cookie store): comma-separated, newest first.',
  },
  TESSERA_CHECK: { option: 'check', doc: 'true: check the store before the app starts.' },
  TESSERA_IDLE_TIMEOUT: {
    option: 'idleTimeout',
    doc: '`idleTimeout`, a duration.',
    read: (d, t, n) => void (d.options.idleTimeout = duration(n, t)),
  },
  TESSERA_ABSOLUTE_TIMEOUT: {
    option: 'absoluteTimeout',
    doc: '`absoluteTimeout`, a duration, or `off`.',
    read: (d, t, n) => void (d.options.absoluteTimeout = durationOrOff(n, t)),
  },
  TESSERA_TOUCH_AFTER: {
    option: 'touchAfter',
    doc: '`touchAfter`, a duration, or 0.',
    read: (d, t, n) => void (d.options.touchAfter = t.trim() === '0' ? 0 : duration(n, t)),
  },
  TESSERA_STORE_TIMEOUT: {
    option: 'storeTimeout',
    doc: '`storeTimeout`, a duration.',
    read: (d, t, n) => void (d.options.storeTimeout = duration(n, t)),
  },
  TESSERA_GC_INTERVAL: {
    option: 'gcInterval',
    doc: '`gcInterval`, a duration, or `off`.',
    read: (d, t, n) => void (d.options.gcInterval = durationOrOff(n, t)),
  },
  TESSERA_COOKIE_NAME: {
    option: 'name',
    doc: '`cookie.name`.',
    read: (d, t) => void (d.cookie.name = t.trim()),
  },
  TESSERA_COOKIE_DOMAIN: {
    option: 'domain',
    doc: '`cookie.domain`.',
    read: (d, t) => void (d.cookie.domain = t.trim()),
  },
  TESSERA_COOKIE_PATH: {
    option: 'path',
    doc: '`cookie.path`.',
    read: (d, t) => void (d.cookie.path = t.trim()),
  },
  TESSERA_COOKIE_SECURE: {
    option: 'secure',
    doc: '`cookie.secure`: `true`, `false` or `auto`.',
    read: (d, t, n) =>
      void (d.cookie.secure = t.trim().toLowerCase() === 'auto' ? 'auto' : parseBoolean(n, t)),
  },
  TESSERA_COOKIE_HTTP_ONLY: {
    option: 'httpOnly',
    doc: '`cookie.httpOnly`, a boolean.',
    read: (d, t, n) => void (d.cookie.httpOnly = parseBoolean(n, t)),
  },
  TESSERA_COOKIE_SAME_SITE: {
    option: 'sameSite',
    doc: '`cookie.sameSite`: `lax`, `strict` or `none`.',
    read: (d, t, n) =>
      void (d.cookie.sameSite = parseChoice(n, t, ['lax', 'strict', 'none'] as const)),
  },
  TESSERA_COOKIE_PARTITIONED: {
    option: 'partitioned',
    doc: '`cookie.partitioned`, a boolean.',
    read: (d, t, n) => void (d.cookie.partitioned = parseBoolean(n, t)),
  },
  TESSERA_COOKIE_MAX_AGE: {
    option: 'maxAge',
    doc: '`cookie.maxAge`, a duration, or `session`.',
    read: (d, t, n) =>
      void (d.cookie.maxAge = t.trim().toLowerCase() === 'session' ? 'session' : duration(n, t)),
  },
  TESSERA_SET_COOKIE: {
    option: 'setCookie',
    doc: '`setCookie`, a boolean.',
    read: (d, t, n) => void (d.options.setCookie = parseBoolean(n, t)),
  },
  TESSERA_SAVE_NEW: {
    option: 'saveNew',
    doc: '`saveNew`, a boolean.',
    read: (d, t, n) => void (d.options.saveNew = parseBoolean(n, t)),
  },
  TESSERA_ID_BYTES: {
    option: 'idBytes',
    doc: '`idBytes`, 16 to 64.',
    read: (d, t, n) => void (d.options.idBytes = parseWhole(n, t, 16, 64)),
  },
  TESSERA_ID_PREFIX: {
    option: 'idPrefix',
    doc: '`idPrefix`.',
    read: (d, t) => void (d.options.idPrefix = t.trim()),
  },
  TESSERA_HEADER: {
    option: 'header',
    doc: '`transport.header`: a header name, or `off`.',
    read: (d, t) => void (d.transport.header = nameOrOff(t)),
  },
  TESSERA_QUERY: {
    option: 'query',
    doc: '`transport.query`: a query parameter name, or `off`.',
    read: (d, t) => void (d.transport.query = nameOrOff(t)),
  },
  TESSERA_MAX_SESSIONS_PER_USER: {
    option: 'maxSessionsPerUser',
    doc: '`maxSessionsPerUser`, a whole number.',
    read: (d, t, n) => void (d.options.maxSessionsPerUser = parseWhole(n, t, 1, 1_000_000)),
  },
  TESSERA_SESSION_LIMIT_POLICY: {
    option: 'sessionLimitPolicy',
    doc: '`sessionLimitPolicy`: `evict-oldest` or `refuse`.',
    read: (d, t, n) =>
      void (d.options.sessionLimitPolicy = parseChoice(n, t, ['evict-oldest', 'refuse'] as const)),
  },
  TESSERA_CROSS_ORIGIN: {
    option: 'crossOrigin',
    doc: '`off` switches the cross-site check off (`crossOrigin: false`).',
    read: (d, t, n) => void (d.isCrossOriginOff = !parseBoolean(n, t)),
  },
  TESSERA_TRUSTED_ORIGINS: {
    option: 'trustedOrigins',
    doc: '`crossOrigin.trustedOrigins`: origins, comma-separated.',
    read: (d, t) =>
      void (d.trustedOrigins = t
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)),
  },
};
