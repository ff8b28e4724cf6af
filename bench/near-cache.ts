/**
 * `npx tsx bench/near-cache.ts`: session reads with and without the near cache, and how long a
 * change takes to reach another process's cache through the store's feed.
 *
 *   npx tsx bench/near-cache.ts [--reads=20000] [--changes=300] [--redis=6390] [--postgres=URL]
 *
 * Reads: one session read `reads` times in a row (a request's single store read), on Redis with
 * and without nearCache; round trips are the commands Redis counted (INFO commandstats).
 * Delivery: a write through one store, timed until a watcher on a second store (its own
 * connections, as another process has) hears it; PostgreSQL when `--postgres` is given or its test
 * server answers.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { Store } from '../src/core/store.js';
import { nearCache } from '../src/stores/near-cache/index.js';
import { postgresStore } from '../src/stores/postgres/index.js';
import { redisStore } from '../src/stores/redis/index.js';

const { values } = parseArgs({
  options: {
    reads: { type: 'string', default: '20000' },
    changes: { type: 'string', default: '300' },
    redis: { type: 'string', default: '6390' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5499/postgres' },
  },
});
const reads = Number(values.reads);
const changes = Number(values.changes);
const port = Number(values.redis);

const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;

async function commandCount(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/cmdstat_[^:]+:calls=(\d+)/g)) total += Number(m[1]);
  return total;
}

async function readBench(label: string, store: Store, admin: Redis): Promise<void> {
  const key = randomBytes(32).toString('base64url').slice(0, 43);
  await store.write(
    key,
    { create: true, set: { user: 'ann', cart: [1, 2, 3] } },
    Date.now() + 600_000,
  );
  // Warm up (and let a near cache's feed become live).
  for (let i = 0; i < 200; i++) await store.get(key);
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (let i = 0; i < 200; i++) await store.get(key);
  const times: number[] = [];
  const before = await commandCount(admin);
  const start = performance.now();
  for (let i = 0; i < reads; i++) {
    const t = performance.now();
    await store.get(key);
    times.push(performance.now() - t);
  }
  const total = performance.now() - start;
  // The INFO call itself counts once.
  const trips = (await commandCount(admin)) - before - 1;
  times.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(28)} ${Math.round(reads / (total / 1000))
      .toString()
      .padStart(
        9,
      )} gets/s  p50 ${fmt(pct(times, 50))}  p99 ${fmt(pct(times, 99))}  round trips/get ${(trips / reads).toFixed(3)}`,
  );
  await store.destroy(key);
}

async function deliveryBench(label: string, writer: Store, watcher: Store): Promise<void> {
  const waiting = new Map<string, (at: number) => void>();
  const unwatch = await watcher.watch!((change) => {
    if (change.kind === 'feed') return;
    waiting.get(change.key)?.(performance.now());
  });
  const delays: number[] = [];
  for (let i = 0; i < changes; i++) {
    const key = randomBytes(32).toString('base64url').slice(0, 43);
    const heard = new Promise<number>((resolve) => waiting.set(key, resolve));
    const start = performance.now();
    await writer.write(key, { create: true, set: { n: i } }, Date.now() + 60_000);
    delays.push((await heard) - start);
    waiting.delete(key);
    await writer.destroy(key);
  }
  await unwatch();
  delays.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(28)} write → other process's feed: p50 ${pct(delays, 50).toFixed(2)} ms  p99 ${pct(delays, 99).toFixed(2)} ms  max ${delays.at(-1)!.toFixed(2)} ms`,
  );
}

const prefix = `bench:nc:${randomBytes(4).toString('hex')}:`;
const admin = new Redis({ port, host: '127.0.0.1' });
const url = `redis://127.0.0.1:${port}`;
const plain = redisStore({ url, prefix });
const cached = nearCache(redisStore({ url, prefix }), { maxEntries: 10_000 });
const other = redisStore({ url, prefix });
console.log(`node ${process.version}, Redis on 127.0.0.1:${port}, ${reads} reads of one session`);
await readBench('redis', plain, admin);
await readBench('nearCache(redis)', cached, admin);
await deliveryBench('redis pub/sub', plain, other);
await Promise.all([plain.close(), cached.close(), other.close()]);
admin.disconnect();

const clusterUrl = 'redis+cluster://127.0.0.1:7390,127.0.0.1:7391,127.0.0.1:7392';
try {
  const a = redisStore({ url: clusterUrl, prefix });
  const b = redisStore({ url: clusterUrl, prefix });
  await a.check!();
  await b.check!();
  await deliveryBench('redis cluster pub/sub', a, b);
  await Promise.all([a.close(), b.close()]);
} catch (error) {
  console.log(`redis cluster skipped: ${String(error)}`);
}

const pool = new pg.Pool({ connectionString: values.postgres, max: 4 });
pool.on('error', () => {});
try {
  await pool.query('SELECT 1');
  const table = `bench_nc_${randomBytes(4).toString('hex')}`;
  const a = postgresStore({ client: pool, table });
  const b = postgresStore({ connection: values.postgres, table });
  await deliveryBench('postgres notify', a, b);
  await b.close();
  await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_schema"`);
} catch (error) {
  console.log(`postgres skipped: ${String(error)}`);
} finally {
  await pool.end();
}
