/**
 * A store wrapper that records every call made to a real store, so tests can assert what the
 * manager did and did not ask of it; and failure modes (reject, hang) for fault tests.
 */
import type { Store } from '../../src/core/store.js';

export interface StoreCall {
  op: string;
  args: unknown[];
}

export type SpyStore = Store & {
  calls: StoreCall[];
  /** Calls of one operation. */
  ops(op: string): StoreCall[];
  reset(): void;
  /** 'ok' passes calls through; 'fail' rejects them; 'hang' never settles. */
  mode: 'ok' | 'fail' | 'hang';
};

/** Every method of the store contract a wrapper passes on (the required and the optional ones). */
export const STORE_METHODS = [
  'get',
  'write',
  'touch',
  'destroy',
  'rename',
  'byUser',
  'destroyByUser',
  'count',
  'scan',
  'gc',
  'check',
  'lock',
  'unlock',
  'watch',
] as const;

export function spyStore(inner: Store): SpyStore {
  const spy = {
    name: inner.name,
    ...(inner.hasKeyExpiry === undefined ? {} : { hasKeyExpiry: inner.hasKeyExpiry }),
    calls: [] as StoreCall[],
    mode: 'ok' as SpyStore['mode'],
    ops(op: string) {
      return spy.calls.filter((c) => c.op === op);
    },
    reset() {
      spy.calls.length = 0;
    },
    close: () => inner.close(),
  } as unknown as SpyStore;
  for (const method of STORE_METHODS) {
    const fn = inner[method] as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (!fn) continue;
    (spy as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      spy.calls.push({ op: method, args: structuredClone(args) });
      if (spy.mode === 'fail') return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'));
      if (spy.mode === 'hang') return new Promise(() => {});
      return fn.apply(inner, args);
    };
  }
  return spy;
}
