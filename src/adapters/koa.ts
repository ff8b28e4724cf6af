/**
 * @module tessera for Koa 2 and 3: a middleware that puts the session on `ctx.session` and
 * commits it after the downstream middleware ran, before Koa sends the response.
 */
import type Koa from 'koa';
import type { SessionManager } from '../core/manager/index.js';
import type { Session, SessionData } from '../core/session/index.js';
import { commitBeforeHeaders } from './node.js';
import { nodeSessionRequest } from './_shared/request.js';

/** What the middleware adds to Koa's context. */
export interface SessionContext<Data extends SessionData = SessionData> {
  session: Session<Data>;
}

/**
 * The session middleware for Koa 2 and 3. `ctx.session` costs no store call until a middleware
 * reads or changes it. Koa's own settings decide what is secure and who the client is
 * (`app.proxy`, through `ctx.secure` and `ctx.ip`).
 *
 * The session is committed when the downstream middleware is done, before Koa writes the
 * response (a streamed `ctx.body` included); a response written straight to `ctx.res` is held
 * back until the commit is done. When a downstream middleware throws, the session's pending
 * changes are dropped and the error goes on up; when the commit fails, the `TesseraError`
 * (status 503) is thrown to Koa's error handling, and no session cookie is sent.
 *
 * The middleware is typed for `app.use`, so a chained app knows `ctx.session`:
 *
 * @example
 * import Koa from 'koa'
 * import { createSessionManager } from 'tessera-session'
 * import { koaSession } from 'tessera-session/koa'
 *
 * const sessions = createSessionManager<{ count: number }>()
 * const app = new Koa().use(koaSession(sessions)).use(async (ctx) => {
 *   ctx.body = { count: await ctx.session.increment('count') }
 * })
 */
export function koaSession<Data extends SessionData = SessionData>(
  manager: SessionManager<Data>,
): Koa.Middleware<Koa.DefaultState, Koa.DefaultContext & SessionContext<Data>> {
  return async (ctx, next) => {
    const session = manager.load(
      nodeSessionRequest(ctx.req, {
        secure: () => ctx.secure,
        url: ctx.originalUrl,
        ip: () => ctx.ip || undefined,
      }),
    );
    ctx.session = session;
    // Only for responses written straight to ctx.res while downstream middleware runs.
    commitBeforeHeaders(manager, session, ctx.req, ctx.res, (error) => ctx.onerror(asError(error)));
    try {
      await next();
    } catch (error) {
      manager.discard(session);
      throw error;
    }
    if (!manager.needsCommit(session)) return;
    let headers;
    try {
      headers = await manager.commit(session);
    } catch (error) {
      manager.discard(session);
      throw error;
    }
    for (const [name, value] of headers) {
      if (name === 'set-cookie' || name === 'vary') ctx.append(name, value);
      else ctx.set(name, value);
    }
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
