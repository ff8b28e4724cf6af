/**
 * @module What every benchmark server shares: its port, the secret, the Redis URL, the routes and
 * the one JSON payload they all answer with.
 *
 * Every server answers three routes the same way:
 * - `GET /read`: reads `count` from the session and returns `{"count":n}` (`null` when unset);
 * - `GET /write`: adds one to `count` and returns the new value;
 * - `GET /none`: never touches the session and returns `{"count":null}`.
 * Bare servers (no sessions) answer every route with `{"count":1}`.
 */
import type { Server } from 'node:http';

/** The port to listen on (env `PORT`; 0, the default, picks a free one and reports it). */
export const PORT = Number(process.env['PORT'] ?? 0);

/** A secret of 32 random bytes (base64url) the harness draws for each run (env `BENCH_SECRET`). */
export const SECRET = process.env['BENCH_SECRET'] ?? 'bench-secret-bench-secret-bench-secret-0123';

/** The dedicated Redis server the harness starts (env `BENCH_REDIS_URL`). */
export const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6395';

/** The payload of every route. */
export function payload(count: number | null | undefined): string {
  return JSON.stringify({ count: count ?? null });
}

/** Tells the harness the server is up: it waits for this line on stdout. */
export function ready(server: Server): void {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : PORT;
  process.stdout.write(`READY ${port}\n`);
}

/** Listens on 127.0.0.1:PORT and reports ready. */
export function listen(server: Server): void {
  server.listen(PORT, '127.0.0.1', () => ready(server));
}

// Exit normally on SIGTERM, so `node --cpu-prof` writes its profile (bench/_profile.ts).
process.once('SIGTERM', () => process.exit(0));

/** Stops on SIGTERM/SIGINT after running `close` (for clients that hold the process open). */
export function onStop(close: () => Promise<unknown> | void): void {
  process.removeAllListeners('SIGTERM');
  const stop = (): void => {
    void Promise.resolve()
      .then(close)
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
