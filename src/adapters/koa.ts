/**
 * @module tessera for Koa 2 and 3: a middleware that puts the session on `ctx.session` and
 * commits it after the downstream middleware ran, before Koa sends the response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';
import type { SessionManager } from '../core/manager/index.js';
import type { Session, SessionData } from '../core/session/index.js';
import { applyHeaders, type HeaderOps } from './_shared/headers.js';
import { commitBeforeHeaders, settle } from './_shared/hold.js';
import { NodeSessionRequest, type RequestFacts } from './_shared/request.js';

/** What the middleware adds to Koa's context. */
export interface SessionContext<Data extends SessionData = SessionData> {
  session: Session<Data>;
}

/** Koa's own settings decide (`app.proxy`, through `ctx.secure` and `ctx.ip`). */
const KOA_FACTS: RequestFacts<Koa.Context> = {
  isSecure: (ctx) => ctx.secure,
  url: (ctx) => ctx.originalUrl,
  ip: (ctx) => ctx.ip || undefined,
};

/** Session headers through Koa's context (`ctx.append` keeps what is there). */
const KOA_HEADERS: HeaderOps<Koa.Context> = {
  set: (ctx, name, value) => ctx.set(name, value),
  append: (ctx, name, value) => ctx.append(name, value),
  has: (ctx, name) => ctx.res.hasHeader(name),
};

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
    const view = new NodeSessionRequest(ctx.req, ctx, KOA_FACTS);
    // A state-changing request from another site goes to Koa's error handling (403).
    const refusal = manager.checkRequest(view);
    if (refusal !== undefined) throw refusal;
    const session = manager.load(view);
    ctx.session = session;
    // Only for responses written straight to ctx.res while downstream middleware runs.
    commitBeforeHeaders(manager, session, ctx.req, ctx.res, commitFailed, undefined, ctx);
    try {
      await next();
    } catch (error) {
      // Koa's error answer still carries what already reached the store (a new id).
      settle(manager, session, ctx.res);
      throw error;
    }
    if (!manager.needsCommit(session)) {
      applyHeaders(KOA_HEADERS, ctx, manager.discard(session));
      return;
    }
    let headers;
    try {
      headers = await manager.commit(session);
    } catch (error) {
      settle(manager, session, ctx.res);
      throw error;
    }
    applyHeaders(KOA_HEADERS, ctx, headers);
  };
}

/** A failed commit of a response written straight to `ctx.res`: Koa's error handling answers. */
function commitFailed(
  error: unknown,
  _req: IncomingMessage,
  _res: ServerResponse,
  ctx: Koa.Context,
): void {
  ctx.onerror(asError(error));
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
