/**
 * The redis store through outages of a Redis of this test's own (stopped, frozen, restarted):
 * callers get a clear error quickly, nothing queues up, the process never crashes, and the store
 * recovers by itself when the server returns.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionManager } from '../../src/index.js';
import { createStore } from '../../src/stores/registry.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { isTesseraError } from '../../src/core/errors.js';
import type { Store } from '../../src/core/store.js';
import { newKey } from '../contract/store.js';
import { browser } from '../support/requests.js';
import { Redis } from 'ioredis';
import {
  hasRedisServer,
  redisProcess,
  waitFor,
  type RedisProcess,
} from '../support/redis-servers.js';

const skip = (await hasRedisServer())
  ? false
  : 'redis-server is not installed (run `npm run services -- start redis` as root)';
if (skip && process.env['CI'] === 'true') throw new Error(`CI=true and ${skip}`);
if (skip) console.warn(`[tessera] SKIPPED: ${skip}`);
const TIMEOUT = 1000;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The error `run` rejects with, and how long it took. */
async function failure(run: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await run();
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
  throw new Error('expected the call to fail');
}

describe.skipIf(skip).each([
  ['ioredis', 6486],
  ['redis', 6487],
] as const)('redis store through an outage (client=%s)', (client, port) => {
  let server: RedisProcess;
  let store: Store;
  const warnings: unknown[] = [];
  beforeAll(async () => {
    server = redisProcess(port);
    await server.start();
    const original = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.join(' '));
    try {
      store = await createStore(
        `redis://127.0.0.1:${port}?client=${client}&timeout=${TIMEOUT}&connectTimeout=1000&prefix=out:`,
      );
    } finally {
      console.warn = original;
    }
  });
  afterAll(async () => {
    try {
      await store?.close();
    } finally {
      await server.dispose();
    }
  });

  it('fails fast with STORE_UNAVAILABLE while the server is down, queues nothing, and recovers by itself', async () => {
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    const original = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.join(' '));
    try {
      await server.stop();

      const single = await failure(() => store.get(key));
      expect(isTesseraError(single.error) && single.error.code).toBe('STORE_UNAVAILABLE');
      expect(single.ms).toBeLessThan(TIMEOUT);

      // Many callers during the outage: each is refused at once with STORE_UNAVAILABLE (none is
      // left to wait for a timeout in a queue), and memory stays flat. The bound on the whole
      // batch is loose: it is CPU time for 10 000 calls, not waiting.
      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      const started = Date.now();
      let refused = 0;
      await Promise.all(
        Array.from({ length: 10_000 }, (_, i) =>
          store
            .write(key, { set: { [`k${i % 10}`]: i } }, Date.now() + 60_000)
            .catch((e: unknown) => {
              if (isTesseraError(e) && e.code === 'STORE_UNAVAILABLE') refused++;
            }),
        ),
      );
      expect(Date.now() - started).toBeLessThan(5000);
      expect(refused).toBe(10_000);
      // Measured after a full collection: what the client still holds for those calls, not garbage.
      gc();
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(5 * 1024 * 1024);

      // Through the manager, a request gets the same clear error within its bound.
      const manager = createSessionManager({ store, storeTimeout: 2000, gcInterval: false });
      const b = browser(manager);
      const viaManager = await failure(() => b.visit((s) => s.set('x', 1)));
      expect(viaManager.error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(viaManager.ms).toBeLessThan(2000);

      await server.start();
      const back = Date.now();
      for (;;) {
        try {
          await store.write(newKey(), { create: true }, Date.now() + 60_000);
          break;
        } catch {
          if (Date.now() - back > 5000)
            throw new Error('the store did not recover within 5 s of the server returning');
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      expect(Date.now() - back).toBeLessThan(5000);
      // The server came back empty (no persistence): the old session is gone, new ones work.
      expect(await store.get(key)).toBeUndefined();
      const fresh = newKey();
      await store.write(fresh, { create: true, set: { ok: true } }, Date.now() + 60_000);
      expect((await store.get(fresh))?.data).toEqual({ ok: true });
    } finally {
      console.warn = original;
    }
    // The outage was reported once, not once per failed call.
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(3);
  });

  it('gives STORE_TIMEOUT within the command timeout when the server hangs, and works once it answers', async () => {
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    await server.pause();
    try {
      const hung = await Promise.all([
        failure(() => store.get(key)),
        failure(() => store.write(key, { set: { b: 2 } }, Date.now() + 60_000)),
      ]);
      for (const { error, ms } of hung) {
        expect(error).toMatchObject({ code: 'STORE_TIMEOUT' });
        expect(ms).toBeGreaterThanOrEqual(TIMEOUT - 50);
        expect(ms).toBeLessThan(TIMEOUT + 500);
      }
    } finally {
      server.resume();
    }
    // Late replies to the timed-out calls must not be mistaken for answers to new ones.
    const deadline = Date.now() + 5000;
    let record = await store.get(key).catch(() => undefined);
    while (record === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      record = await store.get(key).catch(() => undefined);
    }
    expect(record?.data['a']).toBe(1);
    for (let i = 0; i < 20; i++) {
      const k = newKey();
      await store.write(k, { create: true, set: { i } }, Date.now() + 60_000);
      expect((await store.get(k))?.data).toEqual({ i });
    }
  });

  it('refuses calls past maxPending at once while the server hangs, then serves again', async () => {
    const bounded = redisStore({
      url: `redis://127.0.0.1:${port}?client=${client}`,
      prefix: 'cap:',
      commandTimeout: TIMEOUT,
      maxPending: 5,
      onError: () => undefined,
    });
    try {
      await bounded.write(newKey(), { create: true }, Date.now() + 60_000);
      await server.pause();
      let refused: { error: unknown; ms: number } | undefined;
      try {
        const waiting = Array.from({ length: 5 }, () => failure(() => bounded.get(newKey())));
        refused = await failure(() => bounded.get(newKey()));
        await Promise.all(waiting);
      } finally {
        server.resume();
      }
      expect(refused.error).toMatchObject({
        code: 'STORE_UNAVAILABLE',
        message: expect.stringMatching(/already waiting/),
      });
      expect(refused.ms).toBeLessThan(100);
      const deadline = Date.now() + 5000;
      for (;;) {
        try {
          await bounded.get(newKey());
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      await bounded.close();
    }
  });
});

describe.skipIf(skip).each([
  ['ioredis', 'single', 6470],
  ['redis', 'single', 6471],
  ['ioredis', 'sentinel', 6472],
  ['redis', 'sentinel', 6473],
  ['ioredis', 'cluster', 6474],
  ['redis', 'cluster', 6475],
] as const)('redis store started while Redis is down (client=%s, %s)', (client, mode, port) => {
  const sentinelPort = port + 20_000;
  const processes: RedisProcess[] = [];
  afterAll(async () => {
    for (const p of processes.reverse()) await p.dispose();
  });

  it('fails every call at once with STORE_UNAVAILABLE, then serves by itself once Redis is up', async () => {
    const url = {
      single: `redis://127.0.0.1:${port}`,
      sentinel: `redis+sentinel://127.0.0.1:${sentinelPort}/startup`,
      cluster: `redis+cluster://127.0.0.1:${port}`,
    }[mode];
    // Regression: calls waited for the first connection until the full timeout (STORE_TIMEOUT),
    // although the start-up warning says they fail with STORE_UNAVAILABLE.
    const errors: unknown[] = [];
    const store = redisStore({
      url,
      driver: client,
      prefix: 'startup:',
      commandTimeout: 2000,
      connectTimeout: 5000,
      onError: (e) => errors.push(e),
    });
    try {
      const calls = [
        () => store.get(newKey()),
        () => store.write(newKey(), { create: true }, Date.now() + 60_000),
        () => store.touch(newKey(), Date.now() + 60_000),
      ];
      for (const call of calls) {
        for (let i = 0; i < 3; i++) {
          const { error, ms } = await failure(call);
          expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
          // Well within the 2 s timeout (the first call also loads the driver).
          expect(ms).toBeLessThan(1000);
        }
      }
      expect(errors.length).toBeGreaterThanOrEqual(1);

      // node-redis gives up a first connection that failed (a cluster at once, a sentinel set
      // after ~16 s) and closes the client for good: the store then asks it to connect again.
      await new Promise((r) => setTimeout(r, 1000));
      const master = redisProcess(
        port,
        mode === 'cluster'
          ? ['--cluster-enabled', 'yes', '--cluster-announce-ip', '127.0.0.1']
          : [],
      );
      processes.push(master);
      await master.start();
      if (mode === 'cluster') {
        // A cluster of one node holding every slot.
        const admin = new Redis({ port, host: '127.0.0.1' });
        try {
          await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
          await waitFor('the one-node cluster', 10_000, async () =>
            String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok'),
          );
        } finally {
          admin.disconnect();
        }
      }
      if (mode === 'sentinel') {
        const sentinel = redisProcess(
          sentinelPort,
          [],
          `sentinel monitor startup 127.0.0.1 ${port} 1`,
        );
        processes.push(sentinel);
        await sentinel.start();
      }
      const back = Date.now();
      const key = newKey();
      for (;;) {
        try {
          await store.write(key, { create: true, set: { up: true } }, Date.now() + 60_000);
          break;
        } catch (error) {
          expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
          if (Date.now() - back > 10_000) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      console.log(
        `[tessera] redis ${mode} (${client}) down at start-up: serving ${Date.now() - back} ms after the server came up`,
      );
      expect((await store.get(key))?.data).toEqual({ up: true });
    } finally {
      await store.close();
    }
  }, 30_000);
});
