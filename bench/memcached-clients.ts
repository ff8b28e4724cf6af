/**
 * tessera's own memcached client (`src/stores/memcached/`) against the npm clients that have
 * `gets`/`cas`: `memcached` (3rd-Eden) and `memcache-client` (electrode-io). Measured: requests
 * per tessera operation, ops/s, a stopped server, a hung one (SIGSTOP), and key placement over
 * several servers.
 *
 *   npm install --no-save memcached memcache-client
 *   node --expose-gc --import tsx bench/memcached-clients.ts          the results, indented
 *   node --expose-gc --import tsx bench/memcached-clients.ts --json   as JSON on one line
 *   … --throughput                                                    ops/s alone
 *
 * Or, to leave the project's node_modules alone, install them in a folder of their own and name
 * it: `MEMCACHED_BENCH_DEPS=/tmp/mcbench npx tsx bench/memcached-clients.ts`.
 *
 * Throughput runs on the test Memcached (127.0.0.1:11299, scripts/services/memcached.sh); the
 * rest on memcached processes of the bench's own (ports 11490-11499), so no other traffic counts.
 * The npm clients are loaded by name at run time: neither is a dependency of the project.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { memcachedClient } from '../src/stores/memcached/client.js';
import { untilStopped } from '../test/support/redis-servers.js';
import { isListening, SERVICES } from '../test/support/services.js';

/** What tessera needs of a client, over each library. */
interface Contender {
  get(key: string): Promise<string | undefined>;
  gets(key: string): Promise<{ value: string; cas: string } | undefined>;
  set(key: string, value: string): Promise<void>;
  /** Whether the compare-and-swap stored. */
  cas(key: string, value: string, cas: string): Promise<boolean>;
  close(): void;
}

/** How each client is set up: `timeoutMs` is its bound on a call, as close as it has one. */
type Factory = (servers: string[], timeoutMs: number) => Promise<Contender>;

const TTL = 600;

/** A value or error a library handed back, as text. */
const text = (v: unknown): string =>
  typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : JSON.stringify(v);

/** Loads an npm client by name, from `MEMCACHED_BENCH_DEPS` when set. */
async function load(name: string): Promise<unknown> {
  const dir = process.env['MEMCACHED_BENCH_DEPS'];
  if (dir === undefined) return import(name);
  return createRequire(join(dir, 'package.json'))(name);
}

const ours: Factory = async (servers, timeoutMs) => {
  const c = memcachedClient({ servers, timeout: timeoutMs });
  return {
    get: async (key) => (await c.get(key))?.toString('utf8'),
    gets: async (key) => {
      const item = await c.gets(key);
      return item && { value: item.value.toString('utf8'), cas: item.cas };
    },
    set: (key, value) => c.set(key, Buffer.from(value), TTL),
    cas: async (key, value, cas) => (await c.cas(key, Buffer.from(value), TTL, cas)) === 'stored',
    close: () => void c.close(),
  };
};

/** The parts of `memcached` 2.2 used here (callback API). */
interface ThirdEden {
  get(key: string, cb: (err: unknown, data: unknown) => void): void;
  gets(key: string, cb: (err: unknown, data: Record<string, unknown> | undefined) => void): void;
  set(key: string, value: string, ttl: number, cb: (err: unknown) => void): void;
  cas(
    key: string,
    value: string,
    cas: string,
    ttl: number,
    cb: (err: unknown, ok: unknown) => void,
  ): void;
  end(): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
}

/** `memcached` with `extra` options over its defaults (and the bound on a call). */
const thirdEden =
  (extra: object): Factory =>
  async (servers, timeoutMs) => {
    const loaded = (await load('memcached')) as
      | (new (s: string[], o: object) => ThirdEden)
      | { default: new (s: string[], o: object) => ThirdEden };
    const Memcached = 'default' in loaded ? loaded.default : loaded;
    const c = new Memcached(servers, { timeout: timeoutMs, ...extra });
    c.on('failure', () => undefined);
    c.on('issue', () => undefined);
    const call = <T>(run: (cb: (err: unknown, data?: T) => void) => void): Promise<T | undefined> =>
      new Promise((resolve, reject) =>
        run((err, data) =>
          err ? reject(err instanceof Error ? err : new Error(text(err))) : resolve(data),
        ),
      );
    return {
      get: async (key) => {
        const v = await call<unknown>((cb) => c.get(key, cb));
        return v === undefined || v === false ? undefined : text(v);
      },
      gets: async (key) => {
        const data = await call<Record<string, unknown> | undefined>((cb) => c.gets(key, cb));
        if (data === undefined || data[key] === undefined) return undefined;
        return { value: text(data[key]), cas: text(data['cas']) };
      },
      set: async (key, value) => void (await call((cb) => c.set(key, value, TTL, cb))),
      cas: async (key, value, cas) =>
        (await call<unknown>((cb) => c.cas(key, value, cas, TTL, cb))) === true,
      close: () => c.end(),
    };
  };

