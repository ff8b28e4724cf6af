/**
 * @module Store calls from the command line, bounded as the manager bounds its own: by the
 * store's own deadline when it has one, else by `storeTimeout`.
 */
import { storeFailure } from '../core/errors.js';
import { bounded } from '../core/store-call.js';
import type { Store } from '../core/store.js';

/** Runs one store operation, failing with `STORE_TIMEOUT`/`STORE_UNAVAILABLE`. */
export type StoreCall = <T>(op: string, run: () => Promise<T>) => Promise<T>;

/** The bounded call of `store`. */
export function storeCall(store: Store, storeTimeout: number): StoreCall {
  if (store.timeoutMs !== undefined || store.isLocal === true)
    return async (op, run) => {
      try {
        return await run();
      } catch (error) {
        throw storeFailure(store.name, op, error);
      }
    };
  return (op, run) => bounded(store.name, op, storeTimeout, run);
}
