/**
 * @module The store contract's cases for leases (`lock`/`unlock`), run when the store has them.
 */
import { describe, expect, it } from 'vitest';
import { newKey, type Harness } from './harness.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Registers the lease cases. */
export function lockCases(h: Harness): void {
  const { openFor, create } = h;
  describe('lock', () => {
    it('gives a key to one holder at a time, and frees it on unlock by that holder only', async (ctx) => {
      const store = await openFor(ctx, 'lock');
      const key = newKey();
      const token = await store.lock!(key, 10_000);
      expect(typeof token).toBe('string');
      expect(token!.length).toBeGreaterThan(0);
      expect(await store.lock!(key, 10_000)).toBeUndefined();
      expect(await store.unlock!(key, `${token!}x`)).toBe(false);
      expect(await store.lock!(key, 10_000)).toBeUndefined();
      expect(await store.unlock!(key, token!)).toBe(true);
      expect(await store.unlock!(key, token!)).toBe(false);
      const next = await store.lock!(key, 10_000);
      expect(typeof next).toBe('string');
      expect(next).not.toBe(token);
      // Leases of other keys are independent, and a lease needs no record.
      expect(typeof (await store.lock!(newKey(), 10_000))).toBe('string');
    });

    it('grants exactly one of many concurrent requests for a lease', async (ctx) => {
      const store = await openFor(ctx, 'lock');
      const key = newKey();
      await create(store, key, { set: { a: 1 } });
      const tokens = await Promise.all(Array.from({ length: 20 }, () => store.lock!(key, 10_000)));
      expect(tokens.filter((t) => t !== undefined)).toHaveLength(1);
      // The record itself is untouched by its lease.
      expect((await store.get(key))?.data).toEqual({ a: 1 });
    });

    it("ends a lease at its deadline, and never releases the next holder's lease", async (ctx) => {
      const store = await openFor(ctx, 'lock');
      const key = newKey();
      const ttl = 300;
      const first = await store.lock!(key, ttl);
      expect(first).toBeDefined();
      // Both clocks move: the test clock for stores that decide expiry by it, real time for
      // servers that expire leases themselves.
      await sleep(ttl + 100);
      h.clock.advance(ttl + 100);
      const second = await store.lock!(key, 10_000);
      expect(second).toBeDefined();
      expect(second).not.toBe(first);
      expect(await store.unlock!(key, first!)).toBe(false);
      expect(await store.lock!(key, 10_000)).toBeUndefined();
      expect(await store.unlock!(key, second!)).toBe(true);
    });
  });
}
