/**
 * The Redis store's WRITE and TOUCH scripts at their edges: records laid out by earlier versions
 * (live sessions across an upgrade), writes that change only the deadline or only remove keys,
 * refused increments, deadlines that do not move, and deltas too long for one Lua `unpack`.
 * On one server (the user index updated inline) and on the cluster (the index in a second call).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, Redis } from 'ioredis';
import type { Delta, Store } from '../../src/core/store.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { newKey, testClock, type TestClock } from '../contract/store.js';
import {
  ioredisCluster,
  ioredisSingle,
  testPrefix,
  type TestRedis,
} from '../support/redis-clients.js';
import { SERVICES, skipUnless } from '../support/services.js';

const topologies: [string, () => Promise<TestRedis>, string | false][] = [
  ['one server', ioredisSingle, await skipUnless('Redis', SERVICES.redis.port)],
  [
    'the cluster',
    ioredisCluster,
    await skipUnless('Redis Cluster', SERVICES.redisCluster.ports[0]),
  ],
];

describe.each(topologies)('redis store writes on %s', (_name, connect, skip) => {
  let t: TestRedis;
  let raw: Redis | Cluster;
  const prefixes: string[] = [];
  beforeAll(async () => {
    if (skip !== false) return;
    t = await connect();
    raw = t.client as Redis | Cluster;
  });
  afterAll(async () => {
    if (skip !== false) return;
    for (const prefix of prefixes) await t.drop(prefix);
    await t.close();
  });
  function open(clock: TestClock = testClock()): { store: Store; prefix: string } {
    const prefix = testPrefix();
    prefixes.push(prefix);
    return { store: redisStore({ client: t.client, prefix, clock }), prefix };
  }
  const pexpiretime = (key: string): Promise<unknown> => raw.call('PEXPIRETIME', key);

  it.skipIf(skip)(
    'reads and writes a record laid out by version f1a118d (live sessions across an upgrade)',
    async () => {
      const clock = testClock();
      const { store, prefix } = open(clock);
      const key = newKey();
      const now = clock.now();
      const hash = `${prefix}s:{${key}}`;
      const index = `${prefix}u:{old-user}`;
      // As f1a118d's WRITE left a record after a login and three more writes: JSON data fields,
      // reserved fields, the hash's expiry at ~e, and the user index scored by the padded ~i.
      await raw.hset(hash, {
        count: '41',
        cart: '[1,2]',
        '~~tilde': '"kept"',
        '~c': String(now - 5000),
        '~e': String(now + 60_000),
        '~a': String(now + 3_600_000),
        '~u': 'old-user',
        '~m': '{"userAgent":"UA","ip":"127.0.0.1","loggedInAt":1}',
        '~v': '4',
        '~i': String(now + 120_000),
      });
      await raw.call('PEXPIREAT', hash, String(now + 60_000));
      await raw.zadd(index, now + 120_000, key);
      await raw.call('PEXPIREAT', index, String(now + 120_000));

      expect(await store.get(key)).toEqual({
        data: { count: 41, cart: [1, 2], '~tilde': 'kept' },
        createdAt: now - 5000,
        expiresAt: now + 60_000,
        absoluteExpiresAt: now + 3_600_000,
        userId: 'old-user',
        meta: { userAgent: 'UA', ip: '127.0.0.1', loggedInAt: 1 },
      });
      expect(await store.write(key, { incr: { count: 1 } }, now + 90_000)).toEqual({
        existed: true,
        counters: { count: 42 },
      });
      expect(await raw.hmget(hash, 'count', '~e', '~v', '~i', '~u')).toEqual([
        '42',
        String(now + 90_000),
        '5',
        String(now + 120_000),
        'old-user',
      ]);
      expect(await pexpiretime(hash)).toBe(now + 90_000);
      await store.write(key, { set: { cart: [3] }, unset: ['~tilde'] }, now + 100_000);
      await store.touch(key, now + 110_000);
      expect(await store.byUser!('old-user')).toEqual([
        {
          key,
          createdAt: now - 5000,
          expiresAt: now + 110_000,
          meta: { userAgent: 'UA', ip: '127.0.0.1', loggedInAt: 1 },
        },
      ]);
      // A deadline past the indexed one moves the index entry, as the earlier version did.
      await store.touch(key, now + 130_000);
      expect(await raw.zscore(index, key)).toBe(String(now + 260_000));
      expect(await raw.hget(hash, '~v')).toBe('8');
      // Logout: the user field, its index deadline and the index entry go.
      await store.write(key, { userId: null }, now + 130_000);
      expect(await raw.hmget(hash, '~u', '~i')).toEqual([null, null]);
      expect(await raw.zscore(index, key)).toBeNull();
      expect((await store.get(key))?.data).toEqual({ count: 42, cart: [3] });
    },
  );

  it.skipIf(skip)(
    'moves only the deadline and the version for a write that changes no key',
    async () => {
      const clock = testClock();
      const { store, prefix } = open(clock);
      const key = newKey();
      const now = clock.now();
      await store.write(key, { create: true, set: { a: 1 } }, now + 60_000);
      const hash = `${prefix}s:{${key}}`;
      expect(await store.write(key, {}, now + 80_000)).toEqual({ existed: true });
      expect(await raw.hgetall(hash)).toEqual({
        a: '1',
        '~c': String(now),
        '~e': String(now + 80_000),
        '~v': '2',
      });
      expect(await pexpiretime(hash)).toBe(now + 80_000);
      // A deadline that does not move leaves the hash's expiry as it is, and still bumps the version.
      expect(await store.write(key, { set: { b: 2 } }, now + 80_000)).toEqual({ existed: true });
      expect(await raw.hmget(hash, 'b', '~e', '~v')).toEqual(['2', String(now + 80_000), '3']);
      expect(await pexpiretime(hash)).toBe(now + 80_000);
      // An earlier deadline (a shorter lifetime) moves the hash's expiry back.
      await store.write(key, {}, now + 70_000);
      expect(await pexpiretime(hash)).toBe(now + 70_000);
      expect((await store.get(key))?.expiresAt).toBe(now + 70_000);
    },
  );

  it.skipIf(skip)('removes keys with a write that only unsets', async () => {
    const { store, prefix } = open();
    const key = newKey();
    const now = Date.now();
    await store.write(key, { create: true, set: { a: 1, b: 2, c: 3 } }, now + 60_000);
    await store.write(key, { unset: ['a', 'c', 'never-there'] }, now + 70_000);
    expect((await store.get(key))?.data).toEqual({ b: 2 });
    expect(await pexpiretime(`${prefix}s:{${key}}`)).toBe(now + 70_000);
  });

  it.skipIf(skip)(
    'refuses the whole delta when an incr key holds a non-number, deadline and version too',
    async () => {
      const { store, prefix } = open();
      const key = newKey();
      const now = Date.now();
      await store.write(key, { create: true, set: { name: 'ann', n: 1, gone: 0 } }, now + 60_000);
      const hash = `${prefix}s:{${key}}`;
      const before = await raw.hgetall(hash);
      const delta: Delta = { set: { added: true }, unset: ['gone'], incr: { n: 1, name: 1 } };
      expect(await store.write(key, delta, now + 90_000)).toEqual({
        existed: true,
        nonNumeric: ['name'],
      });
      expect(await raw.hgetall(hash)).toEqual(before);
      expect(await pexpiretime(hash)).toBe(now + 60_000);
    },
  );

  it.skipIf(skip)(
    'changes nothing for a write without create to a missing or expired record',
    async () => {
      const clock = testClock();
      const { store, prefix } = open(clock);
      const key = newKey();
      const now = clock.now();
      expect(await store.write(key, { set: { a: 1 }, incr: { n: 1 } }, now + 60_000)).toEqual({
        existed: false,
      });
      expect(await raw.exists(`${prefix}s:{${key}}`)).toBe(0);
      await store.write(key, { create: true, set: { a: 1 }, userId: 'u-exp' }, now + 60_000);
      const before = await raw.hgetall(`${prefix}s:{${key}}`);
      // Expired by the store's clock, while Redis still holds the hash.
      clock.advance(61_000);
      expect(await store.write(key, { set: { a: 2 }, userId: null }, now + 120_000)).toEqual({
        existed: false,
      });
      expect(await raw.hgetall(`${prefix}s:{${key}}`)).toEqual(before);
      // A create over it starts from nothing, and drops it from its old user's index.
      expect(await store.write(key, { create: true, set: { b: 1 } }, now + 120_000)).toEqual({
        existed: false,
      });
      expect(await store.get(key)).toMatchObject({ data: { b: 1 }, createdAt: clock.now() });
      expect(await raw.hget(`${prefix}s:{${key}}`, '~u')).toBeNull();
      expect(await raw.zscore(`${prefix}u:{u-exp}`, key)).toBeNull();
    },
  );

  it.skipIf(skip)(
    'replaces the data and keeps creation, deadline cap, user, meta and index entry',
    async () => {
      const clock = testClock();
      const { store, prefix } = open(clock);
      const key = newKey();
      const now = clock.now();
      await store.write(
        key,
        {
          create: true,
          createdAt: now - 1000,
          absoluteExpiresAt: now + 100_000,
          set: { a: 1, b: 2 },
          userId: 'u-rep',
          meta: { ip: '127.0.0.1' },
        },
        now + 60_000,
      );
      const hash = `${prefix}s:{${key}}`;
      const indexed = await raw.hget(hash, '~i');
      expect(await store.write(key, { replace: true, set: { c: 3 } }, now + 500_000)).toEqual({
        existed: true,
      });
      expect(await store.get(key)).toEqual({
        data: { c: 3 },
        createdAt: now - 1000,
        expiresAt: now + 100_000,
        absoluteExpiresAt: now + 100_000,
        userId: 'u-rep',
        meta: { ip: '127.0.0.1' },
      });
      expect(await raw.hmget(hash, '~i', '~v')).toEqual([indexed, '2']);
      expect(await pexpiretime(hash)).toBe(now + 100_000);
      expect((await store.byUser!('u-rep')).map((s) => s.key)).toEqual([key]);
    },
  );

  it.skipIf(skip)(
    'applies deltas longer than one Lua unpack takes (thousands of keys)',
    async () => {
      const { store } = open();
      const key = newKey();
      const now = Date.now();
      const names = (from: number, to: number, p: string): string[] =>
        Array.from({ length: to - from }, (_, i) => `${p}${from + i}`);
      const set = Object.fromEntries(names(0, 6000, 's').map((k, i) => [k, i]));
      await store.write(key, { create: true, set }, now + 60_000);
      const incr = Object.fromEntries(names(0, 4500, 's').map((k) => [k, 1]));
      const result = await store.write(
        key,
        { unset: names(4500, 6000, 's'), set: { extra: 'x' }, incr },
        now + 70_000,
      );
      expect(result.existed).toBe(true);
      expect(Object.keys(result.counters!)).toHaveLength(4500);
      expect(result.counters!['s4499']).toBe(4500);
      const data = (await store.get(key))!.data;
      expect(Object.keys(data)).toHaveLength(4501);
      expect([data['s0'], data['s4499'], data['s4500'], data['extra']]).toEqual([
        1,
        4500,
        undefined,
        'x',
      ]);
    },
  );
});
