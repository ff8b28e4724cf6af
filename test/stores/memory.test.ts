import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/stores/memory/index.js';
import { newKey, runStoreContract, testClock } from '../contract/store.js';

runStoreContract({ name: 'memory', create: (clock) => memoryStore({ clock }) });

describe('memory store', () => {
  it('sweeps in proportion to what expired, leaving live sessions alone', async () => {
    const clock = testClock();
    const store = memoryStore({ clock });
    for (let i = 0; i < 5000; i++)
      await store.write(newKey(), { create: true }, clock.now() + 600_000);
    const dead = Array.from({ length: 300 }, newKey);
    for (const key of dead) await store.write(key, { create: true }, clock.now() + 1000);
    clock.advance(2000);
    expect(await store.gc!({ limit: 100_000, budgetMs: 1000 })).toEqual({
      removed: 300,
      done: true,
    });
    expect(await store.gc!()).toEqual({ removed: 0, done: true });
    expect(await store.count!()).toBe(5000);
  });

  it('keeps a touched session out of the sweep of its old deadline', async () => {
    const clock = testClock();
    const store = memoryStore({ clock });
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, clock.now() + 1000);
    await store.touch(key, clock.now() + 60_000);
    clock.advance(5000);
    expect((await store.gc!()).removed).toBe(0);
    expect((await store.get(key))?.data).toEqual({ a: 1 });
  });

  it('hands out its stored record, frozen: no parse or copy per read, and no change gets in', async () => {
    const store = memoryStore();
    const key = newKey();
    const list = [1];
    await store.write(key, { create: true, set: { list } }, Date.now() + 60_000);
    list.push(3);
    const record = await store.get(key);
    expect(await store.get(key)).toBe(record);
    expect(Object.isFrozen(record) && Object.isFrozen(record!.data)).toBe(true);
    expect(() => (record!.data['list'] as number[]).push(2)).toThrow(TypeError);
    expect((await store.get(key))?.data).toEqual({ list: [1] });
    // A write makes a new record; the one handed out before stays as it was.
    await store.write(key, { set: { b: 2 } }, Date.now() + 60_000);
    expect(record!.data).toEqual({ list: [1] });
    expect((await store.get(key))?.data).toEqual({ list: [1], b: 2 });
  });

  it('answers synchronously (getNow), but not through a wrapper that replaces get', async () => {
    const store = memoryStore();
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    expect(store.getNow!(key)?.data).toEqual({ a: 1 });
    const wrapped = { ...store, get: async () => undefined };
    expect(wrapped.getNow).toBeUndefined();
  });
});

describe('memory store bound (issue 11, item 20)', () => {
  it('refuses new sessions past maxSessions while existing ones keep working', async () => {
    const clock = testClock();
    const store = memoryStore({ clock, maxSessions: 3 });
    const keys = [newKey(), newKey(), newKey()];
    for (const key of keys) await store.write(key, { create: true }, clock.now() + 1000);
    await expect(store.write(newKey(), { create: true }, clock.now() + 1000)).rejects.toMatchObject(
      {
        code: 'STORE_UNAVAILABLE',
        message: expect.stringContaining('maximum of 3 sessions'),
      },
    );
    // Existing sessions are untouched and still writable.
    expect((await store.write(keys[0]!, { set: { a: 1 } }, clock.now() + 1000)).existed).toBe(true);
    // Once some expired, new ones are taken again (the full store sweeps first).
    clock.advance(2000);
    expect((await store.write(newKey(), { create: true }, clock.now() + 1000)).existed).toBe(false);
    expect(await store.count!()).toBe(1);
  });

  it('gives new visitors 503 through the manager, never an unbounded heap', async () => {
    const { createSessionManager } = await import('../../src/index.js');
    const manager = createSessionManager({
      store: memoryStore({ maxSessions: 2 }),
      gcInterval: false,
    });
    const visit = async () => {
      const s = manager.load({ header: () => undefined, isSecure: false });
      s.set('x', 1);
      return manager.commit(s);
    };
    await visit();
    await visit();
    await expect(visit()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });
  });

  it('refuses a bound that is not a whole positive number, and reads it from the URL', async () => {
    expect(() => memoryStore({ maxSessions: 0 })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    const { createStore } = await import('../../src/index.js');
    const store = await createStore('memory:?maxSessions=1');
    await store.write(newKey(), { create: true }, Date.now() + 1000);
    await expect(store.write(newKey(), { create: true }, Date.now() + 1000)).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
  });
});
