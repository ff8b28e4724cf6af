/**
 * tessera-session/next types the session with the app's Data, and keeps Next's own request and
 * handler types: NextRequest in, Next's route context and the proxy's event passed through.
 */
import type { NextFetchEvent, NextProxy, NextRequest } from 'next/server.js';
import { describe, expectTypeOf, it } from 'vitest';
import {
  commitSession,
  getSession,
  readSession,
  sharedManager,
  updateSession,
  withSessions,
} from '../../src/adapters/next.js';
import { createSessionManager, type Session, type SessionManager } from '../../src/index.js';

type Data = { count: number; cart: string[] };
const manager = sharedManager('types', () => createSessionManager<Data>());

describe('tessera-session/next types', () => {
  it('sharedManager returns the manager create makes, typed by Data', () => {
    expectTypeOf(manager).toEqualTypeOf<SessionManager<Data>>();
  });

  it('withSessions keeps NextRequest and the route context a route handler is given', () => {
    type Context = { params: Promise<{ id: string }> };
    const GET = withSessions(manager, async (request: NextRequest, session, context: Context) => {
      expectTypeOf(request.nextUrl.pathname).toBeString();
      expectTypeOf(session).toEqualTypeOf<Session<Data>>();
      return Response.json({ id: (await context.params).id, count: await session.get('count') });
    });
    expectTypeOf(GET).toEqualTypeOf<
      (request: NextRequest, context: Context) => Promise<Response>
    >();
    // Untyped handlers get a plain Request and no extra arguments.
    const POST = withSessions(manager, async (_request, session) =>
      Response.json({ count: await session.increment('count') }),
    );
    expectTypeOf(POST).toEqualTypeOf<(request: Request) => Promise<Response>>();
  });

  it('withSessions makes a proxy Next accepts', () => {
    const proxy = withSessions(
      manager,
      async (request: NextRequest, session, _event: NextFetchEvent) =>
        session.userId === undefined
          ? Response.redirect(new URL('/login', request.url), 307)
          : new Response(null),
    );
    expectTypeOf(proxy).toExtend<NextProxy>();
  });

  it('getSession, readSession and updateSession give the session typed by Data', async () => {
    const session = await getSession(manager);
    expectTypeOf(session).toEqualTypeOf<Session<Data>>();
    // @ts-expect-error: count is a number
    session.set('count', 'one');
    expectTypeOf(commitSession(manager, session)).toEqualTypeOf<Promise<void>>();
    expectTypeOf(await readSession(manager)).toEqualTypeOf<Session<Data>>();
    const count = await updateSession(manager, (s) => s.increment('count'));
    expectTypeOf(count).toEqualTypeOf<number>();
  });
});
