/**
 * @module tessera for Next.js (App Router, Next 15 and later): route handlers and `proxy.ts`
 * through the Fetch adapter, Server Actions through `cookies()`, Server Components read-only, and
 * one manager per process however often Next loads the module that makes it.
 */
import { parseSetCookie } from 'cookie';
import { cookies, headers } from 'next/headers.js';
import type { ResponseHeaders, SessionManager } from '../core/manager/index.js';
import type { Session, SessionData } from '../core/session/index.js';
import type { SessionRequest } from '../core/transport/index.js';
import { withSessions as withFetchSessions, type SessionHandler } from './fetch.js';
import type { WithSessionsOptions } from './fetch.js';

export type { WithSessionsOptions } from './fetch.js';

/** Options of {@link getSession}. */
export interface NextSessionOptions {
  /**
   * Record the first `X-Forwarded-For` entry as the client address at login. Next fills that
   * header with the socket's address unless the client or a proxy sent one, so turn it on only
   * behind a proxy that sets it. @default false
   */
  trustProxy?: boolean | undefined;
}

/** A route handler or proxy function that gets the session after the request. */
export type NextSessionHandler<
  Data extends SessionData,
  Req extends Request,
  Rest extends unknown[],
> = (request: Req, session: Session<Data>, ...rest: Rest) => Response | Promise<Response>;

/**
 * Wraps a route handler (`app/…/route.ts`) or the `proxy` of `proxy.ts`: the handler gets the
 * request's session, and the session is committed before the `Response` goes out. This is the
 * Fetch adapter's `withSessions` (the same cross-site check, commit and error answers: a store
 * failure answers its status, 503, with the headers `manager.discard` gives), typed for
 * `NextRequest`; `rest` is Next's route context or the proxy's `NextFetchEvent`.
 *
 * In `proxy.ts` it moves the idle deadline of sessions that only pages read (a Server Component
 * cannot), and can redirect visitors who are not logged in. Proxy runs on the Node.js runtime by
 * default since Next 16 (Next 15.5's `middleware.ts` needs `config = { runtime: 'nodejs' }`): a
 * store reached over TCP needs it.
 *
 * @example
 * // app/api/count/route.ts
 * import { withSessions } from 'tessera-session/next'
 * import { sessions } from '@/lib/sessions'
 *
 * export const POST = withSessions(sessions, async (request, session) =>
 *   Response.json({ count: await session.increment('count') }))
 */
export function withSessions<
  Data extends SessionData,
  Req extends Request = Request,
  Rest extends unknown[] = [],
>(
  manager: SessionManager<Data>,
  handler: NextSessionHandler<Data, Req, Rest>,
  options: WithSessionsOptions = {},
): (request: Req, ...rest: Rest) => Promise<Response> {
  // The Fetch adapter hands the handler the very request it was called with, a `Req`.
  return withFetchSessions(manager, handler as unknown as SessionHandler<Data, Rest>, options);
}

/**
 * Cookies a commit set in this request, keyed by the request's `headers()` object: after a Server
 * Action, Next renders the page in the same request, and its `Cookie` header does not show them.
 * `undefined` marks a cleared cookie.
 */
const written = new WeakMap<Headers, Map<string, string | undefined>>();
/** Read-only sessions already opened in this request, per manager: one store read per render. */
const opened = new WeakMap<Headers, Map<object, object>>();

/** The first entry of a comma-separated forwarding header, trimmed. */
function firstForwarded(value: string | null): string | undefined {
  return value?.split(',', 1)[0]?.trim() || undefined;
}

/** The `Cookie` header with the cookies this request's commit changed in place of the sent ones. */
function cookieHeader(
  sent: string | null,
  changed: Map<string, string | undefined> | undefined,
): string | undefined {
  if (changed === undefined) return sent ?? undefined;
  const pairs = (sent ?? '').split(';').filter((pair) => {
    const name = pair.split('=', 1)[0]!.trim();
    return name !== '' && !changed.has(name);
  });
  for (const [name, value] of changed) if (value !== undefined) pairs.push(`${name}=${value}`);
  return pairs.length === 0 ? undefined : pairs.map((pair) => pair.trim()).join('; ');
}

/**
 * The SessionRequest of a Server Action or Server Component, from `headers()`. Secure when Next
 * says so: it sets `X-Forwarded-Proto` from the socket unless a proxy sent one, as it does for a
 * route handler's `request.url`. No `url`: the query transport is not read here.
 */
