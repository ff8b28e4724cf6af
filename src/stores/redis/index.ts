/**
 * @module The Redis store: one hash per session with native expiry, deltas applied by Lua scripts in
 * one round trip, rename for id renewal, a sorted-set user index, on one server, Sentinel or
 * Cluster, through ioredis or node-redis.
 *
 * Round trips per operation (one server or Sentinel): get 1 (HGETALL), write 1, touch 1, destroy 1,
 * rename 1, byUser 1, destroyByUser 1 (EVALSHA each). In a cluster the user index lives in another
 * slot than the session: a write that binds or unbinds a user, a write or touch that moves the
 * session's padded index deadline (about once per idle period), and a destroy of a bound session
 * cost a second call to the index's slot; rename is a copy of 3 calls (5 with a user); byUser is
 * 1 + one HMGET per session; see `_shared/redis-cluster.ts`.
 */
import { randomUUID } from 'node:crypto';
import { TesseraError, isTesseraError, storeFailure } from '../../core/errors.js';
import { parseStoreUrl, type StoreFactory } from '../../core/store-url.js';
import { systemClock, type Clock, type Store, type WriteResult } from '../../core/store.js';
import { followIndex, renameAcrossSlots } from './cluster.js';
import { redisCommands, type RedisClient, type RedisCommands } from './commands.js';
import { connectRedis } from './connect.js';
import { positiveMs, readRedisUrl, type RedisDriver, type RedisUrlSettings } from './url.js';
import { decodeHash, incrKeys, parseCounter, sessionKey, writeArgs } from './record.js';
import { DESTROY, RENAME, TOUCH, WRITE } from './scripts.js';
import { countSessions, destroyUserSessions, listUserSessions, scanSessions } from './users.js';

export type {
  RedisClient,
  NodeRedisClientLike,
  NodeRedisClusterLike,
  NodeRedisSentinelLike,
} from './commands.js';
export type { RedisDriver } from './url.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'redis';

/** Options of {@link redisStore}. Pass `client` or `url`. */
export interface RedisStoreOptions {
  /**
   * A client you created: ioredis `Redis` (single or Sentinel) or `Cluster`, or a node-redis
   * client, cluster or sentinel, already connected. The store leaves it open on `close()`. Attach
   * your own `error` listener to it (an unhandled `error` event ends a Node process), and give it a
   * command timeout and no offline queue as the store does for clients it creates; the store also
   * bounds each call by `commandTimeout` itself.
   */
  client?: RedisClient;
  /**
   * Where to connect when no `client` is given: `redis://[user:pass@]host:port[/db]`,
   * `rediss://…` (TLS), `redis+sentinel://host:port,host:port/mastername[/db]`,
   * `redis+cluster://host:port,host:port`.
   */
  url?: string;
  /** Prefix of every key the store writes. Braces are not allowed (they would pick the hash slot). @default 'tessera:' */
  prefix?: string;
  /** Bound on each command, in milliseconds. @default 2000 */
  commandTimeout?: number;
  /** How long the first command waits for a client the store created to connect. @default 5000 */
  connectTimeout?: number;
  /**
   * Calls that may wait on the client at once (a hung server, a Sentinel looking for its master);
   * more fail at once with `STORE_UNAVAILABLE`, so an outage cannot grow memory without bound.
   * @default 10000
   */
  maxPending?: number;
  /** The library that creates the client from `url`. @default 'ioredis' when installed, else 'redis' */
  driver?: RedisDriver;
  /** Options for the driver, merged over the store's, when it creates the client. @default {} */
  clientOptions?: Record<string, unknown>;
  /**
   * Background errors of a client the store created (once per outage), and session hashes it
   * could not read (treated as missing).
   * @default a one-line `console.warn`
   */
  onError?: (error: unknown) => void;
  /** The clock deciding expiry; tests pass one they can move. @default Date.now */
  clock?: Clock;
}

const DEFAULT_PREFIX = 'tessera:';

