/**
 * migrateExpressSession: visitors of an express-session app (connect-redis on the test Redis,
 * connect-pg-simple on the test PostgreSQL) keep their sessions when the app switches to tessera.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expressSession, type RequestWithSession } from '../../src/adapters/express.js';
import { withSessions } from '../../src/adapters/fetch.js';
import {
  connectPgSource,
  connectRedisSource,
  migrateExpressSession,
  type LegacySource,
} from '../../src/migrate/express-session.js';
import { createSessionManager, type Session, type SessionManager } from '../../src/index.js';
import {
  Client,
  listen,
  probeStore,
  type ProbeStore,
  type RunningApp,
} from '../contract/adapter-app.js';
import { SERVICES, skipUnless } from '../support/services.js';

const require = createRequire(import.meta.url);
const SECRET = 'legacy express-session secret 5b7e0c9a1d2f3e4a';
type Data = { cart: string[]; note: string; visits: number };

/** The app before the switch: express-session with the given store; /login fills a session. */
async function legacyApp(store: session.Store): Promise<RunningApp> {
  const app = express();
  app.use(session({ secret: SECRET, resave: false, saveUninitialized: false, store }));
  app.post('/login', (req, res) => {
    Object.assign(req.session, { passport: { user: 'alice' }, cart: ['book'], note: 'old' });
    res.json({});
  });
  return listen(createServer(app));
}

/** The app after the switch: tessera with the migration, on Express. */
async function tesseraApp(manager: SessionManager<Data>): Promise<RunningApp> {
  const app = express();
  app.use(expressSession(manager));
  const sessionOf = (req: express.Request): Session<Data> =>
    (req as unknown as RequestWithSession<Data>).session;
  app.get('/unused', (_req, res) => res.send('ok'));
  app.get('/me', async (req, res) => {
    const s = sessionOf(req);
    res.json({
      cart: (await s.get('cart')) ?? null,
      note: (await s.get('note')) ?? null,
      user: s.userId ?? null,
    });
  });
  app.post('/note', (req, res) => {
    sessionOf(req).set('note', 'new');
    res.json({});
  });
  return listen(createServer(app));
}

const expired = (line: string | undefined): boolean =>
  /^connect\.sid=;/.test(line ?? '') && /max-age=0/i.test(line ?? '');

