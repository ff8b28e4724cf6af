/**
 * @module The Memcached store: one JSON item per session, deltas by compare-and-swap.
 *
 * Items are spread over several servers by consistent hashing and expire natively. Each call has
 * one deadline, `timeout`.
 *
 * Memcached is a cache: it evicts items under memory pressure before they expire, and a restart
 * loses everything. Sessions kept here can vanish at any moment (their users are logged out). It
 * has no way to list keys or find a user's items, so this store offers no user index, count or
 * scan; pick Redis or SQL when you need "log out everywhere".
 *
 * Round trips: get 1; write 2 (gets + cas), 1 when it creates a session (add); touch 2 (gets +
 * cas: the deadline lives inside the item); destroy 1; rename 3 (gets, set, cas of a tombstone).
 */
import { randomUUID } from 'node:crypto';
import { applyDelta } from '../../core/delta.js';
import { TesseraError } from '../../core/errors.js';
import { capExpiry, isLive } from '../../core/expiry.js';
import { probeStore } from '../../core/probe.js';
import { parseStoreUrl, type StoreFactory } from '../../core/store-url.js';
import {
  systemClock,
  type Clock,
  type Delta,
  type Store,
  type WriteResult,
} from '../../core/store.js';
import { checkDuration } from '../../core/time.js';
import {
  withDeadline,
  type CallScope,
  type Classified,
  type Deadline,
} from '../_shared/deadline.js';
import { checkUrlParams } from '../_shared/url-params.js';
import { warnLine } from '../_shared/warn.js';
import { casOps } from './cas.js';
import { memcachedClient, type MemcachedClient } from './client.js';
import { memcachedErrorCode } from './errors.js';
import { decodeItem, encodeItem, memcachedExptime } from './item.js';

export { memcachedClient, memcachedErrorCode } from './client.js';
export { memcachedExptime } from './item.js';
export type {
  MemcachedClient,
  MemcachedClientOptions,
  MemcachedError,
  MemcachedErrorCode,
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
  /**
   * Bound on each store call, in milliseconds: a call that takes longer rejects with
   * `STORE_TIMEOUT`. A client the store creates also drops a connection that has calls waiting
   * and hears nothing for twice this long.
   * @default 2000
   */
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
/** The default `onError`. */
const warn = warnLine(
  STORE_NAME,
  'calls to that server fail with STORE_UNAVAILABLE until it answers again',
);

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
  const timeoutMs = checkDuration('timeout', options.timeout, 2000, 'the memcached store');
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
        // Not a second timer per call: it frees a hung connection after the calls on it gave up.
        timeout: 2 * timeoutMs,
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
  const deadline: Deadline = { store: STORE_NAME, timeoutMs, setting: '`timeout`', classify };
  const guard = <T>(op: string, run: (scope: CallScope) => Promise<T>): Promise<T> =>
    withDeadline(deadline, op, run);

  const store: Store = {
    name: STORE_NAME,
    timeoutMs,
    get: (key) =>
      guard('get', async () => {
        const record = decodeItem(await client.get(itemKey(key)));
        return record !== undefined && isLive(record, clock.now()) ? record : undefined;
      }),
    write: (key: string, delta: Delta, expiresAt: number) =>
      guard('write', (scope) =>
        cas.inLane(key, scope, async (): Promise<WriteResult> => {
          if (delta.create) {
            // A new session's key is fresh: try to add it outright, in one round trip.
            const now = clock.now();
            const made = applyDelta(undefined, delta, expiresAt, now)!;
            if (made.record === undefined) return { existed: false, nonNumeric: made.nonNumeric };
            if (
              await client.add(
                itemKey(key),
                encodeItem(made.record),
                memcachedExptime(made.record.expiresAt, now),
              )
            ) {
              return made.counters === undefined
                ? { existed: false }
                : { existed: false, counters: made.counters };
            }
          }
          return cas.update<WriteResult>('write', scope, itemKey(key), (current, now) => {
            const result = applyDelta(current, delta, expiresAt, now);
            if (result === undefined) return { out: { existed: false } };
            const existed = current !== undefined;
            if (result.record === undefined)
              return { out: { existed, nonNumeric: result.nonNumeric } };
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
      guard('touch', (scope) =>
        cas.inLane(key, scope, () =>
          cas.update<void>('touch', scope, itemKey(key), (current) =>
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
      guard('rename', (scope) =>
        cas.inLane(oldKey, scope, () => cas.rename(scope, itemKey(oldKey), itemKey(newKey))),
      ),
    async check() {
      // Every server must answer (the probe reaches only the one its key hashes to).
      await guard('check', () => client.versions());
      await probeStore(
        store,
        `check-${randomUUID()}`,
        clock.now(),
        'the server may be evicting at once (memory full)',
      );
    },
  };
  return store;
}

/** Reads the client's errors by their code (see `MemcachedErrorCode`). */
function classify(error: unknown): Classified {
  const code = memcachedErrorCode(error);
  if (code === 'MEMCACHED_TIMEOUT') return 'timeout';
  if (code === 'MEMCACHED_TOO_LARGE')
    return new TesseraError(
      'TOO_LARGE',
      'The session is larger than memcached accepts for one item (1 MB unless the server runs with -I); store less in it.',
      { cause: error },
    );
  return undefined;
}

const URL_PARAMS = ['prefix', 'timeout', 'casAttempts'];

/**
 * `memcached://host:port[,host:port…][?prefix=…&timeout=…&casAttempts=…]` URLs for `createStore`.
 */
export const storeFromUrl: StoreFactory = (url, options) => {
  checkUrlParams(url, URL_PARAMS, STORE_NAME);
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
