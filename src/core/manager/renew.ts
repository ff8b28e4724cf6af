/**
 * @module Id renewal inside a request (regenerate), login (renewal, the user binding and the
 * per-user cap), and renewal of a session by id from outside a request.
 *
 * Every step is ordered so that a failure at any point leaves the client a working session (the
 * old one, or the new one, never neither) and no session bound to a user that no client holds:
 * - the cap's refusal is decided before anything changes;
 * - the id moves in one atomic store call (`rename`), before the session is bound to the user, so
 *   a session is never bound under an id an attacker may have planted (fixation);
 * - from the moment the new id exists in the store the session state holds it, and a failure
 *   after that still tells the client (`discard` returns the cookie, adapters send it);
 * - a rename whose answer was lost (a timeout) is checked by reading the new key;
 * - evicting a user's oldest sessions is best effort after the login: its failure is reported,
 *   never a failed login.
 */
import { isTesseraError, TesseraError } from '../errors.js';
import { sessionKey, storeKey } from '../id.js';
import type { LoginMeta } from '../session/types.js';
import type { SessionState } from '../session/session.js';
import type { Delta, SessionMeta, Store, UserSession } from '../store.js';
import { liveSessionsOf, loginOrder } from './admin.js';
import { settle, writeSession } from './commit.js';
import type { ManagerContext } from './context.js';

/** Renewal and login for one manager. */
export interface Renewal {
  /** A new id with the same data; the old id stops working. A missing record leaves it missing. */
  readonly renew: (s: SessionState) => Promise<void>;
  /** Renew, bind to `userId` with device information, then apply the per-user cap. */
  readonly login: (s: SessionState, userId: string, meta: LoginMeta | undefined) => Promise<void>;
  /** Renew the session with id `id` from outside a request: its new id, or `undefined` when gone. */
  readonly renewById: (id: string) => Promise<string | undefined>;
}

const tooMany = (max: number): TesseraError =>
  new TesseraError(
    'TOO_MANY_SESSIONS',
    `This user already has ${max} sessions; log out on another device first.`,
    { status: 409 },
  );

