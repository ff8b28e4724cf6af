import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createStore } from '../../src/stores/registry.js';
import { parseStoreUrl } from '../../src/core/store-url.js';
import { parseRedisTarget } from '../../src/stores/redis/url.js';
import { TesseraError } from '../../src/core/errors.js';
import type { Delta, Store } from '../../src/core/store.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { newKey, testClock } from '../contract/store.js';
import {
  ioredisSingle,
  nodeRedisSingle,
  runRedisContract,
  testPrefix,
} from '../support/redis-clients.js';
import { SERVICES, skipUnless } from '../support/services.js';

const skip = await skipUnless('Redis', SERVICES.redis.port);
const url = `redis://127.0.0.1:${SERVICES.redis.port}`;

runRedisContract('redis (ioredis)', ioredisSingle, skip);
runRedisContract('redis (node-redis)', nodeRedisSingle, skip);

describe.skipIf(skip)('redis store on one server', () => {
  let raw: Redis;
  const opened: Store[] = [];
  beforeAll(async () => {
    raw = new Redis({ port: SERVICES.redis.port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    for (const store of opened) await store.close();
    raw.disconnect();
  });
  async function open(
    prefix = testPrefix(),
    clock = testClock(),
  ): Promise<{ store: Store; prefix: string }> {
    const store = await createStore(`${url}?prefix=${encodeURIComponent(prefix)}`, { clock });
    opened.push(store);
    return { store, prefix };
  }

  it('keeps one hash per session: JSON data fields, reserved bookkeeping, native deadline', async () => {
    const clock = testClock();
    const { store, prefix } = await open(testPrefix(), clock);
    const key = newKey();
    const t = clock.now();
    await store.write(
      key,
      {
        create: true,
        createdAt: t,
        absoluteExpiresAt: t + 120_000,
        set: { cart: [1, 2], name: 'ann' },
        userId: 'u-layout',
        meta: { userAgent: 'UA' },
      },
      t + 60_000,
    );
    const hash = `${prefix}s:{${key}}`;
    expect(await raw.type(hash)).toBe('hash');
    expect(await raw.hgetall(hash)).toEqual({
      cart: '[1,2]',
      name: '"ann"',
      '~c': String(t),
      '~e': String(t + 60_000),
      '~a': String(t + 120_000),
      '~u': 'u-layout',
      '~m': '{"userAgent":"UA"}',
      '~v': '1',
      '~i': String(t + 120_000),
    });
    expect(await raw.call('PEXPIRETIME', hash)).toBe(t + 60_000);
    await store.write(key, { set: { name: 'bo' }, unset: ['cart'] }, t + 90_000);
    expect(await raw.hmget(hash, 'name', 'cart', '~e', '~v')).toEqual([
      '"bo"',
      null,
      String(t + 90_000),
      '2',
    ]);
    expect(await raw.call('PEXPIRETIME', hash)).toBe(t + 90_000);
  });

  it('keeps a lease as the string <prefix>l:{key} holding its token, ended by Redis at its ttl', async () => {
    const { store, prefix } = await open();
    const key = newKey();
    const token = await store.lock!(key, 5000);
    const lease = `${prefix}l:{${key}}`;
    expect(await raw.get(lease)).toBe(token);
    const ttl = await raw.pttl(lease);
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(5000);
    // Another holder's token now in the key: an old token's unlock leaves it alone.
    await raw.set(lease, 'someone-else', 'PX', 5000);
    expect(await store.unlock!(key, token!)).toBe(false);
    expect(await raw.get(lease)).toBe('someone-else');
    await raw.del(lease);
  });

  it('stores data keys that start with "~" apart from the reserved fields', async () => {
    const { store, prefix } = await open();
    const key = newKey();
    await store.write(
      key,
      { create: true, set: { '~c': 'mine', '~~x': 1, '~': 2 } },
      Date.now() + 60_000,
    );
    const fields = await raw.hkeys(`${prefix}s:{${key}}`);
    expect(fields).toEqual(expect.arrayContaining(['~~c', '~~~x', '~~', '~c']));
    expect((await store.get(key))?.data).toEqual({ '~c': 'mine', '~~x': 1, '~': 2 });
    await store.write(key, { incr: { '~c2': 2 }, unset: ['~c'] }, Date.now() + 60_000);
    expect((await store.get(key))?.data).toEqual({ '~c2': 2, '~~x': 1, '~': 2 });
  });

  it("indexes a user's sessions in a sorted set scored by a padded deadline, moved about once per idle period", async () => {
    const clock = testClock();
    const { store, prefix } = await open(testPrefix(), clock);
    const [a, b] = [newKey(), newKey()];
    const t = clock.now();
    await store.write(a, { create: true, userId: 'idx' }, t + 30_000);
    await store.write(
      b,
      { create: true, userId: 'idx', absoluteExpiresAt: t + 80_000 },
      t + 50_000,
    );
    const index = `${prefix}u:{idx}`;
    expect(await raw.zrange(index, '0', '-1')).toEqual([a, b]);
    // Deadline plus the time left (capped at the absolute deadline): t + 2 × 30 s, and t + 80 s.
    expect([await raw.zscore(index, a), await raw.zscore(index, b)]).toEqual([
      String(t + 60_000),
      String(t + 80_000),
    ]);
    expect(await raw.hget(`${prefix}s:{${a}}`, '~i')).toBe(String(t + 60_000));
    expect(await raw.call('PEXPIRETIME', index)).toBe(t + 80_000);
    // A touch within the indexed deadline leaves the index alone; one past it moves it.
    await store.touch(a, t + 55_000);
    expect(await raw.zscore(index, a)).toBe(String(t + 60_000));
    clock.advance(10_000);
    await store.touch(a, t + 70_000);
    expect(await raw.zscore(index, a)).toBe(String(t + 130_000));
    expect(await raw.call('PEXPIRETIME', index)).toBe(t + 130_000);
    await store.destroy(a);
    expect(await raw.zrange(index, '0', '-1')).toEqual([b]);
  });

  it('refuses an increment over a non-number before changing any field, the deadline or the version', async () => {
    const clock = testClock();
    const { store, prefix } = await open(testPrefix(), clock);
    const key = newKey();
    const t = clock.now();
    await store.write(key, { create: true, set: { s: 'text', '~n': 1, o: {} } }, t + 60_000);
    const hash = `${prefix}s:{${key}}`;
    // What tonumber alone would read as a number, written by another client.
    await raw.hset(hash, 'hex', '0x10', 'spaced', ' 5', 'inf', 'inf');
    const before = await raw.hgetall(hash);
    const exp = t + 90_000;
    const cases: [Delta, string[]][] = [
      [{ set: { x: 1 }, unset: ['o'], incr: { '~n': 1, s: 1 } }, ['s']],
      [{ incr: { hex: 1, spaced: 1, inf: 1, '~n': 1 } }, ['hex', 'spaced', 'inf']],
      [{ incr: { o: 1 } }, ['o']],
      [{ set: { '~n': 'now text' }, incr: { '~n': 1 } }, ['~n']],
    ];
    for (const [delta, refused] of cases) {
      expect(await store.write(key, delta, exp)).toEqual({ existed: true, nonNumeric: refused });
    }
    expect(await raw.hgetall(hash)).toEqual(before);
    expect(await raw.call('PEXPIRETIME', hash)).toBe(t + 60_000);
    // The order of a delta decides: a key unset, replaced or set to a number counts as such.
    expect(await store.write(key, { unset: ['s'], incr: { s: 2 } }, exp)).toEqual({
      existed: true,
      counters: { s: 2 },
    });
    expect(await store.write(key, { set: { o: 1.5 }, incr: { o: 1, '~n': -3 } }, exp)).toEqual({
      existed: true,
      counters: { o: 2.5, '~n': -2 },
    });
    expect(await store.write(key, { replace: true, incr: { hex: 1 } }, exp)).toEqual({
      existed: true,
      counters: { hex: 1 },
    });
    // A record that a refused create would have made is not made.
    const other = newKey();
    expect(
      await store.write(other, { create: true, set: { s: 'x' }, incr: { s: 1 } }, exp),
    ).toEqual({ existed: false, nonNumeric: ['s'] });
    expect(await raw.exists(`${prefix}s:{${other}}`)).toBe(0);
  });

  it('recovers by itself when the server forgot its scripts (NOSCRIPT)', async () => {
    const { store } = await open();
    const key = newKey();
    await store.write(key, { create: true, set: { n: 1 } }, Date.now() + 60_000);
    await raw.script('FLUSH');
    expect(await store.write(key, { incr: { n: 1 } }, Date.now() + 60_000)).toEqual({
      existed: true,
      counters: { n: 2 },
    });
  });

  it('reads a hash it cannot parse as no session, and reports it', async () => {
    const prefix = testPrefix();
    const errors: unknown[] = [];
    const store = redisStore({ url, prefix, onError: (e) => errors.push(e) });
    opened.push(store);
    const key = newKey();
    await raw.hset(
      `${prefix}s:{${key}}`,
      'a',
      '{not json',
      '~c',
      '1',
      '~e',
      String(Date.now() + 60_000),
    );
    expect(await store.get(key)).toBeUndefined();
    expect(errors).toEqual([expect.objectContaining({ code: 'INVALID_DATA' })]);
    await raw.del(`${prefix}s:{${key}}`);
  });

  it('keeps every key under its prefix, so two prefixes never see each other', async () => {
    const one = await open();
    const two = await open();
    const key = newKey();
    await one.store.write(key, { create: true, set: { from: 'one' } }, Date.now() + 60_000);
    expect(await two.store.get(key)).toBeUndefined();
    expect(await two.store.count!()).toBe(0);
    expect(await one.store.count!()).toBe(1);
  });

  it.each(['ioredis', 'redis'])('is created from a redis:// URL with client=%s', async (client) => {
    const prefix = testPrefix();
    const store = await createStore(`${url}/0?client=${client}&prefix=${prefix}&timeout=1500`);
    opened.push(store);
    const key = newKey();
    await store.write(key, { create: true, set: { via: client } }, Date.now() + 60_000);
    expect((await store.get(key))?.data).toEqual({ via: client });
    expect(await raw.exists(`${prefix}s:{${key}}`)).toBe(1);
    await store.destroy(key);
  });

  it('uses the database named in the URL path', async () => {
    const prefix = testPrefix();
    const store = await createStore(`${url}/3?prefix=${prefix}`);
    opened.push(store);
    const key = newKey();
    await store.write(key, { create: true }, Date.now() + 60_000);
    const db3 = new Redis({ port: SERVICES.redis.port, host: '127.0.0.1', db: 3 });
    try {
      expect(await db3.exists(`${prefix}s:{${key}}`)).toBe(1);
      expect(await raw.exists(`${prefix}s:{${key}}`)).toBe(0);
      await db3.del(`${prefix}s:{${key}}`);
    } finally {
      db3.disconnect();
    }
  });

  it.each([
    ['redis://127.0.0.1:6390?colour=blue', /Unknown parameter "colour"/],
    ['redis://127.0.0.1:6390?client=memjs', /must be "ioredis" or "redis"/],
    ['redis://127.0.0.1:6390/x', /database "x" is not a number/],
    ['redis://127.0.0.1:6390?timeout=-1', /positive number/],
    ['redis://127.0.0.1:6390?prefix=a{b}', /may not contain/],
    ['redis://127.0.0.1:6390,127.0.0.1:6391', /names one server/],
    ['redis+sentinel://127.0.0.1:26390', /name the master/],
    ['redis+cluster://127.0.0.1:7390/2', /no numbered databases/],
  ])('refuses the bad URL %s with a CONFIG error', async (bad, message) => {
    const error = await createStore(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TesseraError);
    expect(error).toMatchObject({ code: 'CONFIG', message: expect.stringMatching(message) });
  });

  it('refuses options it cannot work with', () => {
    expect(() => redisStore({})).toThrow(/needs a `client`/);
    expect(() => redisStore({ url, prefix: '{x}' })).toThrow(/may not contain/);
    expect(() => redisStore({ url, commandTimeout: 0 })).toThrow(/positive number/);
  });

  it('hides the password of a URL in its errors', async () => {
    const error = await createStore('redis://user:s3cret@127.0.0.1:6390/db?x=1').catch(
      (e: unknown) => e,
    );
    expect(String((error as Error).message)).not.toContain('s3cret');
  });
});

describe('redis URL forms', () => {
  const target = (url: string) => {
    const { url: parsed, hosts } = parseStoreUrl(url);
    return parseRedisTarget(parsed, hosts);
  };

  it('reads a single server with credentials, database and TLS', () => {
    expect(target('rediss://ann:p%40ss@cache.example:6380/4')).toEqual({
      mode: 'single',
      hosts: [{ host: 'cache.example', port: 6380 }],
      isTls: true,
      username: 'ann',
      password: 'p@ss',
      db: 4,
    });
    expect(target('redis://[::1]')).toMatchObject({
      hosts: [{ host: '::1', port: 6379 }],
      isTls: false,
    });
  });

  it("reads every sentinel, the master name, the database and the sentinels' password", () => {
    expect(
      target(
        'redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2,10.0.0.3:26380/mymaster/2?sentinelPassword=sp&tls=true',
      ),
    ).toEqual({
      mode: 'sentinel',
      hosts: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
        { host: '10.0.0.3', port: 26380 },
      ],
      isTls: true,
      password: 'pw',
      masterName: 'mymaster',
      sentinelPassword: 'sp',
      db: 2,
    });
  });

  it('reads every seed node of a cluster', () => {
    expect(target('redis+cluster://10.0.0.1:7000,10.0.0.2:7001?tls=true')).toEqual({
      mode: 'cluster',
      hosts: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      isTls: true,
    });
  });
});
