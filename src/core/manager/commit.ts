/**
 * @module The commit: one pure decision ({@link planCommit}, in the spirit of scs's `Status` and its
 * one switch) of what a request's session needs — nothing, a touch, a write or a new record, and
 * what the cookie needs — then the store calls and headers that carry it out.
 */
import { absoluteDeadline, idleDeadline, isTouchDue, type ExpiryPolicy } from '../expiry.js';
import type { TesseraError } from '../errors.js';
import type { CommitKind } from '../observer.js';
import type { SessionState } from '../session/session.js';
import type { Delta, WriteResult } from '../store.js';
import type { ResponseHeaders } from '../transport/index.js';
import type { ManagerContext } from './context.js';
import { cookieHeaders, NO_HEADERS } from './headers.js';
import { checkWrite } from './schema.js';

export type { ResponseHeaders } from '../transport/index.js';

/**
 * What the cookie needs after a commit: `keep` (send nothing), `set` (send the id), `clear` (end
 * a dead cookie). A sealed session's cookies come from its record instead (`sealed`).
 */
export type CookieStep = 'keep' | 'set' | 'clear' | 'sealed';

/** The decision of a commit. Plans are shared constants: planning allocates nothing. */
export interface CommitPlan {
  /** What to do with the store: `write` may turn into `create` when the record vanished. */
  readonly store: CommitKind;
  /** What the cookie needs (a vanished record that is re-created always sets it). */
  readonly cookie: CookieStep;
  /** Renew an id that arrived in the query string before anything else, so the URL stops working. */
  readonly renewFirst: boolean;
}

/** What {@link planCommit} reads from a session: facts only, no methods. */
export type CommitFacts = Pick<
  SessionState,
  | 'isIdChanged'
  | 'isDestroyed'
  | 'isMissing'
  | 'isLoaded'
  | 'record'
  | 'source'
  | 'hadCookie'
  | 'backend'
  | 'id'
  | 'lifetime'
  | 'isTouchRequested'
>;

/** The manager's settings a plan depends on. */
export interface CommitPolicy {
  readonly expiry: ExpiryPolicy;
  readonly saveNew: boolean;
  /** A persistent cookie (`maxAge`) is sent again whenever the deadline moves. */
  readonly isPersistentCookie: boolean;
}

const PLANS = new Map<string, CommitPlan>();
function plan(store: CommitKind, cookie: CookieStep, renewFirst = false): CommitPlan {
  const name = `${store}/${cookie}/${renewFirst}`;
  let found = PLANS.get(name);
  if (found === undefined) PLANS.set(name, (found = Object.freeze({ store, cookie, renewFirst })));
  return found;
}
/** Nothing to store and nothing to send. */
export const NOTHING: CommitPlan = plan('none', 'keep');

/**
 * Decides what a commit of an open session does. Pure: the same facts, `hasDelta`, time and policy
 * give the same plan.
 * `hasDelta` says whether the request changed data; before the delta is built, passing
 * `hasChanges` gives a plan that may do more than needed but never less (adapters ask that way
 * whether a commit is needed at all).
 */
export function planCommit(
  s: CommitFacts,
  hasDelta: boolean,
  now: number,
  policy: CommitPolicy,
): CommitPlan {
  const record = s.record;
  // A query-borne id is renewed as soon as the session is used, so the URL that carried it dies.
  const renewFirst = s.source === 'query' && !s.isIdChanged && (hasDelta || s.isLoaded);
  let store: CommitKind;
  if (hasDelta || (policy.saveNew && s.isMissing && !s.isDestroyed))
    store = s.isMissing ? 'create' : 'write';
  else if (
    s.isLoaded &&
    record !== undefined &&
    (s.isTouchRequested || isTouchDue(policy.expiry, record.expiresAt, now, s.lifetime))
  )
    store = 'touch';
  else store = 'none';
  let cookie: CookieStep;
  if (store === 'create' || s.isIdChanged || renewFirst) cookie = 'set';
  else if (store !== 'none' && (policy.isPersistentCookie || s.lifetime !== undefined))
    cookie = 'set';
  // A dead cookie (destroyed here, or naming no live session) is cleared once it is known dead.
  else if (s.id === undefined && s.hadCookie && (s.isDestroyed || s.isLoaded)) cookie = 'clear';
  else cookie = 'keep';
  if (s.backend !== undefined) {
    // A sealed session's cookies carry its record: they change whenever the record did, even by
    // an immediate write (increment) the plan cannot see.
    if (store === 'none' && cookie === 'keep' && !s.backend.isChanged) return NOTHING;
    return plan(store, 'sealed', renewFirst);
  }
  return store === 'none' && cookie === 'keep' ? NOTHING : plan(store, cookie, renewFirst);
}

