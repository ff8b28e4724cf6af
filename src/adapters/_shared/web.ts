/**
 * @module Internal: session headers and error answers on Web `Response`s (Hono, Fetch).
 */
import { isTesseraError } from '../../core/errors.js';
import type { ResponseHeaders } from '../../core/manager/index.js';
import { applyHeaders, type HeaderOps } from './headers.js';

/** Session headers on a Web `Headers` object (`append` keeps what is there: a list for `vary`). */
export const WEB_HEADERS: HeaderOps<Headers> = {
  set: (target, name, value) => target.set(name, value),
  append: (target, name, value) => target.append(name, value),
  has: (target, name) => target.has(name),
};

/**
 * The response with the session headers added. Responses whose headers are immutable (from
 * `fetch()` or `Response.redirect()`) are copied first; the body is passed on, not read.
 */
export function withHeaders(response: Response, headers: ResponseHeaders): Response {
  if (headers.length === 0) return response;
  try {
    applyHeaders(WEB_HEADERS, response.headers, headers);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    applyHeaders(WEB_HEADERS, copy.headers, headers);
    return copy;
  }
}

/** The default answer to a store failure: the error's status (503) and `{ "error": code }`. */
export function errorResponse(error: unknown): Response {
  const status = isTesseraError(error) ? error.status : 500;
  const code = isTesseraError(error) ? error.code : 'INTERNAL';
  return Response.json({ error: code }, { status, headers: { 'cache-control': 'no-store' } });
}
