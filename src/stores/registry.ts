/**
 * @module Stores by name and URL (beego's `session.Register`): `createStore('redis://…')`.
 *
 * No store imports this module: the built-in schemes load their store only when a URL names it,
 * and a store that makes another store from a URL gets `createStore` in its factory's options.
 */
import { TesseraError } from '../core/errors.js';
import { parseStoreUrl, type StoreFactory, type StoreUrlOptions } from '../core/store-url.js';
import type { Store } from '../core/store.js';

type Loader = () => Promise<{ storeFromUrl: StoreFactory }>;

// Built-in schemes load their store module only when used, so the core pulls in no driver.
const builtIn = new Map<string, Loader>([
  ['memory', () => import('./memory/index.js')],
  ['postgres', () => import('./postgres/index.js')],
  ['postgresql', () => import('./postgres/index.js')],
  ['mysql', () => import('./mysql/index.js')],
  ['mariadb', () => import('./mysql/index.js')],
  ['sqlite', () => import('./sqlite/index.js')],
  ['file', () => import('./file/index.js')],
  ['cookie', () => import('./cookie/index.js')],
  ['redis', () => import('./redis/index.js')],
  ['rediss', () => import('./redis/index.js')],
  ['redis+sentinel', () => import('./redis/index.js')],
  ['redis+cluster', () => import('./redis/index.js')],
  ['memcached', () => import('./memcached/index.js')],
  ['mongodb', () => import('./mongodb/index.js')],
  ['mongodb+srv', () => import('./mongodb/index.js')],
  ['couchbase', () => import('./couchbase/index.js')],
  ['couchbases', () => import('./couchbase/index.js')],
  ['tiered', () => import('./tiered/index.js')],
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
  if (typeof factory !== 'function') {
    throw new TesseraError(
      'CONFIG',
      `register(${JSON.stringify(scheme)}, factory): the factory must be a function (url, options) => Store.`,
    );
  }
  registered.set(scheme, factory);
}

/**
 * Creates a store from a URL: `memory:`, `redis://127.0.0.1:6379/0`, `postgres://…`,
 * `file:./sessions`, `sqlite:./sessions.db`, `cookie:`,
 * `tiered:?cache=<encoded url>&durable=<encoded url>&backup=sync|async|off` (see
 * `tessera-session/stores/tiered`), or a scheme passed to {@link register}.
 */
export async function createStore(url: string, options: StoreUrlOptions = {}): Promise<Store> {
  const { url: parsed, hosts } = parseStoreUrl(url);
  options = {
    ...options,
    ...(hosts.length > 1 ? { hosts } : {}),
    url,
    createStore: options.createStore ?? createStore,
  };
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
