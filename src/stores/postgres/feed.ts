/**
 * @module The PostgreSQL store's change feed (`watch`): LISTEN on a channel named after the table.
 *
 * Every statement that writes or destroys a row (write, destroy, rename, revoke) calls
 * `pg_notify('tessera:<schema>.<table>', 'w:<key>' | 'd:<key>')` in the same statement, so the
 * notice commits with the change, never without it, and is delivered only after the commit.
 * Touches and GC notify nothing (a touch moves a deadline; GC removes records already expired,
 * which no cache serves). Note that PostgreSQL serialises the commits of notifying transactions
 * on one lock: fine for session writes, which are rare next to reads.
 *
 * The listener holds one connection of the store's pool (taken with `pool.connect()`) for as
 * long as anything watches. When that connection errs or ends (`pg_terminate_backend`, a restart,
 * a lost network) the feed reports `isLive: false` and takes a new one; a `SELECT 1` heartbeat
 * every `timeout` finds a connection that went silent within twice `timeout`.
 */
import type { PoolClient } from 'pg';
import { TesseraError } from '../../core/errors.js';
import { feedWithin, type FeedConnect, type FeedConnection } from '../_shared/feed-loop.js';

/** A pool as far as the feed uses it. */
export interface ListenPool {
  connect?(): Promise<PoolClient>;
}

const within = feedWithin('postgres');

/** The connect step of the feed loop: LISTEN `channel` on a connection of `pool`. */
export function pgFeedConnect(
  pool: () => Promise<ListenPool>,
  channel: string,
  timeoutMs: number,
): FeedConnect {
  return async (h): Promise<FeedConnection> => {
    const p = await pool();
    if (typeof p.connect !== 'function')
      throw new TesseraError(
        'CONFIG',
        'The postgres store can watch only through a `pg` Pool (it takes one connection for LISTEN); the `client` given has no `connect()`.',
      );
    const client = await within(p.connect(), timeoutMs, 'connecting');
    let isDone = false;
    const timer: { beat?: NodeJS.Timeout } = {};
    const end = (error?: unknown): void => {
      if (isDone) return;
      isDone = true;
      clearInterval(timer.beat);
      // A connection that failed is destroyed, never given back to the pool.
      client.release(true);
      h.lost(error);
    };
    client.on('error', (error) => end(error));
    client.on('end', () => end());
    client.on('notification', (message) => {
      if (message.channel !== channel || message.payload === undefined) return;
      const kind = message.payload.startsWith('w:')
        ? 'write'
        : message.payload.startsWith('d:')
          ? 'destroy'
          : undefined;
      if (kind !== undefined) h.change(kind, message.payload.slice(2));
    });
    try {
      await within(client.query(`LISTEN "${channel}"`), timeoutMs, 'LISTEN');
    } catch (error) {
      isDone = true;
      client.release(true);
      throw error;
    }
    const beat = (timer.beat = setInterval(() => {
      within(client.query('SELECT 1'), timeoutMs, 'heartbeat').catch((error: unknown) =>
        end(error),
      );
    }, timeoutMs));
    beat.unref();
    return {
      async close() {
        if (isDone) return;
        isDone = true;
        clearInterval(beat);
        client.release(true);
      },
    };
  };
}
