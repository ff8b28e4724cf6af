/**
 * @module Reading the session id from a request: the header, then the cookie, then the query string,
 * each only when switched on, and only an id of the exact shape this manager issues.
 */
import type { IdScheme } from '../id.js';
import type { CookieCodec } from './cookie.js';
import { readQueryParam, type SessionRequest, type Transports } from './index.js';

/** How the id arrived. */
export type IdSource = 'cookie' | 'header' | 'query';

/** Receives what {@link createIdReader}'s reader found. Called once per request. */
export type IdFound<T> = (
  request: SessionRequest,
  id: string | undefined,
  source: IdSource | undefined,
  hadCookie: boolean,
) => T;

/**
 * A reader of ids, built once at start-up. It hands what it found to `found` instead of returning
 * an object, so reading an id allocates nothing of its own.
 */
export function createIdReader<T>(
  transports: Transports,
  cookie: CookieCodec,
  ids: IdScheme,
  found: IdFound<T>,
): (request: SessionRequest) => T {
  const { header, query } = transports;
  const useCookie = transports.cookie;
  return (request) => {
    if (header !== undefined) {
      const value = request.header(header);
      if (value !== undefined && ids.isValid(value)) return found(request, value, 'header', false);
    }
    let hadCookie = false;
    if (useCookie) {
      const value = cookie.read(request.header('cookie'));
      if (value !== undefined) {
        hadCookie = true;
        if (value !== null && ids.isValid(value)) return found(request, value, 'cookie', true);
      }
    }
    if (query !== undefined) {
      const value = readQueryParam(request.url, query);
      if (value !== undefined && ids.isValid(value))
        return found(request, value, 'query', hadCookie);
    }
    return found(request, undefined, undefined, hadCookie);
  };
}
