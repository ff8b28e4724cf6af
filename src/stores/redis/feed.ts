/**
 * @module The Redis store's change feed (`watch`): Pub/Sub on a channel derived from the prefix.
 *
 * Every script that writes or destroys a session (write, destroy, rename, revoke, and the cluster
 * rename's copy steps) ends with `PUBLISH <prefix>feed w:<key>` or `d:<key>`, inside the script,
 * so no change is ever made without its notice, and the notice is sent only after the change is
 * applied. Touches publish nothing (they move a deadline, never data).
 *
 * Why classic Pub/Sub and not keyspace notifications: those need `notify-keyspace-events` set on
 * every server (managed services often forbid `CONFIG SET`), report touches and the user index too,
 * and in a cluster are sent only by the node holding the key, so a watcher would need a connection
 * to every master and to follow resharding. Why not sharded Pub/Sub (`SPUBLISH`, Redis 7): a
 * session's channel would have to share its hash slot, so a watcher would subscribe to one channel
 * per slot (16384) on every master. A classic `PUBLISH` from a script is broadcast by the cluster
 * bus to every node, so one subscription on any node hears the whole cluster: that works the same
 * with ioredis and node-redis, on one server, Sentinel and Cluster. The price is that each change
 * crosses the cluster bus to every node, which is fine for sessions (writes are rare next to reads)
 * on clusters of tens of nodes.
 *
 * The subscription uses a dedicated connection (a duplicate of the store's client, or of one
 * master's in a cluster, moving on to the next master when it is lost), reconnected by the feed
 * loop, which reports `{ kind: 'feed', isLive: false }` when it drops and `isLive: true` once it is
 * subscribed again. A heartbeat PING every `commandTimeout` finds a connection that went silent
 * (a hung server, a lost network) within twice `commandTimeout`.
 *
 * Restriction: a store over node-redis Sentinel (`createSentinel`) has no `watch` (so a near cache
 * over it needs `ttlMs`): that client's own subscriptions reconnect and resubscribe on their own
 * without saying so, so the feed could not report the gap. ioredis with `sentinels` has `watch`.
 */
import type { Cluster as IoRedisCluster, Redis as IoRedis } from 'ioredis';
import { TesseraError } from '../../core/errors.js';
import {
  feedWithin,
  type FeedConnect,
  type FeedConnection,
  type FeedHandlers,
} from '../_shared/feed-loop.js';
import type { NodeRedisClientLike, NodeRedisClusterLike, RedisClient } from './commands.js';

/** The channel of the feed of `prefix`. */
export const feedChannel = (prefix: string): string => `${prefix}feed`;

/** The change a feed message tells, or `undefined` for a message this store did not send. */
export function parseFeedMessage(
  message: string,
): { kind: 'write' | 'destroy'; key: string } | undefined {
  const kind = message.startsWith('w:')
    ? 'write'
    : message.startsWith('d:')
      ? 'destroy'
      : undefined;
  return kind === undefined ? undefined : { kind, key: message.slice(2) };
}

/** What a subscriber connection needs to do, whichever library made it. */
interface Subscriber {
  ping(): Promise<unknown>;
  close(): Promise<void>;
}

