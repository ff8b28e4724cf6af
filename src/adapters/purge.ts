/**
 * @module A purge handler for cron (gaesession's `PurgeExpiredSessFromDSFunc`): it sweeps expired
 * records in short, time-bounded batches, stops safely before its budget, and answers with what
 * it removed and whether more remain. For node:http and the Fetch API.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setImmediate as yieldToRequests } from 'node:timers/promises';
import { isTesseraError, TesseraError } from '../core/errors.js';
import type { SessionManager } from '../core/manager/index.js';
import type { SessionData } from '../core/session/index.js';
import { nodeHeader } from './_shared/request.js';

/** Options of {@link purgeExpired} and the handlers. */
export interface PurgeOptions {
  /**
   * The time the run may take (ms): the cron's own limit. The sweep stops at 80 % of it (as
   * gaesession stops at 8 of App Engine's 10 minutes), so the answer goes out in time.
   * @default 600000 (10 minutes)
   */
  budgetMs?: number | undefined;
  /**
   * Each batch's time bound (ms). Between batches the run yields to request traffic, so a long
   * sweep never holds the event loop or a store connection for long. Keep it under the manager's
   * `storeTimeout`. @default 500
   */
  batchMs?: number | undefined;
  /** At most this many records per batch. @default 1000 */
  batchSize?: number | undefined;
}

/** Options of {@link purgeHandler} and {@link purgeFetchHandler}. */
export interface PurgeHandlerOptions extends PurgeOptions {
  /**
   * A secret the request must carry as `Authorization: Bearer <token>` (Vercel Cron and most
   * schedulers send it so). Without one, the handler answers anyone who reaches it: mount it on
   * a route only your scheduler can reach (App Engine cron: a `login: admin` handler).
   */
  token?: string | undefined;
}

/** What a purge run did. */
export interface PurgeResult {
  /** Expired records removed. */
  removed: number;
  /** `true` when no expired record was left; `false` when the budget ended the run first. */
  done: boolean;
  /** Batches run. */
  batches: number;
  /** How long the run took (ms). */
  elapsedMs: number;
}

function duration(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1)
    throw new TesseraError('CONFIG', `purge: \`${name}\` must be a positive number.`);
  return value;
}

/**
 * Sweeps expired records until none are left or 80 % of `budgetMs` has passed, in batches of at
 * most `batchMs` and `batchSize`, yielding between them. Resumable: a run stopped by its budget
 * leaves the rest to the next. Safe when several instances run at once (each store's `gc` removes
 * a record once: SQL stores skip rows another sweep holds). A store without `gc` (its server
 * expires records itself: Redis, Memcached) answers `{ removed: 0, done: true }`. Rejects with
 * the store's `TesseraError` when a batch fails; what earlier batches removed stays removed.
 *
 * @example
 * import { createSessionManager } from 'tessera-session'
 * import { purgeExpired } from 'tessera-session/purge'
 *
 * const sessions = createSessionManager()
 * const { removed, done } = await purgeExpired(sessions, { budgetMs: 60_000 })
 */
export async function purgeExpired<Data extends SessionData>(
  manager: SessionManager<Data>,
  options: PurgeOptions = {},
): Promise<PurgeResult> {
  const budgetMs = duration('budgetMs', options.budgetMs, 600_000);
  const batchMs = duration('batchMs', options.batchMs, 500);
  const batchSize = duration('batchSize', options.batchSize, 1000);
  const started = performance.now();
  const stopAt = started + budgetMs * 0.8;
  let removed = 0;
  let batches = 0;
  let done = false;
  while (!done) {
    const left = stopAt - performance.now();
    if (left <= 0) break;
    const result = await manager.gc({ budgetMs: Math.min(batchMs, left), limit: batchSize });
    batches++;
    removed += result.removed;
    done = result.done;
    if (!done) await yieldToRequests();
  }
  return { removed, done, batches, elapsedMs: Math.round(performance.now() - started) };
}

