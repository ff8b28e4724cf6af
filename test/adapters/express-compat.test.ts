/**
 * express-session's API on tessera-session/express (`api: 'express-session'`): Passport 0.6 and
 * 0.7 (the real packages, with passport-local) log in, guard a page and log out; connect-flash
 * shows a failed login's message once; and what code written for express-session does with
 * `req.session` works, on the memory store and on Redis, without losing concurrent updates.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import flash from 'connect-flash';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { PassportStatic } from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expressSession,
  sessionOf,
  type RequestWithCompatSession,
} from '../../src/adapters/express.js';
import {
  createSessionManager,
  createStore,
  storeKey,
  type SessionManager,
  type Store,
} from '../../src/index.js';
import { Client } from '../contract/adapter-app.js';
import { SERVICES, skipUnless } from '../support/services.js';

const require = createRequire(import.meta.url);
const PASSPORTS: Array<{ name: string; passport: PassportStatic }> = [
  { name: 'passport 0.7', passport: require('passport') as PassportStatic },
  { name: 'passport 0.6', passport: require('passport06') as PassportStatic },
];

interface User {
  id: string;
}
type Compat = RequestWithCompatSession<{ cart: string[]; visits: number; theme: string }>;
const compat = (req: Request): Compat['session'] => (req as unknown as Compat).session;

const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

/** An Express app as its express-session tutorial writes it, on tessera. */
function passportApp(
  Passport: PassportStatic['Passport'],
  manager: SessionManager,
  keepSessionInfo: boolean,
) {
  const passport = new Passport();
  passport.use(
    new LocalStrategy((username, password, done) =>
      password === 'right'
        ? done(null, { id: username })
        : done(null, false, { message: 'Wrong password' }),
    ),
  );
  passport.serializeUser((user, done) => done(null, (user as User).id));
  passport.deserializeUser((id: string, done) => done(null, { id }));

  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(expressSession(manager, { api: 'express-session' }));
  app.use(passport.initialize());
  app.use(passport.session());
  app.use(flash());
  const authenticate = passport.authenticate('local', {
    successRedirect: '/profile',
    failureRedirect: '/login',
    failureFlash: true,
    keepSessionInfo,
  }) as express.RequestHandler;
  app.post('/login', authenticate);
  app.get('/login', (req, res) => {
    res.json({ errors: req.flash('error') });
  });
  app.get('/profile', (req, res) => {
    if (!req.isAuthenticated()) return void res.status(401).json({ user: null });
    res.json({ user: (req.user as User).id, cart: compat(req).cart ?? [] });
  });
  app.post('/cart', (req, res) => {
    const session = compat(req);
    session.cart = [...(session.cart ?? []), String((req.body as { item?: string }).item)];
    res.json({ cart: session.cart });
  });
  app.post('/logout', (req, res, next) => {
    req.logout({ keepSessionInfo }, (error) => (error ? next(error) : res.redirect('/login')));
  });
  return app;
}

async function listen(app: express.Express): Promise<{ server: Server; base: string }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, base: `http://127.0.0.1:${address.port}` };
}

