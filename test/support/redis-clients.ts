/**
 * Clients for the shared Redis test servers (single, Sentinel, Cluster) through ioredis and
 * node-redis, configured as the README tells users to configure theirs, and a helper that drops
 * every key under a test's prefix.
 */
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster, createSentinel } from 'redis';
import { afterAll } from 'vitest';
import type { Store } from '../../src/core/store.js';
import { redisStore, type RedisClient } from '../../src/stores/redis/index.js';
import { runStoreContract } from '../contract/store.js';
import { SERVICES } from './services.js';

/** A client plus how to clear keys and close it. */
export interface TestRedis {
  client: RedisClient;
  /** Deletes every key starting with `prefix` on every master. */
  drop(prefix: string): Promise<void>;
  close(): Promise<void>;
}

/** A random key prefix, so each test starts from an empty store. */
export const testPrefix = (): string => `t:${randomBytes(6).toString('hex')}:`;

const ioOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  lazyConnect: true,
} as const;

async function dropOn(send: (args: string[]) => Promise<unknown>, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = (await send(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [
      string,
      string[],
    ];
    for (const key of keys) await send(['DEL', key]);
    cursor = next;
  } while (cursor !== '0');
}

function forIoRedis(client: Redis | Cluster): TestRedis {
  client.on('error', () => undefined);
  return {
    client,
    async drop(prefix) {
      const nodes = client instanceof Cluster ? client.nodes('master') : [client];
      for (const node of nodes)
        await dropOn((args) => node.call(args[0]!, ...args.slice(1)), prefix);
    },
    async close() {
      client.disconnect();
    },
  };
}

/** ioredis on the single server. */
export async function ioredisSingle(): Promise<TestRedis> {
  const client = new Redis({ ...ioOptions, host: '127.0.0.1', port: SERVICES.redis.port });
  await client.connect();
  return forIoRedis(client);
}

/** ioredis through the sentinels. */
export async function ioredisSentinel(): Promise<TestRedis> {
  const s = SERVICES.redisSentinel;
  const client = new Redis({
    ...ioOptions,
    sentinels: s.sentinels.map((port) => ({ host: '127.0.0.1', port })),
    name: s.master,
  });
  await client.connect();
  return forIoRedis(client);
}

/** ioredis on the cluster. */
export async function ioredisCluster(): Promise<TestRedis> {
  const client = new Cluster(
    SERVICES.redisCluster.ports.slice(0, 3).map((port) => ({ host: '127.0.0.1', port })),
    {
      enableOfflineQueue: false,
      lazyConnect: true,
      redisOptions: { maxRetriesPerRequest: 0 },
    },
  );
  await client.connect();
  return forIoRedis(client);
}

/** node-redis on the single server. */
export async function nodeRedisSingle(): Promise<TestRedis> {
  const client = createClient({
    socket: { host: '127.0.0.1', port: SERVICES.redis.port },
    disableOfflineQueue: true,
  });
  client.on('error', () => undefined);
  await client.connect();
  return {
    client,
    drop: (prefix) => dropOn((args) => client.sendCommand(args), prefix),
    close: () => client.close(),
  };
}

/** node-redis through the sentinels. */
export async function nodeRedisSentinel(): Promise<TestRedis> {
  const s = SERVICES.redisSentinel;
  const client = createSentinel({
    name: s.master,
    sentinelRootNodes: s.sentinels.map((port) => ({ host: '127.0.0.1', port })),
  });
  client.on('error', () => undefined);
  await client.connect();
  return {
    client,
    drop: (prefix) => dropOn((args) => client.sendCommand(false, args), prefix),
    close: () => client.close(),
  };
}

/** node-redis on the cluster. */
export async function nodeRedisCluster(): Promise<TestRedis> {
  const client = createCluster({
    rootNodes: SERVICES.redisCluster.ports
      .slice(0, 3)
      .map((port) => ({ socket: { host: '127.0.0.1', port } })),
  });
  client.on('error', () => undefined);
  await client.connect();
  return {
    client,
    async drop(prefix) {
      for (const master of client.masters) {
        const node = await client.nodeClient(master);
        await dropOn((args) => node.sendCommand(args), prefix);
      }
    },
    close: () => client.close(),
  };
}

/**
 * Runs the store contract on stores sharing one client from `open` (created on first use, closed
 * after the file), each store under a fresh prefix that is dropped after its test.
 */
export function runRedisContract(
  name: string,
  open: () => Promise<TestRedis>,
  skip: string | false,
): void {
  let shared: Promise<TestRedis> | undefined;
  const prefixes = new Map<Store, string>();
  afterAll(async () => {
    if (shared) await (await shared).close();
  });
  runStoreContract({
    name,
    skip,
    lacks: {
      gc: 'native expiry: Redis deletes each session hash itself at its PEXPIREAT deadline',
    },
    async create(clock) {
      const t = await (shared ??= open());
      const prefix = testPrefix();
      const store = redisStore({ client: t.client, prefix, clock });
      prefixes.set(store, prefix);
      return store;
    },
    async dispose(store) {
      const prefix = prefixes.get(store);
      if (shared && prefix !== undefined) await (await shared).drop(prefix);
      prefixes.delete(store);
    },
  });
}
