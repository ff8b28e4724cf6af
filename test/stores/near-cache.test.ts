import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory/index.js';
import { nearCache, type NearCacheStore } from '../../src/stores/near-cache/index.js';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { newKey, runStoreContract, testClock } from '../contract/store.js';
import {
  ioredisCluster,
  ioredisSingle,
  nodeRedisCluster,
  testPrefix,
  type TestRedis,
} from '../support/redis-clients.js';
import { hasRedisServer, redisProcess, type RedisProcess } from '../support/redis-servers.js';
import { SERVICES, skipUnless } from '../support/services.js';
import { freshTable } from '../support/sql-helpers.js';
import { dedicatedPostgres, dedicatedSkip, type DedicatedServer } from '../support/sql-servers.js';

const skipRedis = await skipUnless('Redis', SERVICES.redis.port);
const skipCluster = await skipUnless('Redis Cluster', SERVICES.redisCluster.ports[0]);
const skipPg = await skipUnless('PostgreSQL', 5499);
/** The bound every other process must honour a revoke within (generous for a loaded CI machine). */
const BOUND_MS = 1000;
const WORKER = fileURLToPath(new URL('../fixtures/near-cache/worker.ts', import.meta.url));

// ---------------------------------------------------------------------------------------------
// The contract, through the cache.

let sharedRedis: Promise<TestRedis> | undefined;
const redisPrefixes = new Map<Store, string>();
const pool = new pg.Pool({ connectionString: SERVICES.postgres.url, max: 20 });
pool.on('error', () => {});
const pgTables = new Map<Store, string>();
afterAll(async () => {
  if (sharedRedis) await (await sharedRedis).close();
  await pool.end();
});

runStoreContract({
  name: 'near-cache over redis',
  skip: skipRedis,
  lacks: { gc: 'native expiry: Redis deletes each session hash itself at its PEXPIREAT deadline' },
  async create(clock) {
    const t = await (sharedRedis ??= ioredisSingle());
    const prefix = testPrefix();
    const store = nearCache(redisStore({ client: t.client, prefix, clock }), {
      maxEntries: 1000,
      clock,
    });
    redisPrefixes.set(store, prefix);
    return store;
  },
  async dispose(store) {
    const prefix = redisPrefixes.get(store);
    if (sharedRedis && prefix !== undefined) await (await sharedRedis).drop(prefix);
    redisPrefixes.delete(store);
  },
});

