/**
 * @module The session cookie: options checked once at start-up, headers built from parts computed
 * once, and a reader that picks the session cookie out of a `Cookie` header.
 */
import { parseCookie, stringifySetCookie, type SetCookie } from 'cookie';
import { TesseraError } from '../errors.js';

/** Options of the session cookie. */
export interface CookieOptions {
  /**
   * The cookie name. A `__Host-` name requires `secure: true`, `path: '/'` and no `domain`;
   * a `__Secure-` name requires `secure: true`.
   * @default 'sid'; with `secure: true`, '__Host-sid' (or '__Secure-sid' when `domain` or a path
   * other than '/' is set)
   */
  name?: string | undefined;
  /** The `Domain` attribute. Leave unset to bind the cookie to the exact host (safer). */
  domain?: string | undefined;
  /** @default '/' */
  path?: string | undefined;
  /**
   * `true` always sets `Secure`; `'auto'` sets it when the request came over https
   * (including `X-Forwarded-Proto` when the adapter trusts the proxy); `false` never does.
   * @default 'auto'
   */
  secure?: boolean | 'auto' | undefined;
  /** @default true */
  httpOnly?: boolean | undefined;
  /** @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none' | undefined;
  /** The `Partitioned` attribute (CHIPS). Requires `secure: true`. @default false */
  partitioned?: boolean | undefined;
  /**
   * Cookie lifetime in milliseconds (at least 1000; `Max-Age` is sent in whole seconds, a part
   * second rounded up), or `'session'` for a cookie the browser drops when it closes (beego's
   * CookieLifeTime). A persistent cookie is re-sent whenever the session's deadline moves.
   * @default 'session'
   */
  maxAge?: number | 'session' | undefined;
}

/** The cookie policy, resolved once. */
export interface CookieCodec {
  readonly name: string;
  /**
   * `Set-Cookie` value giving the cookie `value`; with `maxAge` (ms), persistent for that long
   * instead of the policy's lifetime (a session's own lifetime).
   */
  serialize(value: string, isSecure: boolean, maxAge?: number): string;
  /** `Set-Cookie` value clearing the cookie. */
  clear(isSecure: boolean, name?: string): string;
  /** `Set-Cookie` value for another cookie under the same policy (chunked cookie stores). */
  serializeNamed(name: string, value: string, isSecure: boolean, maxAge?: number): string;
  /** The session cookie's value in a `Cookie` header, or `undefined`; `null` when ambiguous. */
  read(header: string | undefined): string | undefined | null;
  /** All cookies of a header. */
  parse(header: string | undefined): Record<string, string | undefined>;
}

// RFC 6265 token: a cookie name may not hold separators, spaces or control characters.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DOMAIN =
  /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const PATH = /^\/[\x21-\x3A\x3C-\x7E]*$/;
const EPOCH = new Date(0);

function configError(message: string): TesseraError {
  return new TesseraError('CONFIG', `cookie: ${message}`);
}

/**
 * The cookie name when none is given. An always-secure cookie gets a prefix browsers enforce:
 * `__Host-` (host-only, `Path=/`, `Secure`: no sibling subdomain can plant or overwrite it), or
 * `__Secure-` when a `domain` or another path rules `__Host-` out.
 */
function defaultName(secure: unknown, path: string, domain: string | undefined): string {
  if (secure !== true) return 'sid';
  return domain === undefined && path === '/' ? '__Host-sid' : '__Secure-sid';
}

/** A cookie value percent-decoded as the `cookie` package decodes it (as it is, if it cannot be). */
function decodeValue(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Whether the cookie name found at `at` starts a `name=value` pair of a `Cookie` header. */
function startsPair(header: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && (header.charCodeAt(i) === 0x20 || header.charCodeAt(i) === 0x09)) i--;
  return i < 0 || header.charCodeAt(i) === 0x3b;
}

