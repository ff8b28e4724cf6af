/**
 * @module The memory store's leases (`lock`/`unlock`): one holder per key at a time, each lease
 * ending by itself at its deadline.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../core/store.js';

/** The lease table of one memory store. */
export interface Leases {
  /** A new token when `key` is free (or its lease ran out), else `undefined`. */
  lock(key: string, ttlMs: number): string | undefined;
  /** Releases `key` when `token` still holds it. */
  unlock(key: string, token: string): boolean;
  /** Drops leases that ran out (the store's GC calls it, so the table stays bounded). */
  sweep(): void;
  clear(): void;
}

/** Creates the lease table. */
export function createLeases(clock: Clock): Leases {
  const held = new Map<string, { token: string; expiresAt: number }>();
  return {
    lock(key, ttlMs) {
      const now = clock.now();
      const lease = held.get(key);
      if (lease !== undefined && lease.expiresAt > now) return undefined;
      const token = randomUUID();
      held.set(key, { token, expiresAt: now + ttlMs });
      return token;
    },
    unlock(key, token) {
      const lease = held.get(key);
      if (lease === undefined || lease.token !== token || lease.expiresAt <= clock.now())
        return false;
      held.delete(key);
      return true;
    },
    sweep() {
      const now = clock.now();
      for (const [key, lease] of held) if (lease.expiresAt <= now) held.delete(key);
    },
    clear() {
      held.clear();
    },
  };
}