for (const [name, open] of [
  ['ioredis', ioredisCluster],
  ['node-redis', nodeRedisCluster],
] as const) {
  let shared: Promise<TestRedis> | undefined;
  const prefixes = new Map<Store, string>();
  afterAll(async () => {
    if (shared) await (await shared).close();
  });
  runStoreContract({
    name: `near-cache over redis cluster (${name})`,
    skip: skipCluster,
    lacks: {
      gc: 'native expiry: Redis deletes each session hash itself at its PEXPIREAT deadline',
    },
    async create(clock) {
      const t = await (shared ??= open());
      const prefix = testPrefix();
      const store = nearCache(redisStore({ client: t.client, prefix, clock }), {
        maxEntries: 1000,
        clock,
      });
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

runStoreContract({
  name: 'near-cache over postgres',
  skip: skipPg,
  create(clock) {
    const table = freshTable('nc');
    const store = nearCache(postgresStore({ client: pool, clock, table }), {
      maxEntries: 1000,
      clock,
    });
    pgTables.set(store, table);
    return store;
  },
  async dispose(store) {
    const table = pgTables.get(store);
    if (table) await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_schema"`);
  },
});

// ---------------------------------------------------------------------------------------------
// In one process, over the memory store (a real store with a feed).

/** Waits until `check` holds. */
async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function cached(store: NearCacheStore, key: string): Promise<void> {
  await store.get(key);
  await until(() => store.stats().isLive);
  await store.get(key);
}

describe('near cache in one process', () => {
  const ttl = 60_000;
  it('serves a fresh record from memory, with no store call', async () => {
    const inner = memoryStore();
    let gets = 0;
    const store = nearCache({ ...inner, get: (k) => (gets++, inner.get(k)) }, { maxEntries: 10 });
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + ttl);
    await cached(store, key);
    const before = gets;
    expect((await store.get(key))?.data).toEqual({ a: 1 });
    expect((await store.get(key))?.data).toEqual({ a: 1 });
    expect(gets).toBe(before);
    expect(store.stats().hits).toBeGreaterThanOrEqual(2);
    await store.close();
  });

  it('hands every hit the same frozen record: no copy per hit, and no caller can change it', async () => {
    const store = nearCache(memoryStore(), { maxEntries: 10 });
    const key = newKey();
    await store.write(key, { create: true, set: { a: { b: 1 } } }, Date.now() + ttl);
    await cached(store, key);
    const first = (await store.get(key))!;
    expect(await store.get(key)).toBe(first);
    expect(() => {
      (first.data['a'] as Record<string, number>)['b'] = 2;
    }).toThrow(TypeError);
    expect((await store.get(key))?.data).toEqual({ a: { b: 1 } });
    // A touch moves the cached deadline on a new record; the one handed out stays as it was.
    const before = first.expiresAt;
    await store.touch(key, Date.now() + 2 * ttl);
    expect(first.expiresAt).toBe(before);
    expect((await store.get(key))?.expiresAt).toBeGreaterThan(before);
    await store.close();
  });

  it('drops an entry changed by another writer of the store (through its feed)', async () => {
    const inner = memoryStore();
    const store = nearCache(inner, { maxEntries: 10 });
    const key = newKey();
    await inner.write(key, { create: true, set: { a: 1 } }, Date.now() + ttl);
    await cached(store, key);
    await inner.write(key, { set: { a: 2 } }, Date.now() + ttl);
    expect((await store.get(key))?.data).toEqual({ a: 2 });
    await inner.destroy(key);
    expect(await store.get(key)).toBeUndefined();
    await store.close();
  });

  it('never serves a record past its idle or absolute deadline, nor past a key deadline', async () => {
    const clock = testClock();
    const inner = memoryStore({ clock });
    const store = nearCache(inner, { maxEntries: 10, clock });
    const key = newKey();
    const t = clock.now();
    await store.write(key, { create: true, set: { a: 1 }, absoluteExpiresAt: t + 5000 }, t + 1000);
    await cached(store, key);
    clock.advance(1000);
    expect(await store.get(key)).toBeUndefined();
    const other = newKey();
    await store.write(
      other,
      { create: true, set: { code: 1, keep: 2 }, expire: { code: t + 1500 } },
      t + ttl,
    );
    await store.get(other);
    expect((await store.get(other))?.data).toEqual({ code: 1, keep: 2 });
    clock.advance(600);
    expect((await store.get(other))?.data).toEqual({ keep: 2 });
    await store.close();
  });

  it('does not cache a read that started before a destroy and ended after it', async () => {
    const inner = memoryStore();
    let gate: Promise<void> | undefined;
    const slow: Store = {
      ...inner,
      async get(key) {
        const record = await inner.get(key);
        if (gate) await gate;
        return record;
      },
    };
    const store = nearCache(slow, { maxEntries: 10 });
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + ttl);
    await until(async () => (await store.get(key), store.stats().isLive));

    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    const reading = store.get(key);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await store.destroy(key);
    open();
    expect((await reading)?.data).toEqual({ a: 1 });
    gate = undefined;
    expect(await store.get(key)).toBeUndefined();
    await store.close();
  });

  it('caches nothing while the feed is down, and again once it is back', async () => {
    const inner = memoryStore();
    let report!: (change: { kind: 'feed'; isLive: boolean }) => void;
    let gets = 0;
    const store = nearCache(
      {
        ...inner,
        get: (k) => (gets++, inner.get(k)),
        async watch(onChange) {
          report = onChange;
          return inner.watch!(onChange);
        },
      },
      { maxEntries: 10 },
    );
    const key = newKey();
    await inner.write(key, { create: true, set: { a: 1 } }, Date.now() + ttl);
    await cached(store, key);
    report({ kind: 'feed', isLive: false });
    expect(store.stats()).toMatchObject({ isLive: false, size: 0 });
    const before = gets;
    await store.get(key);
    await store.get(key);
    expect(gets).toBe(before + 2);
    report({ kind: 'feed', isLive: true });
    await store.get(key);
    await store.get(key);
    expect(gets).toBe(before + 3);
    await store.close();
  });

  it('keeps at most maxEntries records, dropping the least recently used', async () => {
    const inner = memoryStore();
    const store = nearCache(inner, { maxEntries: 3 });
    const keys = Array.from({ length: 10 }, newKey);
    for (const key of keys) await store.write(key, { create: true }, Date.now() + ttl);
    await cached(store, keys[0]!);
    for (const key of keys) await store.get(key);
    expect(store.stats().size).toBe(3);
    await store.close();
  });

  it('with a store that has no feed: needs ttlMs (capped), and serves a record no longer than it', async () => {
    const clock = testClock();
    const { watch: _unused, ...noFeed } = memoryStore({ clock });
    expect(() => nearCache(noFeed, { maxEntries: 10 })).toThrow(/ttlMs/);
    expect(() => nearCache(noFeed, { maxEntries: 10, ttlMs: 60_000 })).toThrow(/at most 5000/);
    let gets = 0;
    const store = nearCache(
      { ...noFeed, get: (k) => (gets++, noFeed.get(k)) },
      { maxEntries: 10, ttlMs: 500, clock },
    );
    const key = newKey();
    await noFeed.write(key, { create: true, set: { a: 1 } }, clock.now() + ttl);
    await store.get(key);
    await noFeed.write(key, { set: { a: 2 } }, clock.now() + ttl);
    expect((await store.get(key))?.data).toEqual({ a: 1 });
    expect(gets).toBe(1);
    clock.advance(500);
    expect((await store.get(key))?.data).toEqual({ a: 2 });
    await store.close();
  });
});

// ---------------------------------------------------------------------------------------------
// Several real processes over one store.

interface Worker {
  call<T = unknown>(op: string, args?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

interface Stats {
  hits: number;
  misses: number;
  size: number;
  isLive: boolean;
  storeGets: number;
}

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

async function startWorker(backend: Record<string, unknown>): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NEAR_CACHE_BACKEND: JSON.stringify(backend) },
  });
  children.add(child);
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 1;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      if (m.id === 0) return resolve();
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(m.error));
      else w?.resolve(m.result);
    });
  });
  await ready;
  return {
    call: <T>(op: string, args: Record<string, unknown> = {}) =>
      new Promise<T>((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve: (v) => resolve(v as T), reject });
        child.send({ id, op, ...args });
      }),
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ id: next++, op: 'close' });
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      child.kill('SIGKILL');
      children.delete(child);
    },
  };
}

