/**
 * @module The store contract's cases for what every store implements: get, write, touch, destroy.
 */
import { expect, it } from 'vitest';
import type { JsonValue } from '../core/store.js';
import { newKey, type Harness } from './harness.js';

/** Registers the cases every store must pass. */
export function requiredCases(h: Harness): void {
  const { open, create } = h;
  const rounds = h.raceRounds;
  it('has a name', async () => {
    const store = await open();
    expect(typeof store.name).toBe('string');
    expect(store.name.length).toBeGreaterThan(0);
  });

  it('returns undefined for a key it never saw', async () => {
    const store = await open();
    expect(await store.get(newKey())).toBeUndefined();
  });

  it('creates a record only from a delta marked create, and reads it back whole', async () => {
    const store = await open();
    const key = newKey();
    const t = h.clock.now();
    expect(await store.write(key, { set: { a: 1 } }, t + 60_000)).toMatchObject({
      existed: false,
    });
    expect(await store.get(key)).toBeUndefined();
    const result = await store.write(
      key,
      {
        create: true,
        createdAt: t,
        absoluteExpiresAt: t + 120_000,
        set: { a: 1, b: 'two' },
        userId: 'u1',
        meta: { userAgent: 'UA', ip: '127.0.0.1', loggedInAt: t },
      },
      t + 60_000,
    );
    expect(result.existed).toBe(false);
    expect(await store.get(key)).toEqual({
      data: { a: 1, b: 'two' },
      createdAt: t,
      expiresAt: t + 60_000,
      absoluteExpiresAt: t + 120_000,
      userId: 'u1',
      meta: { userAgent: 'UA', ip: '127.0.0.1', loggedInAt: t },
    });
  });

  it('keeps every kind of JSON value and awkward key byte-exact', async () => {
    const store = await open();
    const key = newKey();
    const data: Record<string, JsonValue> = {
      nested: { deep: { list: [1, 'x', null, true, { y: [] }] } },
      float: 3.25,
      negative: -7,
      big: 2 ** 52,
      empty: '',
      unicode: 'ünïcödé ✓ 日本 \u{1F600}',
      quotes: `"'\\\n\t`,
      'a.b': 1,
      $where: 2,
      'with space': 3,
      ключ: 4,
      nul: null,
      f: false,
      large: 'x'.repeat(100_000),
    };
    await create(store, key, { set: data });
    expect((await store.get(key))?.data).toEqual(data);
  });

  it('keeps what it stores out of reach of the records and deltas it was handed or gave out', async () => {
    const store = await open();
    const key = newKey();
    const value = { list: [1, { deep: 'x' }] };
    await create(store, key, { set: { value, n: 1 } });
    // The writer changes the value it wrote: the stored one stays as written.
    value.list.push(2);
    const read = await store.get(key);
    expect(read?.data).toEqual({ value: { list: [1, { deep: 'x' }] }, n: 1 });
    // A reader changes (or, where the store hands out frozen records, tries to change) what it read.
    try {
      read!.data['n'] = 2;
      ((read!.data['value'] as { list: JsonValue[] }).list[1] as Record<string, JsonValue>)[
        'deep'
      ] = 'y';
      read!.expiresAt = 0;
    } catch {
      // A frozen record refuses the change: just as good.
    }
    const again = await store.get(key);
    expect(again?.data).toEqual({ value: { list: [1, { deep: 'x' }] }, n: 1 });
    expect(again?.expiresAt).toBeGreaterThan(h.clock.now());
  });

  it('applies set, unset and replace as one delta, in that order', async () => {
    const store = await open();
    const key = newKey();
    await create(store, key, { set: { a: 1, b: 2, c: 3 } });
    expect(
      await store.write(key, { set: { b: 20, d: 4 }, unset: ['a'] }, h.clock.now() + 60_000),
    ).toMatchObject({ existed: true });
    expect((await store.get(key))?.data).toEqual({ b: 20, c: 3, d: 4 });
    await store.write(key, { replace: true, set: { z: 26 } }, h.clock.now() + 60_000);
    expect((await store.get(key))?.data).toEqual({ z: 26 });
    await store.write(key, { unset: ['missing'] }, h.clock.now() + 60_000);
    expect((await store.get(key))?.data).toEqual({ z: 26 });
  });

  it('increments atomically and reports the new values', async () => {
    const store = await open();
    const key = newKey();
    const created = await create(store, key, { incr: { n: 5 } });
    expect(created.counters).toEqual({ n: 5 });
    const result = await store.write(key, { incr: { n: 2, m: -1 } }, h.clock.now() + 60_000);
    expect(result).toEqual({ existed: true, counters: { n: 7, m: -1 } });
    await Promise.all(
      Array.from({ length: 25 }, () =>
        store.write(key, { incr: { n: 1 } }, h.clock.now() + 60_000),
      ),
    );
    expect((await store.get(key))?.data['n']).toBe(32);
  });

  it('refuses an increment of a key that holds anything but a number, changing nothing', async () => {
    const store = await open();
    const key = newKey();
    await create(store, key, { set: { s: 'text', list: [1], n: 1 } });
    const exp = h.clock.now() + 60_000;
    const refused = await store.write(key, { set: { other: 1 }, incr: { s: 3, n: 1 } }, exp);
    expect(refused.existed).toBe(true);
    expect(refused.nonNumeric).toEqual(['s']);
    expect(refused.counters).toBeUndefined();
    expect((await store.write(key, { incr: { list: 1 } }, exp)).nonNumeric).toEqual(['list']);
    // The whole delta was refused: nothing of it was applied.
    expect((await store.get(key))?.data).toEqual({ s: 'text', list: [1], n: 1 });
    // A missing key still counts from 0.
    expect((await store.write(key, { incr: { fresh: 2 } }, exp)).counters).toEqual({ fresh: 2 });
  });

  it(`keeps both of two concurrent writes of different keys (${rounds} rounds)`, async () => {
    const store = await open();
    for (let i = 0; i < rounds; i++) {
      const key = newKey();
      await create(store, key, { set: { base: i } });
      const exp = h.clock.now() + 60_000;
      await Promise.all([
        store.write(key, { set: { left: i } }, exp),
        store.write(key, { set: { right: i } }, exp),
        store.write(key, { incr: { hits: 1 } }, exp),
      ]);
      expect((await store.get(key))?.data).toEqual({ base: i, left: i, right: i, hits: 1 });
    }
  });

  it('does not bring back a destroyed record when a late write arrives', async () => {
    const store = await open();
    const key = newKey();
    await create(store, key, { set: { a: 1 }, userId: 'late-user' });
    await store.destroy(key);
    expect(await store.write(key, { set: { b: 2 } }, h.clock.now() + 60_000)).toMatchObject({
      existed: false,
    });
    await store.touch(key, h.clock.now() + 60_000);
    expect(await store.get(key)).toBeUndefined();
  });

  it('treats destroy and touch of an unknown key as no-ops', async () => {
    const store = await open();
    await store.destroy(newKey());
    await store.touch(newKey(), h.clock.now() + 1000);
  });

  it('hides a record once its deadline passed, even before any clean-up', async () => {
    const store = await open();
    const key = newKey();
    await create(store, key, { set: { a: 1 } }, 1000);
    h.clock.advance(1001);
    expect(await store.get(key)).toBeUndefined();
    expect(await store.write(key, { set: { b: 2 } }, h.clock.now() + 60_000)).toMatchObject({
      existed: false,
    });
    await store.touch(key, h.clock.now() + 60_000);
    expect(await store.get(key)).toBeUndefined();
  });

  it('creates afresh over an expired record, keeping none of its data', async () => {
    const store = await open();
    const key = newKey();
    await create(store, key, { set: { old: true }, userId: 'gone' }, 1000);
    h.clock.advance(1500);
    await create(store, key, { set: { fresh: true } });
    const record = await store.get(key);
    expect(record?.data).toEqual({ fresh: true });
    expect(record?.userId).toBeUndefined();
  });

  it('moves the deadline on touch without touching data', async () => {
    const store = await open();
    const key = newKey();
    await create(store, key, { set: { a: 1 } }, 1000);
    await store.touch(key, h.clock.now() + 5000);
    h.clock.advance(2000);
    const record = await store.get(key);
    expect(record?.data).toEqual({ a: 1 });
    expect(record?.expiresAt).toBe(h.clock.now() + 3000);
  });

  it('never moves the deadline past the absolute one', async () => {
    const store = await open();
    const key = newKey();
    const t = h.clock.now();
    await store.write(
      key,
      { create: true, createdAt: t, absoluteExpiresAt: t + 2000, set: { a: 1 } },
      t + 10_000,
    );
    expect((await store.get(key))?.expiresAt).toBe(t + 2000);
    await store.write(key, { set: { b: 2 } }, t + 10_000);
    await store.touch(key, t + 10_000);
    expect((await store.get(key))?.expiresAt).toBe(t + 2000);
    h.clock.advance(2001);
    expect(await store.get(key)).toBeUndefined();
  });

  it('binds and unbinds a user and replaces meta through a delta', async () => {
    const store = await open();
    const key = newKey();
    await create(store, key);
    await store.write(
      key,
      { userId: 'alice', meta: { userAgent: 'A', loggedInAt: 5 } },
      h.clock.now() + 60_000,
    );
    expect(await store.get(key)).toMatchObject({
      userId: 'alice',
      meta: { userAgent: 'A', loggedInAt: 5 },
    });
    await store.write(key, { userId: null }, h.clock.now() + 60_000);
    expect((await store.get(key))?.userId).toBeUndefined();
  });
}