class NextSessionRequest implements SessionRequest {
  readonly method: string;
  private readonly headers: Headers;
  private readonly trustProxy: boolean;
  constructor(headers: Headers, method: string, trustProxy: boolean) {
    this.headers = headers;
    this.method = method;
    this.trustProxy = trustProxy;
  }
  header(name: string): string | undefined {
    if (name === 'cookie') return cookieHeader(this.headers.get(name), written.get(this.headers));
    return this.headers.get(name) ?? undefined;
  }
  get isSecure(): boolean {
    return firstForwarded(this.headers.get('x-forwarded-proto')) === 'https';
  }
  get ip(): string | undefined {
    return this.trustProxy ? firstForwarded(this.headers.get('x-forwarded-for')) : undefined;
  }
}

/**
 * The session of a Server Action, to read and change. Costs no store call until it is read or
 * changed. Throws the `CROSS_SITE` error (403) for an action posted from another site (see the
 * manager's `crossOrigin` option; Next checks the `Origin` of actions too).
 *
 * Pass it to {@link commitSession} when the action is done with it: a Server Action has no
 * response object for tessera to hook into, so nothing is saved, and no cookie sent, until then
 * ({@link updateSession} does both, and handles failures). Only in a Server Action (or a route
 * handler): a Server Component cannot set cookies, so there use {@link readSession}.
 *
 * @example
 * 'use server'
 * import { commitSession, getSession } from 'tessera-session/next'
 *
 * export async function addToCart(form: FormData) {
 *   const session = await getSession(sessions)
 *   const cart = (await session.get('cart')) ?? []
 *   session.set('cart', [...cart, String(form.get('sku'))])
 *   await commitSession(sessions, session)
 * }
 */
export async function getSession<Data extends SessionData>(
  manager: SessionManager<Data>,
  options: NextSessionOptions = {},
): Promise<Session<Data>> {
  // A Server Action is always a POST: the cross-site check applies.
  const request = new NextSessionRequest(await headers(), 'POST', options.trustProxy ?? false);
  const refusal = manager.checkRequest(request);
  if (refusal !== undefined) throw refusal;
  return manager.load(request);
}

/**
 * Commits a session from {@link getSession} and sets its cookie through `cookies()`, so it goes
 * out with the action's answer (a redirect included) and the page Next renders after the action
 * sees it. Explicit, like iron-session's `session.save()`, because a Server Action gives tessera
 * no moment before its answer is sent; call it before `redirect()`, which throws. Rejects with the
 * `TesseraError` when the store fails: pending changes are dropped, and the cookie of what already
 * reached the store (a new id) is still set. Only cookies reach the client from an action: the
 * `header` transport cannot send a new id from here.
 */
export async function commitSession<Data extends SessionData>(
  manager: SessionManager<Data>,
  session: Session<Data>,
): Promise<void> {
  const jar = await cookies();
  const request = await headers();
  if (!manager.needsCommit(session)) {
    setCookies(jar, request, manager.discard(session));
    return;
  }
  let sent: ResponseHeaders;
  try {
    sent = await manager.commit(session);
  } catch (error) {
    setCookies(jar, request, manager.discard(session));
    throw error;
  }
  setCookies(jar, request, sent);
}

/**
 * Runs `update` with the Server Action's session, then commits it: {@link getSession} and
 * {@link commitSession} with the failures handled as a route handler's are. When `update` throws,
 * its pending changes are dropped, the cookie of what already reached the store is still set (the
 * new id of a login that failed after renewing it), and the error is thrown on. `redirect()` and
 * `notFound()` inside `update` are answers, not failures: the session is committed first.
 *
 * Next sends no cookie with an action that throws (at least for a form posted before hydration):
 * to keep that new id, catch the `TesseraError` and return, or redirect, instead.
 *
 * @example
 * 'use server'
 * import { redirect } from 'next/navigation'
 * import { isTesseraError } from 'tessera-session'
 * import { updateSession } from 'tessera-session/next'
 *
 * export async function login(form: FormData) {
 *   const user = await checkPassword(form)
 *   try {
 *     await updateSession(sessions, (session) => session.login(user.id))
 *   } catch (error) {
 *     if (isTesseraError(error)) redirect(`/login?error=${error.code}`)
 *     throw error
 *   }
 *   redirect('/account')
 * }
 */
