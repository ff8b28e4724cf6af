/**
 * @module One load run with autocannon: 10 connections (by default) against one route of one
 * server, for a fixed time, returning clients sending their cookies back.
 */
import autocannon from 'autocannon';

/** One load run. */
export interface LoadOptions {
  /** `http://127.0.0.1:port` */
  origin: string;
  path: string;
  /**
   * Cookie headers of returning clients. Requests cycle through them, so with as many cookies as
   * connections every session is read (or written) by every connection in turn. Empty: no cookie.
   */
  cookies: readonly string[];
  /** Seconds. */
  duration: number;
  /** @default 10 */
  connections?: number;
  /** Stop after this many requests instead of after `duration`. */
  amount?: number;
}

/** What one run measured. */
export interface LoadResult {
  requests: number;
  /** 2xx responses only. */
  ok: number;
  /** Requests per second (all completed responses / elapsed seconds). */
  rps: number;
  /** Latency in ms. */
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  seconds: number;
}

/** Runs autocannon once. Every request is built ahead of time, so the load costs the same per request. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const requests =
    options.cookies.length === 0
      ? [{ method: 'GET' as const, path: options.path }]
      : options.cookies.map((cookie) => ({
          method: 'GET' as const,
          path: options.path,
          headers: { cookie },
        }));
  const result = await autocannon({
    url: options.origin,
    connections: options.connections ?? 10,
    pipelining: 1,
    requests,
    ...(options.amount === undefined ? { duration: options.duration } : { amount: options.amount }),
    timeout: 10,
  });
  const total = result.requests.total;
  return {
    requests: total,
    ok: result['2xx'],
    rps: total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    seconds: result.duration,
  };
}
