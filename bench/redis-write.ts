/**
 * `npx tsx bench/redis-write.ts`: what one Redis store write costs, on the server (`INFO
 * commandstats`: the EVALSHA's usec, the commands the script ran and their usec) and in this
 * process (`process.cpuUsage` over the loop), for the writes a web app makes most: an increment
 * (the bench's `GET /write`), a set of a few keys, a new visitor's first write, a login.
 *
 *   npx tsx bench/redis-write.ts [--port=6397] [--n=20000] [--rounds=3] [--driver=redis,ioredis]
 *     [--baseline=<git ref>] [--callgrind]
 *
 * It needs a Redis server of its own on 127.0.0.1 (it resets its statistics, and counts every
 * command it runs), for example `redis-server --bind 127.0.0.1 --port 6397 --save '' --appendonly no
 * --daemonize yes`; `BENCH_REDIS_WRITE_PORT` sets the default of `--port`.
 * `--baseline` also measures the store as it was at that commit (its `src/` is extracted to a
 * temporary directory), so one run prints before and after side by side. Each round measures
 * every cell once, in the same order, and the table shows the median of the rounds (with min and
 * max below it), so a machine busy with other work shows as spread instead of as a difference.
 *
 * Times on a busy machine move by more than a script's difference; `--callgrind` adds a count that
 * does not: the instructions redis-server ran per write, when it runs under
 * `valgrind --tool=callgrind` (read with `callgrind_control`; use a smaller `--n`, it is slow).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type { Delta, Store } from '../src/core/store.js';
import type { RedisClient, RedisStoreOptions } from '../src/stores/redis/index.js';
import { info } from './_redis.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env['BENCH_REDIS_WRITE_PORT'] ?? '6397' },
    n: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    driver: { type: 'string', default: 'redis,ioredis' },
    baseline: { type: 'string' },
    callgrind: { type: 'boolean', default: false },
  },
});
const port = Number(values.port);
const n = Number(values.n);
const rounds = Number(values.rounds);
const drivers = values.driver.split(',').map((d) => d.trim());
const CONCURRENCY = 8;
const WARMUP = 2000;
const IDLE = 30 * 60_000;
const ABSOLUTE = 12 * 3600_000;

type StoreFactory = (options: RedisStoreOptions) => Store;

/** One kind of write: what to store first (not measured), then the write measured `n` times. */
interface Shape {
  name: string;
  /** Records made before the measured writes. */
  records: (n: number) => number;
  prepare: (key: string, now: number) => [Delta, number];
  write: (key: string, i: number, now: number) => [Delta, number];
}

const existing = (now: number): [Delta, number] => [
  { create: true, createdAt: now, absoluteExpiresAt: now + ABSOLUTE, set: { count: 0 } },
  now + IDLE,
];
const SHAPES: Shape[] = [
  {
    name: 'increment (GET /write)',
    records: () => 100,
    prepare: (_key, now) => existing(now),
    write: (_key, _i, now) => [{ incr: { count: 1 } }, now + IDLE],
  },
  {
    name: 'set 3 keys + deadline',
    records: () => 100,
    prepare: (_key, now) => existing(now),
    write: (_key, i, now) => [{ set: { page: `/p/${i}`, seen: i, cart: [i, 2, 3] } }, now + IDLE],
  },
  {
    name: 'new visitor (create + incr)',
    records: () => 0,
    prepare: (_key, now) => existing(now),
    write: (_key, _i, now) => [
      { create: true, createdAt: now, absoluteExpiresAt: now + ABSOLUTE, incr: { count: 1 } },
      now + IDLE,
    ],
  },
  {
    name: 'login (bind user + meta)',
    records: (count) => count,
    prepare: (_key, now) => existing(now),
    write: (_key, i, now) => [
      {
        userId: `user-${i % 1000}`,
        meta: { userAgent: 'Mozilla/5.0 (bench)', ip: '127.0.0.1', loggedInAt: now },
      },
      now + IDLE,
    ],
  },
];