/** The delta of a request, flash appends merged with what is stored (loading it if needed). */
export function settle(s: SessionState): Delta | undefined | Promise<Delta | undefined> {
  if (!s.hasPendingFlash) return s.buildDelta();
  return s.ensureLoaded().then(() => {
    s.settleFlash();
    return s.buildDelta();
  });
}

/** What {@link writeSession} did. */
export interface Written extends WriteResult {
  /** The record was missing (never stored, or vanished): a new one was created under a new id. */
  isCreated: boolean;
}

/**
 * Writes a delta to the session's record; when there is none (a new session, or the record
 * vanished: expired, destroyed, never issued), the delta starts a new record under a fresh id, never
 * the old one.
 */
export async function writeSession(
  ctx: ManagerContext,
  s: SessionState,
  delta: Delta,
  now: number,
): Promise<Written> {
  const { o, call } = ctx;
  // Without a schema or a size bound there is nothing to check: no promise for it either.
  if (o.schema !== undefined || o.maxBytes !== undefined) await checkWrite(ctx, s, delta);
  const target = ctx.storeOf(s);
  if (!s.isMissing) {
    const key = s.key!;
    const expiresAt = idleDeadline(o.expiry, now, s.record?.absoluteExpiresAt, s.lifetime);
    const result = await call('write', () => target.write(key, delta, expiresAt));
    if (result.existed) return { ...result, isCreated: false };
    s.forget();
  }
  const id = o.ids.generate();
  const absoluteExpiresAt = absoluteDeadline(o.expiry, now);
  const create: Delta = { ...delta, create: true, createdAt: now };
  if (absoluteExpiresAt !== undefined) create.absoluteExpiresAt = absoluteExpiresAt;
  const expiresAt = idleDeadline(o.expiry, now, absoluteExpiresAt, s.lifetime);
  s.created(id, {
    data: {},
    createdAt: now,
    expiresAt,
    ...(absoluteExpiresAt === undefined ? {} : { absoluteExpiresAt }),
  });
  const key = s.key!;
  try {
    const result = await call('write', () => target.write(key, create, expiresAt));
    ctx.event('created');
    return { ...result, isCreated: true };
  } catch (error) {
    // Nothing was stored under the new id: the session stays missing.
    s.forget();
    throw error;
  }
}

/** A manager's commit, and the cheap question adapters ask before it. */
export interface Committer {
  /** Whether committing `s` would do anything. */
  needsCommit(s: SessionState): boolean;
  /** Saves what the request changed and returns the headers to send. */
  commit(s: SessionState): Promise<ResponseHeaders>;
}

/** Builds the commit of one manager. `renew` gives a session a new id (see renew.ts). */
export function createCommitter(
  ctx: ManagerContext,
  renew: (s: SessionState) => Promise<void>,
): Committer {
  const { o, call } = ctx;
  const { clock } = o;
  const policy: CommitPolicy = {
    expiry: o.expiry,
    saveNew: o.saveNew,
    isPersistentCookie: o.isPersistentCookie,
  };
  const { onCommit, onError } = o.observers;
  const needsCommit = (s: SessionState): boolean =>
    !s.isCommitted && !s.isReadOnly && planCommit(s, s.hasChanges, clock.now(), policy) !== NOTHING;

  async function run(s: SessionState): Promise<ResponseHeaders> {
    // Closed before the first await: a change made while the commit runs would be lost silently.
    s.close();
    if (planCommit(s, s.hasChanges, clock.now(), policy).renewFirst) await renew(s);
    const delta = await settle(s);
    const now = clock.now();
    const plan = planCommit(s, delta !== undefined, now, policy);
    let kind = plan.store;
    let isIdSent = plan.cookie === 'set';
    if (kind === 'write' || kind === 'create') {
      const written = await writeSession(ctx, s, delta ?? {}, now);
      if (written.isCreated) {
        kind = 'create';
        isIdSent = true;
      }
    } else if (kind === 'touch') {
      const key = s.key!;
      const target = ctx.storeOf(s);
      const expiresAt = idleDeadline(o.expiry, now, s.record?.absoluteExpiresAt, s.lifetime);
      await call('touch', () => target.touch(key, expiresAt));
    }
    const headers = cookieHeaders(ctx, s, plan.cookie === 'sealed', isIdSent);
    s.committedAll();
    if (onCommit) onCommit({ kind, isIdSent, isCookieCleared: plan.cookie === 'clear' });
    return headers;
  }

  return {
    needsCommit,
    commit(s) {
      if (!needsCommit(s)) return Promise.resolve(NO_HEADERS);
      if (onError === undefined) return run(s);
      return run(s).catch((error: TesseraError) => {
        onError({ error, during: 'commit' });
        throw error;
      });
    },
  };
}
