/**
 * @module The tiered store's option checks and its default reporter of background failures.
 */
import { TesseraError } from '../../core/errors.js';
import { isSealedStore, type Store } from '../../core/store.js';
import type { TierFailure } from './tiers.js';
import type { BackupMode } from './types.js';

/** The modes of `backup`. */
export const MODES: readonly BackupMode[] = ['sync', 'async', 'off'];
/** The bound a tier puts on each call (0 for a local store), if any. */
export const boundOf = (s: Store): number | undefined => (s.isLocal === true ? 0 : s.timeoutMs);

/** The tier, or `CONFIG` when it is not a store that can be a tier. */
export function checkTier(store: unknown, name: 'cache' | 'durable'): Store {
  const s = store as Partial<Store> | undefined;
  if (typeof s?.get !== 'function' || typeof s.write !== 'function')
    throw new TesseraError('CONFIG', `tieredStore: \`${name}\` must be a tessera store.`);
  if (isSealedStore(s as Store))
    throw new TesseraError(
      'CONFIG',
      `tieredStore: the cookie store keeps sessions in cookies and cannot be the \`${name}\` tier.`,
    );
  return s as Store;
}

/** A whole-number option of at least 1. */
export function whole(name: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1)
    throw new TesseraError(
      'CONFIG',
      `tieredStore: \`${name}\` must be a whole number of at least 1; got ${String(value)}.`,
    );
  return n;
}

/** One `console.warn` line per tier and `ms`. */
export function warnEvery(ms: number): (error: TesseraError, failure: TierFailure) => void {
  const last = new Map<string, number>();
  return (error, failure) => {
    const now = Date.now();
    if (now - (last.get(failure.tier) ?? -Infinity) < ms) return;
    last.set(failure.tier, now);
    console.warn(
      `[tessera] tiered store: the ${failure.tier} tier failed during ${failure.op}: ${error.message} (the other tier serves meanwhile)`,
    );
  };
}
