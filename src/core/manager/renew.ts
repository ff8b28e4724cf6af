/**
 * @module Id renewal inside a request (regenerate), login (renewal plus the user binding and the
 * per-user cap), and renewal of a session by id from outside a request.
 */
import { TesseraError } from '../errors.js';
import { storeKey } from '../id.js';
import type { LoginMeta } from '../session/types.js';
import type { SessionState } from '../session/session.js';
import type { Delta, SessionMeta } from '../store.js';
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

/** Builds renewal and login for one manager. */
export function createRenewal(ctx: ManagerContext): Renewal {
  const { o, call, store } = ctx;

  async function renew(s: SessionState): Promise<void> {
    if (s.isMissing) return;
    const oldKey = s.key!;
    const newId = o.ids.generate();
    const newKey = storeKey(newId);
    const target = ctx.storeOf(s);
    let moved: boolean;
    if (target.rename) {
      moved = await call('rename', () => target.rename!(oldKey, newKey));
    } else {
      await s.ensureLoaded();
      const r = s.record;
      moved = r !== undefined;
      if (r) {
        const copy: Delta = { create: true, createdAt: r.createdAt, set: r.data };
        if (r.absoluteExpiresAt !== undefined) copy.absoluteExpiresAt = r.absoluteExpiresAt;
        if (r.userId !== undefined) copy.userId = r.userId;
        if (r.meta !== undefined) copy.meta = r.meta;
        await call('write', () => target.write(newKey, copy, r.expiresAt));
        await call('destroy', () => target.destroy(oldKey));
      }
    }
    if (!moved) return void s.forget();
    s.renamed(newId, newKey);
    ctx.event('renewed');
  }

  /**
   * Applies `maxSessionsPerUser` after a login wrote session `key`. `'refuse'`: refuse when `max`
   * others are live (every login checks after writing its own session, so concurrent logins can
   * only refuse too many, never admit too many). `'evict-oldest'`: every login orders the same list
   * the same way and trims it after writing its own session, so concurrent logins converge on
   * exactly the newest `max`.
   */
  async function enforceLimit(s: SessionState, userId: string, key: string): Promise<void> {
    const max = o.maxSessionsPerUser;
    if (max === undefined) return;
    const list = await liveSessionsOf(ctx, userId);
    if (list.length <= max) return;
    if (o.sessionLimitPolicy === 'refuse') {
      if (list.filter((x) => x.key !== key).length < max) return;
      await call('destroy', () => store.destroy(key));
      s.ended();
      throw new TesseraError(
        'TOO_MANY_SESSIONS',
        `This user already has ${max} sessions; log out on another device first.`,
        { status: 409 },
      );
    }
    list.sort(loginOrder);
    const evicted = list.slice(0, list.length - max);
    for (const x of evicted) await call('destroy', () => store.destroy(x.key));
    if (evicted.length > 0) ctx.event('revoked', evicted.length);
    if (!list.slice(list.length - max).some((x) => x.key === key)) s.ended();
  }

  return {
    renew,
    async login(s, userId, meta) {
      await renew(s);
      const delta = (await settle(s)) ?? {};
      const now = o.clock.now();
      const device: SessionMeta = { ...deviceOf(s), loggedInAt: now, ...meta };
      delta.userId = userId;
      delta.meta = device;
      await writeSession(ctx, s, delta, now);
      s.applied(delta);
      s.bound(userId, device);
      await enforceLimit(s, userId, s.key!);
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