/** Whether `header` is `Bearer <token>`, compared in constant time. */
function isAuthorized(header: string | null | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const given = Buffer.from(header ?? '');
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** The answer of a run: 200 with the result, the error's status (503) with what was removed. */
async function answer<Data extends SessionData>(
  manager: SessionManager<Data>,
  options: PurgeOptions,
  running: { current: Promise<PurgeResult> | undefined },
): Promise<{ status: number; body: Record<string, unknown> }> {
  // One run per process at a time: a second request joins the one in flight.
  const run = (running.current ??= purgeExpired(manager, options).finally(() => {
    running.current = undefined;
  }));
  try {
    return { status: 200, body: { ...(await run) } };
  } catch (error) {
    const status = isTesseraError(error) ? error.status : 500;
    const code = isTesseraError(error) ? error.code : 'INTERNAL';
    return { status, body: { error: code } };
  }
}

/** Checks a handler's options at start-up (`CONFIG`), not at the first cron call. */
function checkOptions(options: PurgeHandlerOptions): void {
  const token = options.token;
  if (token !== undefined && (typeof token !== 'string' || token.length < 16))
    throw new TesseraError('CONFIG', 'purge: `token` must be a string of at least 16 characters.');
  duration('budgetMs', options.budgetMs, 0);
  duration('batchMs', options.batchMs, 0);
  duration('batchSize', options.batchSize, 0);
}

/**
 * A node:http handler (Express and Connect take it too) that runs {@link purgeExpired} and
 * answers `200 {"removed":n,"done":bool,"batches":n,"elapsedMs":n}`; `401` without the `token`;
 * the store error's status (503) with `{"error":code}` when a batch fails. Concurrent requests in
 * one process share one run.
 *
 * @example
 * import { createServer } from 'node:http'
 * import { createSessionManager } from 'tessera-session'
 * import { purgeHandler } from 'tessera-session/purge'
 *
 * const sessions = createSessionManager()
 * const purge = purgeHandler(sessions, { budgetMs: 60_000, token: process.env['CRON_SECRET'] })
 * createServer((req, res) => (req.url === '/cron/purge' ? purge(req, res) : res.end())).listen(3000)
 */
export function purgeHandler<Data extends SessionData>(
  manager: SessionManager<Data>,
  options: PurgeHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  checkOptions(options);
  const running: { current: Promise<PurgeResult> | undefined } = { current: undefined };
  return (req, res) => {
    const send = (status: number, body: Record<string, unknown>): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (!isAuthorized(nodeHeader(req, 'authorization'), options.token))
      return send(401, { error: 'UNAUTHENTICATED' });
    void answer(manager, options, running).then(({ status, body }) => send(status, body));
  };
}

/**
 * {@link purgeHandler} for the Fetch API (Next.js route handlers, Hono, Bun, Deno, Workers).
 *
 * @example
 * // app/api/cron/purge/route.ts (Vercel Cron sends Authorization: Bearer $CRON_SECRET)
 * import { createSessionManager } from 'tessera-session'
 * import { purgeFetchHandler } from 'tessera-session/purge'
 *
 * const sessions = createSessionManager()
 * export const GET = purgeFetchHandler(sessions, { budgetMs: 50_000, token: process.env['CRON_SECRET'] })
 */
export function purgeFetchHandler<Data extends SessionData>(
  manager: SessionManager<Data>,
  options: PurgeHandlerOptions = {},
): (request: Request) => Promise<Response> {
  checkOptions(options);
  const running: { current: Promise<PurgeResult> | undefined } = { current: undefined };
  return async (request) => {
    const headers = { 'cache-control': 'no-store' };
    if (!isAuthorized(request.headers.get('authorization'), options.token))
      return Response.json({ error: 'UNAUTHENTICATED' }, { status: 401, headers });
    const { status, body } = await answer(manager, options, running);
    return Response.json(body, { status, headers });
  };
}