const BACKENDS: Array<{ name: string; skip: string | false; open(): Promise<Store | undefined> }> =
  [
    { name: 'memory', skip: false, open: async () => undefined },
    {
      name: 'redis',
      skip: await skipUnless('Redis', SERVICES.redis.port),
      open: () =>
        createStore(
          `redis://127.0.0.1:${SERVICES.redis.port}/0?prefix=compat-${Date.now().toString(36)}:`,
        ),
    },
  ];

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip)(`express-session's API on ${backend.name}`, () => {
    let manager: SessionManager;
    beforeAll(async () => {
      const store = await backend.open();
      manager = createSessionManager(store === undefined ? {} : { store });
    });
    afterAll(() => manager?.close());

    for (const { name, passport } of PASSPORTS) {
      describe(name, () => {
        const servers: Server[] = [];
        afterAll(async () => {
          for (const server of servers) await new Promise((resolve) => server.close(resolve));
        });
        async function start(keepSessionInfo: boolean): Promise<string> {
          const { server, base } = await listen(
            passportApp(passport.Passport, manager, keepSessionInfo),
          );
          servers.push(server);
          return base;
        }

        it('logs in with a new id, guards the page, logs out with another', async () => {
          const base = await start(false);
          const browser = new Client(base);
          expect((await browser.send('GET', '/profile')).status).toBe(401);
          const cart = form({ item: 'book' });
          await browser.send('POST', '/cart', cart.headers, cart.body);
          const anonymous = browser.cookies.get('sid');
          expect(anonymous).toBeDefined();

          const login = form({ username: 'ada', password: 'right' });
          const answer = await browser.send('POST', '/login', login.headers, login.body);
          expect(answer.status).toBe(302);
          expect(answer.headers.get('location')).toBe('/profile');
          const loggedIn = browser.cookies.get('sid');
          expect(loggedIn).toBeDefined();
          expect(loggedIn).not.toBe(anonymous);
          const profile = await browser.send('GET', '/profile');
          // regenerate gives a new, empty session: the anonymous cart is not carried over.
          expect(JSON.parse(profile.body)).toEqual({ user: 'ada', cart: [] });

          // The id from before the login is dead.
          const stale = new Client(base);
          stale.cookies.set('sid', anonymous!);
          expect((await stale.send('GET', '/profile')).status).toBe(401);
          expect(await manager.store.get(storeKey(anonymous!))).toBeUndefined();

          const out = await browser.send('POST', '/logout');
          expect(out.status).toBe(302);
          expect(browser.cookies.get('sid')).not.toBe(loggedIn);
          expect((await browser.send('GET', '/profile')).status).toBe(401);
          const replay = new Client(base);
          replay.cookies.set('sid', loggedIn!);
          expect((await replay.send('GET', '/profile')).status).toBe(401);
        });

        it('keeps the session data through login and logout with keepSessionInfo', async () => {
          const base = await start(true);
          const browser = new Client(base);
          const cart = form({ item: 'pen' });
          await browser.send('POST', '/cart', cart.headers, cart.body);
          const login = form({ username: 'grace', password: 'right' });
          await browser.send('POST', '/login', login.headers, login.body);
          expect(JSON.parse((await browser.send('GET', '/profile')).body)).toEqual({
            user: 'grace',
            cart: ['pen'],
          });
          await browser.send('POST', '/logout');
          expect((await browser.send('GET', '/profile')).status).toBe(401);
          const more = form({ item: 'ink' });
          const after = await browser.send('POST', '/cart', more.headers, more.body);
          expect(JSON.parse(after.body)).toEqual({ cart: ['pen', 'ink'] });
        });

        it('shows a failed login its connect-flash message once', async () => {
          const base = await start(false);
          const browser = new Client(base);
          const wrong = form({ username: 'ada', password: 'wrong' });
          const answer = await browser.send('POST', '/login', wrong.headers, wrong.body);
          expect(answer.status).toBe(302);
          expect(answer.headers.get('location')).toBe('/login');
          expect(JSON.parse((await browser.send('GET', '/login')).body)).toEqual({
            errors: ['Wrong password'],
          });
          expect(JSON.parse((await browser.send('GET', '/login')).body)).toEqual({ errors: [] });
          expect((await browser.send('GET', '/profile')).status).toBe(401);
        });
      });
    }

    describe('req.session as express-session code uses it', () => {
      let base: string;
      let server: Server;
      beforeAll(async () => {
        const app = express();
        app.use(express.json());
        app.use(expressSession(manager, { api: 'express-session' }));
        app.post('/set/:key', (req, res) => {
          const session = compat(req) as unknown as Record<string, unknown>;
          session[req.params['key']] = (req.body as { value: unknown }).value;
          res.json({ id: req.sessionID ?? null });
        });
        app.post('/delete/:key', (req, res) => {
          delete (compat(req) as unknown as Record<string, unknown>)[req.params['key']];
          res.json({});
        });
        app.get('/all', (req, res) => {
          res.json({
            keys: Object.keys(compat(req)),
            json: JSON.parse(JSON.stringify(compat(req))),
            id: req.sessionID,
          });
        });
        app.post('/nested', (req, res) => {
          const session = compat(req);
          session.cart ??= [];
          session.cart.push('nested');
          res.json({});
        });
        app.post('/save-then-change', (req, res, next) => {
          const session = compat(req);
          session.theme = 'dark';
          session.save((error) => {
            if (error) return next(error);
            session.visits = 1;
            res.json({ id: req.sessionID });
          });
        });
        app.post('/reload', async (req, res) => {
          const session = compat(req);
          session.theme = 'unsaved';
          await session.reload();
          res.json({ theme: session.theme ?? null });
        });
        app.post('/destroy', (req, res, next) => {
          compat(req).destroy((error) =>
            error ? next(error) : res.json({ id: req.sessionID ?? null }),
          );
        });
        app.post('/remember', (req, res) => {
          compat(req).cookie.maxAge = (req.body as { maxAge: number }).maxAge;
          res.json({ maxAge: compat(req).cookie.maxAge });
        });
        app.get('/cookie', (req, res) => {
          const { maxAge, originalMaxAge, expires } = compat(req).cookie;
          res.json({ maxAge, originalMaxAge, expires: expires?.toISOString() ?? null });
        });
        app.post('/increment', async (req, res) => {
          res.json({ visits: await sessionOf<{ visits: number }>(req).increment('visits') });
        });
        app.post('/reserved', (req, res) => {
          try {
            (compat(req) as unknown as Record<string, unknown>)['save'] = 1;
            res.json({ ok: true });
          } catch (error) {
            res.status(422).json({ code: (error as { code?: string }).code });
          }
        });
        app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
          res.status((error as { status?: number }).status ?? 500).json({ error: String(error) });
        });
        ({ server, base } = await listen(app));
      });
      afterAll(() => new Promise((resolve) => server?.close(resolve)));

      const json = async (c: Client, method: string, path: string, body?: unknown) => {
        const answer = await c.send(
          method,
          path,
          body === undefined ? {} : { 'content-type': 'application/json' },
          body === undefined ? undefined : JSON.stringify(body),
        );
        return {
          status: answer.status,
          body: JSON.parse(answer.body) as Record<string, unknown>,
          answer,
        };
      };

      it('maps property writes and deletes onto keys, nested changes included', async () => {
        const c = new Client(base);
        await json(c, 'POST', '/set/theme', { value: 'light' });
        await json(c, 'POST', '/nested');
        await json(c, 'POST', '/nested');
        const all = await json(c, 'GET', '/all');
        expect(all.body['keys']).toEqual(['theme', 'cart']);
        expect(all.body['json']).toMatchObject({ theme: 'light', cart: ['nested', 'nested'] });
        expect(all.body['id']).toBe(c.cookies.get('sid'));
        await json(c, 'POST', '/delete/theme');
        expect((await json(c, 'GET', '/all')).body['keys']).toEqual(['cart']);
      });

      it('loses no update when two requests of one session write different keys at once', async () => {
        const c = new Client(base);
        await json(c, 'POST', '/set/start', { value: 0 });
        await Promise.all(
          Array.from({ length: 10 }, (_, i) => json(c, 'POST', `/set/k${i}`, { value: i })),
        );
        const keys = (await json(c, 'GET', '/all')).body['keys'] as string[];
        expect(keys.sort()).toEqual([
          'k0',
          'k1',
          'k2',
          'k3',
          'k4',
          'k5',
          'k6',
          'k7',
          'k8',
          'k9',
          'start',
        ]);
        // And increments through the tessera API behind it stay atomic.
        const counts = await Promise.all(
          Array.from({ length: 10 }, () => json(c, 'POST', '/increment')),
        );
        expect(counts.map((r) => r.body['visits']).sort((a, b) => Number(a) - Number(b))).toEqual([
          1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
        ]);
      });

      it('save(cb) writes at once and the session stays open; reload drops unsaved changes', async () => {
        const c = new Client(base);
        const saved = await json(c, 'POST', '/save-then-change');
        expect(saved.body['id']).toBe(c.cookies.get('sid'));
        expect((await json(c, 'GET', '/all')).body['json']).toMatchObject({
          theme: 'dark',
          visits: 1,
        });
        expect((await json(c, 'POST', '/reload')).body).toEqual({ theme: 'dark' });
        expect((await json(c, 'GET', '/all')).body['json']).toMatchObject({ theme: 'dark' });
      });

      it('destroy(cb) ends the session and clears its cookie', async () => {
        const c = new Client(base);
        await json(c, 'POST', '/set/theme', { value: 'x' });
        const id = c.cookies.get('sid')!;
        const gone = await json(c, 'POST', '/destroy');
        expect(gone.body).toEqual({ id: null });
        expect(c.cookies.has('sid')).toBe(false);
        expect(await manager.store.get(storeKey(id))).toBeUndefined();
      });

      it('cookie.maxAge gives the session its own lifetime: a persistent cookie and its deadline', async () => {
        const c = new Client(base);
        const twoHours = 2 * 3600 * 1000;
        const answer = await json(c, 'POST', '/remember', { maxAge: twoHours });
        expect(answer.body['maxAge']).toBe(twoHours);
        expect(answer.answer.setCookies.join()).toMatch(/Max-Age=7200;/);
        const record = await manager.store.get(storeKey(c.cookies.get('sid')!));
        // The manager's idle timeout is 30 minutes: this session lives two hours unused.
        expect(record!.expiresAt - Date.now()).toBeGreaterThan(twoHours - 60_000);
        const cookie = (await json(c, 'GET', '/cookie')).body;
        expect(cookie['originalMaxAge']).toBe(twoHours);
        expect(cookie['maxAge']).toBeGreaterThan(twoHours - 60_000);
        expect(typeof cookie['expires']).toBe('string');
      });

      it('caps a lifetime longer than the absolute timeout by it', async () => {
        const c = new Client(base);
        const month = 30 * 24 * 3600 * 1000;
        const answer = await json(c, 'POST', '/remember', { maxAge: month });
        // The absolute timeout is 12 hours by default.
        expect(answer.answer.setCookies.join()).toMatch(/Max-Age=43200;/);
        const record = await manager.store.get(storeKey(c.cookies.get('sid')!));
        expect(record!.expiresAt).toBe(record!.absoluteExpiresAt);
      });

      it('refuses data keys that express-session takes for its API', async () => {
        const c = new Client(base);
        expect((await json(c, 'POST', '/reserved')).body).toEqual({ code: 'INVALID_DATA' });
      });

      it('a request without a session cookie costs no store call', async () => {
        const calls: string[] = [];
        const counting = createSessionManager({
          store: new Proxy(manager.store, {
            get(target, key, receiver) {
              const value = Reflect.get(target, key, receiver) as unknown;
              if (typeof value !== 'function') return value;
              return (...args: unknown[]) => {
                calls.push(String(key));
                return (value as (...a: unknown[]) => unknown).apply(target, args);
              };
            },
          }),
        });
        const app = express();
        app.use(expressSession(counting, { api: 'express-session' }));
        app.get('/', (req, res) => res.json({ theme: compat(req).theme ?? null }));
        const { server: s, base: b } = await listen(app);
        try {
          expect(JSON.parse((await new Client(b).send('GET', '/')).body)).toEqual({ theme: null });
          expect(calls).toEqual([]);
        } finally {
          await new Promise((resolve) => s.close(resolve));
        }
      });
    });
  });
}

describe('callbacks', () => {
  it('throw out of a callback as an uncaught exception, never an unhandled rejection', () => {
    const script = `
      import express from 'express';
      import { createSessionManager } from './src/index.ts';
      import { expressSession } from './src/adapters/express.ts';
      process.on('unhandledRejection', () => { console.log('UNHANDLED REJECTION'); process.exit(3); });
      process.on('uncaughtException', (error) => { console.log('UNCAUGHT ' + error.message); process.exit(4); });
      const app = express();
      app.use(expressSession(createSessionManager(), { api: 'express-session' }));
      app.get('/', (req) => { req.session.save(() => { throw new Error('from the callback'); }); });
      const server = app.listen(0, '127.0.0.1', () => fetch('http://127.0.0.1:' + server.address().port + '/').catch(() => {}));
    `;
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: new URL('../..', import.meta.url).pathname,
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(run.stdout.trim()).toBe('UNCAUGHT from the callback');
    expect(run.status).toBe(4);
  });
});
