/**
 * @module tessera for Express 4 and 5, and Connect: a middleware that puts the session on
 * `req.session` and commits it before the response head goes out.
 */
import { IncomingMessage, type ServerResponse } from 'node:http';
import { TesseraError } from '../core/errors.js';
import type { SessionManager } from '../core/manager/index.js';
import type { Session, SessionData } from '../core/session/index.js';
import { isSessionState } from '../core/session/session.js';
import { commitBeforeHeaders, type CommitBeforeHeadersOptions } from './_shared/hold.js';
import { compatStates, installCompat, type CompatSession } from './_shared/express-session-api.js';
import { isNodeSecure, nodeIp, NodeSessionRequest, type RequestFacts } from './_shared/request.js';

/** An Express or Connect request with its session. */
export type RequestWithSession<Data extends SessionData = SessionData> = IncomingMessage & {
  session: Session<Data>;
};

/** Express's and Connect's `next`. */
export type NextFunction = (error?: unknown) => void;

/**
 * `req.session` with express-session's API (`api: 'express-session'`), typed by your Data: for
 * apps whose `req.session` is typed otherwise (another global declaration), or untyped.
 */
export function compatSessionOf<Data extends SessionData = SessionData>(
  req: IncomingMessage,
): CompatSession<Data> {
  if (!compatStates.has(req))
    throw new TesseraError(
      'CONFIG',
      "This request has no express-session API: mount `expressSession(manager, { api: 'express-session' })` before the handler.",
    );
  return (req as RequestWithCompatSession<Data>).session;
}

/** A Connect-style middleware, which Express takes too. */
export type SessionMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: NextFunction,
) => void;

/** Options of {@link expressSession}. */
export interface ExpressSessionOptions {
  /**
   * Trust `X-Forwarded-Proto` and `X-Forwarded-For` (for the `Secure` flag and the address kept at
   * login). Only Connect reads it: under Express, Express's own `trust proxy` setting decides,
   * through `req.secure` and `req.ip`. @default false
   */
  trustProxy?: boolean | undefined;
  /**
   * `'express-session'` gives `req.session` express-session's API, for Passport, connect-flash
   * and code written for express-session: data as properties (`req.session.userId = 'x'`,
   * `delete req.session.cart`, each a per-key change), `regenerate`/`save`/`reload`/`destroy`
   * with callbacks (or promises), `touch()`, `req.session.cookie.maxAge` (the session's own
   * lifetime) and `req.sessionID`. Property reads cannot wait, so the session is loaded before
   * the next middleware runs: one store read per request that carries a session cookie, as with
   * express-session. tessera's own API stays one call away: {@link sessionOf}.
   *
   * `'tessera'` puts tessera's {@link Session} on `req.session`: loaded only when read, so a
   * request that never touches the session costs no store call. @default 'tessera'
   */
  api?: 'tessera' | 'express-session' | undefined;
}

export type {
  CompatCookie,
  CompatMethods,
  CompatSession,
  SessionCallback,
} from './_shared/express-session-api.js';

/** An Express or Connect request with express-session's API on `req.session`. */
export type RequestWithCompatSession<Data extends SessionData = SessionData> = IncomingMessage & {
  session: CompatSession<Data>;
  readonly sessionID: string | undefined;
};

/**
 * The tessera session of a request, in either API: with `api: 'express-session'` it gives the
 * Promise API (`increment`, `login`, `flash`, …) behind the express-session view.
 */
export function sessionOf<Data extends SessionData = SessionData>(
  req: IncomingMessage,
): Session<Data> {
  const session = (compatStates.get(req) ??
    sessions.get(req) ??
    (req as Partial<RequestWithSession>).session) as Session<Data> | undefined;
  if (session === undefined)
    throw new TesseraError(
      'CONFIG',
      'This request has no session: mount `expressSession(manager)` before the handler.',
    );
  return session;
}

/** What Express adds to a request (Connect adds none of it). */
interface ExpressExtras {
  secure?: unknown;
  ip?: unknown;
  originalUrl?: unknown;
}

/**
 * What Express knows (`req.secure` and `req.ip` by its `trust proxy` setting, `req.originalUrl`),
 * and what node:http tells under Connect, which adds none of it.
 */
function expressFacts(trustProxy: boolean): RequestFacts<IncomingMessage & ExpressExtras> {
  return {
    isSecure(req) {
      const secure = req.secure;
      return typeof secure === 'boolean' ? secure : isNodeSecure(req, trustProxy);
    },
    url: (req) => (typeof req.originalUrl === 'string' ? req.originalUrl : req.url),
    ip(req) {
      const ip = req.ip;
      return typeof ip === 'string' ? ip : nodeIp(req, trustProxy);
    },
  };
}

