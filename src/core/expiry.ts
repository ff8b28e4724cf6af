/**
 * @module Expiry rules: when a session ends (idle and absolute deadlines), when a key of it ends
 * (per-key deadlines), and when a request that only reads must move the idle deadline (touch).
 * Every rule about time lives here; the manager and the stores call these and decide nothing else.
 */
import type { StoreRecord } from './store.js';

/** Whether a record is still live at `now`: before its idle deadline and before its absolute one. */
export function isLive(record: StoreRecord, now: number): boolean {
  return (
    record.expiresAt > now &&
    (record.absoluteExpiresAt === undefined || record.absoluteExpiresAt > now)
  );
}

/** Caps an idle deadline at the absolute one. Stores use it in `write` and `touch`. */
export function capExpiry(expiresAt: number, absoluteExpiresAt: number | undefined): number {
  return absoluteExpiresAt !== undefined && absoluteExpiresAt < expiresAt
    ? absoluteExpiresAt
    : expiresAt;
}

/** The session timing a manager was configured with, resolved at start-up. */
export interface ExpiryPolicy {
  /** A session unused for this long ends (ms). */
  readonly idleTimeout: number;
  /** A session ends this long after it was created (ms), or never. */
  readonly absoluteTimeout: number | undefined;
  /**
   * A read-only request touches when the idle deadline is at most this far away:
   * `idleTimeout - touchAfter`, so a deadline moves at most once per `touchAfter`.
   */
  readonly touchWithin: number;
}

/**
 * The idle deadline of a session used at `now`: `now + idleTimeout` (or the session's own
 * `lifetime`), capped at the absolute one.
 */
export function idleDeadline(
  policy: ExpiryPolicy,
  now: number,
  absoluteExpiresAt: number | undefined,
  lifetime: number = policy.idleTimeout,
): number {
  return capExpiry(now + lifetime, absoluteExpiresAt);
}

/** The absolute deadline of a session created at `now`, or `undefined` when there is none. */
export function absoluteDeadline(policy: ExpiryPolicy, now: number): number | undefined {
  return policy.absoluteTimeout === undefined ? undefined : now + policy.absoluteTimeout;
}

/**
 * Whether a read at `now` of a session with idle deadline `expiresAt` must move the deadline. A
 * session with its own `lifetime` moves it as often (`touchAfter`), or at half its lifetime when
 * that is shorter.
 */
export function isTouchDue(
  policy: ExpiryPolicy,
  expiresAt: number,
  now: number,
  lifetime?: number,
): boolean {
  if (lifetime === undefined) return expiresAt - now <= policy.touchWithin;
  const touchAfter = policy.idleTimeout - policy.touchWithin;
  return expiresAt - now <= Math.max(lifetime - touchAfter, lifetime / 2);
}

/**
 * The record with the keys whose own deadline passed taken out (per-key expiry, see
 * `Delta.expire`). Returns the same object when no key has expired, so the common case allocates
 * nothing.
 */
export function dropExpiredKeys(record: StoreRecord, now: number): StoreRecord {
  const deadlines = record.keyExpiresAt;
  if (deadlines === undefined) return record;
  let expired: string[] | undefined;
  for (const key in deadlines) if (deadlines[key]! <= now) (expired ??= []).push(key);
  if (expired === undefined) return record;
  const data = { ...record.data };
  const kept = { ...deadlines };
  for (const key of expired) {
    delete data[key];
    delete kept[key];
  }
  const out: StoreRecord = { ...record, data };
  if (Object.keys(kept).length === 0) delete out.keyExpiresAt;
  else out.keyExpiresAt = kept;
  return out;
}