/** The parts of `memcache-client` 1.0 used here. */
interface Electrode {
  get(key: string): Promise<{ value: unknown } | undefined>;
  gets(key: string): Promise<{ value: unknown; casUniq: string | number } | undefined>;
  set(key: string, value: string, o: object): Promise<unknown>;
  cas(key: string, value: string, o: object): Promise<unknown>;
  shutdown(): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
}

const electrode: Factory = async (servers, timeoutMs) => {
  const { MemcacheClient } = (await load('memcache-client')) as {
    MemcacheClient: new (o: object) => Electrode;
  };
  const server =
    servers.length === 1
      ? servers[0]
      : { servers: servers.map((s) => ({ server: s, maxConnections: 1 })) };
  const c = new MemcacheClient({ server, cmdTimeout: timeoutMs, connectTimeout: timeoutMs });
  c.on('error', () => undefined);
  return {
    get: async (key) => {
      const r = await c.get(key);
      return r === undefined ? undefined : text(r.value);
    },
    gets: async (key) => {
      const r = await c.gets(key);
      return r === undefined ? undefined : { value: text(r.value), cas: String(r.casUniq) };
    },
    set: async (key, value) => void (await c.set(key, value, { lifetime: TTL })),
    cas: async (key, value, cas) => {
      try {
        await c.cas(key, value, { casUniq: cas, lifetime: TTL });
        return true;
      } catch (error) {
        if (/EXISTS|NOT_FOUND/.test(String(error))) return false;
        throw error;
      }
    },
    close: () => c.shutdown(),
  };
};

const CONTENDERS: Array<[string, Factory]> = [
  ['tessera (own)', ours],
  // As shipped, bar the bound on a call.
  ['memcached 2.2.2', thirdEden({})],
  // Told to give up at once: no pool retries, a failed server out for 1 s only.
  [
    'memcached 2.2.2 (retries 0, retry 1000, failures 1)',
    thirdEden({ retries: 0, retry: 1000, failures: 1 }),
  ],
  ['memcache-client 1.0.5', electrode],
];

/** A memcached of the bench's own, as a child process. */
function memcachedProcess(port: number) {
  let child: ChildProcess | undefined;
  const user = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  return {
    address: `127.0.0.1:${port}`,
    async start() {
      if (await isListening(port)) throw new Error(`port ${port} is taken`);
      const proc = spawn(
        'memcached',
        [...user, '-l', '127.0.0.1', '-p', String(port), '-m', '16'],
        {
          stdio: 'ignore',
        },
      );
      child = proc;
      const reap = (): void => void proc.kill('SIGKILL');
      process.once('exit', reap);
      proc.once('exit', () => process.off('exit', reap));
      while (!(await isListening(port))) await sleep(20);
    },
    async stop() {
      const proc = child;
      if (!proc) return;
      child = undefined;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await exited;
    },
    async pause() {
      child!.kill('SIGSTOP');
      await untilStopped(child!.pid!);
    },
    resume: () => void child?.kill('SIGCONT'),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const key = (): string => `b${randomBytes(8).toString('hex')}`;
const VALUE = JSON.stringify({ d: { cart: [1, 2, 3], name: 'x'.repeat(120) }, c: 1, e: 2 });

/** A TCP proxy to `target` counting the commands clients send through it, by name. */
async function countingProxy(target: number): Promise<{
  port: number;
  counts: Map<string, number>;
  close(): void;
}> {
  const counts = new Map<string, number>();
  const server: Server = createServer((client) => {
    const upstream = connect({ port: target, host: '127.0.0.1' });
    let pending = Buffer.alloc(0);
    let skip = 0;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (skip > 0) {
          const n = Math.min(skip, pending.length);
          pending = pending.subarray(n);
          skip -= n;
          if (skip > 0) return;
        }
        const eol = pending.indexOf('\r\n');
        if (eol === -1) return;
        const words = pending.toString('latin1', 0, eol).split(' ');
        pending = pending.subarray(eol + 2);
        const command = words[0]!;
        counts.set(command, (counts.get(command) ?? 0) + 1);
        if (['set', 'add', 'replace', 'append', 'prepend', 'cas'].includes(command))
          skip = Number(words[4]) + 2;
      }
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    counts,
    close: () => void server.close(),
  };
}

/** Commands sent for one `get` and one tessera CAS write (`gets` + `cas`), through a proxy. */
async function requests(make: Factory, port: number) {
  const own = memcachedProcess(port);
  await own.start();
  const proxy = await countingProxy(port);
  const c = await make([`127.0.0.1:${proxy.port}`], 2000);
  try {
    const k = key();
    await c.set(k, VALUE);
    await sleep(50);
    const count = async (run: () => Promise<unknown>): Promise<string> => {
      proxy.counts.clear();
      await run();
      await sleep(50);
      return [...proxy.counts].map(([name, n]) => `${n} ${name}`).join(' + ');
    };
    return {
      get: await count(() => c.get(k)),
      casWrite: await count(async () => {
        const item = await c.gets(k);
        if (!item || !(await c.cas(k, VALUE, item.cas))) throw new Error('cas did not store');
      }),
    };
  } finally {
    c.close();
    proxy.close();
    await own.stop();
  }
}

/** Operations per second: `total` operations, `inFlight` at a time, on the test Memcached. */
async function throughput(make: Factory, inFlight: number, total: number) {
  const c = await make([`127.0.0.1:${SERVICES.memcached.port}`], 2000);
  try {
    const keys = Array.from({ length: 100 }, key);
    for (const k of keys) await c.set(k, VALUE);
    const rate = async (op: (k: string) => Promise<unknown>): Promise<number> => {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < total) await op(keys[next++ % keys.length]!);
        }),
      );
      return Math.round(total / ((performance.now() - started) / 1000));
    };
    await rate((k) => c.get(k)); // warm-up
    return {
      get: await rate((k) => c.get(k)),
      getsCas: await rate(async (k) => {
        const item = await c.gets(k);
        if (item) await c.cas(k, VALUE, item.cas);
      }),
    };
  } finally {
    c.close();
  }
}