function migrationSuite(
  name: string,
  setup: () => Promise<{
    legacyStore: session.Store;
    source: LegacySource;
    has(sid: string): Promise<boolean>;
    close(): Promise<void>;
  }>,
  skip: string | false,
): void {
  describe.skipIf(skip)(`migrateExpressSession from ${name}`, () => {
    let env: Awaited<ReturnType<typeof setup>>;
    let legacy: RunningApp;
    let store: ProbeStore;
    let app: RunningApp;

    /** A visitor of the old app: logged in, holding a `connect.sid` cookie. */
    async function oldVisitor(): Promise<{ client: Client; sid: string }> {
      const old = new Client(legacy.url);
      await old.post('/login');
      const client = new Client(app.url);
      const cookie = old.cookies.get('connect.sid')!;
      client.cookies.set('connect.sid', cookie);
      const sid = decodeURIComponent(cookie).slice(2).split('.')[0]!;
      expect(await env.has(sid)).toBe(true);
      return { client, sid };
    }

    beforeAll(async () => {
      env = await setup();
      legacy = await legacyApp(env.legacyStore);
      store = probeStore();
      const manager = migrateExpressSession(createSessionManager<Data>({ store }), {
        secret: ['a newer secret that never signed these', SECRET],
        source: env.source,
        userOf: (old) => (old['passport'] as { user?: string } | undefined)?.user,
      });
      app = await tesseraApp(manager);
    });
    afterAll(async () => {
      await app?.close();
      await legacy?.close();
      await env?.close();
    });

    it('moves the old session into tessera on first use, then deletes it and clears the old cookie', async () => {
      const { client, sid } = await oldVisitor();
      const first = await client.get('/me');
      expect(JSON.parse(first.body)).toEqual({ cart: ['book'], note: 'old', user: 'alice' });
      expect(first.setCookies.some((line) => /^sid=[A-Za-z0-9_-]{43};/.test(line))).toBe(true);
      expect(expired(first.setCookies.find((line) => line.startsWith('connect.sid=')))).toBe(true);
      expect(await env.has(sid)).toBe(false);
      expect(client.cookies.has('connect.sid')).toBe(false);
      expect(JSON.parse((await client.get('/me')).body)).toEqual({
        cart: ['book'],
        note: 'old',
        user: 'alice',
      });
    });

    it('a route that never touches the session reads nothing and leaves the old session for later', async () => {
      const { client, sid } = await oldVisitor();
      store.reset();
      const answer = await client.get('/unused');
      expect(answer.setCookies).toEqual([]);
      expect(store.total()).toBe(0);
      expect(await env.has(sid)).toBe(true);
    });

    it('a value the handler sets before reading wins over the old one', async () => {
      const { client } = await oldVisitor();
      await client.post('/note');
      expect(JSON.parse((await client.get('/me')).body)).toEqual({
        cart: ['book'],
        note: 'new',
        user: 'alice',
      });
    });

    it('a replayed old cookie finds nothing once the session moved', async () => {
      const { client } = await oldVisitor();
      const stolen = client.cookies.get('connect.sid')!;
      await client.get('/me');
      const thief = new Client(app.url);
      thief.cookies.set('connect.sid', stolen);
      expect(JSON.parse((await thief.get('/me')).body)).toEqual({
        cart: null,
        note: null,
        user: null,
      });
    });

    it('a cookie with a wrong signature is ignored and left alone', async () => {
      const { client, sid } = await oldVisitor();
      client.cookies.set(
        'connect.sid',
        encodeURIComponent(`s:${sid}.forgedsignatureforgedsignatureforged0000`),
      );
      const answer = await client.get('/me');
      expect(JSON.parse(answer.body)).toEqual({ cart: null, note: null, user: null });
      expect(answer.setCookies).toEqual([]);
      expect(await env.has(sid)).toBe(true);
    });

    it('a visitor who already has a tessera session keeps it; the old one is cleaned up', async () => {
      const { client, sid } = await oldVisitor();
      const fresh = new Client(app.url);
      await fresh.post('/note');
      client.cookies.set('sid', fresh.cookies.get('sid')!);
      const answer = await client.get('/me');
      expect(JSON.parse(answer.body)).toEqual({ cart: null, note: 'new', user: null });
      expect(expired(answer.setCookies.find((line) => line.startsWith('connect.sid=')))).toBe(true);
      expect(await env.has(sid)).toBe(false);
    });
  });
}

const redisSkip = await skipUnless('Redis', SERVICES.redis.port);
migrationSuite(
  'connect-redis on Redis',
  async () => {
    const client = createClient({ url: `redis://127.0.0.1:${SERVICES.redis.port}` });
    client.on('error', () => {});
    await client.connect();
    const prefix = `legacy-${randomBytes(6).toString('hex')}:`;
    return {
      legacyStore: new RedisStore({ client, prefix }),
      source: connectRedisSource({ client, prefix }),
      has: async (sid) => (await client.exists(prefix + sid)) === 1,
      close: async () => void (await client.close()),
    };
  },
  redisSkip,
);

