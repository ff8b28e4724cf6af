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
 */
import type { Session, SessionManager } from '../../src/index.js';
import { isTesseraError } from '../../src/index.js';
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
];

/** The demo's session data: a visit counter and one key per preference. */
export type DemoData = { count: number } & Record<`pref:${string}`, unknown>;

/** A request as the demo needs it; each framework's demo builds one. */
export interface DemoRequest {
  method: string;
  /** The path without the query string. */
  path: string;
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

class BadRequest extends Error {}

const ok = (json: unknown): DemoReply => ({ status: 200, json });
const fail = (status: number, error: string, message: string): DemoReply => ({
  status,
  json: { error, message },
});

async function jsonBody(req: DemoRequest): Promise<Record<string, unknown>> {
  const raw = await req.readBody();
  if (raw.length > MAX_BODY) throw new BadRequest(`The body is larger than ${MAX_BODY} bytes.`);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new BadRequest(
      'The body is not valid JSON; send e.g. {"user":"alice"} with Content-Type: application/json.',
    );
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new BadRequest('The body must be a JSON object.');
  return body as Record<string, unknown>;
}

/** Flash messages of every type, in one list. */
async function flashList(session: Session<DemoData>): Promise<string[]> {
  return Object.values(await session.peekFlash()).flat();
}

/**
 * Answers one demo request, or returns `undefined` for a path the demo does not serve.
 * Store failures are not caught here: they reach the framework's error handling (503).
 */
export async function handleDemo(
  manager: SessionManager<DemoData>,
  session: Session<DemoData>,
  req: DemoRequest,
): Promise<DemoReply | undefined> {
  try {
    return await route(manager, session, req);
  } catch (error) {
    if (error instanceof BadRequest) return fail(400, 'BAD_REQUEST', error.message);
    if (isTesseraError(error) && error.code === 'INVALID_DATA')
      return fail(400, 'BAD_REQUEST', error.message);
    if (isTesseraError(error) && error.code === 'TOO_MANY_SESSIONS')
      return fail(409, error.code, error.message);
    throw error;
  }
}

async function route(
  manager: SessionManager<DemoData>,
  session: Session<DemoData>,
  req: DemoRequest,
): Promise<DemoReply | undefined> {
  const { method, path } = req;
  if (path === '/healthz' && method === 'GET') return { status: 200, text: 'ok' };
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
      throw new BadRequest('Field "user" must be 1 to 64 letters, digits or "_.@-".');
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
    const name = decodeURIComponent(path.slice('/api/prefs/'.length));
    if (!PREF.test(name))
      throw new BadRequest('A preference name is 1 to 64 letters, digits, "_" or "-".');
    const body = await jsonBody(req);
    if (!('value' in body)) throw new BadRequest('Field "value" is missing; send {"value": …}.');
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
    if (!HANDLE.test(handle))
      throw new BadRequest('That is not a device id from GET /api/devices.');
    // Only the user's own devices can be revoked from here.
    const mine = await manager.sessionsOf(user, current);
    if (!mine.some((d) => d.handle === handle))
      return fail(404, 'NOT_FOUND', 'No such device for this user.');
    await manager.revoke(handle);
    return ok({ revoked: 1 });
  }
  return undefined;
}
