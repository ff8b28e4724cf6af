/**
 * The demo's JSON API, written once against tessera's Session and SessionManager, so every
 * framework's demo serves exactly the same contract. This API is public: outside checks drive it.
 *
 *   GET  /api/session                 → { count, user, flash }   (read-only)
 *   POST /api/count                   → { count }                (atomic increment)
 *   POST /api/login   { "user": "x" } → { user }                 (renews the id)
 *   POST /api/logout                  → { user: null }
 *   GET  /api/devices                 → [{ id, current, createdAt, lastSeenAt, userAgent }]
 *   POST /api/devices/revoke-others   → { revoked }
 *   POST /api/devices/:id/revoke      → { revoked }
 *   PUT  /api/prefs/:name { "value" } → { name, value }          (sets one key)
 *   GET  /api/prefs                   → { name: value, … }       (read-only)
 *   POST /api/destroy                 → {}
 *   GET  /healthz                     → ok                        (never touches the session)
 *   GET  /ops, /api/ops, /metrics     → the operator view (ops.ts; never touches the session)
 *
 * Routes that take a body take JSON only: another Content-Type is answered 415, so a plain HTML
 * form on another site cannot post to them. Every refusal is `{ error, message }` with a 4xx (or
 * 501) status; `errorReply` gives the same shape to errors that reach a framework's own handling.
 */
import type { Session, SessionManager, TesseraError } from '../../src/index.js';
import { ERROR_CODES, isTesseraError } from '../../src/index.js';
import { opsOf, renderOpsPage } from './ops.js';
import { renderPage } from './page.js';

/**
 * The routes of the JSON API and the page, as `[method, path]` with `:param` segments, so each
 * framework's demo registers the same list in its own idiom (`/healthz` is registered apart).
 */
export const DEMO_ROUTES: ReadonlyArray<readonly ['get' | 'post' | 'put', string]> = [
  ['get', '/'],
  ['get', '/api/session'],
  ['post', '/api/count'],
  ['post', '/api/login'],
  ['post', '/api/logout'],
  ['post', '/api/destroy'],
  ['get', '/api/prefs'],
  ['put', '/api/prefs/:name'],
  ['get', '/api/devices'],
  ['post', '/api/devices/revoke-others'],
  ['post', '/api/devices/:id/revoke'],
  ['get', '/ops'],
  ['get', '/api/ops'],
  ['get', '/metrics'],
];

/** The demo's session data: a visit counter and one key per preference. */
export type DemoData = { count: number } & Record<`pref:${string}`, unknown>;

/** A request as the demo needs it; each framework's demo builds one. */
export interface DemoRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  /** The `Content-Type` header, if the request has one. */
  contentType: string | undefined;
  /** The raw request body (read only by routes that take one). */
  readBody(): Promise<string>;
}

/** What to answer. Exactly one of `json`, `text` or `html` is set. */
export interface DemoReply {
  status: number;
  json?: unknown;
  text?: string;
  html?: string;
}

const USER = /^[A-Za-z0-9_.@-]{1,64}$/;
const PREF = /^[A-Za-z0-9_-]{1,64}$/;
const HANDLE = /^[A-Za-z0-9_-]{43}$/;
const MAX_BODY = 16 * 1024;

/** A request the demo refuses: answered with `status` and `{ error: code, message }`. */
class Refusal extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const badRequest = (message: string): Refusal => new Refusal(400, 'BAD_REQUEST', message);

const ok = (json: unknown): DemoReply => ({ status: 200, json });
const fail = (status: number, error: string, message: string): DemoReply => ({
  status,
  json: { error, message },
});

/** Whether a `Content-Type` names JSON: `application/json`, with or without parameters. */
function isJson(contentType: string | undefined): boolean {
  const type = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return type === 'application/json';
}

async function jsonBody(req: DemoRequest): Promise<Record<string, unknown>> {
  if (!isJson(req.contentType)) {
    throw new Refusal(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'This route takes JSON only: send the body with Content-Type: application/json.',
    );
  }
  const raw = await req.readBody();
  if (raw.length > MAX_BODY) throw badRequest(`The body is larger than ${MAX_BODY} bytes.`);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw badRequest(
      'The body is not valid JSON; send e.g. {"user":"alice"} with Content-Type: application/json.',
    );
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('The body must be a JSON object.');
  return body as Record<string, unknown>;
}

/** The name in `PUT /api/prefs/:name`, decoded and checked. */
function prefName(path: string): string {
  let name: string;
  try {
    name = decodeURIComponent(path.slice('/api/prefs/'.length));
  } catch {
    throw badRequest('The preference name is not valid percent-encoding (e.g. %41 for "A").');
  }
  if (!PREF.test(name))
    throw badRequest('A preference name is 1 to 64 letters, digits, "_" or "-".');
  // As a key of the object GET /api/prefs answers with, it would set that object's prototype.
  if (name === '__proto__') throw badRequest('"__proto__" is reserved; choose another name.');
  return name;
}

/**
 * Whether the client can act on a tessera error, so it is answered with its message: bad input,
 * a refused login, a session too large, an ability the store lacks. Store failures are not: their
 * messages describe the server's own setup.
 */
const isForClient = (error: TesseraError): boolean =>
  error.status < 500 || error.code === 'UNSUPPORTED';

/**
 * The answer to an error that reached a framework's error handling: a failed commit (a session
 * too large for the cookie, a store that is down), a body or URL the framework could not read, or
 * a bug. Tessera errors keep their status and code; each framework's demo sends this reply.
 */
