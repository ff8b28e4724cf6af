/**
 * The purge handler for cron (issue 13, item 2): it removes every expired record and no live one,
 * in batches; stops before its budget and leaves the rest to the next run; two instances running
 * at once remove each record once; the node:http and Fetch handlers answer with the result, 401
 * without the token and 503 when the store fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { purgeExpired, purgeFetchHandler, purgeHandler } from '../../src/adapters/purge.js';
import { createSessionManager, createStore, storeKey, type Store } from '../../src/index.js';
import { sqliteStore } from '../../src/stores/sqlite/index.js';
import { backends } from '../support/backends.js';
import { SERVICES, skipUnless } from '../support/services.js';

const folder = mkdtempSync(join(tmpdir(), 'tessera-purge-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const key = (i: number, kind: string): string => storeKey(`${kind}-${i}`);

/** `expired` records that expire in 300 ms and `live` ones that do not; waits for the former. */
async function fill(store: Store, expired: number, live: number): Promise<void> {
  const soon = Date.now() + 300 + expired; // time to write them all
  const later = Date.now() + 3_600_000;
  const writes: Array<() => Promise<unknown>> = [];
  for (let i = 0; i < expired; i++)
    writes.push(() => store.write(key(i, 'e'), { create: true, set: { n: i } }, soon));
  for (let i = 0; i < live; i++)
    writes.push(() => store.write(key(i, 'l'), { create: true, set: { n: i } }, later));
  for (let i = 0; i < writes.length; i += 100)
    await Promise.all(writes.slice(i, i + 100).map((write) => write()));
  // Past the deadline, and past its whole second (the memory store sweeps by the second).
  await sleep(Math.max(0, soon - Date.now()) + 1100);
}

const swept = (await backends(folder)).filter((b) =>
  ['file', 'sqlite', 'postgres', 'mysql', 'memory'].includes(b.name),
);

for (const backend of swept) {
  describe.skipIf(backend.skip)(`purge on ${backend.name}`, () => {
    it('removes every expired record and no live one, in batches, and says it is done', async () => {
      const manager = createSessionManager({ store: await backend.open(), gcInterval: false });
      try {
        await fill(manager.store, 600, 40);
        const result = await purgeExpired(manager, { batchSize: 100 });
        expect(result).toMatchObject({ removed: 600, done: true });
        expect(result.batches).toBeGreaterThanOrEqual(6);
        expect(await manager.activeCount()).toBe(40);
        expect(await purgeExpired(manager)).toMatchObject({ removed: 0, done: true });
      } finally {
        await manager.close();
      }
    }, 30_000);
  });
}

const pgSkip = await skipUnless('PostgreSQL', 5499);

describe('purge budget and concurrency (SQLite; PostgreSQL when up)', () => {
  it('stops before its budget with more to do, and the next run goes on from there', async () => {
    const manager = createSessionManager({
      store: sqliteStore({ path: join(folder, 'budget.db') }),
      gcInterval: false,
    });
    try {
      await fill(manager.store, 3000, 10);
      const first = await purgeExpired(manager, { budgetMs: 20, batchMs: 2, batchSize: 20 });
      expect(first.done).toBe(false);
      expect(first.removed).toBeLessThan(3000);
      // Stopped at 80 % of the budget, plus at most one batch's overrun (generous: a loaded machine).
      expect(first.elapsedMs).toBeLessThan(16 + 250);
      const rest = await purgeExpired(manager, { batchSize: 500 });
      expect(rest.done).toBe(true);
      expect(first.removed + rest.removed).toBe(3000);
      expect(await manager.activeCount()).toBe(10);
    } finally {
      await manager.close();
    }
  });

  it.skipIf(pgSkip)(
    'two instances at once remove each record once',
    async () => {
      const url = `${SERVICES.postgres.url}?table=purge_${Date.now().toString(36)}`;
      const [a, b] = [
        createSessionManager({ store: await createStore(url), gcInterval: false }),
        createSessionManager({ store: await createStore(url), gcInterval: false }),
      ];
      try {
        await fill(a.store, 2000, 25);
        const [one, two] = await Promise.all([
          purgeExpired(a, { batchSize: 50 }),
          purgeExpired(b, { batchSize: 50 }),
        ]);
        expect(one.removed + two.removed).toBe(2000);
        expect(one.done && two.done).toBe(true);
        expect(await a.activeCount()).toBe(25);
      } finally {
        await a.close();
        await b.close();
      }
    },
    30_000,
  );
});

