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
}

/** Makes a store from a parsed URL. */
export type StoreFactory = (url: URL, options: StoreUrlOptions) => Store | Promise<Store>;

type Loader = () => Promise<{ storeFromUrl: StoreFactory }>;

// Built-in schemes load their store module only when used, so the core pulls in no driver.
const builtIn = new Map<string, Loader>([['memory', () => import('../stores/memory.js')]]);
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
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new TesseraError(
      'CONFIG',
      `Store URL ${JSON.stringify(redact(url))} is not a URL; write it like "memory:" or "redis://127.0.0.1:6379/0".`,
      { cause },
    );
  }
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

/** A URL with its password hidden, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
