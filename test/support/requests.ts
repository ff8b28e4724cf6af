/**
 * Builds the SessionRequest an adapter would, and reads the session cookie back out of commit
 * headers, so manager tests read like a browser's round trips.
 */
import type { ResponseHeaders, SessionManager, SessionData } from '../../src/index.js';
import type { SessionRequest } from '../../src/core/transport/index.js';

export function request(
  headers: Record<string, string> = {},
  extra: Partial<Pick<SessionRequest, 'isSecure' | 'url' | 'ip'>> = {},
): SessionRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    header: (name) => lower[name],
    isSecure: extra.isSecure ?? false,
    url: extra.url,
    ip: extra.ip ?? '127.0.0.1',
  };
}

export const withCookie = (id: string | undefined, name = 'sid'): SessionRequest =>
  request(id === undefined ? {} : { cookie: `${name}=${id}` });

/** The value the response sets for cookie `name`: a string, '' when cleared, undefined when untouched. */
export function setCookieValue(headers: ResponseHeaders, name = 'sid'): string | undefined {
  for (const [header, value] of headers) {
    if (header !== 'set-cookie' || !value.startsWith(`${name}=`)) continue;
    return value.slice(name.length + 1).split(';')[0];
  }
  return undefined;
}

export function header(headers: ResponseHeaders, name: string): string[] {
  return headers.filter(([n]) => n === name).map(([, v]) => v);
}

/**
 * One browser: keeps the session cookie between requests and runs `handler` against the
 * session of each request, committing afterwards as an adapter does.
 */
export function browser<Data extends SessionData>(manager: SessionManager<Data>) {
  let cookie: string | undefined;
  return {
    get cookie() {
      return cookie;
    },
    set cookie(value: string | undefined) {
      cookie = value;
    },
    async visit<T>(
      handler: (session: ReturnType<SessionManager<Data>['load']>) => Promise<T> | T,
      headers: Record<string, string> = {},
    ): Promise<{ result: T; headers: ResponseHeaders }> {
      const session = manager.load(
        request({ ...headers, ...(cookie === undefined ? {} : { cookie: `sid=${cookie}` }) }),
      );
      const result = await handler(session);
      const out = await manager.commit(session);
      const set = setCookieValue(out);
      if (set !== undefined) cookie = set === '' ? undefined : set;
      return { result, headers: out };
    },
  };
}
