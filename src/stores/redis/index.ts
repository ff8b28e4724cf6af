/**
 * @module The Redis store: a hash per session, deltas in Lua, on one server, Sentinel or Cluster.
 *
 * A session is one hash with native expiry; rename serves id renewal; a sorted set indexes each
 * user's sessions; ioredis or node-redis. Each call has one deadline, `commandTimeout`, for all its
 * round trips (and the wait for a client the store created to connect).
 *
 * Round trips per operation (one server or Sentinel): get 1 (HGETALL), write 1, touch 1, destroy 1,
 * rename 1, byUser 1, destroyByUser 1 (EVALSHA each), lock 1 (SET NX PX), unlock 1 (EVALSHA),
 * the same in a cluster for lock and unlock. In a cluster the user index lives in another slot
 * than the session: a write that binds or unbinds a user, a write or touch that moves the
 * session's padded index deadline (about once per idle period), and a destroy of a bound session
 * cost a second call to the index's slot; rename is a copy of 3 calls (5 with a user); byUser is
 * 1 + one HMGET per session; see `cluster.ts`.
 *
 * Change feed (`watch`): every script that writes or destroys a session also PUBLISHes the change
 * on `<prefix>feed` (no extra round trip), and `watch` SUBSCRIBEs on a dedicated connection; on a
 * cluster the classic PUBLISH reaches every node, so one subscription hears all. See `feed.ts`.
 *
 * Leases (`lock`/`unlock`): the key `<prefix>l:{<key>}`, in the session's hash slot, expired by
 * Redis itself; see `lock.ts`.
 */
import { TesseraError } from '../../core/errors.js';
import { parseStoreUrl, type StoreFactory } from '../../core/store-url.js';
import { systemClock, type Clock, type Store } from '../../core/store.js';
import { checkDuration } from '../../core/time.js';
import { warnLine } from '../_shared/warn.js';
import { redisCommands, type RedisClient, type RedisCommands } from './commands.js';
import { connectRedis } from './connect.js';
import { redisOperations } from './operations.js';
import { readRedisUrl, type RedisDriver, type RedisUrlSettings } from './url.js';

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
   * your own `error` listener to it (an unhandled `error` event ends a Node process), and give it
   * no offline queue, as the store does for clients it creates. The store bounds each call by
   * `commandTimeout`; a command timeout of the client's own is a second timer, and ioredis reports
   * its expiry with no code, so the call then ends in `STORE_UNAVAILABLE`.
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
  /**
   * Bound on each store call, in milliseconds: a call that takes longer (all its round trips)
   * rejects with `STORE_TIMEOUT`. A client the store creates also drops a connection that has
   * calls waiting and hears nothing for twice this long, and makes it again.
   * @default 2000
   */
  commandTimeout?: number;
  /**
   * How long a client the store created may take to connect. Calls made meanwhile wait for its
   * first attempt (within their own `commandTimeout`); once that failed, and whenever the client
   * knows it is disconnected, calls fail at once with `STORE_UNAVAILABLE` until it reconnects.
   * @default 5000
   */
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
/** The default `onError`. */
const warn = warnLine(STORE_NAME, 'calls fail with STORE_UNAVAILABLE until it answers again');

/**
 * Creates a Redis store.
 *
 * @example
 * import { Redis } from 'ioredis'
 * const client = new Redis({ enableOfflineQueue: false, maxRetriesPerRequest: 0 })
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
  const owner = 'the redis store';
  const timeoutMs = checkDuration(
    'commandTimeout',
    options.commandTimeout ?? fromUrl?.commandTimeout,
    2000,
    owner,
  );
  const connectTimeout = checkDuration(
    'connectTimeout',
    options.connectTimeout ?? fromUrl?.connectTimeout,
    5000,
    owner,
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
    commands = redisCommands(options.client, {
      closeTimeoutMs: timeoutMs,
      isOwned: false,
      maxInFlight,
    });
    opening = Promise.resolve(commands);
  } else if (fromUrl !== undefined) {
    const driver = options.driver ?? fromUrl.driver;
    opening = connectRedis(fromUrl.target, {
      ...(driver === undefined ? {} : { driver }),
      commandTimeout: timeoutMs,
      connectTimeout,
      onError,
      ...(options.clientOptions === undefined ? {} : { clientOptions: options.clientOptions }),
    }).then(({ client, ready, stop }) =>
      redisCommands(client, {
        closeTimeoutMs: timeoutMs,
        isOwned: true,
        ready,
        maxInFlight,
        onClose: stop,
      }),
    );
    // A failed import surfaces on the first call; keep it from being an unhandled rejection meanwhile.
    opening.catch(() => undefined);
  } else {
    throw new TesseraError(
      'CONFIG',
      'The redis store needs a `client` (ioredis or node-redis) or a `url` such as "redis://127.0.0.1:6379/0".',
    );
  }
  // node-redis Sentinel has no connection the feed can subscribe on and watch (see feed.ts).
  const isNodeSentinel =
    options.client !== undefined
      ? typeof (options.client as { getMasterNode?: unknown }).getMasterNode === 'function'
      : fromUrl?.target.mode === 'sentinel' && (options.driver ?? fromUrl.driver) === 'redis';
  const store = redisOperations({
    name: STORE_NAME,
    hasFeed: !isNodeSentinel,
    use: async () => (commands ??= await opening),
    timeoutMs,
    prefix,
    clock: options.clock ?? systemClock,
    onError,
  });
  return { store, opening };
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
