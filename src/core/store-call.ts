/**
 * @module The one path every store call takes: a deadline (the only timer a call gets), failures
 * turned into `STORE_UNAVAILABLE`/`STORE_TIMEOUT`, and the observers' `onStoreCall` events. Stores
 * that talk to a server bound their own calls with {@link bounded}; the manager calls through
 * {@link createStoreCall}, which adds no second timer to a store that bounds itself.
 */
import { TesseraError, storeFailure } from './errors.js';
import type { Observers, StoreOp } from './observer.js';
import type { Store } from './store.js';

/**
 * Runs a store operation, rejecting with `STORE_TIMEOUT` when it takes longer than `timeoutMs`
 * and turning any other failure into `STORE_UNAVAILABLE` (a {@link TesseraError} passes as it
 * is). The operation itself is not cancelled (drivers offer no general way to); its late result
 * is ignored. `setting` names the option that sets the bound, for the message.
 */
export function bounded<T>(
  storeName: string,
  op: string,
  timeoutMs: number,
  run: () => Promise<T>,
  setting = '`storeTimeout`',
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new TesseraError(
          'STORE_TIMEOUT',
          `The ${storeName} store did not answer ${op} within ${timeoutMs} ms. Check the server's load and network, or raise ${setting}.`,
        ),
      );
    }, timeoutMs);
    let pending: Promise<T>;
    try {
      pending = run();
    } catch (error) {
      clearTimeout(timer);
      reject(storeFailure(storeName, op, error));
      return;
    }
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(storeFailure(storeName, op, error));
      },
    );
  });
}

/**
 * Runs a store operation with no deadline of its own (a local store, or one that bounds its own
 * calls): only wraps its failures. `then`, when given, continues with the result in the same step,
 * so a read costs the store's promise and one `then`.
 */
export function unbounded<T, R = T>(
  storeName: string,
  op: string,
  run: () => Promise<T>,
  then?: (value: T) => R | PromiseLike<R>,
): Promise<R> {
  try {
    // Without `then`, R is T and the value passes through.
    return run().then<R, never>(then, (error: unknown) => {
      throw storeFailure(storeName, op, error);
    });
  } catch (error) {
    return Promise.reject(storeFailure(storeName, op, error));
  }
}

/**
 * Calls the store: `run` makes the call, `then` (optional) continues with its result in the same
 * step. Rejects with a {@link TesseraError} only.
 */
export type StoreCall = <T, R = T>(
  op: StoreOp,
  run: () => Promise<T>,
  then?: (value: T) => R | PromiseLike<R>,
) => Promise<R>;

/** Options of {@link createStoreCall}. */
export interface StoreCallOptions {
  /**
   * The manager's bound on each call. Applied to stores that do not bound their own calls, and to
   * those that do only when it is shorter than theirs.
   */
  timeoutMs: number;
  /** Whether `timeoutMs` was set by the user (rather than the default). */
  isTimeoutExplicit: boolean;
  observers: Observers;
}

/**
 * The manager's way of calling a store, decided once at start-up: which deadline applies (at most
 * one timer per call) and whether anyone observes calls (otherwise no clock is read).
 */
export function createStoreCall(store: Store, options: StoreCallOptions): StoreCall {
  const name = store.name;
  const own = store.timeoutMs;
  const timeoutMs =
    store.isLocal === true
      ? undefined
      : own === undefined
        ? options.timeoutMs
        : options.isTimeoutExplicit && options.timeoutMs < own
          ? options.timeoutMs
          : undefined;
  const plain: StoreCall =
    timeoutMs === undefined
      ? (op, run, then) => unbounded(name, op, run, then)
      : <T, R = T>(
          op: StoreOp,
          run: () => Promise<T>,
          then?: (value: T) => R | PromiseLike<R>,
        ): Promise<R> => {
          const pending = bounded(name, op, timeoutMs, run);
          return then === undefined ? (pending as unknown as Promise<R>) : pending.then(then);
        };
  const onStoreCall = options.observers.onStoreCall;
  if (onStoreCall === undefined) return plain;
  return <T, R = T>(
    op: StoreOp,
    run: () => Promise<T>,
    then?: (value: T) => R | PromiseLike<R>,
  ): Promise<R> => {
    const end = onStoreCall({ store: name, op });
    if (typeof end !== 'function') return plain(op, run, then);
    const started = performance.now();
    return plain(op, run).then(
      (value) => {
        end({ outcome: 'ok', durationMs: performance.now() - started, error: undefined });
        return then === undefined ? (value as unknown as R) : then(value);
      },
      (error: TesseraError) => {
        const outcome = error.code === 'STORE_TIMEOUT' ? 'timeout' : 'error';
        end({ outcome, durationMs: performance.now() - started, error });
        throw error;
      },
    );
  };
}
