/**
 * The tiered store over real servers: the contract suite in each mode (Redis over PostgreSQL,
 * Memcached over PostgreSQL, memory over SQLite), then what each mode promises when a tier is
 * stopped or frozen, on a Redis and a PostgreSQL of this test's own, the async queue, and that no
 * destroyed session comes back from either tier, even through a fill racing the destroy.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isTesseraError } from '../../src/core/errors.js';
import type { Clock, Store } from '../../src/core/store.js';
import { createStore } from '../../src/stores/registry.js';
import { memcachedStore } from '../../src/stores/memcached/index.js';
import { memoryStore } from '../../src/stores/memory/index.js';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { sqliteStore } from '../../src/stores/sqlite/index.js';
import {
  tieredStore,
  type BackupMode,
  type DroppedWrite,
  type TieredStore,
  type TieredStoreOptions,
} from '../../src/stores/tiered/index.js';
import { MARK } from '../../src/stores/tiered/marks.js';
import { newKey, runStoreContract, testClock } from '../contract/store.js';
import { hasRedisServer, redisProcess, type RedisProcess } from '../support/redis-servers.js';
import { SERVICES, isListening, skipUnless } from '../support/services.js';
import { freshTable } from '../support/sql-helpers.js';
import { dedicatedPostgres, dedicatedSkip, type DedicatedServer } from '../support/sql-servers.js';

const MODES: readonly BackupMode[] = ['sync', 'async', 'off'];
const skipRedis = await skipUnless('Redis', SERVICES.redis.port);
const skipMemcached = await skipUnless('Memcached', SERVICES.memcached.port);
const skipPostgres = await skipUnless('PostgreSQL', 5499);
const skipRedisPg = skipRedis || skipPostgres;
const skipMemcachedPg = skipMemcached || skipPostgres;
const dir = mkdtempSync(join(tmpdir(), 'tessera-tiered-'));
const unique = (): string => randomBytes(5).toString('hex');
const hour = (clock: Clock = { now: Date.now }): number => clock.now() + 3_600_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const pool = new pg.Pool({ connectionString: SERVICES.postgres.url, max: 20 });
pool.on('error', () => {});
let redis: Redis | undefined;
async function sharedRedis(): Promise<Redis> {
  if (redis === undefined) {
    redis = new Redis({
      host: '127.0.0.1',
      port: SERVICES.redis.port,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    redis.on('error', () => undefined);
    await redis.connect();
  }
  return redis;
}
afterAll(async () => {
  redis?.disconnect();
  await pool.end();
  rmSync(dir, { recursive: true, force: true });
});

/** What a test made on the shared servers, dropped after it. */
const made = new Map<Store, () => Promise<void>>();
async function dropPrefix(prefix: string): Promise<void> {
  const client = await sharedRedis();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

interface Tiers {
  cache: Store;
  durable: Store;
}
const tiersOf = new WeakMap<Store, Tiers>();
/** The key prefix and table a tier was made with, for a second store over the same data. */
const prefixes = new WeakMap<Store, string>();
const tables = new WeakMap<Store, string>();
const cacheKeyPrefix = (cache: Store): string => prefixes.get(cache)!;
const tableOf = (durable: Store): string => tables.get(durable)!;

async function redisOverPostgres(clock: Clock): Promise<Tiers & { drop(): Promise<void> }> {
  const prefix = `tt:${unique()}:`;
  const table = freshTable('tiered');
  const cache = redisStore({ client: await sharedRedis(), prefix, clock });
  const durable = postgresStore({ client: pool, table, clock });
  prefixes.set(cache, prefix);
  tables.set(durable, table);
  return {
    cache,
    durable,
    async drop() {
      await dropPrefix(prefix);
      await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_schema"`);
    },
  };
}
async function memcachedOverPostgres(clock: Clock): Promise<Tiers & { drop(): Promise<void> }> {
  const table = freshTable('tiered');
  return {
    cache: memcachedStore({
      servers: [`127.0.0.1:${SERVICES.memcached.port}`],
      prefix: `tt${unique()}:`,
      clock,
    }),
    durable: postgresStore({ client: pool, table, clock }),
    drop: () => pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_schema"`).then(() => {}),
  };
}
async function memoryOverSqlite(clock: Clock): Promise<Tiers & { drop(): Promise<void> }> {
  return {
    cache: memoryStore({ clock }),
    durable: sqliteStore({ path: join(dir, `${unique()}.db`), clock }),
    drop: async () => {},
  };
}

type Pair = (clock: Clock) => Promise<Tiers & { drop(): Promise<void> }>;
async function open(
  pair: Pair,
  clock: Clock,
  options: Omit<TieredStoreOptions, 'cache' | 'durable'> = {},
): Promise<TieredStore> {
  const { drop, ...tiers } = await pair(clock);
  const store = tieredStore({ ...tiers, clock, onBackupError: () => {}, ...options });
  tiersOf.set(store, tiers);
  made.set(store, drop);
  return store;
}
const tiers = (store: Store): Tiers => tiersOf.get(store)!;
afterEach(async () => {
  for (const [store, drop] of made) {
    await store.close().catch(() => {});
    await drop();
  }
  made.clear();
});

const MEMCACHED_OFF_LACKS = {
  byUser: 'with backup off the abilities are the cache’s: memcached has no user index',
  count: 'with backup off the abilities are the cache’s: memcached cannot count',
  scan: 'with backup off the abilities are the cache’s: memcached cannot list keys',
  gc: 'with backup off the abilities are the cache’s: memcached expires natively',
};

for (const mode of MODES) {
  for (const [name, pair, skip] of [
    ['redis over postgres', redisOverPostgres, skipRedisPg],
    ['memcached over postgres', memcachedOverPostgres, skipMemcachedPg],
    ['memory over sqlite', memoryOverSqlite, false],
  ] as const) {
    runStoreContract({
      name: `tiered (${mode}): ${name}`,
      skip,
      raceRounds: 25,
      create: (clock) => open(pair, clock, { backup: mode }),
      async dispose(store) {
        const drop = made.get(store);
        made.delete(store);
        await drop?.();
      },
      ...(mode === 'off' && pair === memcachedOverPostgres ? { lacks: MEMCACHED_OFF_LACKS } : {}),
    });
  }
}

/** A store whose `get` can be held after it read, to line a fill up behind a destroy. */
function heldReads(store: Store): { store: Store; hold(): { reached: Promise<void>; go(): void } } {
  let gate: { reached: () => void; open: Promise<void> } | undefined;
  return {
    store: {
      ...store,
      async get(key) {
        const record = await store.get(key);
        const held = gate;
        if (held !== undefined) {
          gate = undefined;
          held.reached();
          await held.open;
        }
        return record;
      },
    },
    hold() {
      let reached!: () => void;
      let go!: () => void;
      const reachedP = new Promise<void>((r) => (reached = r));
      const open = new Promise<void>((r) => (go = r));
      gate = { reached, open };
      return { reached: reachedP, go };
    },
  };
}

describe.skipIf(skipRedisPg)('tiered store over Redis and PostgreSQL', () => {
  it('fills the cache on a miss with the record’s own deadline, and serves it from there', async () => {
    const clock = testClock();
    const store = await open(redisOverPostgres, clock);
    const { cache, durable } = tiers(store);
    const key = newKey();
    const t = clock.now();
    await durable.write(
      key,
      { create: true, createdAt: t, absoluteExpiresAt: t + 90_000, set: { a: 1 }, userId: 'u' },
      t + 30_000,
    );
    expect(await cache.get(key)).toBeUndefined();
    const record = await store.get(key);
    expect(record).toMatchObject({ data: { a: 1 }, expiresAt: t + 30_000, userId: 'u' });
    const copy = await cache.get(key);
    expect(copy?.expiresAt).toBe(t + 30_000);
    expect(copy?.absoluteExpiresAt).toBe(t + 90_000);
    // Served from the cache now: a change made behind the tiered store's back is not seen.
    await durable.write(key, { set: { a: 2 } }, t + 30_000);
    expect((await store.get(key))?.data).toEqual({ a: 1 });
  });

  for (const mode of ['sync', 'async'] as const) {
    for (const where of ['this process', 'another process'] as const) {
      it(`(${mode}) a fill that read the durable tier before a destroy by ${where} does not bring the session back`, async () => {
        const clock = testClock();
        const { drop, cache, durable } = await redisOverPostgres(clock);
        const held = heldReads(durable);
        const reader = tieredStore({ cache, durable: held.store, clock, backup: mode });
        const other =
          where === 'this process'
            ? reader
            : tieredStore({
                cache: redisStore({ client: await sharedRedis(), prefix: cacheKeyPrefix(cache) }),
                durable: postgresStore({ client: pool, table: tableOf(durable) }),
                clock,
                backup: mode,
              });
        try {
          const key = newKey();
          await durable.write(
            key,
            { create: true, set: { who: 'alice' }, userId: 'alice' },
            hour(clock),
          );
          const gate = held.hold();
          const read = reader.get(key);
          await gate.reached; // the reader has the record from the durable tier, not yet filled
          await other.destroy(key);
          gate.go();
          expect((await read)?.data).toEqual({ who: 'alice' }); // it began before the destroy
          expect(await reader.get(key)).toBeUndefined();
          expect(await other.get(key)).toBeUndefined();
          expect(await durable.get(key)).toBeUndefined();
          // The cache holds a tombstone, not the session.
          expect((await cache.get(key))?.data).toEqual({
            [MARK]: expect.stringMatching(/^destroyed:/),
          });
          // Long after the tombstone is gone, neither tier has it.
          clock.advance(60_000);
          expect(await cache.get(key)).toBeUndefined();
          expect(await reader.get(key)).toBeUndefined();
        } finally {
          if (other !== reader) await other.close();
          await reader.close();
          await drop();
        }
      });
    }
  }

  it('keeps its cache copy through writes, so reads stay in the cache', async () => {
    for (const backup of ['sync', 'async'] as const) {
      const clock = testClock();
      const store = await open(redisOverPostgres, clock, { backup });
      const { cache } = tiers(store);
      const key = newKey();
      await store.write(key, { create: true, set: { a: 1 }, incr: { n: 1 } }, hour(clock));
      await store.write(key, { set: { b: 2 }, incr: { n: 1 } }, hour(clock));
      await store.touch(key, hour(clock) + 1000);
      expect((await cache.get(key))?.data).toEqual({ a: 1, b: 2, n: 2, [MARK]: 0 });
      expect(await store.get(key)).toMatchObject({ data: { a: 1, b: 2, n: 2 } });
    }
  });

  it('(sync) never serves the old key of a renamed session again, not even through a racing fill', async () => {
    const clock = testClock();
    const { drop, cache, durable } = await redisOverPostgres(clock);
    const held = heldReads(durable);
    const store = tieredStore({ cache, durable: held.store, clock });
    try {
      const oldKey = newKey();
      const freshKey = newKey();
      await durable.write(oldKey, { create: true, set: { a: 1 } }, hour(clock));
      const gate = held.hold();
      const read = store.get(oldKey);
      await gate.reached;
      expect(await store.rename!(oldKey, freshKey)).toBe(true);
      gate.go();
      await read;
      expect(await store.get(oldKey)).toBeUndefined();
      expect((await store.get(freshKey))?.data).toEqual({ a: 1 });
      clock.advance(60_000);
      expect(await store.get(oldKey)).toBeUndefined();
    } finally {
      await store.close();
      await drop();
    }
  });

  for (const backup of ['sync', 'async'] as const)
    it(`(${backup}) logs a user out everywhere in both tiers, keeping the one session asked for`, async () => {
      const clock = testClock();
      const store = await open(redisOverPostgres, clock, { backup });
      const { cache, durable } = tiers(store);
      const user = `u-${unique()}`;
      const keys = [newKey(), newKey(), newKey()];
      for (const key of keys) await store.write(key, { create: true, userId: user }, hour(clock));
      for (const key of keys) expect(await store.get(key)).toBeDefined();
      expect(await store.destroyByUser!(user, keys[0])).toBe(2);
      expect(await store.get(keys[0]!)).toBeDefined();
      for (const key of keys.slice(1)) {
        expect(await store.get(key)).toBeUndefined();
        expect(await durable.get(key)).toBeUndefined();
        expect((await cache.get(key))?.data[MARK]).toMatch(/^destroyed:/);
      }
      expect((await store.byUser!(user)).map((s) => s.key)).toEqual([keys[0]]);
    });

  it('(sync) answers increments with the durable tier’s counters, and drops a cache copy that disagrees', async () => {
    const clock = testClock();
    const store = await open(redisOverPostgres, clock);
    const { cache, durable } = tiers(store);
    const key = newKey();
    await store.write(key, { create: true, incr: { n: 5 } }, hour(clock));
    // The cache missed a write (as while it was unreachable): the copies disagree.
    await cache.write(key, { set: { n: 100 } }, hour(clock));
    const result = await store.write(key, { incr: { n: 1 } }, hour(clock));
    expect(result.counters).toEqual({ n: 6 });
    expect((await store.get(key))?.data).toEqual({ n: 6 });
    expect((await cache.get(key))?.data[MARK]).toMatch(/^stale:/);
    expect((await durable.get(key))?.data).toEqual({ n: 6 });
  });

  it('(async) answers increments from the cache and repairs a durable tier that missed writes', async () => {
    const clock = testClock();
    const store = await open(redisOverPostgres, clock, { backup: 'async' });
    const { durable } = tiers(store);
    const key = newKey();
    await store.write(key, { create: true, incr: { n: 5 } }, hour(clock));
    await store.flush();
    await durable.write(key, { set: { n: 100 } }, hour(clock)); // the durable tier diverged
    expect((await store.write(key, { incr: { n: 1 } }, hour(clock))).counters).toEqual({ n: 6 });
    const report = await store.flush();
    expect(report).toMatchObject({ isDone: true, pending: 0 });
    expect((await durable.get(key))?.data).toEqual({ n: 6 });
  });

  it('is made from a tiered: URL naming both tiers, and refuses a bad one', async () => {
    const prefix = `tt:${unique()}:`;
    const table = freshTable('tiered');
    const cacheUrl = `redis://127.0.0.1:${SERVICES.redis.port}?prefix=${encodeURIComponent(prefix)}`;
    const durableUrl = `${SERVICES.postgres.url}?table=${table}`;
    const store = await createStore(
      `tiered:?cache=${encodeURIComponent(cacheUrl)}&durable=${encodeURIComponent(durableUrl)}&backup=async&maxPending=50`,
    );
    try {
      expect(store).toMatchObject({ name: 'tiered', backup: 'async', pending: 0 });
      const key = newKey();
      await store.write(key, { create: true, set: { via: 'url' } }, hour());
      await (store as TieredStore).flush();
      const { rows } = await pool.query<{ data: unknown }>(
        `SELECT data FROM "${table}" WHERE id_hash = $1`,
        [key],
      );
      expect(rows[0]?.data).toEqual({ via: 'url' });
    } finally {
      await store.close();
      await dropPrefix(prefix);
      await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_schema"`);
    }
    await expect(
      createStore(`tiered:?cache=${encodeURIComponent(cacheUrl)}`),
    ).rejects.toMatchObject({
      code: 'CONFIG',
    });
    await expect(
      createStore(`tiered:?cache=memory%3A&durable=memory%3A&backup=later`),
    ).rejects.toMatchObject({ code: 'CONFIG' });
    await expect(
      createStore(`tiered:?cache=memory%3A&durable=memory%3A&size=1`),
    ).rejects.toMatchObject({ code: 'CONFIG' });
  });
});

const skipDedicated = (await hasRedisServer())
  ? dedicatedSkip('postgres')
  : 'redis-server is not installed, so no dedicated Redis can be started for the failure tests';
if (skipDedicated) console.warn(`[tessera] SKIPPED: ${skipDedicated}`);
const REDIS_TIMEOUT = 500;
const PG_TIMEOUT = 1000;

/** The code a call failed with, and how long it took. */
async function failure(call: Promise<unknown>): Promise<{ code: string; ms: number }> {
  const started = Date.now();
  try {
    await call;
  } catch (error) {
    return { code: isTesseraError(error) ? error.code : String(error), ms: Date.now() - started };
  }
  throw new Error('expected the call to fail');
}
async function timed<T>(call: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await call;
  return { value, ms: Date.now() - started };
}
async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe.skipIf(skipDedicated)('tiered store when a tier is stopped or frozen', () => {
  let cacheServer: RedisProcess;
  let durableServer: DedicatedServer;
  const opened: Store[] = [];
  beforeAll(async () => {
    cacheServer = redisProcess(6482);
    await cacheServer.start();
    durableServer = await dedicatedPostgres(5481);
    await durableServer.start();
  }, 120_000);
  afterAll(async () => {
    try {
      for (const store of opened) await store.close().catch(() => {});
    } finally {
      await cacheServer?.dispose();
      await durableServer?.remove();
    }
  }, 60_000);
  afterEach(async () => {
    cacheServer.resume();
    durableServer.thaw();
    await cacheServer.start();
    if (!(await isListening(durableServer.port))) await durableServer.start();
  }, 60_000);

  const errors: Array<{ tier: string; op: string }> = [];
  function openTiered(
    backup: BackupMode,
    options: Omit<TieredStoreOptions, 'cache' | 'durable'> = {},
  ): TieredStore & Tiers {
    const cache = redisStore({
      url: `redis://127.0.0.1:${cacheServer.port}`,
      prefix: `f:${unique()}:`,
      commandTimeout: REDIS_TIMEOUT,
      connectTimeout: REDIS_TIMEOUT,
      onError: () => {},
    });
    const table = freshTable('f');
    const durable = postgresStore({
      connection: durableServer.url,
      table,
      timeout: PG_TIMEOUT,
      onError: () => {},
    });
    tables.set(durable, table);
    const store = tieredStore({
      cache,
      durable,
      backup,
      onBackupError: (_error, f) => errors.push({ tier: f.tier, op: f.op }),
      ...options,
    });
    opened.push(store);
    return Object.assign(store, { cache, durable });
  }

  it('(sync) with the durable tier down: cached reads work; misses, writes and destroys fail fast with STORE_UNAVAILABLE; then it heals', async () => {
    const store = openTiered('sync');
    const cached = newKey();
    const uncached = newKey();
    await store.write(cached, { create: true, set: { a: 1 } }, hour());
    await store.durable.write(uncached, { create: true, set: { b: 1 } }, hour());
    await durableServer.crash();

    const hit = await timed(store.get(cached));
    expect(hit.value?.data).toEqual({ a: 1 });
    expect(hit.ms).toBeLessThan(200);
    for (const call of [
      () => store.get(uncached),
      () => store.write(cached, { set: { a: 2 } }, hour()),
      () => store.touch(uncached, hour()),
      () => store.destroy(uncached),
      () => store.byUser!('u'),
    ]) {
      const { code, ms } = await failure(call());
      expect(code).toBe('STORE_UNAVAILABLE');
      expect(ms).toBeLessThan(PG_TIMEOUT + 100);
    }
    // The failed write's outcome is unknown, so the cache no longer answers for that session.
    expect((await failure(store.get(cached))).code).toBe('STORE_UNAVAILABLE');

    await durableServer.start();
    await until('the durable tier', async () => (await store.get(cached)) !== undefined);
    expect((await store.get(cached))?.data).toEqual({ a: 1 });
    await store.write(cached, { set: { a: 3 } }, hour());
    expect((await store.get(cached))?.data).toEqual({ a: 3 });
    // The destroy that failed is retried, and then the session is gone from both tiers.
    await store.destroy(uncached);
    expect(await store.get(uncached)).toBeUndefined();
    expect(await store.durable.get(uncached)).toBeUndefined();
  }, 60_000);

  it('(sync) with the durable tier frozen: writes end in STORE_TIMEOUT within its timeout, cached reads stay fast', async () => {
    const store = openTiered('sync');
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, hour());
    const other = newKey();
    await store.write(other, { create: true, set: { o: 1 } }, hour());
    await durableServer.freeze();
    try {
      const { code, ms } = await failure(store.write(key, { set: { a: 2 } }, hour()));
      expect(code).toBe('STORE_TIMEOUT');
      expect(ms).toBeGreaterThanOrEqual(PG_TIMEOUT - 50);
      expect(ms).toBeLessThan(PG_TIMEOUT + 600);
      const hit = await timed(store.get(other));
      expect(hit.value?.data).toEqual({ o: 1 });
      expect(hit.ms).toBeLessThan(200);
    } finally {
      durableServer.thaw();
    }
    // The timed-out write may have landed: reads now come from the durable tier, which decides.
    await until('the durable tier', async () => (await store.get(key)) !== undefined);
    expect((await store.get(key))?.data).toEqual((await store.durable.get(key))?.data);
  }, 60_000);

  it('(sync) with the cache down: reads and writes work from the durable tier and are reported; a destroy fails until the cache is back', async () => {
    errors.length = 0;
    const store = openTiered('sync');
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, hour());
    await cacheServer.stop();

    const read = await timed(store.get(key));
    expect(read.value?.data).toEqual({ a: 1 });
    expect(read.ms).toBeLessThan(REDIS_TIMEOUT + 100);
    expect((await store.write(key, { incr: { n: 1 } }, hour())).counters).toEqual({ n: 1 });
    expect((await store.get(key))?.data).toEqual({ a: 1, n: 1 });
    expect(errors.some((e) => e.tier === 'cache')).toBe(true);
    const destroyed = await failure(store.destroy(key));
    expect(destroyed.code).toBe('STORE_UNAVAILABLE');
    expect(await store.durable.get(key)).toBeUndefined();

    await cacheServer.start();
    await until('the cache', async () => (await store.cache.get(newKey())) === undefined);
    await store.destroy(key);
    expect(await store.get(key)).toBeUndefined();
  }, 60_000);

  it('(sync) with the cache frozen: calls wait out the cache’s timeout, then answer from the durable tier, and the copy heals', async () => {
    const store = openTiered('sync');
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, hour());
    await cacheServer.pause();
    try {
      const read = await timed(store.get(key));
      expect(read.value?.data).toEqual({ a: 1 });
      expect(read.ms).toBeGreaterThanOrEqual(REDIS_TIMEOUT - 50);
      expect(read.ms).toBeLessThan(REDIS_TIMEOUT + PG_TIMEOUT);
      const write = await timed(store.write(key, { set: { a: 2 } }, hour()));
      expect(write.value.existed).toBe(true);
    } finally {
      cacheServer.resume();
    }
    await sleep(200);
    expect((await store.get(key))?.data).toEqual({ a: 2 });
    expect((await store.durable.get(key))?.data).toEqual({ a: 2 });
  }, 60_000);

  it('(async) with the durable tier down: writes answer from the cache, the queue stays bounded and reports drops, and everything queued heals once it is back', async () => {
    const dropped: DroppedWrite[] = [];
    const store = openTiered('async', {
      maxPending: 4,
      retryMs: 200,
      onDrop: (d) => dropped.push(d),
    });
    const keys = [newKey(), newKey(), newKey()];
    for (const key of keys) await store.write(key, { create: true, set: { v: 0 } }, hour());
    expect((await store.flush(5000)).isDone).toBe(true);
    await durableServer.crash();

    for (const key of keys) {
      const { value, ms } = await timed(
        store.write(key, { set: { v: 1 }, incr: { n: 1 } }, hour()),
      );
      expect(value).toEqual({ existed: true, counters: { n: 1 } });
      expect(ms).toBeLessThan(200);
    }
    await sleep(300);
    const extra = Array.from({ length: 6 }, newKey);
    for (const key of extra) await store.write(key, { create: true, set: { extra: 1 } }, hour());
    expect(store.pending).toBeGreaterThan(0);
    expect(store.pending).toBeLessThanOrEqual(4);
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.every((d) => d.reason === 'full' && extra.includes(d.key))).toBe(true);
    for (const key of keys) expect((await store.get(key))?.data).toEqual({ v: 1, n: 1 });

    await durableServer.start();
    const report = await store.flush(15_000);
    expect(report).toMatchObject({ isDone: true, pending: 0 });
    for (const key of keys) expect((await store.durable.get(key))?.data).toEqual({ v: 1, n: 1 });
    const missed = new Set(dropped.map((d) => d.key));
    for (const key of extra)
      if (!missed.has(key)) expect((await store.durable.get(key))?.data).toEqual({ extra: 1 });
  }, 60_000);

  it('(async) close() flushes the queue to the durable tier', async () => {
    const store = openTiered('async', { concurrency: 1 });
    const keys = Array.from({ length: 100 }, newKey);
    await Promise.all(keys.map((key, i) => store.write(key, { create: true, set: { i } }, hour())));
    expect(store.pending).toBeGreaterThan(0);
    const durableAgain = postgresStore({
      connection: durableServer.url,
      table: tableOf(store.durable),
      timeout: PG_TIMEOUT,
    });
    await store.close();
    try {
      for (const [i, key] of keys.entries())
        expect((await durableAgain.get(key))?.data).toEqual({ i });
    } finally {
      await durableAgain.close();
    }
  }, 60_000);

  it('(async) close() with the durable tier frozen gives up after closeTimeout and reports what it dropped', async () => {
    const dropped: DroppedWrite[] = [];
    const store = openTiered('async', {
      closeTimeout: 300,
      concurrency: 1,
      onDrop: (d) => dropped.push(d),
    });
    const keys = Array.from({ length: 5 }, newKey);
    for (const key of keys) await store.write(key, { create: true }, hour());
    await store.flush(5000);
    await durableServer.freeze();
    for (const key of keys) await store.write(key, { set: { late: true } }, hour());
    const started = Date.now();
    const closing = store.close();
    await until('the drops', async () => dropped.length > 0, 3000);
    expect(Date.now() - started).toBeLessThan(1500);
    durableServer.thaw();
    await closing;
    expect(dropped.every((d) => d.reason === 'closed' && keys.includes(d.key))).toBe(true);
    // One write was in flight when time ran out; the others were dropped and reported.
    expect(dropped.length).toBe(keys.length - 1);
  }, 60_000);

  it('(async) with the cache down: writes fail with STORE_UNAVAILABLE, reads fall back to the durable tier', async () => {
    const store = openTiered('async');
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, hour());
    await store.flush(5000);
    await cacheServer.stop();
    expect((await failure(store.write(key, { set: { a: 2 } }, hour()))).code).toBe(
      'STORE_UNAVAILABLE',
    );
    expect((await store.get(key))?.data).toEqual({ a: 1 });
    expect((await failure(store.destroy(key))).code).toBe('STORE_UNAVAILABLE');
    expect(await store.durable.get(key)).toBeUndefined();
  }, 60_000);
});

describe("tiered store with backup 'off'", () => {
  it('keeps records in the cache only, and removes an old durable copy on destroy and rename', async () => {
    const clock = testClock();
    const store = await open(memoryOverSqlite, clock, { backup: 'off' });
    const { durable } = tiers(store);
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, hour(clock));
    expect((await store.get(key))?.data).toEqual({ a: 1 });
    expect(await durable.get(key)).toBeUndefined();
    // Copies left in the durable tier by an earlier `sync` run are never read, and are removed.
    const old = newKey();
    const renamed = newKey();
    await durable.write(old, { create: true, set: { old: true } }, hour(clock));
    await durable.write(renamed, { create: true, set: { old: true } }, hour(clock));
    expect(await store.get(old)).toBeUndefined();
    await store.destroy(old);
    expect(await durable.get(old)).toBeUndefined();
    await store.write(renamed, { create: true, set: { now: true } }, hour(clock));
    expect(await store.rename!(renamed, newKey())).toBe(true);
    expect(await durable.get(renamed)).toBeUndefined();
  });
});