interface Stats {
  calls: number;
  usec: number;
}
async function commandStats(): Promise<Map<string, Stats>> {
  const out = new Map<string, Stats>();
  for (const line of (await info(port, 'commandstats')).split('\r\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m) out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

async function connect(
  driver: string,
): Promise<{ client: RedisClient; close: () => Promise<void> }> {
  if (driver === 'ioredis') {
    const client = new Redis({ host: '127.0.0.1', port, enableOfflineQueue: true });
    client.on('error', (error: unknown) => console.error(error));
    await new Promise((resolve) => client.once('ready', resolve));
    return { client, close: async () => void client.disconnect() };
  }
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  client.on('error', (error: unknown) => console.error(error));
  await client.connect();
  return { client, close: () => client.close() };
}

/** Runs `count` calls of `run(i)`, `CONCURRENCY` at a time. */
async function each(count: number, run: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await run(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

interface Row {
  variant: string;
  driver: string;
  shape: string;
  evalUsec: number;
  innerUsec: number;
  innerCalls: number;
  inner: string;
  clientUs: number;
  serverCpuUs: number;
  instructions: number;
}

const serverInfo = await info(port, 'server').catch((error: unknown) => {
  console.error(
    `bench/redis-write.ts needs a redis-server of its own on 127.0.0.1:${port} (${String(error)}); ` +
      `start one with: redis-server --bind 127.0.0.1 --port ${port} --save '' --appendonly no --daemonize yes`,
  );
  process.exit(1);
});
/** The pid of redis-server, for `callgrind_control`. */
const serverPid = /process_id:(\d+)/.exec(serverInfo)?.[1] ?? '';
/** Instructions redis-server ran since the last call (under callgrind), or NaN. */
function instructions(): number {
  if (!values.callgrind) return NaN;
  const text = execFileSync('callgrind_control', ['-e', 'Ir', serverPid]).toString();
  execFileSync('callgrind_control', ['-z', serverPid]);
  let total = 0;
  for (const m of text.matchAll(/^\s*Th \d+\s+([\d,]+)/gm))
    total += Number(m[1]!.replace(/,/g, ''));
  return total;
}

/** CPU time (µs, user + system) redis-server's main thread has used, from `INFO cpu`. */
async function serverCpu(): Promise<number> {
  const text = await info(port, 'cpu');
  const read = (name: string): number =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
  const main = read('used_cpu_user_main_thread') + read('used_cpu_sys_main_thread');
  return (Number.isNaN(main) ? read('used_cpu_user') + read('used_cpu_sys') : main) * 1e6;
}

async function measure(variant: string, factory: StoreFactory, driver: string): Promise<Row[]> {
  const { client, close } = await connect(driver);
  const prefix = `bench-rw-${Date.now().toString(36)}:`;
  const store = factory({ client, prefix });
  const control = new Redis({ host: '127.0.0.1', port });
  const rows: Row[] = [];
  try {
    for (const shape of SHAPES) {
      const total = WARMUP + n;
      const records = shape.records(total);
      const keys = Array.from({ length: Math.max(records, 1) }, (_, i) =>
        `${shape.name.split(' ')[0]}-${variant}-${driver}-${i}`.padEnd(43, 'k'),
      );
      await each(records, (i) => store.write(keys[i]!, ...shape.prepare(keys[i]!, Date.now())));
      const keyOf = (i: number): string =>
        records === 0 ? `${keys[0]!.slice(0, 30)}-${i}`.padEnd(43, 'n') : keys[i % records]!;
      const write = (i: number): Promise<unknown> =>
        store.write(keyOf(i), ...shape.write(keyOf(i), i, Date.now()));
      await each(WARMUP, write);
      await control.call('CONFIG', 'RESETSTAT');
      const server = await serverCpu();
      instructions();
      const cpu = process.cpuUsage();
      await each(n, (i) => write(WARMUP + i));
      const used = process.cpuUsage(cpu);
      const ran = instructions();
      const serverUsed = (await serverCpu()) - server;
      const stats = await commandStats();
      const evalsha = stats.get('evalsha') ?? { calls: 0, usec: 0 };
      if (evalsha.calls !== n)
        throw new Error(`expected ${n} EVALSHA calls, Redis counted ${evalsha.calls}`);
      let innerUsec = 0;
      let innerCalls = 0;
      const inner: string[] = [];
      for (const [name, s] of stats) {
        if (name === 'evalsha' || name === 'info' || name.startsWith('config')) continue;
        innerUsec += s.usec;
        innerCalls += s.calls;
        inner.push(`${name} ${+(s.calls / n).toFixed(2)}`);
      }
      rows.push({
        variant,
        driver,
        shape: shape.name,
        evalUsec: evalsha.usec / n,
        innerUsec: innerUsec / n,
        innerCalls: innerCalls / n,
        inner: inner.sort().join(', '),
        clientUs: (used.user + used.system) / n,
        serverCpuUs: serverUsed / n,
        instructions: ran / n,
      });
    }
  } finally {
    await store.close();
    await close();
    let cursor = '0';
    do {
      const [nextCursor, found] = await control.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (found.length > 0) await control.del(...found);
      cursor = nextCursor;
    } while (cursor !== '0');
    control.disconnect();
  }
  return rows;
}

/** The store factory of the tree at `ref`, extracted to a temporary directory. */
async function baselineStore(ref: string): Promise<StoreFactory> {
  const root = new URL('..', import.meta.url).pathname;
  const sha = execFileSync('git', ['rev-parse', '--short', ref], { cwd: root }).toString().trim();
  const dir = join(tmpdir(), `tessera-redis-write-${sha}`);
  if (!existsSync(join(dir, 'src'))) {
    mkdirSync(dir, { recursive: true });
    const archive = execFileSync('git', ['archive', sha, 'src'], { cwd: root });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
  }
  if (!existsSync(join(dir, 'node_modules')))
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const module = (await import(pathToFileURL(join(dir, 'src/stores/redis/index.ts')).href)) as {
    redisStore: StoreFactory;
  };
  return module.redisStore;
}

const variants: [string, StoreFactory][] = [];
if (values.baseline !== undefined)
  variants.push([`before (${values.baseline})`, await baselineStore(values.baseline)]);
const current = (await import('../src/stores/redis/index.js')).redisStore;
variants.push([values.baseline === undefined ? 'this tree' : 'after (this tree)', current]);

/** Rows of every round, by cell. */
const cells = new Map<string, Row[]>();
for (let round = 1; round <= rounds; round++) {
  process.stderr.write(`round ${round} of ${rounds}\n`);
  for (const driver of drivers)
    for (const [variant, factory] of variants)
      for (const row of await measure(variant, factory, driver)) {
        const cell = `${row.driver}\u0000${row.shape}\u0000${row.variant}`;
        cells.set(cell, [...(cells.get(cell) ?? []), row]);
      }
}
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const range = (xs: number[], digits: number): string =>
  `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

const redisVersion = /redis_version:(\S+)/.exec(await info(port, 'server'))?.[1] ?? '?';
console.log(
  `\nRedis ${redisVersion} on 127.0.0.1:${port}, ${n} writes per cell and round, ${CONCURRENCY} in flight, ` +
    `median of ${rounds} rounds. EVALSHA µs (commandstats, wall time in Redis) includes the commands the ` +
    'script ran ("inner"); Redis CPU is the main thread\'s CPU time over the loop (INFO cpu: parsing and ' +
    'replying included, time the process waited for a core excluded).\n',
);
const header = [
  'driver',
  'write',
  'variant',
  'EVALSHA µs/write',
  'inner µs/write',
  'inner calls/write',
  'Redis CPU µs/write',
  'client CPU µs/write',
  ...(values.callgrind ? ['Redis instructions/write'] : []),
];
const sortedCells = [...cells.values()].sort((a, b) => {
  const order = (r: Row): number[] => [
    drivers.indexOf(r.driver),
    SHAPES.findIndex((shape) => shape.name === r.shape),
    variants.findIndex(([v]) => v === r.variant),
  ];
  const [x, y] = [order(a[0]!), order(b[0]!)];
  return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
});
const lines = sortedCells.map((rs) => [
  rs[0]!.driver,
  rs[0]!.shape,
  rs[0]!.variant,
  median(rs.map((r) => r.evalUsec)).toFixed(2),
  median(rs.map((r) => r.innerUsec)).toFixed(2),
  median(rs.map((r) => r.innerCalls)).toFixed(2),
  median(rs.map((r) => r.serverCpuUs)).toFixed(1),
  median(rs.map((r) => r.clientUs)).toFixed(1),
  ...(values.callgrind
    ? [Math.round(median(rs.map((r) => r.instructions))).toLocaleString('en')]
    : []),
]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
const fmt = (cells: string[]): string =>
  `| ${cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
console.log(fmt(header));
console.log(
  `|${widths.map((w, i) => (i < 3 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
);
for (const l of lines) console.log(fmt(l));
console.log(
  '\nPer cell: inner commands per write; EVALSHA µs and client CPU µs, min–max of the rounds:',
);
for (const rs of sortedCells) {
  const r = rs[0]!;
  console.log(
    `  ${r.driver}, ${r.shape}, ${r.variant}: ${r.inner}; EVALSHA ${range(
      rs.map((x) => x.evalUsec),
      2,
    )}; Redis CPU ${range(
      rs.map((x) => x.serverCpuUs),
      1,
    )}; client ${range(
      rs.map((x) => x.clientUs),
      1,
    )}`,
  );
}
