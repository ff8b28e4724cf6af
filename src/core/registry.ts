/**
 * @module Stores by name and URL (beego's `session.Register`): `createStore('redis://…')`.
 */
import { TesseraError } from './errors.js';
import type { Clock, Store } from './store.js';

/** What a URL factory receives besides the URL. */
export interface StoreUrlOptions {
  /** Secrets for stores that need them (the cookie store); the demo reads `TESSERA_SECRET`. */
  secret?: string | readonly string[];
  /** The clock, for tests. */
  clock?: Clock;
  /**
   * Every `host[:port]` of a multi-host URL (`redis+sentinel://h1:26379,h2:26379/mymaster`), which
   * the URL class cannot parse; the URL handed to the factory then names the first host only.
   */
  hosts?: string[];
  /**
   * The URL exactly as written. `file:./sessions` needs it: the URL class resolves `file:` paths
   * against the root (`/sessions`), which is not what a relative path means.
   */
  url?: string;
}

/** Makes a store from a parsed URL. */
export type StoreFactory = (url: URL, options: StoreUrlOptions) => Store | Promise<Store>;

type Loader = () => Promise<{ storeFromUrl: StoreFactory }>;

// Built-in schemes load their store module only when used, so the core pulls in no driver.
const builtIn = new Map<string, Loader>([
  ['memory', () => import('../stores/memory.js')],
  ['postgres', () => import('../stores/postgres.js')],
  ['postgresql', () => import('../stores/postgres.js')],
  ['mysql', () => import('../stores/mysql.js')],
  ['mariadb', () => import('../stores/mysql.js')],
  ['sqlite', () => import('../stores/sqlite.js')],
  ['file', () => import('../stores/file.js')],
  ['cookie', () => import('../stores/cookie.js')],
  ['redis', () => import('../stores/redis.js')],
  ['rediss', () => import('../stores/redis.js')],
  ['redis+sentinel', () => import('../stores/redis.js')],
  ['redis+cluster', () => import('../stores/redis.js')],
  ['memcached', () => import('../stores/memcached.js')],
]);
const registered = new Map<string, StoreFactory>();

/**
 * Registers a store factory under a URL scheme (letters, digits, "+", "-" and "."), so
 * `createStore('own://…')` and `TESSERA_STORE=own://…` can use it.
 */
export function register(scheme: string, factory: StoreFactory): void {
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) {
    throw new TesseraError(
      'CONFIG',
      `Store scheme ${JSON.stringify(scheme)} must be lower-case letters, digits, "+", "-" or "." and start with a letter.`,
    );
  }
  registered.set(scheme, factory);
}

/**
 * Creates a store from a URL: `memory:`, `redis://127.0.0.1:6379/0`, `postgres://…`,
 * `file:./sessions`, `sqlite:./sessions.db`, `cookie:`, or a scheme passed to {@link register}.
 */
export async function createStore(url: string, options: StoreUrlOptions = {}): Promise<Store> {
  const { url: parsed, hosts } = parseStoreUrl(url);
  options = hosts.length > 1 ? { ...options, hosts, url } : { ...options, url };
  const scheme = parsed.protocol.slice(0, -1);
  const own = registered.get(scheme);
  if (own) return own(parsed, options);
  const load = builtIn.get(scheme);
  if (!load) {
    const known = [...builtIn.keys(), ...registered.keys()].sort().join(', ');
    throw new TesseraError(
      'CONFIG',
      `No store is registered for "${scheme}:" URLs. Known schemes: ${known}. Register your own with register().`,
    );
  }
  const module = await load();
  return module.storeFromUrl(parsed, options);
}

/**
 * Parses a store URL, including multi-host forms (`scheme://[user@]h1:p1,h2:p2/path?query`) that
 * the URL class rejects: those parse with their first host, and `hosts` lists them all.
 */
export function parseStoreUrl(url: string): { url: URL; hosts: string[] } {
  try {
    const parsed = new URL(url);
    return { url: parsed, hosts: parsed.host === '' ? [] : [parsed.host] };
  } catch (cause) {
    const multi = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*@)?([^/?#@]*,[^/?#@]*)(.*)$/i.exec(url);
    const hosts = multi?.[3]?.split(',') ?? [];
    if (multi && hosts.every((h) => h !== '')) {
      try {
        return { url: new URL(`${multi[1]}${multi[2] ?? ''}${hosts[0]}${multi[4]}`), hosts };
      } catch {
        // reported below
      }
    }
    throw new TesseraError(
      'CONFIG',
      `Store URL ${JSON.stringify(redact(url))} is not a URL; write it like "memory:" or "redis://127.0.0.1:6379/0".`,
      { cause },
    );
  }
}

/** A URL with its password hidden, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