/** A node-redis client as far as the feed uses it (v4 to v6). */
interface NodeRedisSubscribable extends NodeRedisClientLike {
  duplicate(overrides?: Record<string, unknown>): NodeRedisSubscribable;
  readonly options?: { socket?: Record<string, unknown> };
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  ping(): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Settings of {@link redisFeedConnect}. */
export interface RedisFeedSettings {
  prefix: string;
  /** The heartbeat period, and the bound on connecting, subscribing and each PING. */
  timeoutMs: number;
}

const within = feedWithin('redis');

const isIoRedis = (c: RedisClient): c is IoRedis | IoRedisCluster =>
  typeof (c as { call?: unknown }).call === 'function' &&
  typeof (c as { isCluster?: unknown }).isCluster === 'boolean';

/** The connect step of the feed loop for `client` (see the module comment). */
export function redisFeedConnect(client: RedisClient, settings: RedisFeedSettings): FeedConnect {
  const channel = feedChannel(settings.prefix);
  const ms = settings.timeoutMs;
  let turn = 0;
  const subscribe = async (h: FeedHandlers): Promise<Subscriber> => {
    const onMessage = (message: string): void => {
      const change = parseFeedMessage(message);
      if (change !== undefined) h.change(change.kind, change.key);
    };
    if (isIoRedis(client)) {
      let base: IoRedis | IoRedisCluster = client;
      if (client.isCluster) {
        const masters = (client as IoRedisCluster).nodes('master');
        if (masters.length === 0)
          throw new TesseraError(
            'STORE_UNAVAILABLE',
            'The redis store knows no cluster master yet.',
          );
        base = masters[turn++ % masters.length]!;
      }
      const sub = (base as IoRedis).duplicate({
        lazyConnect: true,
        autoResubscribe: false,
        enableOfflineQueue: false,
        retryStrategy: () => null,
        connectionName: 'tessera-feed',
      });
      sub.on('error', () => undefined);
      sub.on('message', (_channel: string, message: string) => onMessage(message));
      try {
        await within(sub.connect(), ms, 'connecting');
        sub.once('close', () => h.lost());
        await within(sub.subscribe(channel), ms, 'SUBSCRIBE');
      } catch (error) {
        sub.disconnect();
        throw error;
      }
      return { ping: () => sub.ping(), close: async () => sub.disconnect() };
    }
    if (typeof (client as { getMasterNode?: unknown }).getMasterNode === 'function')
      throw new TesseraError(
        'CONFIG',
        'The redis store cannot watch through a node-redis sentinel client; use ioredis with `sentinels` for a change feed.',
      );
    let base: NodeRedisSubscribable;
    if (typeof (client as { nodeClient?: unknown }).nodeClient === 'function') {
      const cluster = client as NodeRedisClusterLike;
      const masters = cluster.masters;
      if (masters.length === 0)
        throw new TesseraError('STORE_UNAVAILABLE', 'The redis store knows no cluster master yet.');
      base = (await cluster.nodeClient(
        masters[turn++ % masters.length]!,
      )) as unknown as NodeRedisSubscribable;
    } else {
      base = client as NodeRedisSubscribable;
    }
    const sub = base.duplicate({
      socket: { ...base.options?.socket, reconnectStrategy: false },
      pingInterval: undefined,
    });
    sub.on('error', () => undefined);
    try {
      await within(sub.connect(), ms, 'connecting');
      // With no reconnect strategy, node-redis reports a lost socket as an `error` (and no `end`).
      sub.on('error', () => sub.isReady || h.lost());
      sub.on('end', () => h.lost());
      await within(sub.subscribe(channel, onMessage), ms, 'SUBSCRIBE');
    } catch (error) {
      await Promise.resolve(sub.destroy?.()).catch(() => undefined);
      throw error;
    }
    return {
      ping: () => sub.ping(),
      close: async () => void (await Promise.resolve(sub.destroy?.()).catch(() => undefined)),
    };
  };

  return async (h): Promise<FeedConnection> => {
    const timer: { beat?: NodeJS.Timeout } = {};
    const sub = await subscribe({
      change: (kind, key) => h.change(kind, key),
      lost(error) {
        clearInterval(timer.beat);
        h.lost(error);
      },
    });
    // The heartbeat: a subscription hears nothing when no one writes, so silence proves nothing.
    const beat = (timer.beat = setInterval(() => {
      within(sub.ping(), ms, 'PING').catch((error: unknown) => {
        clearInterval(beat);
        void sub.close();
        h.lost(error);
      });
    }, ms));
    beat.unref();
    return {
      async close() {
        clearInterval(beat);
        await sub.close();
      },
    };
  };
}