/** How a call settles: its time, and its error message or 'ok'. */
async function timed(run: () => Promise<unknown>, limitMs: number): Promise<[number, string]> {
  const started = performance.now();
  const outcome = await Promise.race([
    run().then(
      () => 'ok',
      (e: unknown) => String(e instanceof Error ? e.message : e).slice(0, 60),
    ),
    sleep(limitMs).then(() => `no answer within ${limitMs} ms`),
  ]);
  return [Math.round(performance.now() - started), outcome];
}

/** A stopped server: time to fail, and 10,000 calls during the outage (queued or refused). */
async function stopped(make: Factory, port: number) {
  const own = memcachedProcess(port);
  await own.start();
  const c = await make([own.address], 1000);
  try {
    await c.set(key(), VALUE);
    await own.stop();
    const first = await timed(() => c.get(key()), 15_000);
    const later: number[] = [];
    for (let i = 0; i < 5; i++) later.push((await timed(() => c.get(key()), 15_000))[0]);
    globalThis.gc?.();
    const heap = process.memoryUsage().heapUsed;
    const started = performance.now();
    let settled = 0;
    const calls = Array.from({ length: 10_000 }, () =>
      c.get(key()).then(
        () => settled++,
        () => settled++,
      ),
    );
    await Promise.race([Promise.all(calls), sleep(15_000)]);
    const burst = {
      ms: Math.round(performance.now() - started),
      settled,
      heapMB: Math.round((process.memoryUsage().heapUsed - heap) / 1e5) / 10,
    };
    // Back up: how long until a call succeeds again.
    await own.start();
    const back = performance.now();
    let recoveredMs: number | undefined;
    while (performance.now() - back < 20_000) {
      if ((await timed(() => c.set(key(), VALUE), 2000))[1] === 'ok') {
        recoveredMs = Math.round(performance.now() - back);
        break;
      }
      await sleep(100);
    }
    return { first, laterMs: later, burst, recoveredMs };
  } finally {
    c.close();
    await own.stop();
  }
}