/**
 * Creates a Redis store.
 *
 * @example
 * import { Redis } from 'ioredis'
 * const client = new Redis({ commandTimeout: 2000, enableOfflineQueue: false })
 * client.on('error', (e) => log.warn(e))
 * const sessions = createSessionManager({ store: redisStore({ client }) })
 *
 * @example
 * const store = redisStore({ url: 'redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster' })
 */
export function redisStore(options: RedisStoreOptions): Store {
  return openRedisStore(options).store;
}

/** The store, and the promise of its client (rejecting with CONFIG when no driver loads). */
function openRedisStore(options: RedisStoreOptions): { store: Store; opening: Promise<unknown> } {
  let fromUrl: RedisUrlSettings | undefined;
  if (options.client === undefined && options.url !== undefined) {
    const { url, hosts } = parseStoreUrl(options.url);
    fromUrl = readRedisUrl(url, hosts);
  }
  const prefix = options.prefix ?? fromUrl?.prefix ?? DEFAULT_PREFIX;
  if (/[{}]/.test(prefix)) {
    throw new TesseraError(
      'CONFIG',
      'Option `prefix` of the redis store may not contain "{" or "}": braces choose the cluster hash slot.',
    );
  }
  const timeoutMs = positiveMs(
    'commandTimeout',
    options.commandTimeout ?? fromUrl?.commandTimeout,
    2000,
  );
  const connectTimeout = positiveMs(
    'connectTimeout',
    options.connectTimeout ?? fromUrl?.connectTimeout,
    5000,
  );
  const onError = options.onError ?? warn;
  const maxInFlight = options.maxPending ?? 10_000;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    throw new TesseraError(
      'CONFIG',
      'Option `maxPending` of the redis store must be a whole number of at least 1.',
    );
  }
  let commands: RedisCommands | undefined;
  let opening: Promise<RedisCommands>;
  if (options.client !== undefined) {
    commands = redisCommands(options.client, { timeoutMs, isOwned: false, maxInFlight });
    opening = Promise.resolve(commands);
  } else if (fromUrl !== undefined) {
    const driver = options.driver ?? fromUrl.driver;
    opening = connectRedis(fromUrl.target, {
      ...(driver === undefined ? {} : { driver }),
      commandTimeout: timeoutMs,
      connectTimeout,
      onError,
      ...(options.clientOptions === undefined ? {} : { clientOptions: options.clientOptions }),
    }).then(({ client, ready }) =>
      redisCommands(client, { timeoutMs, isOwned: true, ready, maxInFlight }),
    );
    // A failed import surfaces on the first call; keep it from being an unhandled rejection meanwhile.
    opening.catch(() => undefined);
  } else {
    throw new TesseraError(
      'CONFIG',
      'The redis store needs a `client` (ioredis or node-redis) or a `url` such as "redis://127.0.0.1:6379/0".',
    );
  }
  const use = async (): Promise<RedisCommands> => (commands ??= await opening);
  return { store: buildStore(use, prefix, options.clock ?? systemClock, onError), opening };
}

