/**
 * @module The Memcached store: each session is one item holding its record as JSON, spread over
 * several servers by consistent hashing, with deltas applied by compare-and-swap and native expiry.
 *
 * Memcached is a cache: it evicts items under memory pressure before they expire, and a restart
 * loses everything. Sessions kept here can vanish at any moment (their users are logged out). It
 * has no way to list keys or find a user's items, so this store offers no user index, count or
 * scan; pick Redis or SQL when you need "log out everywhere".
 *
 * Round trips: get 1; write 2 (gets + cas), 1 when it creates a session (add); touch 2 (gets +
 * cas: the deadline lives inside the item); destroy 1; rename 3 (gets, set, cas of a tombstone).
 */
import { TesseraError, isTesseraError, storeFailure } from '../../core/errors.js';
import { applyDelta } from '../../core/delta.js';
import { isLive } from '../../core/expiry.js';
import { parseStoreUrl, type StoreFactory } from '../../core/store-url.js';
import {
  systemClock,
  type Clock,
  type Delta,
  type Store,
  type WriteResult,
} from '../../core/store.js';
import { capExpiry } from '../../core/expiry.js';
import { casOps } from './cas.js';
import { memcachedClient, type MemcachedClient } from './client.js';
import { decodeRecord, encodeRecord, memcachedExptime } from './record.js';

export { memcachedClient } from './client.js';
export { memcachedExptime } from './record.js';
export type {
  MemcachedClient,
  MemcachedClientOptions,
  MemcachedItem,
  CasOutcome,
} from './client.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'memcached';

/** Options of {@link memcachedStore}. Pass `servers` or `client`. */
export interface MemcachedStoreOptions {
  /** `host:port` of each server; keys are spread over them by consistent hashing. */
  servers?: readonly string[];
  /** A client from {@link memcachedClient}, shared with other code; `close()` leaves it open. */
  client?: MemcachedClient;
  /** Prefix of every key (no spaces or control characters). @default 'tessera:' */
  prefix?: string;
  /** Bound on each call to a server, in milliseconds (with `servers`). @default 2000 */
  timeout?: number;
  /**
   * How many times a write re-reads and retries when another process changed the session
   * between its read and its compare-and-swap, before failing with `STORE_CONFLICT`.
   * @default 10
   */
  casAttempts?: number;
  /** Connection errors of the client the store created, once per outage of a server. @default a one-line `console.warn` */
  onError?: (error: unknown) => void;
  /** The clock deciding expiry; tests pass one they can move. @default Date.now */
  clock?: Clock;
}

const MAX_KEY_BYTES = 250;

/**
 * Creates a Memcached store.
 *
 * @example
 * const store = memcachedStore({ servers: ['10.0.0.1:11211', '10.0.0.2:11211'], prefix: 'app:' })
 */
