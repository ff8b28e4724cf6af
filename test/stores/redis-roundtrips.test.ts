/**
 * Commands per store operation and per request, counted by the server itself (INFO commandstats)
 * on a Redis of this test's own, so no other test's traffic is counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createSessionManager } from '../../src/index.js';
import { createStore } from '../../src/stores/registry.js';
import type { Store } from '../../src/core/store.js';
import { newKey, testClock } from '../contract/store.js';
import { browser } from '../support/requests.js';
import {
  commandStats,
  hasRedisServer,
  redisProcess,
  type RedisProcess,
} from '../support/redis-servers.js';

const PORT = 6488;
const skip = (await hasRedisServer())
  ? false
  : 'redis-server is not installed (run `npm run services -- start redis` as root)';
if (skip && process.env['CI'] === 'true') throw new Error(`CI=true and ${skip}`);
if (skip) console.warn(`[tessera] SKIPPED: ${skip}`);

describe.skipIf(skip)('round trips of the redis store, counted with INFO commandstats', () => {
  let server: RedisProcess;
  let raw: Redis;
  const table: Record<string, Record<string, string>> = {};
  beforeAll(async () => {
    server = redisProcess(PORT);
    await server.start();
    raw = new Redis({ port: PORT, host: '127.0.0.1' });
  });
  afterAll(async () => {
    raw.disconnect();
    await server.dispose();
    console.log(
      `[tessera] redis commands per operation (INFO commandstats):\n${JSON.stringify(table, null, 1)}`,
    );
  });

  /**
   * Runs `action` and returns the commands the server saw meanwhile (our own INFO/CONFIG left
   * out). commandstats also counts the commands a script runs; the store's own round trips are its
   * EVALSHA, EVAL, HGETALL and SCAN calls, the only commands it sends on one server.
   */
  async function count(action: () => Promise<unknown>): Promise<{ trips: number; detail: string }> {
    await raw.config('RESETSTAT');
    await action();
    const stats = await commandStats(raw);
    for (const own of ['info', 'config|resetstat', 'config']) delete stats[own];
    const sent = ['evalsha', 'eval', 'hgetall', 'scan'];
    const trips = sent.reduce((sum, name) => sum + (stats[name] ?? 0), 0);
    const top =
      sent
        .filter((n) => stats[n])
        .map((n) => `${stats[n]} ${n.toUpperCase()}`)
        .join(' + ') || 'none';
    const inner = Object.entries(stats)
      .filter(([n]) => !sent.includes(n))
      .map(([n, calls]) => `${calls} ${n.toUpperCase()}`)
      .join(', ');
    return { trips, detail: inner === '' ? top : `${top} (in scripts: ${inner})` };
  }

  describe.each(['ioredis', 'redis'])('with client=%s', (client) => {
    let store: Store;
    const clock = testClock();
    const row: Record<string, string> = {};
    beforeAll(async () => {
      store = await createStore(`redis://127.0.0.1:${PORT}?client=${client}&prefix=rt:`, { clock });
      table[client] = row;
      // Load the scripts once, as a running application has.
      const warm = newKey();
      await store.write(warm, { create: true, userId: 'warm' }, clock.now() + 60_000);
      await store.touch(warm, clock.now() + 60_000);
      await store.rename!(warm, newKey());
      await store.byUser!('warm');
      await store.destroyByUser!('warm');
      await store.destroy(warm);
    });
    afterAll(async () => {
      await store.close();
    });

    it('costs one command per get, write, touch, destroy, rename and user-index call', async () => {
      const key = newKey();
      const exp = () => clock.now() + 60_000;
      const measured: [string, () => Promise<unknown>][] = [
        [
          'write (create)',
          () => store.write(key, { create: true, set: { a: 1, b: 'x' }, userId: 'rt' }, exp()),
        ],
        ['get', () => store.get(key)],
        ['get (missing)', () => store.get(newKey())],
        [
          'write (set+unset+incr)',
          () => store.write(key, { set: { c: [1] }, unset: ['b'], incr: { n: 1 } }, exp()),
        ],
        ['write (incr refused: not a number)', () => store.write(key, { incr: { c: 1 } }, exp())],
        ['write (missing record)', () => store.write(newKey(), { set: { a: 1 } }, exp())],
        ['touch', () => store.touch(key, exp())],
        ['byUser', () => store.byUser!('rt')],
        ['rename', () => store.rename!(key, newKey())],
        ['destroyByUser', () => store.destroyByUser!('rt')],
        ['destroy', () => store.destroy(newKey())],
      ];
      for (const [name, action] of measured) {
        const { trips, detail } = await count(action);
        row[name] = detail;
        expect({ name, trips }).toEqual({ name, trips: 1 });
      }
    });

    it('costs 0, 1 or 2 commands per request, as the manager promises', async () => {
      const manager = createSessionManager<Record<string, unknown>>({
        store,
        clock,
        idleTimeout: 60_000,
        touchAfter: 10_000,
        gcInterval: false,
      });
      const b = browser(manager);
      const request = async (
        name: string,
        handler: Parameters<typeof b.visit>[0],
      ): Promise<number> => {
        const { trips, detail } = await count(() => b.visit(handler));
        row[`request: ${name}`] = detail;
        return trips;
      };
      expect(await request('new session, set', (s) => s.set('cart', [1]))).toBe(1);
      expect(await request('never reads its session', () => undefined)).toBe(0);
      expect(await request('reads, deadline far', (s) => s.get('cart'))).toBe(1);
      expect(await request('sets a key without reading', (s) => s.set('seen', true))).toBe(1);
      expect(
        await request('reads and sets', async (s) =>
          s.set('n', (((await s.get('n')) as number | undefined) ?? 0) + 1),
        ),
      ).toBe(2);
      expect(await request('increments', (s) => s.increment('hits'))).toBe(1);
      clock.advance(15_000);
      expect(await request('reads, touch due', (s) => s.get('cart'))).toBe(2);
      expect(await request('login (rename + write)', (s) => s.login('ada'))).toBe(2);
      expect(await request('destroy', (s) => s.destroy())).toBe(1);
      await manager.close();
    });
  });
});
