/**
 * @module The store contract's cases for the change feed (`watch`), run when the store has one.
 */
import { describe, expect, it } from 'vitest';
import type { StoreChange } from '../core/store.js';
import { newKey, type Harness } from './harness.js';

/** Waits until `check` passes (a feed from a server delivers after the call returns). */
async function eventually(check: () => void, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Registers the change-feed cases. */
export function watchCases(h: Harness): void {
  const { openFor, create } = h;
  describe('watch', () => {
    it('reports writes and destroys of each key, in order, and nothing for touches', async (ctx) => {
      const store = await openFor(ctx, 'watch');
      const seen: StoreChange[] = [];
      const unwatch = await store.watch!((change) => seen.push(change));
      try {
        const key = newKey();
        const of = (k: string) => seen.filter((c) => c.kind !== 'feed' && c.key === k);
        await create(store, key, { set: { a: 1 } });
        await eventually(() => expect(of(key)).toEqual([{ kind: 'write', key }]));
        await store.touch(key, h.clock.now() + 120_000);
        await store.write(key, { set: { b: 2 } }, h.clock.now() + 60_000);
        await store.destroy(key);
        await eventually(() =>
          expect(of(key)).toEqual([
            { kind: 'write', key },
            { kind: 'write', key },
            { kind: 'destroy', key },
          ]),
        );
        // A write that changed nothing (no record) reports nothing.
        const ghost = newKey();
        await store.write(ghost, { set: { x: 1 } }, h.clock.now() + 60_000);
        const marker = newKey();
        await create(store, marker);
        await eventually(() => expect(of(marker)).toHaveLength(1));
        expect(of(ghost)).toEqual([]);
      } finally {
        await unwatch();
      }
    });

    it('reports a rename as the old key destroyed and the new one written', async (ctx) => {
      const store = await openFor(ctx, 'watch');
      if (store.rename === undefined) return ctx.skip('the store has no `rename`');
      const seen: StoreChange[] = [];
      const unwatch = await store.watch!((change) => seen.push(change));
      try {
        const from = newKey();
        const to = newKey();
        await create(store, from);
        await store.rename(from, to);
        await eventually(() => {
          expect(seen).toContainEqual({ kind: 'destroy', key: from });
          expect(seen).toContainEqual({ kind: 'write', key: to });
        });
      } finally {
        await unwatch();
      }
    });

    it('stops reporting once unwatched', async (ctx) => {
      const store = await openFor(ctx, 'watch');
      const seen: StoreChange[] = [];
      const unwatch = await store.watch!((change) => seen.push(change));
      const other: StoreChange[] = [];
      const unwatchOther = await store.watch!((change) => other.push(change));
      try {
        await unwatch();
        const key = newKey();
        await create(store, key);
        await eventually(() => expect(other.filter((c) => c.kind === 'write')).toHaveLength(1));
        expect(seen.filter((c) => c.kind !== 'feed')).toEqual([]);
      } finally {
        await unwatchOther();
      }
    });
  });
}