/** A hung server (SIGSTOP): time to fail; after SIGCONT, whether replies still match calls. */
async function hung(make: Factory, port: number) {
  const own = memcachedProcess(port);
  await own.start();
  const c = await make([own.address], 1000);
  try {
    const pairs = Array.from({ length: 20 }, () => [key(), randomBytes(8).toString('hex')]);
    for (const [k, v] of pairs) await c.set(k!, v!);
    await own.pause();
    const during = await Promise.all([
      timed(() => c.get(pairs[0]![0]!), 15_000),
      timed(() => c.get(pairs[1]![0]!), 15_000),
    ]);
    // 10,000 calls at once while it hangs: how many were refused before the 1 s bound (settled
    // by 300 ms), how many settled within 3 s, and what the client holds meanwhile.
    globalThis.gc?.();
    const heap = process.memoryUsage().heapUsed;
    let settled = 0;
    const calls = Array.from({ length: 10_000 }, () =>
      c.get(key()).then(
        () => settled++,
        () => settled++,
      ),
    );
    await sleep(300);
    const refusedAtOnce = settled;
    globalThis.gc?.();
    const heldMB = Math.round((process.memoryUsage().heapUsed - heap) / 1e5) / 10;
    await Promise.race([Promise.all(calls), sleep(2700)]);
    const burst = { refusedAtOnce, settledIn3s: settled, heldMB };
    own.resume();
    await sleep(200);
    let mismatched = 0;
    let failed = 0;
    for (const [k, v] of pairs) {
      const got = await c.get(k!).catch(() => 'error');
      if (got === 'error') failed++;
      else if (got !== v) mismatched++;
    }
    return { during, burst, afterResume: { mismatched, failed, of: pairs.length } };
  } finally {
    c.close();
    await own.stop();
  }
}

/**
 * Key placement over three servers: whether a key written through the client is read back
 * through it, how the keys spread, and how many a client without the third server still finds.
 */
async function placement(make: Factory, ports: number[]) {
  const owns = ports.map(memcachedProcess);
  for (const o of owns) await o.start();
  const all = owns.map((o) => o.address);
  const c = await make(all, 2000);
  const two = await make(all.slice(0, 2), 2000);
  try {
    const keys = Array.from({ length: 1000 }, key);
    for (const k of keys) await c.set(k, VALUE);
    let readBack = 0;
    for (const k of keys) if ((await c.get(k)) === VALUE) readBack++;
    const spread: number[] = [];
    for (const o of owns) spread.push(await itemsOn(o.address));
    let stillFound = 0;
    for (const k of keys) if ((await two.get(k)) === VALUE) stillFound++;
    return { readBack, spread, stillFoundWithout3rd: stillFound, of: keys.length };
  } finally {
    c.close();
    two.close();
    for (const o of owns) await o.stop();
  }
}

/** `curr_items` of one server, from its own `stats`. */
function itemsOn(address: string): Promise<number> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const s = connect({ host: host!, port: Number(port) });
    let data = '';
    s.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.endsWith('END\r\n')) {
        s.end();
        resolve(Number(/STAT curr_items (\d+)/.exec(data)?.[1] ?? NaN));
      }
    });
    s.on('error', reject);
    s.write('stats\r\n');
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const results: Record<string, Record<string, unknown>> = {};
const loaded: Array<[string, Factory]> = [];
for (const [name, make] of CONTENDERS) {
  try {
    await make([`127.0.0.1:${SERVICES.memcached.port}`], 1000).then((c) => c.close());
    loaded.push([name, make]);
    results[name] = {};
  } catch (error) {
    results[name] = { skipped: `cannot load it (${String(error)}); npm install --no-save it` };
  }
}

// Throughput first, in interleaved rounds (the median of 5), so a busy moment of the machine
// does not land on one client alone.
const rates = new Map<string, Record<string, number[]>>();
for (let round = 0; round < 5; round++) {
  for (const [name, make] of loaded) {
    const seq = await throughput(make, 1, 3000);
    const par = await throughput(make, 50, 20_000);
    const r = rates.get(name) ?? { get: [], getsCas: [], get50: [], getsCas50: [] };
    r['get']!.push(seq.get);
    r['getsCas']!.push(seq.getsCas);
    r['get50']!.push(par.get);
    r['getsCas50']!.push(par.getsCas);
    rates.set(name, r);
  }
}
for (const [name, r] of rates) {
  results[name]!['opsPerSecond'] = Object.fromEntries(
    Object.entries(r).map(([k, xs]) => [k, median(xs)]),
  );
  results[name]!['opsPerSecondRounds'] = r;
}

let port = 11490;
// `--throughput`: that part alone.
for (const [name, make] of process.argv.includes('--throughput') ? [] : loaded) {
  const r = results[name]!;
  r['requests'] = await requests(make, port++);
  r['stopped'] = await stopped(make, port++);
  r['hung'] = await hung(make, port++);
  r['placement'] = await placement(make, [port++, port++, port++]);
  console.error(`[bench] ${name}: ${JSON.stringify(r)}`);
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(results));
} else {
  console.log(JSON.stringify(results, null, 1));
}
process.exit(0);