/** Sessions of requests whose prototype carries the `session` accessor. */
const sessions = new WeakMap<IncomingMessage, Session<SessionData>>();
/** Request prototypes (Express's `app.request`) given the accessor, or found unfit for it. */
const accessorOn = new WeakMap<object, boolean>();
/** The request prototype seen last, and whether it has the accessor: one app is the common case. */
let lastProto: object | undefined;
let lastHasAccessor = false;

/**
 * Puts the session on `req.session`. Under Express the request's prototype is the app's own
 * (`app.request`): a `session` accessor there, backed by a WeakMap, spares each request a
 * property write onto an object whose prototype was swapped, which costs microseconds in V8.
 */
function attach(req: IncomingMessage, session: Session<SessionData>): void {
  const proto = Object.getPrototypeOf(req) as object;
  let hasAccessor = proto === lastProto ? lastHasAccessor : accessorOn.get(proto);
  if (hasAccessor === undefined) {
    hasAccessor = proto !== IncomingMessage.prototype && !('session' in proto);
    if (hasAccessor)
      Object.defineProperty(proto, 'session', {
        get(this: IncomingMessage) {
          return sessions.get(this);
        },
        set(this: IncomingMessage, value: Session<SessionData>) {
          sessions.set(this, value);
        },
        configurable: true,
      });
    accessorOn.set(proto, hasAccessor);
  }
  lastProto = proto;
  lastHasAccessor = hasAccessor;
  if (hasAccessor && !Object.hasOwn(req, 'session')) sessions.set(req, session);
  else (req as RequestWithSession).session = session;
}

/** A 5xx answer means the request failed: its half-made session changes are not saved. */
const HOLD_OPTIONS: CommitBeforeHeadersOptions = Object.freeze({
  saveOn: (status: number): boolean => status < 500,
});

/**
 * A failed commit: nothing of the held-back answer goes out, Express's error handling answers
 * instead (with what already reached the store, such as a new id, added as its head goes out).
 */
function commitFailed(
  error: unknown,
  _req: IncomingMessage,
  res: ServerResponse,
  next: (error: unknown) => void,
): void {
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  next(error);
}

/**
 * The session middleware for Express 4 and 5 and Connect. It costs no store call until a handler
 * reads or changes `req.session`, and commits before the response head goes out (redirects and
 * streamed responses included), so the client's next request sees what this one wrote.
 *
 * Express hands a handler's error to its error handlers, out of this middleware's sight, so the
 * session's pending changes are dropped whenever the answer is a 5xx (as Django does); an error
 * handler that answers a failure with a 4xx and wants them dropped too calls
 * `manager.discard(req.session)`. Changes saved at once (`increment`, `login`, `regenerate`,
 * `destroy`) stay. When the commit fails (the store is down) the held-back answer is dropped and
 * the `TesseraError` goes to `next(error)`, so Express's error handling answers it: its default
 * handler sends the error's `status`, 503, with no session cookie.
 *
 * Under Express, `req.session` is an accessor on the app's request prototype (`app.request`) and the
 * response hold sits on `app.response`, installed once: per request the middleware writes no
 * properties onto `req` or `res`, which V8 makes costly after Express swaps their prototypes. So
 * `Object.hasOwn(req, 'session')` is false; reading and assigning `req.session` work as usual.
 *
 * For `req.session` to be typed with your data, declare it once in your app:
 * `declare global { namespace Express { interface Request { session: Session<AppData> } } }`.
 *
 * @example
 * import express from 'express'
 * import { createSessionManager } from 'tessera-session'
 * import { expressSession } from 'tessera-session/express'
 *
 * const sessions = createSessionManager<{ count: number }>()
 * const app = express()
 * app.use(expressSession(sessions))
 * app.post('/count', async (req, res) => {
 *   res.json({ count: await req.session.increment('count') })
 * })
 */
export function expressSession<Data extends SessionData = SessionData>(
  manager: SessionManager<Data>,
  options: ExpressSessionOptions = {},
): SessionMiddleware {
  const facts = expressFacts(options.trustProxy ?? false);
  const api = options.api ?? 'tessera';
  if (api !== 'tessera' && api !== 'express-session')
    throw new TesseraError('CONFIG', 'Option `api` must be "tessera" or "express-session".');
  return (req, res, next) => {
    const view = new NodeSessionRequest(req, req, facts);
    // A state-changing request from another site goes to Express's error handling (403).
    const refusal = manager.checkRequest(view);
    if (refusal !== undefined) return next(refusal);
    const session = manager.load(view);
    if (api === 'tessera') attach(req, session);
    commitBeforeHeaders(manager, session, req, res, commitFailed, HOLD_OPTIONS, next);
    if (api === 'tessera') return next();
    const state: Session<SessionData> = session;
    if (!isSessionState(state)) throw new TesseraError('CONFIG', 'Unknown session.');
    installCompat(req, state);
    // Property reads cannot wait: load first (no store call without a session cookie).
    session.load().then(
      () => next(),
      (error: unknown) => next(error),
    );
  };
}
