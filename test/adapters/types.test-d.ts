/**
 * Each adapter types the session with the app's Data, the way its framework types request state.
 */
import connect from 'connect';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { describe, expectTypeOf, it } from 'vitest';
import type {
  Session as ExpressSessionSession,
  SessionData as ExpressSessionData,
} from 'express-session';
import {
  compatSessionOf,
  expressSession,
  sessionOf,
  type CompatSession,
  type RequestWithSession,
} from '../../src/adapters/express.js';
import { fastifySession, type FastifyRequestWithSession } from '../../src/adapters/fastify.js';
import { commitSession, loadSession, withSessions } from '../../src/adapters/fetch.js';
import { honoSession, type SessionEnv } from '../../src/adapters/hono.js';
import { koaSession } from '../../src/adapters/koa.js';
import { migrateExpressSession, connectRedisSource } from '../../src/migrate/express-session.js';
import { createSessionManager, type Session, type SessionManager } from '../../src/index.js';

type Data = { count: number; cart: string[] };
const manager = createSessionManager<Data>();

describe('adapter types', () => {
  it('Koa: a chained app knows ctx.session, typed by Data', () => {
    new Koa().use(koaSession(manager)).use(async (ctx) => {
      expectTypeOf(ctx.session).toEqualTypeOf<Session<Data>>();
      expectTypeOf(await ctx.session.get('cart')).toEqualTypeOf<string[] | undefined>();
      // @ts-expect-error: count is a number
      ctx.session.set('count', 'one');
    });
  });

  it('Hono: c.get("session") is typed through the Env, declared or inferred from use()', () => {
    const app = new Hono<SessionEnv<Data>>();
    app.use(honoSession(manager));
    app.get('/', async (c) => {
      expectTypeOf(c.get('session')).toEqualTypeOf<Session<Data>>();
      return c.json({ count: (await c.get('session').get('count')) ?? 0 });
    });
    new Hono().use(honoSession(manager)).get('/', (c) => {
      expectTypeOf(c.get('session')).toEqualTypeOf<Session<Data>>();
      return c.text('ok');
    });
  });

  it('Fetch: the handler gets a typed session and passes extra arguments through', () => {
    const handler = withSessions(manager, async (_request, session, env: { region: string }) => {
      expectTypeOf(session).toEqualTypeOf<Session<Data>>();
      expectTypeOf(await session.increment('count')).toEqualTypeOf<number>();
      return new Response(env.region);
    });
    expectTypeOf(handler).toEqualTypeOf<
      (request: Request, env: { region: string }) => Promise<Response>
    >();
    const session = loadSession(manager, new Request('http://x.test/'));
    expectTypeOf(session).toEqualTypeOf<Session<Data>>();
    expectTypeOf(commitSession(manager, session, new Response())).toEqualTypeOf<
      Promise<Response>
    >();
  });

  it('Express and Connect take the middleware; RequestWithSession types req.session', () => {
    express().use(expressSession(manager));
    connect().use(expressSession(manager));
    expectTypeOf<RequestWithSession<Data>['session']>().toEqualTypeOf<Session<Data>>();
  });

  it('Fastify registers the plugin with a typed manager; FastifyRequestWithSession types request.session', () => {
    void Fastify().register(fastifySession, { manager });
    expectTypeOf<FastifyRequestWithSession<Data>['session']>().toEqualTypeOf<Session<Data>>();
  });

  it('the migration keeps the manager type', () => {
    const client = {
      get: (_key: string) => Promise.resolve(null),
      del: (_key: string) => Promise.resolve(0),
    };
    expectTypeOf(
      migrateExpressSession(manager, { secret: 's', source: connectRedisSource({ client }) }),
    ).toEqualTypeOf<SessionManager<Data>>();
  });

  it("Express with express-session's API: typed by Data, beside @types/express-session without a clash", () => {
    const app = express();
    app.use(expressSession(manager, { api: 'express-session' }));
    app.get('/', async (req, res) => {
      // @types/express-session types req.session in this program; tessera declares nothing.
      expectTypeOf(req.session).toEqualTypeOf<
        ExpressSessionSession & Partial<ExpressSessionData>
      >();
      const session = compatSessionOf<Data>(req);
      expectTypeOf(session).toEqualTypeOf<CompatSession<Data>>();
      expectTypeOf(session.cart).toEqualTypeOf<string[] | undefined>();
      // @ts-expect-error: count is a number
      session.count = 'one';
      session.regenerate((error) => expectTypeOf(error).toEqualTypeOf<unknown>());
      expectTypeOf(session.save()).toEqualTypeOf<Promise<void>>();
      expectTypeOf(session.cookie.maxAge).toEqualTypeOf<number | null>();
      expectTypeOf(session.touch()).toEqualTypeOf<CompatSession<Data>>();
      res.json({ count: await sessionOf<Data>(req).increment('count') });
    });
  });
});
