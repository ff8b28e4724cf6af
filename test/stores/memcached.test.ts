import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/stores/registry.js';
import type { Store } from '../../src/core/store.js';
import { hashRing } from '../../src/stores/memcached/ring.js';
import {
  memcachedClient,
  memcachedExptime,
  memcachedStore,
} from '../../src/stores/memcached/index.js';
import { newKey, runStoreContract } from '../contract/store.js';
import { untilStopped } from '../support/redis-servers.js';
import { SERVICES, isListening, skipUnless } from '../support/services.js';

const skip = await skipUnless('Memcached', SERVICES.memcached.port);
const server = `127.0.0.1:${SERVICES.memcached.port}`;
const prefix = (): string => `t${randomBytes(6).toString('hex')}:`;

runStoreContract({
  name: 'memcached',
  skip,
  create: (clock) => memcachedStore({ servers: [server], prefix: prefix(), clock }),
  lacks: {
    byUser:
      'memcached cannot find items by anything but their key, and an index item could be evicted on its own, silently breaking "log out everywhere"',
    count: 'memcached cannot list or count the keys of one prefix',
    scan: 'memcached cannot list the keys of one prefix',
    gc: 'native expiry: memcached drops each item at its deadline',
  },
});

/** A memcached of this test's own on `port`, as a child process it starts and stops. */
function memcachedProcess(port: number) {
  let child: ChildProcess | undefined;
  const user = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  return {
    port,
    address: `127.0.0.1:${port}`,
    async start() {
      if (await isListening(port))
        throw new Error(`Port ${port} is taken by a process this test did not start.`);
      const proc = spawn(
        'memcached',
        [...user, '-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '16'],
        { stdio: 'ignore' },
      );
      child = proc;
      const reap = (): void => void proc.kill('SIGKILL');
      process.once('exit', reap);
      proc.once('exit', () => process.off('exit', reap));
      const deadline = Date.now() + 10_000;
      while (!(await isListening(port))) {
        if (Date.now() > deadline) throw new Error(`memcached on ${port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
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
      if (child?.pid === undefined) return;
      child.kill('SIGSTOP');
      await untilStopped(child.pid);
    },
    resume: () => child?.kill('SIGCONT'),
  };
}

/** Sends one raw text-protocol line to the shared server and returns the reply up to "\r\n". */
function rawLine(command: string, port: number = SERVICES.memcached.port): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.endsWith('\r\n') && (!data.startsWith('VALUE') || data.endsWith('END\r\n'))) {
        socket.end();
        resolve(data.trimEnd());
      }
    });
    socket.on('error', reject);
    socket.write(`${command}\r\n`);
  });
}

const hasMemcached = await new Promise<boolean>((resolve) => {
  const probe = spawn('memcached', ['-h'], { stdio: 'ignore' });
  probe.once('error', () => resolve(false));
  probe.once('exit', (code) => resolve(code === 0));
});
const noBinary = hasMemcached
  ? false
  : 'memcached is not installed (run `npm run services -- start memcached` as root)';
if (noBinary && process.env['CI'] === 'true') throw new Error(`CI=true and ${noBinary}`);
if (noBinary) console.warn(`[tessera] SKIPPED: ${noBinary}`);

describe('memcached expiry times', () => {
  it('sends seconds up to 30 days and an absolute Unix time past them, as memcached requires', () => {
    const now = 1_700_000_000_000;
    expect(memcachedExptime(now + 3_600_000, now)).toBe(3601);
    expect(memcachedExptime(now + 1, now)).toBe(2);
    expect(memcachedExptime(now, now)).toBe(-1);
    expect(memcachedExptime(now + 29 * 86_400_000, now)).toBe(29 * 86_400 + 1);
    const past30 = now + 31 * 86_400_000;
    expect(memcachedExptime(past30, now)).toBe(Math.ceil(past30 / 1000) + 1);
  });
});

describe('memcached consistent hashing', () => {
  it('moves only the keys of a removed server', () => {
    const three = hashRing(['a:1', 'b:2', 'c:3'], (s) => s);
    const two = hashRing(['a:1', 'b:2'], (s) => s);
    const keys = Array.from({ length: 3000 }, () => newKey());
    const counts: Record<string, number> = {};
    let moved = 0;
    for (const key of keys) {
      const before = three.pick(key);
      counts[before] = (counts[before] ?? 0) + 1;
      if (before !== 'c:3') expect(two.pick(key)).toBe(before);
      else moved++;
    }
    for (const server of ['a:1', 'b:2', 'c:3']) expect(counts[server]).toBeGreaterThan(600);
    expect(moved / keys.length).toBeLessThan(0.45);
  });
});

describe.skipIf(skip)('memcached store', () => {
  const opened: Store[] = [];
  afterAll(async () => {
    for (const store of opened) await store.close();
  });
  const open = (options: Parameters<typeof memcachedStore>[0] = {}): Store => {
    const store = memcachedStore({ servers: [server], prefix: prefix(), ...options });
    opened.push(store);
    return store;
  };

  it('keeps one item per session under its prefix, as JSON with a native deadline', async () => {
    const p = prefix();
    const store = open({ prefix: p });
    const key = newKey();
    const t = Date.now();
    await store.write(key, { create: true, createdAt: t, set: { a: 1 }, userId: 'u' }, t + 600_000);
    const raw = await rawLine(`get ${p}${key}`);
    expect(raw.split('\r\n')[1]).toBe(
      JSON.stringify({ d: { a: 1 }, c: t, e: t + 600_000, u: 'u' }),
    );
    const ttl = Number(/ t(\d+)/.exec(await rawLine(`mg ${p}${key} t`))?.[1]);
    expect(ttl).toBeGreaterThan(595);
    expect(ttl).toBeLessThanOrEqual(602);
  });

  it('keeps a session with a 31-day deadline (an absolute expiry time on the wire)', async () => {
    const p = prefix();
    const store = open({ prefix: p });
    const key = newKey();
    const t = Date.now();
    await store.write(key, { create: true, set: { long: true } }, t + 31 * 86_400_000);
    expect((await store.get(key))?.data).toEqual({ long: true });
    const ttl = Number(/ t(\d+)/.exec(await rawLine(`mg ${p}${key} t`))?.[1]);
    expect(Math.abs(ttl - 31 * 86_400)).toBeLessThan(10);
    await store.touch(key, Date.now() + 40 * 86_400_000);
    expect((await store.get(key))?.data).toEqual({ long: true });
  });

  it('lets memcached drop an item once its deadline passed', async () => {
    const p = prefix();
    const store = open({ prefix: p });
    const key = newKey();
    await store.write(key, { create: true }, Date.now() + 500);
    expect(await rawLine(`get ${p}${key}`)).toMatch(/^VALUE/);
    await new Promise((r) => setTimeout(r, 2600));
    expect(await rawLine(`get ${p}${key}`)).toBe('END');
  }, 10_000);

  it('keeps every write of two processes racing on one session (compare-and-swap)', async () => {
    const p = prefix();
    const one = open({ prefix: p });
    const two = open({ prefix: p });
    const key = newKey();
    await one.write(key, { create: true }, Date.now() + 60_000);
    const writes = Array.from({ length: 20 }, (_, i) =>
      (i % 2 === 0 ? one : two).write(
        key,
        { set: { [`k${i}`]: i }, incr: { n: 1 } },
        Date.now() + 60_000,
      ),
    );
    await Promise.all(writes);
    const data = (await one.get(key))?.data;
    expect(data?.['n']).toBe(20);
    for (let i = 0; i < 20; i++) expect(data?.[`k${i}`]).toBe(i);
  });

  it('gives up with STORE_CONFLICT after casAttempts lost races, changing nothing', async () => {
    const p = prefix();
    const real = memcachedClient({ servers: [server] });
    const rival = memcachedClient({ servers: [server] });
    // Another writer changes the item between each read and compare-and-swap of the store.
    const meddling = {
      ...real,
      gets: async (k: string) => {
        const item = await real.gets(k);
        if (item) await rival.set(k, item.value, 60);
        return item;
      },
    };
    const store = memcachedStore({ client: meddling, prefix: p, casAttempts: 3 });
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    await expect(store.write(key, { set: { a: 2 } }, Date.now() + 60_000)).rejects.toMatchObject({
      code: 'STORE_CONFLICT',
    });
    expect((await store.get(key))?.data).toEqual({ a: 1 });
    await real.close();
    await rival.close();
  });

  it('renames without losing a write that races it from another process', async () => {
    const p = prefix();
    const one = open({ prefix: p });
    const two = open({ prefix: p });
    for (let round = 0; round < 30; round++) {
      const from = newKey();
      const to = newKey();
      await one.write(from, { create: true, set: { a: 1 } }, Date.now() + 60_000);
      const [renamed, late] = await Promise.all([
        one.rename!(from, to),
        two.write(from, { set: { b: round } }, Date.now() + 60_000),
      ]);
      expect(renamed).toBe(true);
      expect(await two.get(from)).toBeUndefined();
      const moved = await two.get(to);
      expect(moved?.data['a']).toBe(1);
      if (late.existed) expect(moved?.data['b']).toBe(round);
    }
  });

  it('refuses a session larger than memcached takes with TOO_LARGE', async () => {
    const store = open();
    const key = newKey();
    await expect(
      store.write(
        key,
        { create: true, set: { big: 'x'.repeat(2 * 1024 * 1024) } },
        Date.now() + 60_000,
      ),
    ).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(await store.get(key)).toBeUndefined();
  });

  it('is created from a memcached:// URL and refuses bad ones', async () => {
    const p = prefix();
    const store = await createStore(`memcached://${server}?prefix=${p}&timeout=1500&casAttempts=5`);
    opened.push(store);
    const key = newKey();
    await store.write(key, { create: true, set: { via: 'url' } }, Date.now() + 60_000);
    expect((await store.get(key))?.data).toEqual({ via: 'url' });
    await expect(store.check!()).resolves.toBeUndefined();
    for (const bad of [
      `memcached://${server}?colour=red`,
      `memcached://${server}/path`,
      `memcached://${server}?timeout=0`,
      `memcached://${server}?prefix=a%20b`,
    ]) {
      await expect(createStore(bad)).rejects.toMatchObject({ code: 'CONFIG' });
    }
  });
});

describe.skipIf(skip || noBinary)('memcached store over several servers of its own', () => {
  const extra = [memcachedProcess(11480), memcachedProcess(11481)];
  afterAll(async () => {
    for (const m of extra) await m.stop();
  });

  it('spreads sessions over every server and finds each again', async () => {
    for (const m of extra) await m.start();
    const servers = [server, ...extra.map((m) => m.address)];
    const p = prefix();
    const store = await createStore(`memcached://${servers.join(',')}?prefix=${p}`);
    const keys = Array.from({ length: 90 }, newKey);
    for (const [i, key] of keys.entries())
      await store.write(key, { create: true, set: { i } }, Date.now() + 60_000);
    for (const [i, key] of keys.entries()) expect((await store.get(key))?.data).toEqual({ i });
    for (const port of [SERVICES.memcached.port, ...extra.map((m) => m.port)]) {
      let held = 0;
      for (const key of keys)
        if ((await rawLine(`get ${p}${key}`, port)).startsWith('VALUE')) held++;
      expect(held).toBeGreaterThan(10);
    }
    await store.close();
  });
});

describe.skipIf(noBinary)('memcached store through an outage of a server of its own', () => {
  const own = memcachedProcess(11482);
  let store: Store;
  const warnings: unknown[] = [];
  afterAll(async () => {
    await store?.close();
    await own.stop();
  });

  it('fails fast with STORE_UNAVAILABLE while down, queues nothing, and recovers by itself', async () => {
    await own.start();
    store = memcachedStore({
      servers: [own.address],
      timeout: 1000,
      onError: (e) => warnings.push(e),
    });
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    await own.stop();
    const started = Date.now();
    const outcomes = await Promise.allSettled(Array.from({ length: 5000 }, () => store.get(key)));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(
      outcomes.every(
        (o) =>
          o.status === 'rejected' && (o.reason as { code?: string }).code === 'STORE_UNAVAILABLE',
      ),
    ).toBe(true);
    expect(warnings.length).toBe(1);
    await own.start();
    const back = Date.now();
    for (;;) {
      try {
        await store.write(newKey(), { create: true }, Date.now() + 60_000);
        break;
      } catch {
        if (Date.now() - back > 5000) throw new Error('the store did not recover within 5 s');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // A restarted memcached is empty: the session written before is gone.
    expect(await store.get(key)).toBeUndefined();
  });

  it('gives STORE_TIMEOUT within the timeout when the server hangs, and works once it answers', async () => {
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    await own.pause();
    const started = Date.now();
    try {
      await expect(store.get(key)).rejects.toMatchObject({ code: 'STORE_TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      own.resume();
    }
    expect((await store.get(key))?.data).toEqual({ a: 1 });
  });
});

describe.skipIf(noBinary)(
  "round trips of the memcached store, counted with the server's stats",
  () => {
    const own = memcachedProcess(11483);
    afterAll(async () => {
      await own.stop();
    });

    it('costs 1 call per get, destroy and create, 2 per write and touch, 3 per rename', async () => {
      await own.start();
      const store = memcachedStore({ servers: [own.address] });
      const counters = [
        'cmd_get',
        'cmd_set',
        'cas_hits',
        'delete_hits',
        'delete_misses',
        'get_hits',
        'get_misses',
      ];
      const snapshot = async (): Promise<Record<string, number>> => {
        const stats = await rawLine('stats', own.port);
        return Object.fromEntries(
          counters.map((name) => [
            name,
            Number(new RegExp(`STAT ${name} (\\d+)`).exec(stats)?.[1] ?? 0),
          ]),
        );
      };
      /** Calls to the server during `action`: retrievals (get/gets), storage (add/set/cas) and deletes. */
      const calls = async (action: () => Promise<unknown>): Promise<number> => {
        const before = await snapshot();
        await action();
        const after = await snapshot();
        const d = (name: string): number => after[name]! - before[name]!;
        return d('cmd_get') + d('cmd_set') + d('delete_hits') + d('delete_misses');
      };
      const key = newKey();
      const exp = (): number => Date.now() + 60_000;
      const measured: Record<string, number> = {
        'write (create)': await calls(() =>
          store.write(key, { create: true, set: { a: 1 } }, exp()),
        ),
        get: await calls(() => store.get(key)),
        'get (missing)': await calls(() => store.get(newKey())),
        'write (delta)': await calls(() =>
          store.write(key, { set: { b: 2 }, incr: { n: 1 } }, exp()),
        ),
        'write (missing record)': await calls(() =>
          store.write(newKey(), { set: { a: 1 } }, exp()),
        ),
        touch: await calls(() => store.touch(key, exp())),
        rename: await calls(() => store.rename!(key, newKey())),
        destroy: await calls(() => store.destroy(newKey())),
      };
      console.log(`[tessera] memcached calls per operation (stats): ${JSON.stringify(measured)}`);
      expect(measured).toEqual({
        'write (create)': 1,
        get: 1,
        'get (missing)': 1,
        'write (delta)': 2,
        'write (missing record)': 1,
        touch: 2,
        rename: 3,
        destroy: 1,
      });
      await store.close();
    });
  },
);
