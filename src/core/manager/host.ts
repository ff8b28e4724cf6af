/**
 * @module The manager's half of the session operations a handler calls (the `SessionHost`): the
 * first read, and what must reach the store at once (increment, regenerate, destroy, login).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isTesseraError, TesseraError } from '../errors.js';
import { notANumber, type SessionHost } from '../session/session.js';
import type { SessionState } from '../session/session.js';
import type { LoginMeta } from '../session/types.js';
import type { StoreRecord } from '../store.js';
import { settle, writeSession } from './commit.js';
import type { ManagerContext } from './context.js';
import type { Renewal } from './renew.js';

/** Builds the host of one manager's sessions. */
/** How long to sleep before the next try for a held lock: 5 ms doubling to 100 ms, jittered. */
const backoff = (attempt: number): number =>
  Math.min(100, 5 * 2 ** attempt) * (0.5 + Math.random() / 2);

export function createHost(
  ctx: ManagerContext,
  load: (s: SessionState) => StoreRecord | undefined | Promise<StoreRecord | undefined>,
  renewal: Renewal,
): SessionHost {
  const { o, call } = ctx;
  async function save(s: SessionState): Promise<void> {
    const delta = await settle(s);
    if (delta === undefined) return;
    const result = await writeSession(ctx, s, delta, o.clock.now());
    s.applied(delta, result.counters);
  }
  const host: SessionHost = {
    codec: o.codec,
    load,
    now: () => o.clock.now(),
    save,
    async withLock(s, fn, ttl, wait) {
      const target = ctx.storeOf(s);
      if (!target.lock || !target.unlock)
        throw new TesseraError(
          'UNSUPPORTED',
          `The ${ctx.store.name} store has no locks: \`session.lock\` and \`session.update\` need Redis, PostgreSQL, MySQL/MariaDB, SQLite, the file or the memory store.`,
        );
      // What the request changed so far is saved first: the lease guards the record, not memory.
      await save(s);
      // A session never stored has no id another request could share: nothing to guard.
      if (s.isMissing) return fn();
      const key = s.key!;
      const giveUp = performance.now() + wait;
      let token: string | undefined;
      for (let attempt = 0; ; attempt++) {
        token = await call('lock', () => target.lock!(key, ttl));
        if (token !== undefined) break;
        const pause = backoff(attempt);
        if (performance.now() + pause > giveUp)
          throw new TesseraError(
            'LOCK_TIMEOUT',
            `Another request held this session's lock for more than ${wait} ms; try again, and keep locked sections short.`,
          );
        await sleep(pause);
      }
      const leased = performance.now();
      try {
        await s.reload();
        const result = await fn();
        // A lease that ran out may have let another holder in: its changes must not be overwritten.
        if (performance.now() - leased >= ttl)
          throw new TesseraError(
            'LOCK_TIMEOUT',
            `The locked section took longer than its lease (${ttl} ms): its changes were not saved. Keep slow I/O out of \`lock\`, or pass a longer \`ttl\`.`,
          );
        await save(s);
        return result;
      } finally {
        const held = token;
        await call('unlock', () => target.unlock!(key, held)).catch((error: unknown) =>
          ctx.report(error, 'unlock'),
        );
      }
    },
    async increment(s, key, by) {
      // Flash appends need the stored record first; anything else settles at once.
      const settled = settle(s);
      const delta = (settled instanceof Promise ? await settled : settled) ?? {};
      delta.incr = { [key]: by };
      const result = await writeSession(ctx, s, delta, o.clock.now());
      // The store refused the whole delta: the key holds something other than a number.
      if (result.nonNumeric !== undefined) throw notANumber(key);
      s.applied(delta, result.counters);
      const value = result.counters?.[key];
      if (value === undefined)
        throw new TesseraError(
          'STORE_UNAVAILABLE',
          `The ${ctx.store.name} store did not report the new value of an increment.`,
        );
      return value;
    },
    regenerate: renewal.renew,
    async destroy(s) {
      if (!s.isMissing && s.id !== undefined) {
        const key = s.key!;
        const target = ctx.storeOf(s);
        await call('destroy', () => target.destroy(key));
        ctx.event('destroyed');
      }
      s.ended();
    },
    login: renewal.login,
  };
  const onError = o.observers.onError;
  if (onError === undefined) return host;
  // With an error observer, a failed operation of a handler reaches it too (and still the caller).
  const tell =
    (during: string) =>
    (error: unknown): never => {
      if (isTesseraError(error)) onError({ error, during });
      throw error;
    };
  const observed =
    <A extends unknown[], R>(during: string, run: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      run(...args).catch(tell(during));
  const loadFailed = tell('load');
  return {
    ...host,
    load: (s: SessionState) => {
      const loaded = host.load(s);
      return loaded instanceof Promise ? loaded.catch(loadFailed) : loaded;
    },
    save: observed('save', (s: SessionState) => host.save(s)),
    increment: observed('increment', (s: SessionState, key: string, by: number) =>
      host.increment(s, key, by),
    ),
    regenerate: observed('regenerate', (s: SessionState) => host.regenerate(s)),
    destroy: observed('destroy', (s: SessionState) => host.destroy(s)),
    login: observed('login', (s: SessionState, userId: string, meta: LoginMeta | undefined) =>
      host.login(s, userId, meta),
    ),
  };
}
