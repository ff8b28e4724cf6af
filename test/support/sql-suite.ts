/**
 * Behaviour every SQL store shows beyond the store contract: statements per operation and per
 * request, hashed keys only, the versioned schema, safe names, creates over live and expired
 * rows, atomic counters across instances, bounded GC from several instances at once, and a
 * bounded wait on a locked row. Each SQL store test file runs it with its own driver hooks.
 */
import { describe, expect, it } from 'vitest';
import { createSessionManager, isTesseraError, storeKey } from '../../src/index.js';
import type { Clock, Store } from '../../src/core/store.js';
import { newKey, testClock, type TestClock } from '../contract/store.js';
import { browser } from './requests.js';
import { freshTable } from './sql-helpers.js';

/** Statements per store operation a store is expected to send. */
export interface StatementCounts {
  get: number;
  create: number;
  write: number;
  increment: number;
  /** An increment of a key holding text (refused: nothing written). */
  incrementRefused: number;
  /** An increment of a missing record. */
  incrementMissing: number;
  touch: number;
  rename: number;
  destroy: number;
}

/** A store on `table` plus a count of the statements it sent. */
export interface OpenedStore {
  store: Store;
  statements(): number;
  reset(): void;
}

export interface SqlSuiteOptions {
  name: string;
  skip: string | false;
  /** A store on `table`, with its statements counted. */
  open(options: {
    clock: Clock;
    table: string;
    timeout?: number;
    createTable?: boolean;
  }): OpenedStore | Promise<OpenedStore>;
  /** Runs SQL outside the store. */
  raw(sql: string): Promise<Array<Record<string, unknown>>>;
  /** The SQL setting the schema version of `table` (the `_schema` table). */
  setVersionSql(table: string, version: number): string;
  /** Names of the indexed columns of `table` (first column of each index). */
  indexedColumns(table: string): Promise<string[]>;
  /** Drops `table` and its `_schema` table. */
  drop(table: string): Promise<void>;
  /** Locks the row of `key` from another connection until the returned function is called. */
  lockRow(table: string, key: string): Promise<() => Promise<void>>;
  /** The error code a call blocked by {@link lockRow} gives once `timeout` passed. */
  blockedCode: 'STORE_TIMEOUT' | 'STORE_UNAVAILABLE';
  expected: StatementCounts;
  /** Where to print the measured statements per request. */
  report?: (line: string) => void;
}

