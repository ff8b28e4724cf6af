/**
 * @module Internal: session headers and error answers on Web `Response`s (Hono, Fetch).
 */
import { isTesseraError } from '../../core/errors.js';
import type { ResponseHeaders } from '../../core/manager/index.js';

/** Adds `headers` to `headers`: `set-cookie` and `vary` are appended, the others set. */
export function addHeaders(target: Headers, headers: ResponseHeaders): void {
  for (const [name, value] of headers) {
    if (name === 'set-cookie' || name === 'vary') target.append(name, value);
    else target.set(name, value);
  }
}

/**
 * The response with the session headers added. Responses whose headers are immutable (from
 * `fetch()` or `Response.redirect()`) are copied first; the body is passed on, not read.
 */
export function withHeaders(response: Response, headers: ResponseHeaders): Response {
  if (headers.length === 0) return response;
  try {
    addHeaders(response.headers, headers);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    addHeaders(copy.headers, headers);
    return copy;
  }
}

/** The default answer to a store failure: the error's status (503) and `{ "error": code }`. */
export function errorResponse(error: unknown): Response {
  const status = isTesseraError(error) ? error.status : 500;
  const code = isTesseraError(error) ? error.code : 'INTERNAL';
  return Response.json({ error: code }, { status, headers: { 'cache-control': 'no-store' } });
}
