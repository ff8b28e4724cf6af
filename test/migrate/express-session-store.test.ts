/**
 * expressSessionStore: express-session itself, running on tessera stores (memory, and the Redis
 * store on the test Redis).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { unsign } from 'cookie-signature';
import express from 'express';
import session from 'express-session';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expressSessionStore } from '../../src/migrate/express-session-store.js';
import { createStore, memoryStore, storeKey, type Store } from '../../src/index.js';
import { Client, listen, type RunningApp } from '../contract/adapter-app.js';
import { SERVICES, skipUnless } from '../support/services.js';

const SECRET = 'bridge test secret 8c1f2a7e9d3b4c5a6f708192a3b4c5d6';

interface Views {
  views?: number;
}

function legacyApp(store: Store, timeout?: number): express.Express {
  const app = express();
  app.use(
    session({
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 60_000 },
      store: expressSessionStore(store, timeout === undefined ? {} : { timeout }),
    }),
  );
  app.post('/views', (req, res) => {
    const s = req.session as Views;
    s.views = (s.views ?? 0) + 1;
    res.json({ views: s.views });
  });
  app.get('/views', (req, res) => res.json({ views: (req.session as Views).views ?? 0 }));
  app.post('/regenerate', (req, res, next) => {
    req.session.regenerate((error) => (error ? next(error) : res.json({})));
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({})));
  });
  return app;
}

/** The express-session id behind a client's `connect.sid` cookie. */
function sidOf(client: Client): string {
  const raw = decodeURIComponent(client.cookies.get('connect.sid') ?? '');
  const sid = unsign(raw.slice(2), SECRET);
  if (sid === false) throw new Error('no valid connect.sid cookie');
  return sid;
}

function bridgeSuite(
  name: string,
  makeStore: () => Promise<Store>,
  skip: () => string | false,
): void {
  describe.skipIf(skip())(
    `expressSessionStore on the ${name} store, driven by express-session`,
    () => {
      let store: Store;
      let app: RunningApp;
      beforeAll(async () => {
        store = await makeStore();
        app = await listen(createServer(legacyApp(store)));
      });
      afterAll(async () => {
        await app?.close();
        await store?.close();
      });

      it('keeps a session across requests, stored under the hashed id only', async () => {
        const client = new Client(app.url);
        expect(JSON.parse((await client.post('/views')).body)).toEqual({ views: 1 });
        expect(JSON.parse((await client.post('/views')).body)).toEqual({ views: 2 });
        expect(JSON.parse((await client.get('/views')).body)).toEqual({ views: 2 });
        const sid = sidOf(client);
        const record = await store.get(storeKey(sid));
        // express-session computes a new cookie's originalMaxAge as `expires - Date.now()`, a
        // millisecond after setting `expires`: 59999 as often as 60000 (issue 11, item 15).
        expect(record?.data).toMatchObject({
          views: 2,
          cookie: { originalMaxAge: expect.toSatisfy((ms: number) => ms > 59_000 && ms <= 60_000) },
        });
        expect(await store.get(sid)).toBeUndefined();
      });

      it('an unchanged session is only touched: its deadline moves, its data stays', async () => {
        const client = new Client(app.url);
        await client.post('/views');
        const key = storeKey(sidOf(client));
        const before = (await store.get(key))!.expiresAt;
        await new Promise((resolve) => setTimeout(resolve, 30));
        await client.get('/views');
        const after = await store.get(key);
        expect(after!.expiresAt).toBeGreaterThan(before);
        expect(after!.data['views']).toBe(1);
      });

      it('regenerate and destroy remove the old record', async () => {
        const client = new Client(app.url);
        await client.post('/views');
        const first = sidOf(client);
        await client.post('/regenerate');
        expect(sidOf(client)).not.toBe(first);
        expect(await store.get(storeKey(first))).toBeUndefined();
        await client.post('/views');
        const second = sidOf(client);
        expect(await store.get(storeKey(second))).toBeDefined();
        await client.post('/logout');
        expect(await store.get(storeKey(second))).toBeUndefined();
      });
    },
  );
}

bridgeSuite(
  'memory',
  () => Promise.resolve(memoryStore()),
  () => false,
);
const redisSkip = await skipUnless('Redis', SERVICES.redis.port);
bridgeSuite(
  'Redis',
  () =>
    createStore(
      `redis://127.0.0.1:${SERVICES.redis.port}/0?prefix=bridge-${randomBytes(6).toString('hex')}:`,
    ),
  () => redisSkip,
);

describe('expressSessionStore: the callback API beyond get, set and destroy', () => {
  const call = <T>(
    run: (callback: (error: unknown, value?: T) => void) => void,
  ): Promise<T | undefined> =>
    new Promise((resolve, reject) =>
      run((error, value) =>
        error
          ? reject(error instanceof Error ? error : new Error('the store failed'))
          : resolve(value),
      ),
    );

  it('length, all and clear work through count and scan', async () => {
    const bridge = expressSessionStore(memoryStore());
    const body = {
      cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' },
    } as unknown as session.SessionData;
    for (const sid of ['one', 'two', 'three'])
      await call<void>((cb) => bridge.set(sid, { ...body, views: 1 } as session.SessionData, cb));
    expect(await call<number>((cb) => bridge.length!(cb))).toBe(3);
    const all = (await call<Record<string, unknown>>((cb) => bridge.all!(cb as never)))!;
    expect(Object.keys(all).sort()).toEqual(['one', 'two', 'three'].map(storeKey).sort());
    await call<void>((cb) => bridge.clear!(cb));
    expect(await call<number>((cb) => bridge.length!(cb))).toBe(0);
  });

  it('a store that never answers lets the request end within the timeout instead of hanging', async () => {
    const hanging: Store = {
      ...memoryStore(),
      name: 'hanging',
      get: () => new Promise(() => {}),
      write: () => new Promise(() => {}),
    };
    const app = await listen(createServer(legacyApp(hanging, 200)));
    const started = Date.now();
    // express-session holds the end of the answer until the store's callback, and on a failed
    // save still ends it (then passes the error to `next`): the bound is what ends the wait.
    await new Client(app.url).post('/views');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(1500);
    await app.close();
  });
});

describe('expressSessionStore calls back as express-session does (issue 11, item 12)', () => {
  it('makes an exception thrown in a callback an uncaught exception, like MemoryStore', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = (which: string) =>
      spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          new URL('../fixtures/bridge-callback.ts', import.meta.url).pathname,
          which,
        ],
        { encoding: 'utf8' },
      ).stdout.trim();
    expect(run('memory')).toBe('uncaught thrown by the callback');
    expect(run('tessera')).toBe('uncaught thrown by the callback');
  });
});
