import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { createStore } from '../../src/stores/registry.js';
import type { Store } from '../../src/core/store.js';
import { newKey, testClock } from '../contract/store.js';
import {
  ioredisCluster,
  nodeRedisCluster,
  runRedisContract,
  testPrefix,
} from '../support/redis-clients.js';
import { SERVICES, skipUnless } from '../support/services.js';

const skip = await skipUnless('Redis Cluster', SERVICES.redisCluster.ports[0]);
const seeds = SERVICES.redisCluster.ports
  .slice(0, 3)
  .map((p) => `127.0.0.1:${p}`)
  .join(',');

runRedisContract('redis cluster (ioredis)', ioredisCluster, skip);
runRedisContract('redis cluster (node-redis)', nodeRedisCluster, skip);

describe.skipIf(skip).each(['ioredis', 'redis'])(
  'redis store on the 3+3 cluster (client=%s)',
  (client) => {
    let raw: Cluster;
    let store: Store;
    let prefix: string;
    const clock = testClock();
    beforeAll(async () => {
      raw = new Cluster([{ host: '127.0.0.1', port: SERVICES.redisCluster.ports[0] }]);
      prefix = testPrefix();
      store = await createStore(`redis+cluster://${seeds}?client=${client}&prefix=${prefix}`, {
        clock,
      });
    });
    afterAll(async () => {
      await store?.close();
      for (const node of raw.nodes('master')) {
        const keys = await node.keys(`${prefix}*`);
        for (const key of keys) await node.del(key);
      }
      raw.disconnect();
    });

    it("keeps a lease in its session's hash slot, on the session's node", async () => {
      const key = newKey();
      await store.write(key, { create: true }, clock.now() + 60_000);
      const token = await store.lock!(key, 5000);
      const lease = `${prefix}l:{${key}}`;
      expect(await raw.cluster('KEYSLOT', lease)).toBe(
        await raw.cluster('KEYSLOT', `${prefix}s:{${key}}`),
      );
      expect(await raw.get(lease)).toBe(token);
      expect(await store.count!()).toBe(1);
      expect(await store.unlock!(key, token!)).toBe(true);
      expect(await raw.exists(lease)).toBe(0);
      await store.destroy(key);
    });

    it('spreads sessions over every master, and counts and scans them on each', async () => {
      const keys = Array.from({ length: 60 }, newKey);
      for (const key of keys) await store.write(key, { create: true }, clock.now() + 60_000);
      const holders = new Set<string>();
      for (const node of raw.nodes('master')) {
        if ((await node.keys(`${prefix}s:*`)).length > 0) holders.add(`${node.options.port}`);
      }
      expect(holders.size).toBe(3);
      expect(await store.count!()).toBe(60);
      const seen = new Set<string>();
      let cursor: string | undefined;
      do {
        const page = await store.scan!(cursor, 7);
        for (const key of page.keys) seen.add(key);
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(seen).toEqual(new Set(keys));
      for (const key of keys) await store.destroy(key);
      expect(await store.count!()).toBe(0);
    });

    it('renames across slots without losing a write that races it', async () => {
      for (let round = 0; round < 30; round++) {
        const from = newKey();
        const to = newKey();
        expect(await raw.cluster('KEYSLOT', `${prefix}s:{${from}}`)).not.toBe(
          await raw.cluster('KEYSLOT', `${prefix}s:{${to}}`),
        );
        await store.write(
          from,
          { create: true, set: { a: 1 }, userId: 'racer' },
          clock.now() + 60_000,
        );
        const [renamed, ...writes] = await Promise.all([
          store.rename!(from, to),
          store.write(from, { set: { b: round } }, clock.now() + 60_000),
          store.write(from, { incr: { n: 1 } }, clock.now() + 60_000),
        ]);
        expect(renamed).toBe(true);
        expect(await store.get(from)).toBeUndefined();
        const moved = await store.get(to);
        expect(moved?.data['a']).toBe(1);
        // A write that reports success must be in the renamed record.
        if (writes[0].existed) expect(moved?.data['b']).toBe(round);
        if (writes[1].existed) expect(moved?.data['n']).toBe(1);
        expect((await store.byUser!('racer')).map((s) => s.key)).toEqual([to]);
        await store.destroy(to);
      }
      expect(await store.byUser!('racer')).toEqual([]);
    });

    it("keeps a user's index in the user's own slot, kept in step by a second call", async () => {
      const key = newKey();
      await store.write(key, { create: true, userId: 'slotted' }, clock.now() + 60_000);
      const index = `${prefix}u:{slotted}`;
      const t = clock.now();
      expect(await raw.zscore(index, key)).toBe(String(t + 120_000));
      await store.touch(key, t + 90_000);
      expect(await raw.zscore(index, key)).toBe(String(t + 120_000));
      await store.touch(key, t + 150_000);
      expect(await raw.zscore(index, key)).toBe(String(t + 300_000));
      await store.write(key, { userId: 'other' }, clock.now() + 90_000);
      expect(await raw.zscore(index, key)).toBeNull();
      expect(await raw.zscore(`${prefix}u:{other}`, key)).not.toBeNull();
      await store.destroy(key);
      expect(await raw.exists(`${prefix}u:{other}`)).toBe(0);
    });
  },
);

/**
 * Round trips in the cluster, seen by MONITOR on every master: it tells the commands a client sent
 * from those a script ran ("lua"), which INFO commandstats cannot, and our prefix singles out this
 * test's calls on the shared cluster.
 */
describe.skipIf(skip).each(['ioredis', 'redis'])(
  'round trips on the cluster (client=%s)',
  (client) => {
    const monitors: Redis[] = [];
    const seen: string[] = [];
    let store: Store;
    let prefix: string;
    const clock = testClock();
    const table: Record<string, string> = {};
    beforeAll(async () => {
      prefix = testPrefix();
      // Masters only: replicas see the masters' writes again through replication.
      const probe = new Cluster([{ host: '127.0.0.1', port: SERVICES.redisCluster.ports[0] }]);
      await probe.ping();
      const masters = probe.nodes('master').map((n) => Number(n.options.port));
      probe.disconnect();
      for (const port of masters) {
        const node = new Redis({ port, host: '127.0.0.1' });
        const monitor = await node.monitor();
        node.disconnect();
        monitor.on('monitor', (_time: string, args: string[], source: string) => {
          if (source !== 'lua' && args.some((a) => a.includes(prefix)))
            seen.push(String(args[0]).toUpperCase());
        });
        monitors.push(monitor);
      }
      store = await createStore(`redis+cluster://${seeds}?client=${client}&prefix=${prefix}`, {
        clock,
      });
      // Load the scripts on every master first, as in a running application.
      for (let i = 0; i < 30; i++) {
        const key = newKey();
        await store.write(key, { create: true, userId: `warm${i}` }, clock.now() + 60_000);
        await store.touch(key, clock.now() + 600_000);
        await store.rename!(key, newKey());
        await store.byUser!(`warm${i}`);
        await store.destroyByUser!(`warm${i}`);
        await store.destroy(key);
      }
    });
    afterAll(async () => {
      await store?.close();
      for (const m of monitors) m.disconnect();
      console.log(
        `[tessera] redis cluster round trips (${client}, MONITOR): ${JSON.stringify(table, null, 1)}`,
      );
    });

    async function trips(name: string, action: () => Promise<unknown>): Promise<number> {
      await new Promise((r) => setTimeout(r, 50));
      seen.length = 0;
      await action();
      await new Promise((r) => setTimeout(r, 100));
      table[name] = `${seen.length} (${seen.join(', ')})`;
      return seen.length;
    }

    it('costs one call per session operation, plus one to the index slot when a user binding or its padded deadline changes', async () => {
      const key = newKey();
      const exp = (ms = 60_000): number => clock.now() + ms;
      expect(
        await trips('write (create, no user)', () =>
          store.write(key, { create: true, set: { a: 1 } }, exp()),
        ),
      ).toBe(1);
      expect(await trips('get', () => store.get(key))).toBe(1);
      expect(
        await trips('write (delta, no user)', () => store.write(key, { set: { b: 2 } }, exp())),
      ).toBe(1);
      expect(await trips('touch (no user)', () => store.touch(key, exp()))).toBe(1);
      expect(
        await trips('write (bind user)', () => store.write(key, { userId: 'mon' }, exp())),
      ).toBe(2);
      expect(
        await trips('write (delta, bound, index not due)', () =>
          store.write(key, { set: { c: 3 } }, exp()),
        ),
      ).toBe(1);
      expect(await trips('touch (bound, index not due)', () => store.touch(key, exp(90_000)))).toBe(
        1,
      );
      expect(await trips('touch (bound, index due)', () => store.touch(key, exp(200_000)))).toBe(2);
      const renamed = newKey();
      expect(await trips('rename (bound)', () => store.rename!(key, renamed))).toBe(5);
      expect(await trips('byUser (1 session)', () => store.byUser!('mon'))).toBe(2);
      expect(await trips('destroy (bound)', () => store.destroy(renamed))).toBe(2);
      const plain = newKey();
      await store.write(plain, { create: true }, exp());
      expect(await trips('rename (no user)', () => store.rename!(plain, newKey()))).toBe(3);
      expect(await trips('destroy (no user)', () => store.destroy(newKey()))).toBe(1);
    });
  },
);