describe('purge handlers', () => {
  const token = 'cron-secret-0123456789';
  const failing = (): Store => {
    const inner = sqliteStore({ path: join(folder, `failing-${Date.now()}.db`) });
    return Object.assign(Object.create(null) as Store, {
      name: 'failing',
      get: inner.get.bind(inner),
      write: inner.write.bind(inner),
      touch: inner.touch.bind(inner),
      destroy: inner.destroy.bind(inner),
      close: inner.close.bind(inner),
      gc: () => Promise.reject(new Error('disk gone')),
    });
  };

  it('node:http: 401 without the token, the result with it, 503 when the store fails; requests are served meanwhile', async () => {
    const manager = createSessionManager({
      store: sqliteStore({ path: join(folder, 'handler.db') }),
      gcInterval: false,
    });
    const broken = createSessionManager({ store: failing(), gcInterval: false });
    const purge = purgeHandler(manager, { token, batchSize: 10, batchMs: 5 });
    const purgeBroken = purgeHandler(broken, { token });
    const server: Server = createServer((req, res) => {
      if (req.url === '/purge') return purge(req, res);
      if (req.url === '/broken') return purgeBroken(req, res);
      res.end('app');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const base = `http://127.0.0.1:${port}`;
    try {
      await fill(manager.store, 1500, 5);
      expect((await fetch(`${base}/purge`)).status).toBe(401);
      expect(
        (await fetch(`${base}/purge`, { headers: { authorization: 'Bearer wrong' } })).status,
      ).toBe(401);
      const auth = { headers: { authorization: `Bearer ${token}` } };
      const running = fetch(`${base}/purge`, auth);
      // The sweep yields between batches: the app answers while it runs.
      const app = await fetch(`${base}/`);
      expect(await app.text()).toBe('app');
      const answer = await running;
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      const body = (await answer.json()) as { removed: number; done: boolean; batches: number };
      expect(body).toMatchObject({ removed: 1500, done: true });
      expect(body.batches).toBeGreaterThan(100);
      const failed = await fetch(`${base}/broken`, auth);
      expect(failed.status).toBe(503);
      expect(await failed.json()).toEqual({ error: 'STORE_UNAVAILABLE' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await manager.close();
      await broken.close();
    }
  });

  it('Fetch: the same answers, and concurrent calls share one run', async () => {
    const manager = createSessionManager({
      store: sqliteStore({ path: join(folder, 'fetch.db') }),
      gcInterval: false,
    });
    try {
      await fill(manager.store, 300, 3);
      const handler = purgeFetchHandler(manager, { token, batchSize: 10 });
      expect((await handler(new Request('http://x/purge'))).status).toBe(401);
      const auth = { headers: { authorization: `Bearer ${token}` } };
      const [a, b] = await Promise.all([
        handler(new Request('http://x/purge', auth)),
        handler(new Request('http://x/purge', auth)),
      ]);
      const [ra, rb] = [await a.json(), await b.json()];
      expect(ra).toEqual(rb);
      expect(ra).toMatchObject({ removed: 300, done: true });
    } finally {
      await manager.close();
    }
  });

  it('refuses bad options at start-up', () => {
    const manager = createSessionManager({ gcInterval: false });
    expect(() => purgeHandler(manager, { token: 'short' })).toThrow(/token/);
    expect(() => purgeFetchHandler(manager, { budgetMs: 0 })).toThrow(/budgetMs/);
    expect(() => purgeHandler(manager, { batchSize: Number.NaN })).toThrow(/batchSize/);
  });
});