export async function updateSession<Data extends SessionData, Result>(
  manager: SessionManager<Data>,
  update: (session: Session<Data>) => Result | Promise<Result>,
  options: NextSessionOptions = {},
): Promise<Result> {
  const session = await getSession(manager, options);
  let result: Result;
  try {
    result = await update(session);
  } catch (error) {
    if (isNavigation(error)) await commitSession(manager, session);
    else setCookies(await cookies(), await headers(), manager.discard(session));
    throw error;
  }
  await commitSession(manager, session);
  return result;
}

/**
 * Whether `error` is how Next's `redirect()`, `notFound()`, `forbidden()` or `unauthorized()`
 * answers: its `digest`, as `isRedirectError` (next/dist/client/components/redirect-error.js) and
 * `isHTTPAccessFallbackError` (…/http-access-fallback/http-access-fallback.js) read it.
 */
function isNavigation(error: unknown): boolean {
  const digest = (error as { digest?: unknown } | null)?.digest;
  return (
    typeof digest === 'string' &&
    (digest.startsWith('NEXT_REDIRECT;') || digest.startsWith('NEXT_HTTP_ERROR_FALLBACK;'))
  );
}

/** `cookies()` as far as {@link setCookies} uses it. */
type CookieJar = Pick<Awaited<ReturnType<typeof cookies>>, 'set'>;

/** Sets the `Set-Cookie` values among `sent` through Next's cookie store, and remembers them. */
function setCookies(jar: CookieJar, request: Headers, sent: ResponseHeaders): void {
  for (const [name, value] of sent) {
    if (name !== 'set-cookie') continue;
    // Next encodes the value again (encodeURIComponent) and tessera decodes what comes back.
    const { name: cookie, value: text = '', ...attributes } = parseSetCookie(value);
    jar.set(cookie, text, attributes);
    let changed = written.get(request);
    if (changed === undefined)
      written.set(request, (changed = new Map<string, string | undefined>()));
    changed.set(cookie, attributes.maxAge === 0 ? undefined : encodeURIComponent(text));
    opened.delete(request);
  }
}

/**
 * The session of a Server Component (a page, a layout), read-only: reads work, any change throws
 * the `READ_ONLY` error, and nothing is ever written (not even the idle deadline's move, which a
 * route handler, a Server Action or `proxy.ts` makes). Every component of one render gets the same
 * session, so the record is read once. Reading it makes the page dynamic, as `headers()` does.
 *
 * @example
 * // app/page.tsx
 * export default async function Page() {
 *   const session = await readSession(sessions)
 *   return <p>Visits: {(await session.get('count')) ?? 0}</p>
 * }
 */
export async function readSession<Data extends SessionData>(
  manager: SessionManager<Data>,
): Promise<Session<Data>> {
  const request = await headers();
  let sessions = opened.get(request);
  if (sessions === undefined) opened.set(request, (sessions = new Map<object, object>()));
  const known = sessions.get(manager) as Session<Data> | undefined;
  if (known !== undefined) return known;
  // A read-only session never sends a cookie nor records a login: the address is never asked.
  const session = manager.load(new NextSessionRequest(request, 'GET', false), { readOnly: true });
  sessions.set(manager, session);
  return session;
}

const MANAGERS = Symbol.for('tessera-session/next:managers');
type Holder = typeof globalThis & { [MANAGERS]?: Map<string, object> };

/**
 * The manager under `key`, made by `create` the first time in this process. Next evaluates a
 * module once per bundle that imports it (route handlers, pages and `proxy.ts` are bundled apart)
 * and again on every reload in `next dev`, so a manager made at module level would be one per
 * bundle and per reload: with the memory store, each would see different sessions, and each keeps
 * its own timers. Kept on `globalThis`, one manager serves them all. Its options are read once:
 * restart `next dev` after changing them.
 *
 * @example
 * // lib/sessions.ts
 * import { createSessionManager } from 'tessera-session'
 * import { sharedManager } from 'tessera-session/next'
 *
 * export const sessions = sharedManager('app', () =>
 *   createSessionManager<{ count: number }>({ idleTimeout: 30 * 60_000 }))
 */
export function sharedManager<Data extends SessionData>(
  key: string,
  create: () => SessionManager<Data>,
): SessionManager<Data> {
  const holder = globalThis as Holder;
  const managers = (holder[MANAGERS] ??= new Map());
  const known = managers.get(key) as SessionManager<Data> | undefined;
  if (known !== undefined) return known;
  const manager = create();
  managers.set(key, manager);
  return manager;
}
