/**
 * @module A change feed over one dedicated connection, shared by every `watch` of a store: it
 * opens on the first watch, reports `{ kind: 'feed', isLive }` when the connection drops and when
 * it is back, reconnects by itself, and closes with the last unwatch.
 */
import { TesseraError } from '../../core/errors.js';
import type { StoreChange, Unwatch } from '../../core/store.js';

/** What a feed connection reports to the loop. */
export interface FeedHandlers {
  /** A record changed. */
  change(kind: 'write' | 'destroy', key: string): void;
  /** The connection is gone (closed, killed, or silent past its heartbeat). Once per connection. */
  lost(error?: unknown): void;
}

/** One open, listening connection. */
export interface FeedConnection {
  close(): Promise<void>;
}

/** Opens a connection and resolves once it listens (so no change after it is missed). */
export type FeedConnect = (handlers: FeedHandlers) => Promise<FeedConnection>;

/** A store's feed: `watch` for the store, `close` with it. */
export interface FeedLoop {
  watch(onChange: (change: StoreChange) => void): Promise<Unwatch>;
  close(): Promise<void>;
}

const backoff = (attempt: number): number => Math.min(100 * 2 ** attempt, 2000);

/** Creates the loop over `connect`; `onError` hears of each lost connection once. */
export function feedLoop(connect: FeedConnect, onError: (error: unknown) => void): FeedLoop {
  const watchers = new Set<(change: StoreChange) => void>();
  let connection: FeedConnection | undefined;
  let opening: Promise<void> | undefined;
  let isLive = false;
  let retry: NodeJS.Timeout | undefined;
  // Bumped whenever the loop stops, so a connection that opens after it is closed at once.
  let run = 0;

  const emit = (change: StoreChange): void => {
    for (const watcher of watchers) {
      try {
        watcher(change);
      } catch {
        // A watcher's failure is its own: it stops neither the others nor the feed.
      }
    }
  };

  function open(attempt: number): Promise<void> {
    const mine = run;
    let isLost = false;
    const handlers: FeedHandlers = {
      change(kind, key) {
        if (!isLost && mine === run) emit({ kind, key });
      },
      lost(error) {
        if (isLost || mine !== run) return;
        isLost = true;
        connection = undefined;
        if (error !== undefined) onError(error);
        if (isLive) {
          isLive = false;
          emit({ kind: 'feed', isLive: false });
        }
        schedule(0);
      },
    };
    return connect(handlers).then(
      (opened) => {
        // Stopped meanwhile, or lost before it was handed over (the loop already retries).
        if (mine !== run || isLost) {
          void opened.close().catch(() => undefined);
          return;
        }
        connection = opened;
        if (!isLive) {
          isLive = true;
          if (attempt > 0) emit({ kind: 'feed', isLive: true });
        }
      },
      (error: unknown) => {
        if (mine !== run) return;
        if (attempt === 0) throw error;
        schedule(attempt);
      },
    );
  }

  function schedule(attempt: number): void {
    if (watchers.size === 0) return;
    clearTimeout(retry);
    retry = setTimeout(() => {
      retry = undefined;
      void open(attempt + 1);
    }, backoff(attempt));
    retry.unref();
  }

  async function stop(): Promise<void> {
    run++;
    clearTimeout(retry);
    retry = undefined;
    opening = undefined;
    isLive = false;
    const closing = connection;
    connection = undefined;
    await closing?.close().catch(() => undefined);
  }

  return {
    async watch(onChange) {
      const watcher = (change: StoreChange): void => onChange(change);
      watchers.add(watcher);
      if (connection === undefined && retry === undefined) {
        opening ??= open(0);
        try {
          await opening;
        } catch (error) {
          opening = undefined;
          watchers.delete(watcher);
          if (watchers.size === 0) await stop();
          throw error;
        }
      }
      // Joined while the connection is down: say so, as the others heard.
      if (!isLive)
        queueMicrotask(() => watchers.has(watcher) && watcher({ kind: 'feed', isLive: false }));
      return async () => {
        if (!watchers.delete(watcher)) return;
        if (watchers.size === 0) await stop();
      };
    },
    async close() {
      watchers.clear();
      await stop();
    },
  };
}

/**
 * A bound for the feed's own steps (connecting, subscribing, a heartbeat) of one store: the
 * returned function rejects with `STORE_TIMEOUT` after `ms` unless `promise` settled first.
 */
export function feedWithin(
  store: string,
): <T>(promise: Promise<T>, ms: number, what: string) => Promise<T> {
  return (promise, ms, what) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new TesseraError(
              'STORE_TIMEOUT',
              `The ${store} store's feed: ${what} took over ${ms} ms.`,
            ),
          ),
        ms,
      );
    });
    return Promise.race([promise, late]).finally(() => clearTimeout(timer));
  };
}