describe.skipIf(redisSkip)(
  'migrateExpressSession from connect-redis with resave: false (issue 11, item 3)',
  () => {
    it('carries a session kept alive by touches although its cookie.expires stamp is in the past', async () => {
      const client = createClient({ url: `redis://127.0.0.1:${SERVICES.redis.port}` });
      client.on('error', () => {});
      await client.connect();
      const prefix = `stale-${randomBytes(6).toString('hex')}:`;
      try {
        // What connect-redis leaves after a login more than maxAge ago and touches since: the
        // stamp from the login, and a TTL that every touch pushed forward (EXPIRE only).
        const sid = `s${randomBytes(8).toString('hex')}`;
        const stale = new Date(Date.now() - 3 * 24 * 3600_000).toISOString();
        await client.set(
          `${prefix}${sid}`,
          JSON.stringify({
            cookie: { originalMaxAge: 86_400_000, expires: stale, httpOnly: true, path: '/' },
            passport: { user: 'carol' },
            cart: ['still here'],
          }),
          { EX: 3600 },
        );
        const manager = migrateExpressSession(createSessionManager<Data>({ store: probeStore() }), {
          secret: SECRET,
          source: connectRedisSource({ client, prefix }),
          userOf: (old) => (old['passport'] as { user?: string } | undefined)?.user,
        });
        const app = await tesseraApp(manager);
        const visitor = new Client(app.url);
        const { sign } = await import('cookie-signature');
        visitor.cookies.set('connect.sid', encodeURIComponent(`s:${sign(sid, SECRET)}`));
        const answer = await visitor.get('/me');
        expect(JSON.parse(answer.body)).toEqual({
          cart: ['still here'],
          note: null,
          user: 'carol',
        });
        expect(answer.setCookies.find((l) => l.startsWith('sid='))).toMatch(/Max-Age=86400/);
        expect(await client.exists(`${prefix}${sid}`)).toBe(0);
        await app.close();
      } finally {
        await client.close();
      }
    });
  },
);

const pgSkip = await skipUnless('PostgreSQL', 5499);
migrationSuite(
  'connect-pg-simple on PostgreSQL',
  async () => {
    const pool = new pg.Pool({ connectionString: SERVICES.postgres.url, max: 2 });
    const tableName = `legacy_session_${randomBytes(4).toString('hex')}`;
    const PgStore = (
      require('connect-pg-simple') as (s: typeof session) => new (options: object) => session.Store
    )(session);
    const legacyStore = new PgStore({
      pool,
      tableName,
      createTableIfMissing: true,
      pruneSessionInterval: false,
    });
    return {
      legacyStore,
      source: connectPgSource({ pool, tableName }),
      has: async (sid) =>
        (await pool.query(`SELECT 1 FROM "${tableName}" WHERE sid = $1`, [sid])).rowCount === 1,
      close: async () => {
        await pool.query(`DROP TABLE IF EXISTS "${tableName}"`);
        await pool.end();
      },
    };
  },
  pgSkip,
);

