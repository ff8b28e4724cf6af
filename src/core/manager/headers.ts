/**
 * @module The headers of a session's answer: the cookie a commit sends (or clears), the cache
 * headers of an answer that read the session, and what an answer that is not committed must still
 * carry (a new id already stored).
 */
import type { SessionState } from '../session/session.js';
import type { ResponseHeaders } from '../transport/index.js';
import type { ManagerContext } from './context.js';

/**
 * Builds the headers of a finished commit: the sealed cookies, the id when `isIdSent` (the plan said
 * `set`, or the record was created), or the clearing of a dead cookie.
 */
export function cookieHeaders(
  ctx: ManagerContext,
  s: SessionState,
  isSealed: boolean,
  isIdSent: boolean,
): ResponseHeaders {
  const { cookie, transports, setCookie } = ctx.o;
  const out: Array<readonly [string, string]> = [];
  // A session with its own lifetime keeps a persistent cookie until its (capped) idle deadline.
  const maxAge = s.lifetime === undefined ? undefined : cookieMaxAge(ctx, s);
  if (isSealed) {
    for (const [name, value] of s.backend!.cookies(s.id))
      out.push([
        'set-cookie',
        value === undefined
          ? cookie.clear(s.isSecure, name)
          : cookie.serializeNamed(name, value, s.isSecure, maxAge),
      ]);
  } else if (isIdSent && s.id !== undefined) {
    if (transports.cookie && setCookie)
      out.push(['set-cookie', cookie.serialize(s.id, s.isSecure, maxAge)]);
    if (transports.header) out.push([transports.header, s.id]);
  } else if (s.id === undefined && s.hadCookie && (s.isDestroyed || s.isLoaded) && setCookie) {
    out.push(['set-cookie', cookie.clear(s.isSecure)]);
  }
  if (out.length === 0) return s.wasRead ? ctx.readHeaders : NO_HEADERS;
  out.push(['cache-control', 'no-store'], ...ctx.vary);
  if (s.source === 'query') out.push(['referrer-policy', 'no-referrer']);
  return out;
}

/**
 * The headers a response must carry even when the session is not committed (a failed handler or
 * commit): what already happened in the store. A new id already stored (a login or regenerate
 * that failed at a later step) is sent, so the client keeps a working session; a destroyed
 * session's cookie is cleared. Pending changes are not written. A sealed session stores nothing
 * until its cookies are sent, so it needs none. An answer that read the session gets
 * {@link readHeaders}.
 */
export function settledHeaders(ctx: ManagerContext, s: SessionState): ResponseHeaders {
  // A commit that finished gave the answer its headers already.
  if (s.isSent) return NO_HEADERS;
  if (s.backend !== undefined) return s.wasRead ? ctx.readHeaders : NO_HEADERS;
  const isIdSent = s.isIdChanged && !s.isMissing && s.id !== undefined;
  if (!isIdSent && !(s.isDestroyed && s.hadCookie)) return s.wasRead ? ctx.readHeaders : NO_HEADERS;
  return cookieHeaders(ctx, s, false, isIdSent);
}

/**
 * The Max-Age (ms) of a session with its own lifetime: its lifetime (the cookie is sent again
 * whenever the deadline moves), capped by the absolute deadline.
 */
function cookieMaxAge(ctx: ManagerContext, s: SessionState): number {
  const lifetime = s.lifetime!;
  const absolute = s.record?.absoluteExpiresAt;
  if (absolute === undefined) return lifetime;
  return Math.max(1000, Math.min(lifetime, absolute - ctx.o.clock.now()));
}

/** No headers: shared, frozen. */
export const NO_HEADERS: ResponseHeaders = Object.freeze([]);
