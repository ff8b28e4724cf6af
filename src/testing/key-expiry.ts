/**
 * @module The store contract's cases for per-key expiry (`Delta.expire`), run when the store
 * declares `hasKeyExpiry`.
 */
import { describe, expect, it } from 'vitest';
import { newKey, type Harness } from './harness.js';

/** Registers the per-key expiry cases. */
export function keyExpiryCases(h: Harness): void {
  const { openFor, create } = h;
  describe('per-key expiry', () => {
    it("drops a key at its own deadline and leaves the session's deadline alone", async (ctx) => {
      const store = await openFor(ctx, 'keyExpiry');
      const key = newKey();
      const t = h.clock.now();
      await create(store, key, { set: { code: '123456', keep: 1 }, expire: { code: t + 1000 } });
      const before = await store.get(key);
      expect(before?.data).toEqual({ code: '123456', keep: 1 });
      expect(before?.keyExpiresAt).toEqual({ code: t + 1000 });
      h.clock.advance(1001);
      const after = await store.get(key);
      expect(after?.data).toEqual({ keep: 1 });
      expect(after?.keyExpiresAt).toBeUndefined();
      expect(after?.expiresAt).toBe(before?.expiresAt);
      // An expired key counts as absent for increments too.
      await store.write(key, { incr: { code: 1 } }, h.clock.now() + 60_000);
      expect((await store.get(key))?.data).toEqual({ keep: 1, code: 1 });
    });

    it('forgets a deadline when the key is set again without one, unset, or flushed', async (ctx) => {
      const store = await openFor(ctx, 'keyExpiry');
      const key = newKey();
      const t = h.clock.now();
      const exp = t + 60_000;
      await create(store, key, {
        set: { a: 1, b: 2, c: 3 },
        expire: { a: t + 1000, b: t + 1000, c: t + 1000 },
      });
      await store.write(key, { set: { a: 10 } }, exp);
      await store.write(key, { unset: ['b'] }, exp);
      await store.write(key, { set: { b: 20 } }, exp);
      expect((await store.get(key))?.keyExpiresAt).toEqual({ c: t + 1000 });
      h.clock.advance(1001);
      expect((await store.get(key))?.data).toEqual({ a: 10, b: 20 });
      await store.write(key, { set: { d: 4 }, expire: { d: h.clock.now() + 1000 } }, exp);
      await store.write(key, { replace: true, set: { e: 5 } }, exp);
      h.clock.advance(1001);
      const record = await store.get(key);
      expect(record?.data).toEqual({ e: 5 });
      expect(record?.keyExpiresAt).toBeUndefined();
    });
  });
}
