/**
 * @module The manager's half of the session operations a handler calls (the `SessionHost`): the
 * first read, and what must reach the store at once (increment, regenerate, destroy, login).
 */
import { TesseraError } from '../errors.js';
import { notANumber, type SessionHost } from '../session/session.js';
import type { SessionState } from '../session/session.js';
import type { StoreRecord } from '../store.js';
import { settle, writeSession } from './commit.js';
import type { ManagerContext } from './context.js';
import type { Renewal } from './renew.js';

/** Builds the host of one manager's sessions. */
export function createHost(
  ctx: ManagerContext,
  load: (s: SessionState) => Promise<StoreRecord | undefined>,
  renewal: Renewal,
): SessionHost {
  const { o, call } = ctx;
  return {
    codec: o.codec,
    load,
    now: () => o.clock.now(),
    async save(s) {
      const delta = await settle(s);
      if (delta === undefined) return;
      const result = await writeSession(ctx, s, delta, o.clock.now());
      s.applied(delta, result.counters);
    },
    async increment(s, key, by) {
      const delta = (await settle(s)) ?? {};
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
}
