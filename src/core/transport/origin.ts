/**
 * @module Cross-site request protection for requests that change state, after Go 1.25's
 * `http.CrossOriginProtection`: browsers say where a request came from (`Sec-Fetch-Site`, or
 * `Origin` in older ones), and a POST from another site (a form on any page can send one, with the
 * victim's cookies; SameSite=Lax does not stop a top-level form POST) is refused before the handler
 * runs. Requests without either header are not from a browser's cross-site context and pass.
 */
import { TesseraError } from '../errors.js';
import type { SessionRequest } from './index.js';

/** Options of the cross-site protection. */
export interface CrossOriginOptions {
  /**
   * Origins allowed to send state-changing requests although they are another site, exactly as
   * browsers send them: `scheme://host[:port]` (e.g. `"https://app.example.com"`). @default []
   */
  trustedOrigins?: readonly string[] | undefined;
  /**
   * Paths that take cross-site requests (webhooks, OAuth form posts): an exact path, or a prefix
   * ending in `/*` (`"/webhooks/*"`). Matched against the path without the query. @default []
   */
  bypass?: readonly string[] | undefined;
}

/** Checks one request: `undefined` to let it through, or the error to answer with (403). */
export type OriginCheck = (request: SessionRequest) => TesseraError | undefined;

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i;

function refusal(why: string): TesseraError {
  return new TesseraError(
    'CROSS_SITE',
    `A cross-site request that changes state was refused (${why}). If that origin is yours, list it in \`crossOrigin.trustedOrigins\`; a path that must take cross-site posts (a webhook) goes in \`crossOrigin.bypass\`.`,
  );
}

/** The path of a request target (path and query, or a full URL), without the query. */
function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  let path = url;
  const scheme = path.indexOf('://');
  if (scheme !== -1) {
    const slash = path.indexOf('/', scheme + 3);
    path = slash === -1 ? '/' : path.slice(slash);
  }
  const query = path.search(/[?#]/);
  return query === -1 ? path : path.slice(0, query);
}

/** The host of an absolute request URL (the Fetch API has no `Host` header to ask). */
function hostOfUrl(url: string | undefined): string | undefined {
  if (url === undefined || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/** The host (and port) of an origin, or `undefined` when it is not one. */
function hostOf(origin: string): string | undefined {
  if (!ORIGIN.test(origin)) return undefined;
  return origin.slice(origin.indexOf('://') + 3).toLowerCase();
}

/**
 * Whether a request is exempt from the cross-site check by its options: its `Origin` is trusted,
 * or its path is bypassed. Built once per options object; throws `CONFIG` for a trusted origin
 * that is not of the form browsers send, or a bypass path that does not start with "/". Shared by
 * the handshake check of `tessera-session/upgrade`.
 */
export function crossOriginExemptions(
  options: CrossOriginOptions,
): (origin: string | undefined, url: string | undefined) => boolean {
  const trusted = new Set<string>();
  for (const origin of options.trustedOrigins ?? []) {
    if (typeof origin !== 'string' || !ORIGIN.test(origin) || origin.endsWith('/'))
      throw new TesseraError(
        'CONFIG',
        `crossOrigin: trusted origin ${JSON.stringify(origin)} must be "scheme://host[:port]", as browsers send it (no path, no trailing "/").`,
      );
    trusted.add(origin.toLowerCase());
  }
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const path of options.bypass ?? []) {
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new TesseraError(
        'CONFIG',
        `crossOrigin: bypass path ${JSON.stringify(path)} must start with "/" (end it with "/*" for a prefix).`,
      );
    if (path.endsWith('/*')) prefixes.push(path.slice(0, -1));
    else exact.add(path);
  }
  return (origin, url) => {
    if (origin !== undefined && trusted.has(origin.toLowerCase())) return true;
    if (exact.size === 0 && prefixes.length === 0) return false;
    const path = pathOf(url);
    return exact.has(path) || prefixes.some((prefix) => path.startsWith(prefix));
  };
}

/**
 * Builds the check, once at start-up. Throws `CONFIG` for a trusted origin that is not of the form
 * browsers send, or a bypass path that does not start with "/".
 */
export function createOriginCheck(options: CrossOriginOptions = {}): OriginCheck {
  const exempt = crossOriginExemptions(options);
  const isExempt = (request: SessionRequest, origin: string | undefined): boolean =>
    exempt(origin, request.url);
  return (request) => {
    // Methods arrive upper-case from every server: only an odd one pays for the conversion.
    const raw = request.method;
    if (raw === undefined || SAFE.has(raw) || SAFE.has(raw.toUpperCase())) return undefined;
    const site = request.header('sec-fetch-site');
    const origin = request.header('origin');
    if (site !== undefined && site !== '') {
      if (site === 'same-origin' || site === 'none') return undefined;
      return isExempt(request, origin) ? undefined : refusal(`Sec-Fetch-Site: ${site}`);
    }
    // An older browser: judge by Origin. Neither header: not a browser's cross-site request.
    if (origin === undefined || origin === '') return undefined;
    const host = (request.header('host') ?? hostOfUrl(request.url))?.toLowerCase();
    if (host !== undefined && hostOf(origin) === host) return undefined;
    return isExempt(request, origin) ? undefined : refusal(`Origin ${origin} is not this host`);
  };
}