function buildStore(
  use: () => Promise<RedisCommands>,
  prefix: string,
  clock: Clock,
  onError: (error: unknown) => void,
): Store {
  /** Runs `op`, turning driver errors into STORE_TIMEOUT / STORE_UNAVAILABLE errors. */
  async function guard<T>(op: string, run: (c: RedisCommands) => Promise<T>): Promise<T> {
    try {
      return await run(await use());
    } catch (error) {
      if (isTesseraError(error)) throw error;
      const message = error instanceof Error ? `${error.name} ${error.message}` : String(error);
      if (/timed? ?out|timeout/i.test(message)) {
        throw new TesseraError(
          'STORE_TIMEOUT',
          `The redis store did not answer ${op} within its command timeout. Check the server's load and network.`,
          { cause: error },
        );
      }
      throw storeFailure(STORE_NAME, op, error);
    }
  }
  const inline = (c: RedisCommands): boolean => !c.isCluster;

  return {
    name: STORE_NAME,
    get: (key) =>
      guard('get', async (c) => {
        const hash = sessionKey(prefix, key);
        const reply = await c.send(['HGETALL', hash], hash);
        let record;
        try {
          record = decodeHash(reply);
        } catch (error) {
          // A hash this store did not write (or a damaged one) reads as no session, never as an outage.
          onError(
            new TesseraError(
              'INVALID_DATA',
              'The redis store found an unreadable session hash and treated it as missing.',
              { cause: error },
            ),
          );
          return undefined;
        }
        if (record === undefined) return undefined;
        const now = clock.now();
        if (
          record.expiresAt <= now ||
          (record.absoluteExpiresAt !== undefined && record.absoluteExpiresAt <= now)
        )
          return undefined;
        return record;
      }),
    write: (key, delta, expiresAt) =>
      guard('write', async (c): Promise<WriteResult> => {
        const args = writeArgs(delta, clock.now(), expiresAt, inline(c), prefix, key);
        const reply = (await c.run(WRITE, [sessionKey(prefix, key)], args)) as unknown[];
        if (reply.length < 4) return { existed: false };
        if (c.isCluster) await followIndex(c, prefix, key, reply);
        const existed = Number(reply[0]) === 1;
        const names = incrKeys(delta);
        if (names.length === 0) return { existed };
        const counters: Record<string, number> = {};
        names.forEach((name, i) => (counters[name] = parseCounter(reply[4 + i])));
        return { existed, counters };
      }),
    touch: (key, expiresAt) =>
      guard('touch', async (c) => {
        const flags = inline(c) ? 'i' : '';
        const reply = (await c.run(
          TOUCH,
          [sessionKey(prefix, key)],
          [String(clock.now()), String(Math.trunc(expiresAt)), flags, prefix, key],
        )) as unknown[];
        if (c.isCluster && reply.length >= 4) await followIndex(c, prefix, key, reply);
      }),
    destroy: (key) =>
      guard('destroy', async (c) => {
        const reply = (await c.run(
          DESTROY,
          [sessionKey(prefix, key)],
          [inline(c) ? 'i' : '', prefix, key],
        )) as unknown[];
        if (c.isCluster) await followIndex(c, prefix, key, reply);
      }),
    close: () => guard('close', (c) => c.close()),
    rename: (oldKey, newKey) =>
      guard('rename', async (c) => {
        if (c.isCluster) return renameAcrossSlots(c, prefix, () => clock.now(), oldKey, newKey);
        const keys = [sessionKey(prefix, oldKey), sessionKey(prefix, newKey)];
        return (
          Number(await c.run(RENAME, keys, [String(clock.now()), prefix, oldKey, newKey])) === 1
        );
      }),
    byUser: (userId) => guard('byUser', (c) => listUserSessions(c, prefix, clock.now(), userId)),
    destroyByUser: (userId, exceptKey) =>
      guard('destroyByUser', (c) => destroyUserSessions(c, prefix, clock.now(), userId, exceptKey)),
    count: () => guard('count', (c) => countSessions(c, prefix)),
    scan: (cursor, limit = 100) => guard('scan', (c) => scanSessions(c, prefix, cursor, limit)),
    check: () =>
      guard('check', async () => {
        const key = `check-${randomUUID()}`;
        const now = clock.now();
        const store = buildStore(use, prefix, clock, onError);
        await store.write(key, { create: true, set: { probe: now } }, now + 60_000);
        const back = await store.get(key);
        await store.destroy(key);
        if (back?.data['probe'] !== now)
          throw new TesseraError(
            'STORE_UNAVAILABLE',
            'The redis store did not return the probe record it was given; check that nothing evicts or rewrites its keys.',
          );
      }),
  };
}

function warn(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  console.warn(
    `[tessera] redis store: ${message} (calls fail with STORE_UNAVAILABLE until it answers again)`,
  );
}

/**
 * `redis://`, `rediss://`, `redis+sentinel://` and `redis+cluster://` URLs for `createStore`, with
 * query parameters `prefix`, `timeout` (command timeout, ms), `connectTimeout` (ms), `client`
 * (`ioredis` or `redis`), `db`, `tls=true` and `sentinelPassword`.
 */
export const storeFromUrl: StoreFactory = async (url, options) => {
  const { store, opening } = openRedisStore({
    url: options.url ?? url.href.replace(url.host, (options.hosts ?? [url.host]).join(',')),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  await opening;
  return store;
};