/** Reads `sid` in `w` until its session is cached there (a read that made no store call). */
async function cacheIn(w: Worker, sid: string): Promise<void> {
  await until(async () => {
    await w.call('read', { sid });
    const before = await w.call<Stats>('stats');
    const read = await w.call<{ name: string | null }>('read', { sid });
    const after = await w.call<Stats>('stats');
    return before.isLive && read.name !== null && after.storeGets === before.storeGets;
  }, 10_000);
}

/** How long until every worker refuses `sid`, from now; fails past {@link BOUND_MS}. */
async function refusedWithin(workers: Worker[], sid: string): Promise<number> {
  const start = performance.now();
  await Promise.all(
    workers.map((w) =>
      until(async () => (await w.call<{ isNew: boolean }>('read', { sid })).isNew, BOUND_MS),
    ),
  );
  return performance.now() - start;
}

const measured: Record<string, number[]> = {};
afterAll(() => {
  for (const [name, times] of Object.entries(measured))
    console.log(
      `[near-cache] ${name}: revoke honoured by every other process within ${Math.max(...times).toFixed(1)} ms (max of ${times.length})`,
    );
});

function multiProcess(name: string, skip: string | false, backend: () => Record<string, unknown>) {
  describe.skipIf(skip)(`near cache across processes: ${name}`, () => {
    it(`a logout or revoke in one process is refused by every other within ${BOUND_MS} ms`, async () => {
      const b = backend();
      const workers = await Promise.all([startWorker(b), startWorker(b), startWorker(b)]);
      try {
        const [w0, w1, w2] = workers;
        const times = (measured[name] ??= []);
        // Logout in w0.
        const sid = await w0.call<string>('login', { user: 'ann', name: 'ann' });
        for (const w of workers) await cacheIn(w, sid);
        await w0.call('logout', { sid });
        times.push(await refusedWithin([w1, w2], sid));
        // A change of data in w1 is read by the others at once.
        const sid2 = await w1.call<string>('login', { user: 'bo', name: 'bo' });
        for (const w of workers) await cacheIn(w, sid2);
        await w1.call('rename-data', { sid: sid2, name: 'bob' });
        await until(
          async () =>
            (
              await Promise.all(
                [w0, w2].map((w) => w.call<{ name: string }>('read', { sid: sid2 })),
              )
            ).every((r) => r.name === 'bob'),
          BOUND_MS,
        );
        // Revoking every session of a user in w2.
        const sid3 = await w0.call<string>('login', { user: 'cy', name: 'cy' });
        for (const w of workers) await cacheIn(w, sid3);
        expect(await w2.call('revokeUser', { user: 'cy' })).toBe(1);
        times.push(await refusedWithin([w0, w1], sid3));
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
    }, 60_000);
  });
}

multiProcess('redis (one server)', skipRedis, () => ({
  kind: 'redis',
  url: `redis://127.0.0.1:${SERVICES.redis.port}`,
  prefix: testPrefix(),
  maxEntries: 100,
}));
multiProcess('redis cluster', skipCluster, () => ({
  kind: 'redis',
  url: `redis+cluster://${SERVICES.redisCluster.ports
    .slice(0, 3)
    .map((p) => `127.0.0.1:${p}`)
    .join(',')}`,
  prefix: testPrefix(),
  maxEntries: 100,
}));
multiProcess('postgres', skipPg, () => ({
  kind: 'postgres',
  url: SERVICES.postgres.url,
  table: freshTable('ncmp'),
  maxEntries: 100,
}));

// ---------------------------------------------------------------------------------------------
// Losing the feed connection, on dedicated servers (the shared ones are never touched).

/**
 * Kills the workers' feed connections while the user they connect as may not log in, so the feed
 * stays down: reads then go to the store every time and see a change made meanwhile; once the
 * user may log in again the feed comes back and reads are cached again.
 */
async function feedLossCase(
  b: Record<string, unknown>,
  block: () => Promise<void>,
  unblock: () => Promise<void>,
  kill: () => Promise<void>,
): Promise<void> {
  const workers = await Promise.all([startWorker(b), startWorker(b)]);
  try {
    const [w0, w1] = workers;
    const sid = await w0.call<string>('login', { user: 'dee', name: 'dee' });
    await cacheIn(w1, sid);
    await block();
    await kill();
    await until(async () => !(await w1.call<Stats>('stats')).isLive, 5000);
    await w0.call('rename-data', { sid, name: 'dot' });
    expect((await w1.call<{ name: string }>('read', { sid })).name).toBe('dot');
    const before = await w1.call<Stats>('stats');
    await w1.call('read', { sid });
    await w1.call('read', { sid });
    const after = await w1.call<Stats>('stats');
    expect(after.isLive).toBe(false);
    expect(after.storeGets - before.storeGets).toBe(2);
    expect(after.size).toBe(0);
    await unblock();
    await until(async () => (await w1.call<Stats>('stats')).isLive, 10_000);
    await cacheIn(w1, sid);
    await w0.call('logout', { sid });
    await refusedWithin([w1], sid);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

const noRedisServer = (await hasRedisServer()) ? false : 'redis-server is not installed';
describe.skipIf(noRedisServer)('near cache when the Redis feed connection is lost', () => {
  let server: RedisProcess | undefined;
  afterAll(async () => server?.dispose());
  it('caches nothing until the subscription is back, then caches again', async () => {
    server = redisProcess(6581);
    await server.start();
    const admin = new Redis({ port: 6581, host: '127.0.0.1' });
    try {
      await admin.call('ACL', 'SETUSER', 'app', 'on', '>pw', '~*', '&*', '+@all');
      await feedLossCase(
        {
          kind: 'redis',
          url: 'redis://app:pw@127.0.0.1:6581',
          prefix: testPrefix(),
          maxEntries: 10,
        },
        // A user switched off may not log in again; its connections made before keep working.
        async () => void (await admin.call('ACL', 'SETUSER', 'app', 'off')),
        async () => void (await admin.call('ACL', 'SETUSER', 'app', 'on')),
        async () => void (await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')),
      );
    } finally {
      admin.disconnect();
    }
  }, 60_000);
});

const noPgServer = dedicatedSkip('postgres');
describe.skipIf(noPgServer)('near cache when the PostgreSQL LISTEN connection is lost', () => {
  let server: DedicatedServer | undefined;
  afterAll(async () => server?.remove());
  it('caches nothing until LISTEN is back, then caches again', async () => {
    server = await dedicatedPostgres(5581);
    await server.start();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE app LOGIN SUPERUSER`);
      await feedLossCase(
        {
          kind: 'postgres',
          url: `postgres://app@127.0.0.1:5581/postgres`,
          table: freshTable('ncf'),
          maxEntries: 10,
        },
        // NOLOGIN refuses new connections of the role; those already open keep working.
        async () => void (await admin.query('ALTER ROLE app NOLOGIN')),
        async () => void (await admin.query('ALTER ROLE app LOGIN')),
        async () =>
          void (await admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE usename = 'app' AND (query LIKE 'LISTEN%' OR query = 'SELECT 1')`,
          )),
      );
    } finally {
      await admin.end();
    }
  }, 90_000);
});
