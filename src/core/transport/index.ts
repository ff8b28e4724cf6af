/**
 * @module Where a session id travels: cookie (default), a request header, or the query string.
 */
import { TesseraError } from '../errors.js';

/** The parts of a request tessera reads. Adapters build one per request. */
export interface SessionRequest {
  /** A request header by lower-case name; the first value when repeated. */
  header(name: string): string | undefined;
  /** Whether the request came over https (as far as the adapter can tell). */
  readonly isSecure: boolean;
  /** The request target (path and query), for the query transport. */
  readonly url?: string | undefined;
  /** The client address, recorded as device information at login. */
  readonly ip?: string | undefined;
  /** The request method (`GET`, `POST`, …), for the cross-site check of state-changing requests. */
  readonly method?: string | undefined;
}

/**
 * Which transports carry the session id. Only the ones switched on are ever read. When several
 * carry an id, the header wins over the cookie, and the cookie over the query string.
 */
export interface TransportOptions {
  /** Read and set the session cookie. @default true */
  cookie?: boolean | undefined;
  /**
   * Read the id from this request header and send new ids back in the same response header
   * (beego's SessionNameInHTTPHeader), for API clients that do not keep cookies. @default false
   */
  header?: string | false | undefined;
  /**
   * Read the id from this query parameter. Off by default: ids in URLs leak through logs, browser
   * history and `Referer`. When on, tessera never writes ids into URLs, answers with
   * `Referrer-Policy: no-referrer` and `Cache-Control: no-store`, and renews an id that arrived in
   * the query string before the session is written, so the URL someone saw stops working.
   * @default false
   */
  query?: string | false | undefined;
}

/** Response headers the manager asks the adapter to add, as `[lower-case name, value]` pairs. */
export type ResponseHeaders = ReadonlyArray<readonly [name: string, value: string]>;

/** Transports resolved at start-up. */
export interface Transports {
  readonly cookie: boolean;
  readonly header: string | undefined;
  readonly query: string | undefined;
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const QUERY_NAME = /^[A-Za-z0-9_.-]+$/;

/** Validates transport options. Throws `CONFIG` for a bad name or when nothing is switched on. */
export function resolveTransports(options: TransportOptions = {}): Transports {
  const cookie = options.cookie ?? true;
  const header =
    options.header === false || options.header === undefined
      ? undefined
      : options.header.toLowerCase();
  const query = options.query === false || options.query === undefined ? undefined : options.query;
  if (header !== undefined && !HEADER_NAME.test(header)) {
    throw new TesseraError(
      'CONFIG',
      `transport: \`header\` ${JSON.stringify(options.header)} is not a valid header name.`,
    );
  }
  if (query !== undefined && !QUERY_NAME.test(query)) {
    throw new TesseraError(
      'CONFIG',
      `transport: \`query\` ${JSON.stringify(query)} must hold only letters, digits, ".", "_" and "-".`,
    );
  }
  if (!cookie && header === undefined && query === undefined) {
    throw new TesseraError(
      'CONFIG',
      'transport: switch on at least one of `cookie`, `header` or `query`.',
    );
  }
  if (!cookie && header === undefined) {
    // Ids are never written into URLs, so every new or renewed id would be lost.
    throw new TesseraError(
      'CONFIG',
      'transport: `query` only reads ids (tessera never writes one into a URL), so new sessions could never reach the client. Switch on `cookie` or `header` too.',
    );
  }
  return { cookie, header, query };
}

/** The value of query parameter `name` in a request target, without building a URL object. */
export function readQueryParam(url: string | undefined, name: string): string | undefined {
  if (!url) return undefined;
  const q = url.indexOf('?');
  if (q === -1) return undefined;
  const params = new URLSearchParams(url.slice(q + 1));
  return params.get(name) ?? undefined;
}
