/**
 * Lossless read-modify-write (issue 14, items 1–2) on every store with locks, on its real server:
 * 50 concurrent cart pushes through `session.update` keep 50 items (a plain get-push-set keeps
 * far fewer); locked sections of one session never overlap; a held lock ends a waiter with
 * LOCK_TIMEOUT; a section that outlives its lease saves nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createSessionManager, createStore, type Store } from '../../src/index.js';
import { SERVICES, skipUnless } from '../support/services.js';
import { backends } from '../support/backends.js';
import { withCookie } from '../support/requests.js';

const run = promisify(execFile);
const folder = mkdtempSync(join(tmpdir(), 'tessera-update-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

type Data = { cart: number[]; note: string };

for (const backend of await backends(folder)) {
  const opened: Store[] = [];
  const open = async (): Promise<Store> => {
    const store = await backend.open();
    opened.push(store);
    return store;
  };
  const probe = backend.skip ? undefined : await open();
  const skip =
    backend.skip ||
    (probe?.lock === undefined ? `the ${backend.name} store has no locks (UNSUPPORTED)` : false);
  afterAll(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  describe.skipIf(skip)(`session.update and session.lock on ${backend.name}`, () => {
    async function started() {
      const manager = createSessionManager<Data>({ store: await open(), gcInterval: false });
      const first = manager.load(withCookie(undefined));
      first.set('note', 'start');
      await manager.commit(first);
      return { manager, id: first.id! };
    }

    it('keeps all 50 of 50 concurrent cart pushes', async () => {
      const { manager, id } = await started();
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const s = manager.load(withCookie(id));
          await s.update('cart', (cart) => [...(cart ?? []), i], { wait: 20_000 });
          await manager.commit(s);
        }),
      );
      const cart = await manager.load(withCookie(id)).get('cart');
      expect([...cart!].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    }, 30_000);

    it('never runs two sections of one session at once, and a waiter gives up with LOCK_TIMEOUT', async () => {
      const { manager, id } = await started();
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 8 }, () =>
          manager.load(withCookie(id)).lock(
            async () => {
              most = Math.max(most, ++inside);
              await sleep(5);
              inside--;
            },
            { wait: 20_000 },
          ),
        ),
      );
      expect(most).toBe(1);

      const holder = manager.load(withCookie(id)).lock(() => sleep(400), { ttl: 2000 });
      await sleep(50);
      const waiter = manager.load(withCookie(id)).lock(() => 'never', { wait: 100 });
      await expect(waiter).rejects.toMatchObject({ code: 'LOCK_TIMEOUT', status: 503 });
      await holder;
    }, 30_000);

    it('saves nothing from a section that outlived its lease', async () => {
      const { manager, id } = await started();
      const s = manager.load(withCookie(id));
      await expect(
        s.lock(
          async () => {
            s.set('note', 'late');
            await sleep(300);
          },
          { ttl: 100 },
        ),
      ).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
      expect(await manager.load(withCookie(id)).get('note')).toBe('start');
    });
  });
}

const processUrls = [
  [
    'Redis',
    await skipUnless('Redis', SERVICES.redis.port),
    () => `redis://127.0.0.1:${SERVICES.redis.port}/0?prefix=upd-${Date.now().toString(36)}:`,
  ],
  [
    'PostgreSQL',
    await skipUnless('PostgreSQL', 5499),
    () => `${SERVICES.postgres.url}?table=upd_${Date.now().toString(36)}`,
  ],
] as const;

describe('session.update across processes', () => {
  for (const [name, skip, urlOf] of processUrls)
    it.skipIf(skip)(
      `three processes pushing 15 items each keep all 45 on ${name}`,
      async () => {
        const url = urlOf();
        const manager = createSessionManager<Data>({
          store: await createStore(url),
          gcInterval: false,
        });
        try {
          const first = manager.load(withCookie(undefined));
          first.set('note', 'start');
          await manager.commit(first);
          const worker = new URL('../fixtures/update/worker.ts', import.meta.url).pathname;
          await Promise.all(
            ['a', 'b', 'c'].map((tag) =>
              run(process.execPath, ['--import', 'tsx', worker, url, first.id!, '15', tag], {
                cwd: new URL('../..', import.meta.url).pathname,
              }),
            ),
          );
          const cart = (await manager
            .load(withCookie(first.id))
            .get('cart')) as unknown as string[];
          expect(cart).toHaveLength(45);
          expect(new Set(cart).size).toBe(45);
        } finally {
          await manager.close();
        }
      },
      60_000,
    );
});

describe('locks on a store without them', () => {
  it('are refused with UNSUPPORTED', async () => {
    const base = await (await backends(folder)).find((b) => b.name === 'memory')!.open();
    const { lock: _lock, unlock: _unlock, ...rest } = base as Store & Record<string, unknown>;
    const store = Object.assign(
      Object.create(Object.getPrototypeOf(base) as object) as Store,
      rest,
    );
    const manager = createSessionManager<Data>({ store, gcInterval: false });
    const s = manager.load(withCookie(undefined));
    s.set('note', 'x');
    await manager.commit(s);
    await expect(manager.load(withCookie(s.id)).update('cart', () => [1])).rejects.toMatchObject({
      code: 'UNSUPPORTED',
    });
  });
});