export function runSqlStoreSuite(o: SqlSuiteOptions): void {
  describe.skipIf(Boolean(o.skip))(`SQL store behaviour: ${o.name}`, () => {
    async function withStore<T>(
      fn: (s: OpenedStore & { table: string; clock: TestClock }) => Promise<T>,
      extra: { timeout?: number } = {},
    ): Promise<T> {
      const table = freshTable('sq');
      const clock = testClock();
      const opened = await o.open({ clock, table, ...extra });
      try {
        return await fn({ ...opened, table, clock });
      } finally {
        await opened.store.close();
        await o.drop(table);
      }
    }

    it('sends the expected statements per operation', async () => {
      await withStore(async ({ store, clock, statements, reset }) => {
        const counts: Record<string, number> = {};
        const measure = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
          reset();
          await fn();
          counts[name] = statements();
        };
        const key = newKey();
        await store.get(newKey()); // creates the schema
        const exp = () => clock.now() + 60_000;
        await measure('create', () => store.write(key, { create: true, set: { a: 1 } }, exp()));
        await measure('get', () => store.get(key));
        await measure('write', () => store.write(key, { set: { b: 2 }, unset: ['a'] }, exp()));
        await measure('increment', () => store.write(key, { incr: { n: 1 } }, exp()));
        await store.write(key, { set: { text: 'x' } }, exp());
        await measure('incrementRefused', () => store.write(key, { incr: { text: 1 } }, exp()));
        await measure('incrementMissing', () => store.write(newKey(), { incr: { n: 1 } }, exp()));
        await measure('touch', () => store.touch(key, exp()));
        const next = newKey();
        await measure('rename', () => store.rename!(key, next));
        await measure('destroy', () => store.destroy(next));
        o.report?.(`${o.name} statements per operation: ${JSON.stringify(counts)}`);
        expect(counts).toEqual(o.expected);
      });
    });

    it('reaches the database a bounded number of times per request, and never stores a raw id', async () => {
      await withStore(async ({ store, clock, statements, reset, table }) => {
        const manager = createSessionManager<Record<string, unknown>>({
          store,
          clock,
          gcInterval: false,
          idleTimeout: 60_000,
          touchAfter: 10_000,
        });
        const b = browser(manager);
        await store.get(newKey()); // the schema is created on the first call
        const per: Record<string, number> = {};
        const visit = async (name: string, fn: Parameters<typeof b.visit>[0]): Promise<void> => {
          reset();
          await b.visit(fn);
          per[name] = statements();
        };
        await visit('new session, one set', (s) => s.set('cart', ['apple']));
        const id = b.cookie!;
        await visit('read only', (s) => s.get('cart'));
        await visit('read and set', async (s) =>
          s.set('cart', [...((await s.get('cart')) as string[]), 'pear']),
        );
        clock.advance(11_000);
        await visit('read after touchAfter', (s) => s.get('cart'));
        await visit('increment', (s) => s.increment('visits'));
        await visit('login', (s) => s.login('user-1'));
        await visit('logout', (s) => s.logout());
        o.report?.(`${o.name} statements per request: ${JSON.stringify(per)}`);
        expect(per['read only']).toBe(o.expected.get);
        expect(per['read and set']).toBe(o.expected.get + o.expected.write);
        expect(per['read after touchAfter']).toBe(o.expected.get + o.expected.touch);

        const dump = JSON.stringify(await o.raw(`SELECT * FROM ${quote(o.name, table)}`));
        expect(dump).not.toContain(id);
        await b.visit((s) => s.set('again', true));
        const rows = await o.raw(`SELECT id_hash FROM ${quote(o.name, table)}`);
        expect(rows.map((r) => r['id_hash'])).toEqual([storeKey(b.cookie!)]);
        expect(JSON.stringify(await o.raw(`SELECT * FROM ${quote(o.name, table)}`))).not.toContain(
          b.cookie!,
        );
        await manager.close();
      });
    });

    it('creates a versioned schema with indexes on expiry and user', async () => {
      await withStore(async ({ store, table }) => {
        await store.get(newKey());
        expect(
          (await o.raw(`SELECT version FROM ${quote(o.name, `${table}_schema`)}`)).map((r) =>
            Number(r['version']),
          ),
        ).toEqual([1]);
        const indexed = await o.indexedColumns(table);
        expect(indexed).toContain('expires_at');
        expect(indexed).toContain('user_id');
      });
    });

    it('refuses a schema made by a newer release, and a missing table when it may not create one', async () => {
      const table = freshTable('sq');
      const clock = testClock();
      const first = await o.open({ clock, table });
      await first.store.get(newKey());
      await first.store.close();
      await o.raw(o.setVersionSql(table, 99));
      const newer = await o.open({ clock, table });
      await expect(newer.store.get(newKey())).rejects.toMatchObject({
        code: 'CONFIG',
        message: expect.stringMatching(/schema version 99/),
      });
      await newer.store.close();
      await o.drop(table);
      const missing = await o.open({ clock, table: freshTable('sq'), createTable: false });
      await expect(missing.store.get(newKey())).rejects.toMatchObject({
        code: 'CONFIG',
        message: expect.stringMatching(/createTable/),
      });
      await missing.store.close();
    });

    it('rejects table names that are not plain identifiers, before any SQL runs', async () => {
      for (const table of [
        'x; DROP TABLE users',
        'a"b',
        'a`b',
        '1abc',
        '',
        'x'.repeat(49),
        'sessions--',
      ]) {
        let error: unknown;
        try {
          await o.open({ clock: testClock(), table });
        } catch (e) {
          error = e;
        }
        expect(isTesseraError(error) && error.code === 'CONFIG').toBe(true);
      }
    });

    it('applies a create to a live record as a delta, and replaces an expired one', async () => {
      await withStore(async ({ store, clock }) => {
        const key = newKey();
        await store.write(key, { create: true, set: { a: 1 }, userId: 'u' }, clock.now() + 1000);
        const again = await store.write(key, { create: true, set: { b: 2 } }, clock.now() + 5000);
        expect(again.existed).toBe(true);
        expect(await store.get(key)).toMatchObject({
          data: { a: 1, b: 2 },
          userId: 'u',
          expiresAt: clock.now() + 5000,
        });
        clock.advance(6000);
        const fresh = await store.write(key, { create: true, set: { c: 3 } }, clock.now() + 1000);
        expect(fresh.existed).toBe(false);
        expect(await store.get(key)).toEqual({
          data: { c: 3 },
          createdAt: clock.now(),
          expiresAt: clock.now() + 1000,
        });
      });
    });

    it('refuses an increment of a non-number whole: no data, deadline, binding or row changes', async () => {
      await withStore(async ({ store, clock }) => {
        const key = newKey();
        const t = clock.now();
        const data = { s: 'text', nul: null, obj: { n: 1 }, flag: true, n: 1.5 };
        await store.write(key, { create: true, set: data, userId: 'u' }, t + 60_000);
        const before = await store.get(key);
        for (const incr of [{ s: 1 }, { nul: 1 }, { obj: 1 }, { flag: 1 }])
          for (const create of [false, true]) {
            const delta = {
              ...(create ? { create: true as const } : {}),
              set: { other: 1 },
              unset: ['n'],
              incr: { ...incr, fresh: 1 },
              userId: null,
              meta: { ip: '127.0.0.1' },
            };
            expect(await store.write(key, delta, t + 90_000)).toEqual({
              existed: true,
              nonNumeric: Object.keys(incr),
            });
          }
        expect(await store.get(key)).toEqual(before);
        // A delta that makes the key a non-number itself is refused too, with or without a row.
        expect(
          await store.write(key, { set: { n: 'now text' }, incr: { n: 1 } }, t + 90_000),
        ).toEqual({ existed: true, nonNumeric: ['n'] });
        const other = newKey();
        expect(
          await store.write(other, { create: true, set: { a: [] }, incr: { a: 1 } }, t + 90_000),
        ).toEqual({ existed: false, nonNumeric: ['a'] });
        expect(await store.get(other)).toBeUndefined();
        expect(await store.count!()).toBe(1);
        // An expired row holds nothing: a create over it counts from 0.
        clock.advance(61_000);
        expect(
          await store.write(key, { create: true, incr: { s: 2 } }, clock.now() + 1000),
        ).toEqual({ existed: false, counters: { s: 2 } });
      });
    });

    it('counts exactly across two instances writing at once, reporting each value once', async () => {
      await withStore(async ({ store, clock, table }) => {
        const other = await o.open({ clock, table });
        try {
          const key = newKey();
          await store.write(key, { create: true }, clock.now() + 60_000);
          const exp = clock.now() + 60_000;
          const results = await Promise.all(
            Array.from({ length: 60 }, (_, i) =>
              (i % 2 ? store : other.store).write(
                key,
                { incr: { n: 1 }, set: { [`k${i}`]: i } },
                exp,
              ),
            ),
          );
          const seen = results.map((r) => r.counters?.['n']).sort((a, b) => a! - b!);
          expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
          const data = (await other.store.get(key))!.data;
          expect(data['n']).toBe(60);
          expect(Object.keys(data)).toHaveLength(61);
        } finally {
          await other.store.close();
        }
      });
    });

    it('collects expired rows in bounded batches from three instances at once, keeping live ones', async () => {
      await withStore(async ({ store, clock, table }) => {
        const dead = 1200;
        const live = Array.from({ length: 300 }, newKey);
        for (let i = 0; i < dead; i += 100) {
          await Promise.all(
            Array.from({ length: 100 }, () =>
              store.write(newKey(), { create: true, set: { x: 1 } }, clock.now() + 1000),
            ),
          );
        }
        for (const key of live)
          await store.write(key, { create: true, set: { keep: true } }, clock.now() + 600_000);
        clock.advance(2000);
        const first = await store.gc!({ limit: 500, budgetMs: 10_000 });
        expect(first).toEqual({ removed: 500, done: false });
        // A spent budget ends the pass after one batch (500 rows).
        const second = await store.gc!({ limit: 100_000, budgetMs: 0 });
        expect(second).toEqual({ removed: 500, done: false });
        const others = [await o.open({ clock, table }), await o.open({ clock, table })];
        try {
          const stores = [store, ...others.map((x) => x.store)];
          const totals = await Promise.all(
            stores.map(async (s) => {
              let removed = 0;
              for (let pass = 0; pass < 100; pass++) {
                const r = await s.gc!({ limit: 100, budgetMs: 50 });
                removed += r.removed;
                if (r.done && r.removed === 0) break;
              }
              return removed;
            }),
          );
          expect(first.removed + second.removed + totals.reduce((a, b) => a + b, 0)).toBe(dead);
          expect(await store.count!()).toBe(live.length);
          for (const key of live) expect((await store.get(key))?.data).toEqual({ keep: true });
          expect(await store.gc!()).toEqual({ removed: 0, done: true });
        } finally {
          for (const x of others) await x.store.close();
        }
      });
    });

    it('gives up on a locked row within its timeout and keeps working', async () => {
      await withStore(
        async ({ store, clock, table }) => {
          const key = newKey();
          await store.write(key, { create: true, set: { a: 1 } }, clock.now() + 60_000);
          const release = await o.lockRow(table, key);
          const started = Date.now();
          let error: unknown;
          try {
            await store.write(key, { set: { a: 2 } }, clock.now() + 60_000);
          } catch (e) {
            error = e;
          } finally {
            await release();
          }
          const took = Date.now() - started;
          expect(isTesseraError(error) && error.code).toBe(o.blockedCode);
          expect(took).toBeGreaterThanOrEqual(250);
          expect(took).toBeLessThan(1500);
          await store.write(key, { set: { a: 3 } }, clock.now() + 60_000);
          expect((await store.get(key))?.data).toEqual({ a: 3 });
        },
        { timeout: 300 },
      );
    });
  });
}

function quote(name: string, table: string): string {
  return name.startsWith('mysql') ? `\`${table}\`` : `"${table}"`;
}