/** Builds renewal and login for one manager. */
export function createRenewal(ctx: ManagerContext): Renewal {
  const { o, call, store } = ctx;

  /**
   * Moves the record from `oldKey` to `newKey`: `true` when moved, `false` when there was none.
   * Without `rename`, a copy then a delete, undone when the delete fails.
   */
  async function move(
    s: SessionState,
    target: Store,
    oldKey: string,
    newKey: string,
  ): Promise<boolean | 'moved, then failed'> {
    if (target.rename) {
      try {
        return await call('rename', () => target.rename!(oldKey, newKey));
      } catch (error) {
        // A timed-out rename may still have happened; then only the new id works.
        if (isTesseraError(error) && error.code === 'STORE_TIMEOUT') {
          const there = await call('get', () => target.get(newKey)).catch(() => undefined);
          if (there !== undefined) return 'moved, then failed' as const;
        }
        throw error;
      }
    }
    await s.ensureLoaded();
    const r = s.record;
    if (r === undefined) return false;
    const copy: Delta = { create: true, createdAt: r.createdAt, set: r.data };
    if (r.absoluteExpiresAt !== undefined) copy.absoluteExpiresAt = r.absoluteExpiresAt;
    if (r.userId !== undefined) copy.userId = r.userId;
    if (r.meta !== undefined) copy.meta = r.meta;
    const undo = (): Promise<void> =>
      call('destroy', () => target.destroy(newKey)).catch((e) => ctx.report(e, 'destroy'));
    try {
      await call('write', () => target.write(newKey, copy, r.expiresAt));
      await call('destroy', () => target.destroy(oldKey));
    } catch (error) {
      // The old record is still there (or its fate unknown): the copy must not outlive it.
      await undo();
      throw error;
    }
    return true;
  }

  async function renew(s: SessionState): Promise<void> {
    if (s.isMissing) return;
    const oldKey = s.key!;
    const newId = o.ids.generate();
    const newKey = sessionKey(newId);
    const moved = await move(s, ctx.storeOf(s), oldKey, newKey);
    if (moved === false) return void s.forget();
    s.renamed(newId, newKey);
    ctx.event('renewed');
    if (moved !== true)
      throw new TesseraError(
        'STORE_TIMEOUT',
        `The ${ctx.store.name} store answered the renewal of a session late; the session has its new id.`,
      );
  }

  /** The user's live sessions other than `key`, for the cap. */
  const othersOf = async (userId: string, key: string | undefined): Promise<UserSession[]> =>
    (await liveSessionsOf(ctx, userId)).filter((x) => x.key !== key);

  /** `'refuse'`: refuse the login before anything changes when the user is at the cap. */
  async function refuseIfFull(s: SessionState, userId: string): Promise<void> {
    const max = o.maxSessionsPerUser;
    if (max === undefined || o.sessionLimitPolicy !== 'refuse') return;
    if ((await othersOf(userId, s.isMissing ? undefined : s.key)).length >= max) throw tooMany(max);
  }

  /**
   * After the login wrote session `key`. `'refuse'`: concurrent logins that all passed the first
   * check each look again, and those that see `max` others give their binding back (so they can
   * refuse too many, never admit too many); the session keeps its data, unbound. `'evict-oldest'`:
   * every login orders the same list the same way and trims it, so concurrent logins converge on
   * exactly the newest `max`. A failure here is reported, not thrown: the login itself happened.
   */
  async function applyCap(s: SessionState, userId: string, key: string): Promise<void> {
    const max = o.maxSessionsPerUser;
    if (max === undefined) return;
    let list: UserSession[];
    try {
      list = await liveSessionsOf(ctx, userId);
    } catch (error) {
      return ctx.report(error, 'maxSessionsPerUser');
    }
    if (list.length <= max) return;
    if (o.sessionLimitPolicy === 'refuse') {
      if (list.filter((x) => x.key !== key).length < max) return;
      const unbind: Delta = { userId: null };
      await writeSession(ctx, s, unbind, o.clock.now()).then(
        () => s.unbound(),
        (error: unknown) => ctx.report(error, 'maxSessionsPerUser'),
      );
      throw tooMany(max);
    }
    list.sort(loginOrder);
    const evicted = list.slice(0, list.length - max);
    let ended = 0;
    for (const x of evicted) {
      try {
        await call('destroy', () => store.destroy(x.key));
        ended++;
      } catch (error) {
        ctx.report(error, 'maxSessionsPerUser');
      }
    }
    if (ended > 0) ctx.event('revoked', ended);
    if (evicted.some((x) => x.key === key) && ended === evicted.length) s.ended();
  }

  return {
    renew,
    async login(s, userId, meta) {
      await refuseIfFull(s, userId);
      await renew(s);
      const delta = (await settle(s)) ?? {};
      const now = o.clock.now();
      const device: SessionMeta = { ...deviceOf(s), loggedInAt: now, ...meta };
      delta.userId = userId;
      delta.meta = device;
      await writeSession(ctx, s, delta, now);
      s.applied(delta);
      s.bound(userId, device);
      await applyCap(s, userId, s.key!);
    },
    async renewById(id) {
      if (typeof id !== 'string' || !o.ids.isValid(id))
        throw new TesseraError('BAD_ID', 'That is not a session id this manager issues.');
      const newId = o.ids.generate();
      if (!store.rename)
        throw new TesseraError(
          'UNSUPPORTED',
          `The ${store.name} store cannot rename records; regenerate inside a request instead.`,
        );
      const moved = await call('rename', () => store.rename!(storeKey(id), storeKey(newId)));
      if (moved) ctx.event('renewed');
      return moved ? newId : undefined;
    },
  };
}

/** The device information recorded at login: the user agent (capped) and the client address. */
function deviceOf(s: SessionState): { userAgent?: string; ip?: string } {
  const userAgent = s.request.header('user-agent');
  const ip = s.request.ip;
  return {
    ...(userAgent === undefined ? {} : { userAgent: userAgent.slice(0, 512) }),
    ...(ip === undefined ? {} : { ip }),
  };
}
