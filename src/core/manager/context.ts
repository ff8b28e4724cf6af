/**
 * @module What the parts of a manager share: its options, its store and the one way of calling it.
 * Built once by `createSessionManager`; every part takes it instead of closing over its own copies.
 */
import { isTesseraError, TesseraError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { SessionEventType } from '../observer.js';
import type { SessionState } from '../session/session.js';
import { createStoreCall, type StoreCall } from '../store-call.js';
import type { Store } from '../store.js';
import type { ResponseHeaders } from '../transport/index.js';

/** A manager's internals, shared by its parts. */
export interface ManagerContext {
  readonly o: ResolvedOptions;
  readonly store: Store;
  /** Every store call goes through here (deadline, error mapping, observers). */
  readonly call: StoreCall;
  /** Where a session's store calls go: its own sealed record (cookie store), or the store. */
  storeOf(s: SessionState): Store;
  /** Reports an error that happened off the caller's path (background clean-up, GC, schema). */
  report(error: unknown, during: string): void;
  /** Reports a session lifecycle event to the observers (no-op without `onSession`). */
  event(type: SessionEventType, count?: number): void;
  /** `Vary` for every transport the manager reads an id from: the answer depends on them. */
  readonly vary: ResponseHeaders;
  /**
   * The headers of an answer that read the session but sets no cookie: it depends on who asked, so
   * no shared cache may keep it (`private, no-store`, which adapters set only when the handler set
   * no `Cache-Control` of its own) and caches must key it by the session's transports (`Vary`).
   * Built once and shared by every such answer.
   */
  readonly readHeaders: ResponseHeaders;
}

/** The `Vary` headers of the transports switched on. */
function varyOf(o: ResolvedOptions): ResponseHeaders {
  const names = [
    ...(o.transports.cookie ? ['Cookie'] : []),
    ...(o.transports.header === undefined ? [] : [o.transports.header]),
  ];
  return Object.freeze(names.map((name) => Object.freeze(['vary', name] as const)));
}

/** Builds the context of one manager. */
export function createContext(o: ResolvedOptions, store: Store): ManagerContext {
  const { observers } = o;
  const vary = varyOf(o);
  const onSession = observers.onSession;
  const onError = observers.onError;
  return {
    o,
    store,
    call: createStoreCall(store, {
      timeoutMs: o.storeTimeout,
      isTimeoutExplicit: o.isStoreTimeoutExplicit,
      observers,
    }),
    storeOf: (s) => s.backend ?? store,
    report(error, during) {
      if (onError)
        onError({
          error: isTesseraError(error)
            ? error
            : new TesseraError('STORE_UNAVAILABLE', `${during} failed.`, { cause: error }),
          during,
        });
      try {
        o.onError(error);
      } catch {
        // An onError that throws must not break background work.
      }
    },
    event:
      onSession === undefined ? () => undefined : (type, count = 1) => onSession({ type, count }),
    vary,
    readHeaders: Object.freeze([
      Object.freeze(['cache-control', 'private, no-store'] as const),
      ...vary,
    ]),
  };
}