/** Checks cookie options and precomputes the headers. Throws `CONFIG` on any bad option. */
export function createCookieCodec(options: CookieOptions = {}): CookieCodec {
  const path = options.path ?? '/';
  const secure = options.secure ?? 'auto';
  const name = options.name ?? defaultName(secure, path, options.domain);
  const sameSite = options.sameSite ?? 'lax';
  const httpOnly = options.httpOnly ?? true;
  const partitioned = options.partitioned ?? false;
  const maxAge = options.maxAge ?? 'session';

  if (!COOKIE_NAME.test(name))
    throw configError(
      `\`name\` ${JSON.stringify(name)} is not a valid cookie name (RFC 6265 token characters only).`,
    );
  if (!PATH.test(path))
    throw configError(
      `\`path\` must start with "/" and hold no ";" or control characters; got ${JSON.stringify(path)}.`,
    );
  if (options.domain !== undefined && !DOMAIN.test(options.domain)) {
    throw configError(`\`domain\` ${JSON.stringify(options.domain)} is not a valid host name.`);
  }
  if (!['lax', 'strict', 'none'].includes(sameSite))
    throw configError('`sameSite` must be "lax", "strict" or "none".');
  if (secure !== true && secure !== false && secure !== 'auto')
    throw configError('`secure` must be true, false or "auto".');
  if (maxAge !== 'session' && (typeof maxAge !== 'number' || !Number.isFinite(maxAge))) {
    throw configError('`maxAge` must be a number of milliseconds (1000 or more) or "session".');
  }
  if (maxAge !== 'session' && maxAge < 1000) {
    // Max-Age counts whole seconds: under one second it would be 0, and the browser would delete
    // the cookie it was just given.
    throw configError(
      `\`maxAge\` is in milliseconds and must be at least 1000 (one second); got ${maxAge}. Did you mean ${maxAge * 1000}?`,
    );
  }
  if (name.startsWith('__Host-')) {
    if (secure !== true)
      throw configError('a `__Host-` cookie must set `secure: true` (browsers drop it otherwise).');
    if (path !== '/') throw configError('a `__Host-` cookie must have `path: "/"`.');
    if (options.domain !== undefined)
      throw configError('a `__Host-` cookie must not set `domain`.');
  }
  if (name.startsWith('__Secure-') && secure !== true)
    throw configError('a `__Secure-` cookie must set `secure: true`.');
  if (sameSite === 'none' && secure !== true)
    throw configError('`sameSite: "none"` needs `secure: true` (browsers drop it otherwise).');
  if (partitioned && secure !== true) throw configError('`partitioned` needs `secure: true`.');

  const base: Omit<SetCookie, 'name' | 'value'> = {
    path,
    httpOnly,
    sameSite,
    partitioned,
    ...(options.domain === undefined ? {} : { domain: options.domain }),
    // Max-Age is whole seconds: a part second rounds up, so the cookie never ends early.
    ...(maxAge === 'session' ? {} : { maxAge: Math.ceil(maxAge / 1000) }),
  };
  const attributes = (isSecure: boolean, clear: boolean, ownMaxAge?: number): string => {
    const attrs: SetCookie = { name: 'x', value: '', ...base, secure: isSecure };
    if (ownMaxAge !== undefined) attrs.maxAge = Math.max(1, Math.ceil(ownMaxAge / 1000));
    if (clear) {
      attrs.maxAge = 0;
      attrs.expires = EPOCH;
    }
    // Only the attributes: everything after "x=".
    return stringifySetCookie(attrs).slice(2);
  };
  let keep: readonly [string, string];
  let gone: readonly [string, string];
  try {
    keep = [attributes(secure === true, false), attributes(true, false)];
    gone = [attributes(secure === true, true), attributes(true, true)];
  } catch (cause) {
    throw new TesseraError(
      'CONFIG',
      `cookie: ${cause instanceof Error ? cause.message : String(cause)}; fix the cookie options.`,
      { cause },
    );
  }
  const pick = (isSecure: boolean): 0 | 1 =>
    secure === true || (secure === 'auto' && isSecure) ? 1 : 0;
  const prefix = name + '=';
  // A session's own lifetime: attributes built per cookie (rare; the common path is precomputed).
  const own = (isSecure: boolean, maxAge: number): string =>
    attributes(secure === true || (secure === 'auto' && isSecure), false, maxAge);

  return {
    name,
    serialize: (value, isSecure, maxAge) =>
      prefix + value + (maxAge === undefined ? keep[pick(isSecure)] : own(isSecure, maxAge)),
    serializeNamed: (other, value, isSecure, maxAge) =>
      other + '=' + value + (maxAge === undefined ? keep[pick(isSecure)] : own(isSecure, maxAge)),
    clear: (isSecure, other = name) => other + '=' + gone[pick(isSecure)],
    parse: (header) => (header ? parseCookie(header) : {}),
    read(header) {
      if (!header) return undefined;
      // Only our cookie is looked at, where it starts a pair (the header's start, or after ";"
      // and spaces): the others a browser sends (often dozens) are neither split nor decoded.
      let value: string | undefined;
      for (let at = header.indexOf(name); at !== -1; at = header.indexOf(name, at + 1)) {
        if (!startsPair(header, at)) continue;
        let eq = at + name.length;
        while (header.charCodeAt(eq) === 0x20 || header.charCodeAt(eq) === 0x09) eq++;
        if (header.charCodeAt(eq) !== 0x3d) continue;
        const start = eq + 1;
        const end = header.indexOf(';', start);
        const found = decodeValue(header.slice(start, end === -1 ? header.length : end).trim());
        // Two different values under our name (cookie tossing from a sibling domain, or a stale
        // path cookie): refuse both rather than guess.
        if (value === undefined) value = found;
        else if (found !== value) return null;
      }
      return value;
    },
  };
}