export function memcachedStore(options: MemcachedStoreOptions): Store {
  const prefix = options.prefix ?? 'tessera:';
  if (!/^[\x21-\x7e]*$/.test(prefix) || prefix.length > MAX_KEY_BYTES - 43) {
    throw new TesseraError(
      'CONFIG',
      `Option \`prefix\` of the memcached store must be printable ASCII without spaces and at most ${MAX_KEY_BYTES - 43} characters.`,
    );
  }
  const casAttempts = options.casAttempts ?? 10;
  if (!Number.isInteger(casAttempts) || casAttempts < 1)
    throw new TesseraError(
      'CONFIG',
      'Option `casAttempts` of the memcached store must be a whole number of at least 1.',
    );
  const clock = options.clock ?? systemClock;
  let client: MemcachedClient;
  const isOwned = options.client === undefined;
  if (options.client !== undefined) {
    client = options.client;
  } else {
    if (options.servers === undefined || options.servers.length === 0)
      throw new TesseraError(
        'CONFIG',
        'The memcached store needs `servers` (such as ["127.0.0.1:11211"]) or a `client`.',
      );
    try {
      client = memcachedClient({
        servers: options.servers,
        ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
        onError: options.onError ?? warn,
      });
    } catch (cause) {
      throw new TesseraError(
        'CONFIG',
        `Option \`servers\` of the memcached store: ${(cause as Error).message}.`,
        { cause },
      );
    }
  }
  const itemKey = (key: string): string => `${prefix}${key}`;
  const cas = casOps(client, clock, casAttempts);
  async function guard<T>(op: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (isTesseraError(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      if (/object too large|too large for cache/i.test(message)) {
        throw new TesseraError(
          'TOO_LARGE',
          'The session is larger than memcached accepts for one item (1 MB unless the server runs with -I); store less in it.',
          { cause: error },
        );
      }
      if (/timed out/.test(message))
        throw new TesseraError(
          'STORE_TIMEOUT',
          `The memcached store did not answer ${op} in time. Check the server's load and network.`,
          { cause: error },
        );
      throw storeFailure(STORE_NAME, op, error);
    }
  }

  return {
    name: STORE_NAME,
    get: (key) =>
      guard('get', async () => {
        const record = decodeRecord(await client.get(itemKey(key)));
        return record !== undefined && isLive(record, clock.now()) ? record : undefined;
      }),
    write: (key: string, delta: Delta, expiresAt: number) =>
      guard('write', () =>
        cas.inLane(key, async (): Promise<WriteResult> => {
          if (delta.create) {
            // A new session's key is fresh: try to add it outright, in one round trip.
            const now = clock.now();
            const made = applyDelta(undefined, delta, expiresAt, now)!;
            if (
              await client.add(
                itemKey(key),
                encodeRecord(made.record),
                memcachedExptime(made.record.expiresAt, now),
              )
            ) {
              return made.counters === undefined
                ? { existed: false }
                : { existed: false, counters: made.counters };
            }
          }
          return cas.update<WriteResult>('write', itemKey(key), (current, now) => {
            const result = applyDelta(current, delta, expiresAt, now);
            if (result === undefined) return { out: { existed: false } };
            const existed = current !== undefined;
            return {
              record: result.record,
              out:
                result.counters === undefined
                  ? { existed }
                  : { existed, counters: result.counters },
            };
          });
        }),
      ),
    touch: (key, expiresAt) =>
      guard('touch', () =>
        cas.inLane(key, () =>
          cas.update<void>('touch', itemKey(key), (current) =>
            current === undefined
              ? { out: undefined }
              : {
                  record: {
                    ...current,
                    expiresAt: capExpiry(expiresAt, current.absoluteExpiresAt),
                  },
                  out: undefined,
                },
          ),
        ),
      ),
    destroy: (key) =>
      guard('destroy', async () => {
        await client.delete(itemKey(key));
      }),
    close: async () => {
      if (isOwned) await client.close();
    },
    rename: (oldKey, newKey) =>
      guard('rename', () => cas.inLane(oldKey, () => cas.rename(itemKey(oldKey), itemKey(newKey)))),
    check: () =>
      guard('check', async () => {
        await client.versions();
        const key = `check-${Math.random().toString(36).slice(2)}`;
        const probe = Buffer.from(String(Date.now()));
        await client.set(itemKey(key), probe, 60);
        const back = await client.get(itemKey(key));
        await client.delete(itemKey(key));
        if (back === undefined || !back.equals(probe)) {
          throw new TesseraError(
            'STORE_UNAVAILABLE',
            'The memcached store did not return the probe item it was given; the server may be evicting at once (memory full).',
          );
        }
      }),
  };
}

function warn(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  console.warn(
    `[tessera] memcached store: ${message} (calls to that server fail with STORE_UNAVAILABLE until it answers again)`,
  );
}

const URL_PARAMS = new Set(['prefix', 'timeout', 'casAttempts']);

/**
 * `memcached://host:port[,host:port…][?prefix=…&timeout=…&casAttempts=…]` URLs for `createStore`.
 */
export const storeFromUrl: StoreFactory = (url, options) => {
  for (const name of url.searchParams.keys()) {
    if (!URL_PARAMS.has(name))
      throw new TesseraError(
        'CONFIG',
        `Unknown parameter "${name}" in a memcached store URL; known: ${[...URL_PARAMS].join(', ')}.`,
      );
  }
  if (url.pathname !== '' && url.pathname !== '/')
    throw new TesseraError(
      'CONFIG',
      'A memcached store URL has no path: write memcached://host:port,host:port?prefix=….',
    );
  const servers = options.hosts ?? parseStoreUrl(url.href).hosts;
  if (servers.length === 0)
    throw new TesseraError(
      'CONFIG',
      'A memcached store URL names no server: write memcached://host:port.',
    );
  const number = (name: string): number | undefined => {
    const value = url.searchParams.get(name);
    if (value === null) return undefined;
    if (!/^\d+$/.test(value) || Number(value) < 1)
      throw new TesseraError(
        'CONFIG',
        `Parameter "${name}" of a memcached store URL must be a positive whole number; got "${value}".`,
      );
    return Number(value);
  };
  const timeout = number('timeout');
  const casAttempts = number('casAttempts');
  const prefix = url.searchParams.get('prefix');
  return memcachedStore({
    servers,
    ...(prefix === null ? {} : { prefix }),
    ...(timeout === undefined ? {} : { timeout }),
    ...(casAttempts === undefined ? {} : { casAttempts }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
};
