/**
 * @module Store URLs: what a store's URL factory receives, and the parser every store uses for
 * its URL form (multi-host forms included). Imports nothing of any store.
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
  /**
   * Makes another store from its URL, as `createStore` does: the registry passes itself, so a
   * store holding a store named by URL (the cookie store's `revocations`) never imports it.
   */
  createStore?: (url: string, options?: StoreUrlOptions) => Promise<Store>;
}

/** Makes a store from a parsed URL. */
export type StoreFactory = (url: URL, options: StoreUrlOptions) => Store | Promise<Store>;

/**
 * Parses a store URL, including multi-host forms (`scheme://[user@]h1:p1,h2:p2/path?query`) that
 * the URL class rejects: those parse with their first host, and `hosts` lists them all.
 */
export function parseStoreUrl(url: string): { url: URL; hosts: string[] } {
  if (typeof url !== 'string' || url === '') {
    throw new TesseraError(
      'CONFIG',
      `A store URL must be a non-empty string like "memory:" or "redis://127.0.0.1:6379/0"; got ${url === '' ? 'an empty string' : typeof url}.`,
    );
  }
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
  if (typeof url !== 'string') return String(url);
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
