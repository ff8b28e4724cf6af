/**
 * @module The Redis store's methods: each one commands and scripts on the command layer.
 *
 * Every method but `close` runs within one deadline, `commandTimeout`, for all its round trips.
 */
import { randomUUID } from 'node:crypto';
import { TesseraError } from '../../core/errors.js';
import { isLive } from '../../core/expiry.js';
import { probeStore } from '../../core/probe.js';
import { unbounded } from '../../core/store-call.js';
import type { Clock, Store, WriteResult } from '../../core/store.js';
import { withDeadline, type Classified, type Deadline } from '../_shared/deadline.js';
import { followIndex, renameAcrossSlots } from './cluster.js';
import { isOfClass, type RedisCommands } from './commands.js';
import { feedLoop, type FeedConnect } from '../_shared/feed-loop.js';
import { feedChannel, redisFeedConnect } from './feed.js';
import { releaseLease, takeLease } from './lock.js';
import {
  decodeHash,
  incrKeys,
  parseCounter,
  refusedIncr,
  sessionKey,
  writeArgs,
} from './record.js';
import { DESTROY, RENAME, TOUCH } from './scripts.js';
import { WRITE } from './write-script.js';
import { countSessions, destroyUserSessions, listUserSessions, scanSessions } from './users.js';

/**
 * Reads driver errors by class: node-redis rejects with `TimeoutError` (or a subclass) when a
 * timeout of its own ran out, as on a client given with `commandOptions.timeout`. ioredis's
 * `commandTimeout` rejects with a plain `Error` and no code, so it cannot be told from others;
 * the store sets no such timer on the clients it creates.
 */
function classify(error: unknown): Classified {
  return isOfClass(error, 'TimeoutError') ? 'timeout' : undefined;
}

/** What {@link redisOperations} works with. */
export interface RedisOperationsSettings {
  /** The store's name. */
  name: string;
  /** The command layer, once the client is there. */
  use: () => Promise<RedisCommands>;
  /** `commandTimeout`: the one deadline of each call. */
  timeoutMs: number;
  /** The prefix of every key. */
  prefix: string;
  /** The clock deciding expiry. */
  clock: Clock;
  /** Told about session hashes that cannot be read (they read as missing). */
  onError: (error: unknown) => void;
  /** Whether the client can give the feed a subscription (not a node-redis sentinel). */
  hasFeed: boolean;
}

/** The store's methods over the command layer. */
export function redisOperations(settings: RedisOperationsSettings): Store {
  const { name, use, timeoutMs, prefix, clock, onError, hasFeed } = settings;
  const deadline: Deadline = { store: name, timeoutMs, setting: '`commandTimeout`', classify };
  /**
   * Runs `op` within the call's one deadline (`commandTimeout`). When the deadline passes, the
   * commands the driver has not written yet are dropped (node-redis), so a call that ended in
   * STORE_TIMEOUT is not applied later by a driver that held it (see `commands.ts`).
   */
  const guard = <T>(op: string, run: (c: RedisCommands) => Promise<T>): Promise<T> =>
    withDeadline(deadline, op, async (scope) => {
      const c = await use();
      if (c.withSignal === undefined) return run(c);
      const abort = new AbortController();
      scope.onAbandon(() => abort.abort());
      return run(c.withSignal(abort.signal));
    });
  const inline = (c: RedisCommands): boolean => !c.isCluster;
  const channel = feedChannel(prefix);
  let connectFeed: FeedConnect | undefined;
  const feed = feedLoop(async (handlers) => {
    connectFeed ??= redisFeedConnect((await use()).client, { prefix, timeoutMs });
    return connectFeed(handlers);
  }, onError);

  const store: Store = {
    name,
    timeoutMs,
    get: (key) =>
      guard('get', async (c) => {
        const hash = sessionKey(prefix, key);
        const reply = await c.send(['HGETALL', hash], hash);
        let record;
        try {
          record = decodeHash(reply);
        } catch (error) {
          // A hash this store did not write (or a damaged one) reads as no session, never as an outage.
          onError(
            new TesseraError(
              'INVALID_DATA',
              'The redis store found an unreadable session hash and treated it as missing.',
              { cause: error },
            ),
          );
          return undefined;
        }
        return record !== undefined && isLive(record, clock.now()) ? record : undefined;
      }),
    write: (key, delta, expiresAt) =>
      guard('write', async (c): Promise<WriteResult> => {
        const args = writeArgs(delta, clock.now(), expiresAt, inline(c), channel, key);
        const reply = (await c.run(WRITE, [sessionKey(prefix, key)], args)) as unknown[];
        const names = incrKeys(delta);
        const refused = refusedIncr(reply, names);
        if (refused !== undefined) return refused;
        if (reply.length < 4) return { existed: false };
        if (c.isCluster) await followIndex(c, prefix, key, reply);
        const existed = Number(reply[0]) === 1;
        if (names.length === 0) return { existed };
        const counters: Record<string, number> = {};
        names.forEach((name, i) => (counters[name] = parseCounter(reply[4 + i])));
        return { existed, counters };
      }),
    touch: (key, expiresAt) =>
      guard('touch', async (c) => {
        const flags = inline(c) ? 'i' : '';
        const reply = (await c.run(
          TOUCH,
          [sessionKey(prefix, key)],
          [String(clock.now()), String(Math.trunc(expiresAt)), flags, prefix, key],
        )) as unknown[];
        if (c.isCluster && reply.length >= 4) await followIndex(c, prefix, key, reply);
      }),
    destroy: (key) =>
      guard('destroy', async (c) => {
        const reply = (await c.run(
          DESTROY,
          [sessionKey(prefix, key)],
          [inline(c) ? 'i' : '', prefix, key],
        )) as unknown[];
        if (c.isCluster) await followIndex(c, prefix, key, reply);
      }),
    // Not bounded as a call: closing has its own bound on waiting for replies (see commands.ts).
    close: () =>
      unbounded(name, 'close', async () => {
        await feed.close();
        await (await use()).close();
      }),
    rename: (oldKey, newKey) =>
      guard('rename', async (c) => {
        if (c.isCluster) return renameAcrossSlots(c, prefix, () => clock.now(), oldKey, newKey);
        const keys = [sessionKey(prefix, oldKey), sessionKey(prefix, newKey)];
        return (
          Number(await c.run(RENAME, keys, [String(clock.now()), prefix, oldKey, newKey])) === 1
        );
      }),
    byUser: (userId) => guard('byUser', (c) => listUserSessions(c, prefix, clock.now(), userId)),
    destroyByUser: (userId, exceptKey) =>
      guard('destroyByUser', (c) => destroyUserSessions(c, prefix, clock.now(), userId, exceptKey)),
    count: () => guard('count', (c) => countSessions(c, prefix)),
    scan: (cursor, limit = 100) => guard('scan', (c) => scanSessions(c, prefix, cursor, limit)),
    check: () => probeStore(store, `check-${randomUUID()}`, clock.now()),
    // `<prefix>l:{<key>}`, SET NX PX; released by a token-checking script (see lock.ts).
    lock: (key, ttlMs) => guard('lock', (c) => takeLease(c, prefix, key, ttlMs)),
    unlock: (key, token) => guard('unlock', (c) => releaseLease(c, prefix, key, token)),
  };
  // Pub/Sub on `<prefix>feed`, published by every script that writes or destroys (see feed.ts).
  if (hasFeed) store.watch = (onChange) => feed.watch(onChange);
  return store;
}
