/**
 * Fault injection for "nothing lost on any failed step": a store wrapper that fails its n-th call
 * in one of three ways, and a browser that answers failures the way every adapter does (the error
 * answer carries what `discard` says must still reach the client).
 */
import type { ResponseHeaders, SessionData, SessionManager, Store } from '../../src/index.js';
import { request, setCookieValue } from './requests.js';
import { STORE_METHODS } from './spy-store.js';

/**
 * How the armed call fails: `error` (refused before reaching the store), `hang` (never reaches
 * the store, never answers: the caller's deadline ends it), `late` (reaches the store and takes
 * effect, but its answer is lost: the caller's deadline ends it, outcome unknown to the caller).
 */
export type Fault = 'error' | 'hang' | 'late';
export const FAULTS: readonly Fault[] = ['error', 'hang', 'late'];

/** A store that fails one chosen call. */
export interface FaultyStore extends Store {
  /** Calls made so far (of the methods above). */
  readonly calls: number;
  /** The operations called so far, in order. */
  readonly ops: readonly string[];
  /** Fail the `n`-th call from now (1 = the next one) with `fault`. */
  arm(n: number, fault: Fault): void;
  /** Stop failing; answers held back by `hang`/`late` are dropped. */
  disarm(): void;
}

/**
 * Wraps a store. The wrapper declares no deadline of its own and is not local, so the manager
 * bounds every call with its `storeTimeout`, as it would a store on a server.
 */
export function faultyStore(inner: Store): FaultyStore {
  let count = 0;
  let armedAt: number | undefined;
  let fault: Fault = 'error';
  const ops: string[] = [];
  const wrapper: Record<string, unknown> = {
    name: inner.name,
    close: () => inner.close(),
    get calls() {
      return count;
    },
    get ops() {
      return ops;
    },
    arm(n: number, how: Fault) {
      armedAt = count + n;
      fault = how;
    },
    disarm() {
      armedAt = undefined;
    },
  };
  if (inner.hasKeyExpiry) wrapper['hasKeyExpiry'] = true;
  for (const method of STORE_METHODS) {
    const fn = inner[method] as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (fn === undefined) continue;
    wrapper[method] = (...args: unknown[]): Promise<unknown> => {
      count++;
      ops.push(method);
      if (count !== armedAt) return fn.apply(inner, args);
      if (fault === 'error')
        return Promise.reject(new Error(`injected failure of ${method} (call ${count})`));
      if (fault === 'late') void fn.apply(inner, args).catch(() => undefined);
      // Never answers: the manager's deadline ends the call.
      return new Promise(() => undefined);
    };
  }
  return wrapper as unknown as FaultyStore;
}

/** What one request of a {@link resilientBrowser} ended with. */
export interface Outcome<T> {
  result: T | undefined;
  error: unknown;
  headers: ResponseHeaders;
}

/**
 * A browser whose requests end the way an adapter ends them: the handler's result and the commit's
 * headers; or, when the handler or the commit fails, the error answer with the headers `discard`
 * returns. It keeps whatever cookie the answer set.
 */
export function resilientBrowser<Data extends SessionData>(manager: SessionManager<Data>) {
  let cookie: string | undefined;
  return {
    get cookie() {
      return cookie;
    },
    async visit<T>(
      handler: (session: ReturnType<SessionManager<Data>['load']>) => Promise<T> | T,
    ): Promise<Outcome<T>> {
      const session = manager.load(
        request(cookie === undefined ? {} : { cookie: `sid=${cookie}` }),
      );
      let result: T | undefined;
      let error: unknown;
      let headers: ResponseHeaders;
      try {
        result = await handler(session);
        headers = await manager.commit(session);
      } catch (failure) {
        error = failure;
        headers = manager.discard(session);
      }
      const set = setCookieValue(headers);
      if (set !== undefined) cookie = set === '' ? undefined : set;
      return { result, error, headers };
    },
  };
}
