/**
 * @module The store contract's cases for the optional abilities that exist since the first stores:
 * rename, the user index, count and scan, gc, check. Each runs when the store has the method.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newKey, type Harness } from './harness.js';

/** Registers the cases of rename, the user index, count, scan, gc and check. */
export function abilityCases(h: Harness): void {
  const { openFor, create } = h;
  describe('rename', () => {
    it(`moves a record to a new key, leaving nothing under the old one`, async (ctx) => {
      const store = await openFor(ctx, 'rename');
      const oldKey = newKey();
      const freshKey = newKey();
      await create(store, oldKey, { set: { a: 1 }, userId: 'ren' });
      expect(await store.rename!(oldKey, freshKey)).toBe(true);
      expect(await store.get(oldKey)).toBeUndefined();
      expect(await store.get(freshKey)).toMatchObject({ data: { a: 1 }, userId: 'ren' });
      expect(await store.write(oldKey, { set: { b: 1 } }, h.clock.now() + 60_000)).toMatchObject({
        existed: false,
      });
      if (store.byUser) expect((await store.byUser('ren')).map((s) => s.key)).toEqual([freshKey]);
      expect(await store.rename!(newKey(), newKey())).toBe(false);
    });
    it('refuses to rename an expired record', async (ctx) => {
      const store = await openFor(ctx, 'rename');
      const oldKey = newKey();
      await create(store, oldKey, {}, 1000);
      h.clock.advance(1001);
      const target = newKey();
      expect(await store.rename!(oldKey, target)).toBe(false);
      expect(await store.get(target)).toBeUndefined();
    });
  });

  describe('getNow', () => {
    it('answers at once what get resolves to: missing, live, changed, touched, expired, destroyed', async (ctx) => {
      const store = await openFor(ctx, 'getNow');
      const same = async (key: string): Promise<void> => {
        const now = store.getNow!(key);
        expect(now).toEqual(await store.get(key));
      };
      const key = newKey();
      await same(key);
      await create(store, key, { set: { a: 1, nested: { b: [1] } }, userId: 'now' }, 10_000);
      await same(key);
      await store.write(
        key,
        { set: { c: 'x' }, unset: ['a'], incr: { n: 2 } },
        h.clock.now() + 10_000,
      );
      await same(key);
      await store.touch(key, h.clock.now() + 20_000);
      await same(key);
      expect(store.getNow!(key)?.expiresAt).toBe(h.clock.now() + 20_000);
      h.clock.advance(20_001);
      expect(store.getNow!(key)).toBeUndefined();
      await same(key);
      const other = newKey();
      await create(store, other, { set: { z: 1 } });
      await store.destroy(other);
      expect(store.getNow!(other)).toBeUndefined();
    });
    it('leaves out keys past their own deadline, as get does', async (ctx) => {
      const store = await openFor(ctx, 'getNow');
      if (store.hasKeyExpiry !== true) ctx.skip('the store has no per-key expiry');
      const key = newKey();
      const t = h.clock.now();
      await create(store, key, { set: { code: 1, keep: 2 }, expire: { code: t + 1000 } });
      expect(store.getNow!(key)?.data).toEqual({ code: 1, keep: 2 });
      h.clock.advance(1001);
      expect(store.getNow!(key)?.data).toEqual({ keep: 2 });
      expect(store.getNow!(key)).toEqual(await store.get(key));
    });
  });

  describe('user index', () => {
    it(`lists a user's live sessions with their meta, oldest first`, async (ctx) => {
      const store = await openFor(ctx, 'byUser');
      const user = `u-${randomBytes(4).toString('hex')}`;
      const keys = [newKey(), newKey(), newKey()];
      for (const [i, key] of keys.entries()) {
        await create(store, key, { userId: user, meta: { userAgent: `ua${i}` } });
        h.clock.advance(10);
      }
      await create(store, newKey(), { userId: `${user}-other` });
      const short = newKey();
      await create(store, short, { userId: user }, 50);
      h.clock.advance(100);
      const list = await store.byUser!(user);
      expect(list.map((s) => s.key)).toEqual(keys);
      expect(list.map((s) => s.meta?.userAgent)).toEqual(['ua0', 'ua1', 'ua2']);
      expect(list.every((s) => s.expiresAt > h.clock.now() && s.createdAt <= h.clock.now())).toBe(
        true,
      );
      expect(await store.byUser!('nobody')).toEqual([]);
    });
    it("revokes all of a user's sessions but one, and forgets destroyed ones", async (ctx) => {
      const store = await openFor(ctx, 'byUser');
      const user = `u-${randomBytes(4).toString('hex')}`;
      const keys = [newKey(), newKey(), newKey(), newKey()];
      for (const key of keys) await create(store, key, { userId: user });
      await store.destroy(keys[3]!);
      expect((await store.byUser!(user)).length).toBe(3);
      expect(await store.destroyByUser!(user, keys[0])).toBe(2);
      expect((await store.byUser!(user)).map((s) => s.key)).toEqual([keys[0]]);
      expect(await store.get(keys[1]!)).toBeUndefined();
      expect(await store.get(keys[0]!)).toBeDefined();
      expect(await store.destroyByUser!(user)).toBe(1);
      expect(await store.get(keys[0]!)).toBeUndefined();
    });
    it('moves a session between users when the binding changes', async (ctx) => {
      const store = await openFor(ctx, 'byUser');
      const key = newKey();
      await create(store, key, { userId: 'first' });
      await store.write(key, { userId: 'second' }, h.clock.now() + 60_000);
      expect(await store.byUser!('first')).toEqual([]);
      expect((await store.byUser!('second')).map((s) => s.key)).toEqual([key]);
      await store.write(key, { userId: null }, h.clock.now() + 60_000);
      expect(await store.byUser!('second')).toEqual([]);
    });
  });

  describe('count and scan', () => {
    it(`counts live records`, async (ctx) => {
      const store = await openFor(ctx, 'count');
      const keys = Array.from({ length: 7 }, newKey);
      for (const key of keys) await create(store, key);
      expect(await store.count!()).toBe(7);
      await store.destroy(keys[0]!);
      expect(await store.count!()).toBe(6);
    });
    it(`pages through every live key`, async (ctx) => {
      const store = await openFor(ctx, 'scan');
      const keys = new Set(Array.from({ length: 25 }, newKey));
      for (const key of keys) await create(store, key);
      const seen = new Set<string>();
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.scan!(cursor, 10);
        for (const key of page.keys) seen.add(key);
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined && pages < 1000);
      expect(seen).toEqual(keys);
    });
  });

  describe('gc', () => {
    it(`removes expired records and keeps live ones`, async (ctx) => {
      const store = await openFor(ctx, 'gc');
      const dead = Array.from({ length: 6 }, newKey);
      const alive = Array.from({ length: 4 }, newKey);
      for (const key of dead) await create(store, key, {}, 1000);
      for (const key of alive) await create(store, key, {}, 600_000);
      h.clock.advance(5000);
      const first = await store.gc!({ limit: 2 });
      expect(first.removed).toBeLessThanOrEqual(2);
      let total = first.removed;
      for (let i = 0; i < 10; i++) {
        const pass = await store.gc!({ limit: 1000, budgetMs: 1000 });
        total += pass.removed;
        if (pass.done) break;
      }
      expect(total).toBe(6);
      for (const key of alive) expect(await store.get(key)).toBeDefined();
      if (store.count) expect(await store.count()).toBe(4);
    });
  });

  describe('check', () => {
    it(`passes its own health check`, async (ctx) => {
      const store = await openFor(ctx, 'check');
      await expect(store.check!()).resolves.toBeUndefined();
    });
  });
}