export function errorReply(error: unknown): DemoReply {
  if (isTesseraError(error)) {
    const message = isForClient(error) ? error.message : ERROR_CODES[error.code];
    return fail(error.status, error.code, message);
  }
  // Express and Koa errors carry `status`, Fastify's `statusCode` (a bad URL, a body too large).
  const { status, statusCode } = (error ?? {}) as { status?: unknown; statusCode?: unknown };
  const code = status ?? statusCode;
  if (typeof code === 'number' && code >= 400 && code < 500) {
    const reason = error instanceof Error ? ` (${error.message})` : '';
    return fail(400, 'BAD_REQUEST', `The request could not be read${reason}.`);
  }
  return fail(500, 'INTERNAL', 'The demo failed to answer; its log says why.');
}

/** Flash messages of every type, in one list. */
async function flashList(session: Session<DemoData>): Promise<string[]> {
  return Object.values(await session.peekFlash()).flat();
}

/**
 * Answers one demo request, or returns `undefined` for a path the demo does not serve.
 * Store failures are not caught here: they reach the framework's error handling (503), which
 * answers with {@link errorReply}.
 */
export async function handleDemo(
  manager: SessionManager<DemoData>,
  session: Session<DemoData>,
  req: DemoRequest,
): Promise<DemoReply | undefined> {
  try {
    return await route(manager, session, req);
  } catch (error) {
    if (error instanceof Refusal) return fail(error.status, error.code, error.message);
    if (isTesseraError(error) && isForClient(error))
      return fail(error.status, error.code, error.message);
    throw error;
  }
}

/** The operator view's routes: 404 for a manager started without one. */
async function opsRoute(manager: SessionManager<DemoData>, path: string): Promise<DemoReply> {
  const ops = opsOf(manager);
  if (ops === undefined)
    return fail(404, 'NOT_FOUND', 'This demo runs without an operator view; `npm start` has one.');
  if (path === '/ops') return { status: 200, html: renderOpsPage(manager.store.name) };
  if (path === '/metrics') return { status: 200, text: await ops.registry.metrics() };
  return ok({ store: manager.store.name, totals: await ops.totals(), samples: ops.samples });
}

async function route(
  manager: SessionManager<DemoData>,
  session: Session<DemoData>,
  req: DemoRequest,
): Promise<DemoReply | undefined> {
  const { method, path } = req;
  if (path === '/healthz' && method === 'GET') return { status: 200, text: 'ok' };
  if ((path === '/ops' || path === '/api/ops' || path === '/metrics') && method === 'GET')
    return opsRoute(manager, path);
  if (path === '/' && method === 'GET') {
    const flash = Object.values(await session.consumeFlash()).flat();
    return { status: 200, html: renderPage(flash) };
  }
  if (path === '/api/session' && method === 'GET') {
    return ok({
      count: (await session.get('count')) ?? 0,
      user: (await userOf(session)) ?? null,
      flash: await flashList(session),
    });
  }
  if (path === '/api/count' && method === 'POST')
    return ok({ count: await session.increment('count') });
  if (path === '/api/login' && method === 'POST') {
    const { user } = await jsonBody(req);
    if (typeof user !== 'string' || !USER.test(user)) {
      throw badRequest('Field "user" must be 1 to 64 letters, digits or "_.@-".');
    }
    await session.login(user);
    session.flash('info', `Welcome, ${user}.`);
    return ok({ user });
  }
  if (path === '/api/logout' && method === 'POST') {
    await session.logout();
    return ok({ user: null });
  }
  if (path === '/api/destroy' && method === 'POST') {
    await session.destroy();
    return ok({});
  }
  if (path === '/api/prefs' && method === 'GET') {
    const prefs: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(await session.all()))
      if (key.startsWith('pref:')) prefs[key.slice(5)] = value;
    return ok(prefs);
  }
  if (path.startsWith('/api/prefs/') && method === 'PUT') {
    const name = prefName(path);
    const body = await jsonBody(req);
    if (!('value' in body)) throw badRequest('Field "value" is missing; send {"value": …}.');
    session.set(`pref:${name}`, body['value']);
    return ok({ name, value: body['value'] });
  }
  if (path.startsWith('/api/devices')) return devices(manager, session, req);
  return undefined;
}

async function userOf(session: Session<DemoData>): Promise<string | undefined> {
  await session.load();
  return session.userId;
}

async function devices(
  manager: SessionManager<DemoData>,
  session: Session<DemoData>,
  req: DemoRequest,
): Promise<DemoReply | undefined> {
  const user = await userOf(session);
  if (user === undefined) return fail(401, 'NOT_LOGGED_IN', 'Log in first (POST /api/login).');
  const current = manager.handleOf(session);
  const { method, path } = req;
  if (path === '/api/devices' && method === 'GET') {
    const list = await manager.sessionsOf(user, current);
    return ok(
      list.map((d) => ({
        id: d.handle,
        current: d.current,
        createdAt: d.createdAt,
        lastSeenAt: d.lastSeenAt,
        userAgent: d.userAgent ?? null,
      })),
    );
  }
  if (path === '/api/devices/revoke-others' && method === 'POST') {
    return ok({ revoked: await manager.revokeUser(user, { except: current }) });
  }
  const match = /^\/api\/devices\/([^/]+)\/revoke$/.exec(path);
  if (match && method === 'POST') {
    const handle = match[1]!;
    if (!HANDLE.test(handle)) throw badRequest('That is not a device id from GET /api/devices.');
    // Only the user's own devices can be revoked from here.
    const mine = await manager.sessionsOf(user, current);
    if (!mine.some((d) => d.handle === handle))
      return fail(404, 'NOT_FOUND', 'No such device for this user.');
    await manager.revoke(handle);
    return ok({ revoked: 1 });
  }
  return undefined;
}
