/**
 * @module tessera for Hono 4: a middleware that puts the session in `c.get('session')` and adds
 * the session headers to `c.res` once the handler has answered.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { isTesseraError } from '../core/errors.js';
import type { ResponseHeaders, SessionManager } from '../core/manager/index.js';
import type { Session, SessionData } from '../core/session/index.js';
import { applyHeaders } from './_shared/headers.js';
import { WebSessionRequest } from './_shared/request.js';
import { errorResponse, WEB_HEADERS, withHeaders } from './_shared/web.js';

/** The Hono environment the middleware provides: `c.get('session')`. */
export interface SessionEnv<Data extends SessionData = SessionData> {
  Variables: { session: Session<Data> };
}

/** Options of {@link honoSession}. */
export interface HonoSessionOptions {
  /**
   * Trust `X-Forwarded-Proto` and `X-Forwarded-For` from a proxy in front of the app (for the
   * `Secure` flag and the address kept at login). @default false
   */
  trustProxy?: boolean | undefined;
  /**
   * The client address, recorded at login. The default reads it from `@hono/node-server`'s
   * bindings (`c.env.incoming`); on other runtimes pass e.g. `getConnInfo` of your adapter.
   */
  ip?: ((c: Context) => string | undefined) | undefined;
}

type NodeBindings = { incoming?: { socket?: { remoteAddress?: string } } } | undefined;

const nodeServerIp = (c: Context): string | undefined =>
  (c.env as NodeBindings)?.incoming?.socket?.remoteAddress;

/**
 * The session middleware for Hono 4. `c.get('session')` costs no store call until a handler reads
 * or changes it; the session is committed after the handler answered, before the runtime sends
 * the response (streamed bodies included, though a stream callback can no longer change it).
 *
 * Hono passes a handler's error to `app.onError` before this middleware sees it: the session's
 * pending changes are then dropped, and a store failure that came out as a plain 500 is answered
 * with the error's own status (503). When the commit fails, the `TesseraError` is thrown to
 * `app.onError`; it carries `getResponse()`, so Hono's default handler answers 503 with no session
 * cookie.
 *
 * @example
 * import { Hono } from 'hono'
 * import { createSessionManager } from 'tessera-session'
 * import { honoSession, type SessionEnv } from 'tessera-session/hono'
 *
 * type Data = { count: number }
 * const app = new Hono<SessionEnv<Data>>()
 * app.use(honoSession(createSessionManager<Data>()))
 * app.post('/count', async (c) => c.json({ count: await c.get('session').increment('count') }))
 */
export function honoSession<Data extends SessionData = SessionData>(
  manager: SessionManager<Data>,
  options: HonoSessionOptions = {},
): MiddlewareHandler<SessionEnv<Data>> {
  const trustProxy = options.trustProxy ?? false;
  const ip = options.ip ?? nodeServerIp;
  return async (c, next) => {
    const view = new WebSessionRequest(c.req.raw, c, ip, trustProxy);
    // A state-changing request from another site is answered here (403), before any handler.
    const refusal = manager.checkRequest(view);
    if (refusal !== undefined) return errorResponse(refusal);
    const session = manager.load(view);
    c.set('session', session);
    await next();
    if (c.error !== undefined) {
      // What already reached the store (a new id) still goes out with the error answer.
      const settled = manager.discard(session);
      if (isTesseraError(c.error) && c.error.status !== 500 && c.res.status === 500) {
        c.res = new Response(c.res.body, { status: c.error.status, headers: c.res.headers });
      }
      return addTo(c, settled);
    }
    if (!manager.needsCommit(session)) {
      // The answer is made: a later change (from a stream callback) could never be sent.
      return addTo(c, manager.discard(session));
    }
    let headers;
    try {
      headers = await manager.commit(session);
    } catch (error) {
      const settled = manager.discard(session);
      if (isTesseraError(error)) {
        // Hono's default error handler answers errors that carry a response with that response.
        Object.defineProperty(error, 'getResponse', {
          value: () => withHeaders(errorResponse(error), settled),
          configurable: true,
        });
      }
      throw error;
    }
    return addTo(c, headers);
  };
}

/** Adds session headers to the context's response (a copy when its headers are immutable). */
function addTo(c: Context, headers: ResponseHeaders): undefined {
  if (headers.length === 0) return undefined;
  try {
    applyHeaders(WEB_HEADERS, c.res.headers, headers);
  } catch {
    // Immutable headers (a response from fetch()): Hono's setter copies it, headers included.
    c.res = new Response(c.res.body, c.res);
    applyHeaders(WEB_HEADERS, c.res.headers, headers);
  }
  return undefined;
}
