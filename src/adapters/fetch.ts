/**
 * @module tessera for the Fetch API: handlers that take a Web `Request` and return a `Response`
 * (Next.js route handlers, Remix and React Router, Bun, Deno, Cloudflare Workers, `@hono/node-server`).
 */
import { isTesseraError } from '../core/errors.js';
import type { SessionManager } from '../core/manager/index.js';
import type { Session, SessionData } from '../core/session/index.js';
import { WebSessionRequest } from './_shared/request.js';
import { errorResponse, withHeaders } from './_shared/web.js';

/** Options of {@link loadSession} and {@link withSessions}. */
export interface FetchSessionOptions {
  /**
   * Trust `X-Forwarded-Proto` and `X-Forwarded-For` from a proxy in front of the app (for the
   * `Secure` flag and the address kept at login). @default false
   */
  trustProxy?: boolean | undefined;
  /** The client address, recorded at login (the Fetch API has no socket to ask). */
  ip?: ((request: Request) => string | undefined) | undefined;
}

/** Options of {@link withSessions}. */
export interface WithSessionsOptions extends FetchSessionOptions {
  /**
   * Answers a request whose session failed: a `TesseraError` thrown by the handler (a store
   * failure, a refused login, …) or by the commit. The default answers with the error's status
   * (503 for store failures) and `{ "error": code }`.
   */
  onError?: ((error: unknown, request: Request) => Response | Promise<Response>) | undefined;
}

/** A Fetch handler that gets the session after the request; `rest` is passed through (`env`, `ctx`). */
export type SessionHandler<Data extends SessionData, Rest extends unknown[]> = (
  request: Request,
  session: Session<Data>,
  ...rest: Rest
) => Response | Promise<Response>;

/** No address without a trusted proxy or an `ip` option: the Fetch API has no socket to ask. */
const noIp = (): undefined => undefined;

/**
 * The session of a request, for frameworks where you return the response yourself (Remix and
 * React Router loaders and actions). Costs no store call until it is read or changed. Pass the
 * response to {@link commitSession} before returning it. Throws the `CROSS_SITE` error (403) for
 * a state-changing request from another site (see the manager's `crossOrigin` option).
 */
export function loadSession<Data extends SessionData>(
  manager: SessionManager<Data>,
  request: Request,
  options: FetchSessionOptions = {},
): Session<Data> {
  const view = new WebSessionRequest(
    request,
    request,
    options.ip ?? noIp,
    options.trustProxy ?? false,
  );
  // A state-changing request from another site never gets a session (403).
  const refusal = manager.checkRequest(view);
  if (refusal !== undefined) throw refusal;
  return manager.load(view);
}

/**
 * Commits the session and returns the response carrying its headers (the same response, or a copy
 * when its headers are immutable). Rejects with the `TesseraError` when the store fails; the
 * session is then closed and nothing was saved by the commit.
 */
export async function commitSession<Data extends SessionData>(
  manager: SessionManager<Data>,
  session: Session<Data>,
  response: Response,
): Promise<Response> {
  if (!manager.needsCommit(session)) {
    // The answer is made: a later change (from a stream) could never be sent. What already reached
    // the store (the cache headers of a read) goes with it.
    return withHeaders(response, manager.discard(session));
  }
  try {
    return withHeaders(response, await manager.commit(session));
  } catch (error) {
    // The caller answers the failure; `manager.discard(session)` (again) gives the headers that
    // answer must still carry (a new id already stored).
    manager.discard(session);
    throw error;
  }
}

/**
 * Wraps a Fetch handler: it gets the request's session as its second argument, and the session is
 * committed once it returns its `Response`, before the server sends it (streamed bodies included).
 * A handler that throws leaves its pending changes unsaved; its error is thrown on to the server,
 * except a `TesseraError`, which `onError` answers with the error's status (503 for a store
 * failure), as it answers a failed commit. No session cookie goes out with an error.
 *
 * @example
 * import { createSessionManager } from 'tessera-session'
 * import { withSessions } from 'tessera-session/fetch'
 *
 * const sessions = createSessionManager<{ count: number }>()
 * // Next.js: app/count/route.ts
 * export const POST = withSessions(sessions, async (request, session) =>
 *   Response.json({ count: await session.increment('count') }))
 */
export function withSessions<Data extends SessionData, Rest extends unknown[] = []>(
  manager: SessionManager<Data>,
  handler: SessionHandler<Data, Rest>,
  options: WithSessionsOptions = {},
): (request: Request, ...rest: Rest) => Promise<Response> {
  const onError = options.onError ?? errorResponse;
  return async (request, ...rest) => {
    let session: Session<Data>;
    try {
      session = loadSession(manager, request, options);
    } catch (refusal) {
      return onError(refusal, request);
    }
    let response: Response;
    try {
      response = await handler(request, session, ...rest);
    } catch (error) {
      // What already reached the store (a new id) still goes out with the error answer.
      const settled = manager.discard(session);
      if (isTesseraError(error)) return withHeaders(await onError(error, request), settled);
      throw error;
    }
    try {
      return await commitSession(manager, session, response);
    } catch (error) {
      // The handler's answer is dropped: release its body (a stream may hold resources).
      response.body?.cancel().catch(() => {});
      return withHeaders(await onError(error, request), manager.discard(session));
    }
  };
}
