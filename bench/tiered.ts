/**
 * The tiered store (issue 13) against each of its tiers alone, on the test servers
 * (scripts/services.sh: Redis 6390, PostgreSQL 5499): get and write latency (one call at a time)
 * and throughput (`CONCURRENCY` calls in flight) of Redis, PostgreSQL, and Redis over PostgreSQL
 * with `backup: 'sync'` and `'async'`. Each contender has its own key prefix or table, dropped at
 * the end.
 *
 *   npx tsx bench/tiered.ts          a table
 *   npx tsx bench/tiered.ts --json   the results as JSON on the last line
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Store } from '../src/core/store.js';
import { postgresStore } from '../src/stores/postgres/index.js';
import { redisStore } from '../src/stores/redis/index.js';
import { tieredStore } from '../src/stores/tiered/index.js';
import { newKey } from '../src/testing/harness.js';
import { isListening, SERVICES } from '../test/support/services.js';

const SESSIONS = 2000;
const LATENCY_CALLS = 2000;
const CONCURRENCY = 32;
const THROUGHPUT_MS = 2000;

interface Row {
  store: string;
  'get p50 µs': number;
  'get p99 µs': number;
  'get ops/s': number;
  'write p50 µs': number;
  'write p99 µs': number;
  'write ops/s': number;
  /** `async`: durable writes dropped because the queue was full (the cache has them). */
  'durable drops': number;
}

let drops = 0;

const quantile = (sorted: number[], q: number): number =>
  Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000);

async function latency(call: (i: number) => Promise<unknown>): Promise<[number, number]> {
  const times: number[] = [];
  for (let i = 0; i < LATENCY_CALLS; i++) {
    const started = performance.now();
    await call(i);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return [quantile(times, 0.5), quantile(times, 0.99)];
}

async function throughput(call: (i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  const until = performance.now() + THROUGHPUT_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = worker; performance.now() < until; i += CONCURRENCY) {
        await call(i);
        done++;
      }
    }),
  );
  return Math.round(done / (THROUGHPUT_MS / 1000));
}

async function measure(name: string, store: Store): Promise<Row> {
  drops = 0;
  const keys = Array.from({ length: SESSIONS }, newKey);
  const until = (): number => Date.now() + 3_600_000;
  for (const key of keys)
    await store.write(key, { create: true, set: { cart: ['apple'], visits: 1 } }, until());
  const key = (i: number): string => keys[i % SESSIONS]!;
  // Warm up, and fill the cache tier as a first request of each session would.
  for (const k of keys) await store.get(k);
  const get = (i: number): Promise<unknown> => store.get(key(i));
  const write = (i: number): Promise<unknown> =>
    store.write(key(i), { set: { last: i }, incr: { visits: 1 } }, until());
  const [getP50, getP99] = await latency(get);
  const getOps = await throughput(get);
  const [writeP50, writeP99] = await latency(write);
  const writeOps = await throughput(write);
  await (store as Partial<{ flush(ms: number): Promise<unknown> }>).flush?.(30_000);
  return {
    store: name,
    'get p50 µs': getP50,
    'get p99 µs': getP99,
    'get ops/s': getOps,
    'write p50 µs': writeP50,
    'write p99 µs': writeP99,
    'write ops/s': writeOps,
    'durable drops': drops,
  };
}

async function main(): Promise<void> {
  for (const [name, port] of [
    ['Redis', SERVICES.redis.port],
    ['PostgreSQL', 5499],
  ] as const)
    if (!(await isListening(port)))
      throw new Error(
        `${name} is not running on 127.0.0.1:${port}: run \`bash scripts/services.sh start\` first.`,
      );
  const redis = new Redis({
    host: '127.0.0.1',
    port: SERVICES.redis.port,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
  });
  redis.on('error', () => undefined);
  await redis.connect();
  const pool = new pg.Pool({ connectionString: SERVICES.postgres.url, max: CONCURRENCY });
  pool.on('error', () => undefined);
  const run = randomBytes(4).toString('hex');
  const prefixes: string[] = [];
  const tables: string[] = [];
  const cache = (label: string): Store => {
    const prefix = `bench-tiered:${run}:${label}:`;
    prefixes.push(prefix);
    return redisStore({ client: redis, prefix });
  };
  const durable = (label: string): Store => {
    const table = `bench_tiered_${run}_${label}`;
    tables.push(table);
    return postgresStore({ client: pool, table });
  };
  const contenders: Array<[string, () => Store]> = [
    ['redis alone', () => cache('redis')],
    ['postgres alone', () => durable('pg')],
    [
      'tiered sync (redis over postgres)',
      () => tieredStore({ cache: cache('sync'), durable: durable('sync'), backup: 'sync' }),
    ],
    [
      'tiered async (redis over postgres)',
      () =>
        tieredStore({
          cache: cache('async'),
          durable: durable('async'),
          backup: 'async',
          onDrop: () => void drops++,
        }),
    ],
  ];
  const rows: Row[] = [];
  try {
    for (const [name, make] of contenders) {
      const store = make();
      try {
        rows.push(await measure(name, store));
      } finally {
        await store.close();
      }
    }
  } finally {
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
    for (const table of tables)
      await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_schema"`);
    redis.disconnect();
    await pool.end();
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
  else {
    console.log(
      `${SESSIONS} sessions; latency over ${LATENCY_CALLS} calls one at a time; throughput with ${CONCURRENCY} calls in flight for ${THROUGHPUT_MS} ms`,
    );
    console.table(rows);
  }
}

await main();
