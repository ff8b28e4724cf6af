/**
 * The store contract suite: one list of behaviours every tessera store must show. Each
 * `test/stores/<name>.test.ts` calls `runStoreContract` once, then adds its own tests.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock, Delta, JsonValue, Store } from '../../src/core/store.js';
import { storeKey } from '../../src/core/id.js';

/** A clock tests can move. It starts at the real time so native TTLs stay in the future. */
export interface TestClock extends Clock {
  advance(ms: number): void;
}

export function testClock(start = Date.now()): TestClock {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

/** Abilities the suite checks only when present; a missing one needs a written reason. */
export type Ability = 'rename' | 'byUser' | 'count' | 'scan' | 'gc' | 'check';

export interface StoreContractOptions {
  /** Shown in test names. */
  name: string;
  /** A fresh, empty store whose expiry follows `clock`. Called once per test. */
  create(clock: TestClock): Store | Promise<Store>;
  /** Drops what `create` made (tables, folders, key prefixes) after each test. */
  dispose?(store: Store): Promise<void>;
  /** Abilities this store lacks on purpose, each with the reason shown as the skip message. */
  lacks?: Partial<Record<Ability, string>>;
  /** Set when the whole suite cannot run here (e.g. no server); the reason is shown. */
  skip?: string | false;
  /** How many times the concurrent-writes test repeats. @default 100 */
  raceRounds?: number;
}

export const newKey = (): string => storeKey(randomBytes(32).toString('base64url'));

/** Runs the contract against a store. */
export function runStoreContract(options: StoreContractOptions): void {
  const rounds = options.raceRounds ?? 100;
  describe.skipIf(Boolean(options.skip))(`store contract: ${options.name}`, () => {
    let opened: Store[] = [];
    let clock: TestClock;
    afterEach(async () => {
      for (const store of opened) {
        await options.dispose?.(store);
        await store.close();
      }
      opened = [];
    });
    async function open(): Promise<Store> {
      clock = testClock();
      const store = await options.create(clock);
      opened.push(store);
      return store;
    }
    const create = (store: Store, key: string, delta: Omit<Delta, 'create'> = {}, ttl = 60_000) =>
      store.write(key, { create: true, createdAt: clock.now(), ...delta }, clock.now() + ttl);
    const ability = (name: Ability) => {
      const reason = options.lacks?.[name];
      return { skip: reason !== undefined, reason };
    };

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
      const t = clock.now();
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

    it('applies set, unset and replace as one delta, in that order', async () => {
      const store = await open();
      const key = newKey();
      await create(store, key, { set: { a: 1, b: 2, c: 3 } });
      expect(
        await store.write(key, { set: { b: 20, d: 4 }, unset: ['a'] }, clock.now() + 60_000),
      ).toMatchObject({ existed: true });
      expect((await store.get(key))?.data).toEqual({ b: 20, c: 3, d: 4 });
      await store.write(key, { replace: true, set: { z: 26 } }, clock.now() + 60_000);
      expect((await store.get(key))?.data).toEqual({ z: 26 });
      await store.write(key, { unset: ['missing'] }, clock.now() + 60_000);
      expect((await store.get(key))?.data).toEqual({ z: 26 });
    });

    it('increments atomically and reports the new values', async () => {
      const store = await open();
      const key = newKey();
      const created = await create(store, key, { incr: { n: 5 } });
      expect(created.counters).toEqual({ n: 5 });
      const result = await store.write(key, { incr: { n: 2, m: -1 } }, clock.now() + 60_000);
      expect(result).toEqual({ existed: true, counters: { n: 7, m: -1 } });
      await Promise.all(
        Array.from({ length: 25 }, () =>
          store.write(key, { incr: { n: 1 } }, clock.now() + 60_000),
        ),
      );
      expect((await store.get(key))?.data['n']).toBe(32);
      await store.write(key, { set: { s: 'text' } }, clock.now() + 60_000);
      expect((await store.write(key, { incr: { s: 3 } }, clock.now() + 60_000)).counters).toEqual({
        s: 3,
      });
    });

    it(`keeps both of two concurrent writes of different keys (${rounds} rounds)`, async () => {
      const store = await open();
      for (let i = 0; i < rounds; i++) {
        const key = newKey();
        await create(store, key, { set: { base: i } });
        const exp = clock.now() + 60_000;
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
      expect(await store.write(key, { set: { b: 2 } }, clock.now() + 60_000)).toMatchObject({
        existed: false,
      });
      await store.touch(key, clock.now() + 60_000);
      expect(await store.get(key)).toBeUndefined();
    });

    it('treats destroy and touch of an unknown key as no-ops', async () => {
      const store = await open();
      await store.destroy(newKey());
      await store.touch(newKey(), clock.now() + 1000);
    });

    it('hides a record once its deadline passed, even before any clean-up', async () => {
      const store = await open();
      const key = newKey();
      await create(store, key, { set: { a: 1 } }, 1000);
      clock.advance(1001);
      expect(await store.get(key)).toBeUndefined();
      expect(await store.write(key, { set: { b: 2 } }, clock.now() + 60_000)).toMatchObject({
        existed: false,
      });
      await store.touch(key, clock.now() + 60_000);
      expect(await store.get(key)).toBeUndefined();
    });

    it('creates afresh over an expired record, keeping none of its data', async () => {
      const store = await open();
      const key = newKey();
      await create(store, key, { set: { old: true }, userId: 'gone' }, 1000);
      clock.advance(1500);
      await create(store, key, { set: { fresh: true } });
      const record = await store.get(key);
      expect(record?.data).toEqual({ fresh: true });
      expect(record?.userId).toBeUndefined();
    });

    it('moves the deadline on touch without touching data', async () => {
      const store = await open();
      const key = newKey();
      await create(store, key, { set: { a: 1 } }, 1000);
      await store.touch(key, clock.now() + 5000);
      clock.advance(2000);
      const record = await store.get(key);
      expect(record?.data).toEqual({ a: 1 });
      expect(record?.expiresAt).toBe(clock.now() + 3000);
    });

    it('never moves the deadline past the absolute one', async () => {
      const store = await open();
      const key = newKey();
      const t = clock.now();
      await store.write(
        key,
        { create: true, createdAt: t, absoluteExpiresAt: t + 2000, set: { a: 1 } },
        t + 10_000,
      );
      expect((await store.get(key))?.expiresAt).toBe(t + 2000);
      await store.write(key, { set: { b: 2 } }, t + 10_000);
      await store.touch(key, t + 10_000);
      expect((await store.get(key))?.expiresAt).toBe(t + 2000);
      clock.advance(2001);
      expect(await store.get(key)).toBeUndefined();
    });

    it('binds and unbinds a user and replaces meta through a delta', async () => {
      const store = await open();
      const key = newKey();
      await create(store, key);
      await store.write(
        key,
        { userId: 'alice', meta: { userAgent: 'A', loggedInAt: 5 } },
        clock.now() + 60_000,
      );
      expect(await store.get(key)).toMatchObject({
        userId: 'alice',
        meta: { userAgent: 'A', loggedInAt: 5 },
      });
      await store.write(key, { userId: null }, clock.now() + 60_000);
      expect((await store.get(key))?.userId).toBeUndefined();
    });

    describe('rename', () => {
      const a = ability('rename');
      it.skipIf(a.skip)(
        `moves a record to a new key, leaving nothing under the old one${a.reason ? ` (skipped: ${a.reason})` : ''}`,
        async () => {
          const store = await open();
          const oldKey = newKey();
          const freshKey = newKey();
          await create(store, oldKey, { set: { a: 1 }, userId: 'ren' });
          expect(await store.rename!(oldKey, freshKey)).toBe(true);
          expect(await store.get(oldKey)).toBeUndefined();
          expect(await store.get(freshKey)).toMatchObject({ data: { a: 1 }, userId: 'ren' });
          expect(await store.write(oldKey, { set: { b: 1 } }, clock.now() + 60_000)).toMatchObject({
            existed: false,
          });
          if (store.byUser)
            expect((await store.byUser('ren')).map((s) => s.key)).toEqual([freshKey]);
          expect(await store.rename!(newKey(), newKey())).toBe(false);
        },
      );
      it.skipIf(a.skip)('refuses to rename an expired record', async () => {
        const store = await open();
        const oldKey = newKey();
        await create(store, oldKey, {}, 1000);
        clock.advance(1001);
        const target = newKey();
        expect(await store.rename!(oldKey, target)).toBe(false);
        expect(await store.get(target)).toBeUndefined();
      });
    });

    describe('user index', () => {
      const a = ability('byUser');
      it.skipIf(a.skip)(
        `lists a user's live sessions with their meta, oldest first${a.reason ? ` (skipped: ${a.reason})` : ''}`,
        async () => {
          const store = await open();
          const user = `u-${randomBytes(4).toString('hex')}`;
          const keys = [newKey(), newKey(), newKey()];
          for (const [i, key] of keys.entries()) {
            await create(store, key, { userId: user, meta: { userAgent: `ua${i}` } });
            clock.advance(10);
          }
          await create(store, newKey(), { userId: `${user}-other` });
          const short = newKey();
          await create(store, short, { userId: user }, 50);
          clock.advance(100);
          const list = await store.byUser!(user);
          expect(list.map((s) => s.key)).toEqual(keys);
          expect(list.map((s) => s.meta?.userAgent)).toEqual(['ua0', 'ua1', 'ua2']);
          expect(list.every((s) => s.expiresAt > clock.now() && s.createdAt <= clock.now())).toBe(
            true,
          );
          expect(await store.byUser!('nobody')).toEqual([]);
        },
      );
      it.skipIf(a.skip)(
        "revokes all of a user's sessions but one, and forgets destroyed ones",
        async () => {
          const store = await open();
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
        },
      );
      it.skipIf(a.skip)('moves a session between users when the binding changes', async () => {
        const store = await open();
        const key = newKey();
        await create(store, key, { userId: 'first' });
        await store.write(key, { userId: 'second' }, clock.now() + 60_000);
        expect(await store.byUser!('first')).toEqual([]);
        expect((await store.byUser!('second')).map((s) => s.key)).toEqual([key]);
        await store.write(key, { userId: null }, clock.now() + 60_000);
        expect(await store.byUser!('second')).toEqual([]);
      });
    });

    describe('count and scan', () => {
      const c = ability('count');
      const s = ability('scan');
      it.skipIf(c.skip)(
        `counts live records${c.reason ? ` (skipped: ${c.reason})` : ''}`,
        async () => {
          const store = await open();
          const keys = Array.from({ length: 7 }, newKey);
          for (const key of keys) await create(store, key);
          expect(await store.count!()).toBe(7);
          await store.destroy(keys[0]!);
          expect(await store.count!()).toBe(6);
        },
      );
      it.skipIf(s.skip)(
        `pages through every live key${s.reason ? ` (skipped: ${s.reason})` : ''}`,
        async () => {
          const store = await open();
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
        },
      );
    });

    describe('gc', () => {
      const g = ability('gc');
      it.skipIf(g.skip)(
        `removes expired records and keeps live ones${g.reason ? ` (skipped: ${g.reason})` : ''}`,
        async () => {
          const store = await open();
          const dead = Array.from({ length: 6 }, newKey);
          const alive = Array.from({ length: 4 }, newKey);
          for (const key of dead) await create(store, key, {}, 1000);
          for (const key of alive) await create(store, key, {}, 600_000);
          clock.advance(5000);
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
        },
      );
    });

    describe('check', () => {
      const k = ability('check');
      it.skipIf(k.skip)(
        `passes its own health check${k.reason ? ` (skipped: ${k.reason})` : ''}`,
        async () => {
          const store = await open();
          await expect(store.check!()).resolves.toBeUndefined();
        },
      );
    });
  });
}