describe('migrateExpressSession: failures and other adapters', () => {
  const signed = async (sid: string): Promise<string> => {
    const { sign } = await import('cookie-signature');
    return encodeURIComponent(`s:${sign(sid, SECRET)}`);
  };
  const memorySource = (
    sessions: Record<string, Record<string, unknown>>,
    failing = false,
  ): LegacySource => ({
    name: 'test source',
    get: (sid) =>
      failing ? Promise.reject(new Error('legacy store down')) : Promise.resolve(sessions[sid]),
    destroy: (sid) => Promise.resolve(void delete sessions[sid]),
  });
  /** One visit with an old cookie for `sid`, through the Fetch adapter, answering the session's cart. */
  const visitWithOldCookie = async (
    sessions: Record<string, Record<string, unknown>>,
    sid: string,
    options: Partial<Parameters<typeof migrateExpressSession<Data>>[1]> = {},
    answer: (s: Session<Data>) => Promise<unknown> = async (s) => ({
      cart: (await s.get('cart')) ?? null,
    }),
  ): Promise<Response> => {
    const manager = migrateExpressSession(createSessionManager<Data>({ store: probeStore() }), {
      secret: SECRET,
      source: memorySource(sessions),
      ...options,
    });
    const handler = withSessions(manager, async (_request, s) => Response.json(await answer(s)));
    return handler(
      new Request('http://app.test/', {
        headers: { cookie: `connect.sid=${await signed(sid)}` },
      }),
    );
  };

  it('an old store that fails answers 503 with no cookie, and the old session stays', async () => {
    const sessions = { old1: { cart: ['x'] } };
    const manager = migrateExpressSession(createSessionManager<Data>({ store: probeStore() }), {
      secret: SECRET,
      source: memorySource(sessions, true),
    });
    const app = await tesseraApp(manager);
    const client = new Client(app.url);
    client.cookies.set('connect.sid', await signed('old1'));
    const answer = await client.get('/me');
    expect(answer.status).toBe(503);
    expect(answer.setCookies).toEqual([]);
    expect(sessions.old1).toBeDefined();
    await app.close();
  });

  it('works with any adapter, e.g. the Fetch API', async () => {
    const sessions: Record<string, Record<string, unknown>> = {
      old2: { cart: ['pen'], cookie: { expires: null } },
    };
    const response = await visitWithOldCookie(sessions, 'old2');
    expect(await response.json()).toEqual({ cart: ['pen'] });
    expect(response.headers.getSetCookie().some((line) => line.startsWith('sid='))).toBe(true);
    expect(sessions['old2']).toBeUndefined();
  });

  it('an old session its store no longer has is not carried over', async () => {
    const response = await visitWithOldCookie({}, 'old3');
    expect(await response.json()).toEqual({ cart: null });
    expect(response.headers.getSetCookie()).toEqual([expect.stringMatching(/^connect\.sid=;/)]);
  });

  it('keeps a persistent old cookie persistent: the new cookie gets its lifetime (issue 11, item 3)', async () => {
    const week = 7 * 24 * 3600_000;
    const sessions: Record<string, Record<string, unknown>> = {
      old4: { cart: ['tea'], cookie: { originalMaxAge: week, expires: new Date(0).toISOString() } },
    };
    const response = await visitWithOldCookie(sessions, 'old4');
    // The stamp says 1970, the store says live: the store wins.
    expect(await response.json()).toEqual({ cart: ['tea'] });
    const ours = response.headers.getSetCookie().find((line) => line.startsWith('sid='));
    expect(ours).toMatch(/Max-Age=604800/);
    expect(ours).toMatch(/Expires=/);
  });

  it('does not carry keys tessera reserves, and says which', async () => {
    const errors: unknown[] = [];
    const sessions: Record<string, Record<string, unknown>> = {
      old5: { cart: ['x'], __secret: 1, constructor: 2, prototype: 3 },
    };
    const response = await visitWithOldCookie(
      sessions,
      'old5',
      { onError: (e) => errors.push(e) },
      (s) => s.all(),
    );
    expect(await response.json()).toEqual({ cart: ['x'] });
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'INVALID_DATA',
        message: expect.stringMatching(/`__secret`, `constructor`, `prototype` were not carried/),
      }),
    ]);
  });

  it('a request in flight with the old cookie does not replace the migrated session (issue 11, item 3)', async () => {
    const sessions: Record<string, Record<string, unknown>> = {
      old6: { cart: ['book'], passport: { user: 'alice' } },
    };
    const manager = migrateExpressSession(createSessionManager<Data>({ store: probeStore() }), {
      secret: SECRET,
      source: memorySource(sessions),
      userOf: (old) => (old['passport'] as { user?: string } | undefined)?.user,
    });
    const app = await tesseraApp(manager);
    const cookie = await signed('old6');
    const first = new Client(app.url);
    first.cookies.set('connect.sid', cookie);
    const late = new Client(app.url);
    late.cookies.set('connect.sid', cookie);
    const moved = await first.get('/me');
    expect(JSON.parse(moved.body)).toMatchObject({ cart: ['book'], user: 'alice' });
    // The same browser's other request left before the first answer came back: it writes too.
    const answer = await late.post('/note');
    expect(answer.setCookies.filter((line) => line.startsWith('sid='))).toEqual([]);
    expect(answer.setCookies.filter((line) => line.startsWith('connect.sid='))).toEqual([]);
    // The migrated, logged-in session is what the browser keeps.
    expect(JSON.parse((await first.get('/me')).body)).toEqual({
      cart: ['book'],
      note: null,
      user: 'alice',
    });
    await app.close();
  });

  it('a missing secret or source fails at start-up with CONFIG', () => {
    const manager = createSessionManager<Data>();
    expect(() => migrateExpressSession(manager, { secret: '', source: memorySource({}) })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    expect(() => migrateExpressSession(manager, { secret: SECRET } as never)).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
  });
});
