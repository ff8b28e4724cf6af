/**
 * @module One deadline per store call: the core's `bounded`, with driver errors classified first.
 *
 * The stores that talk to a server (Redis, Memcached, PostgreSQL, MySQL) run each call through
 * {@link withDeadline}. The call gets exactly one timer, the store's own timeout option; a driver
 * error the store recognises by its code or class becomes the matching `TesseraError`; anything
 * else becomes `STORE_UNAVAILABLE`. Such a store declares `timeoutMs`, so the manager adds no
 * timer of its own. A step holding a resource (a connection in a transaction) can ask to hear when
 * the caller gave up, and free it at once instead of finishing work nobody waits for.
 */
import { TesseraError, storeFailure } from '../../core/errors.js';
import { bounded } from '../../core/store-call.js';

/** What the steps of one call may ask of its deadline. */
export interface CallScope {
  /** Whether the deadline has passed (the caller got `STORE_TIMEOUT`): later steps should stop. */
  readonly isAbandoned: boolean;
  /** Calls `release` once if the deadline passes while the call is still running. */
  onAbandon(release: () => void): void;
}

/** How a driver error reads: a timeout of the driver's own, an error to throw as it is, or neither. */
export type Classified = 'timeout' | TesseraError | undefined;

/** How one store bounds its calls. */
export interface Deadline {
  /** The store's name, for messages. */
  readonly store: string;
  /** The bound on each call, in milliseconds. */
  readonly timeoutMs: number;
  /** The option that sets it, for messages (`` '`timeout`' ``). */
  readonly setting: string;
  /** Reads a driver error by its code or class; `undefined` leaves it to become `STORE_UNAVAILABLE`. */
  classify(error: unknown): Classified;
}

/** The `STORE_TIMEOUT` error of a call that ran out of time (reported by the driver: `cause`). */
export function timeoutError(d: Deadline, op: string, cause?: unknown): TesseraError {
  return new TesseraError(
    'STORE_TIMEOUT',
    `The ${d.store} store did not answer ${op} within ${d.timeoutMs} ms. Check the server's load and network, or raise ${d.setting}.`,
    cause === undefined ? {} : { cause },
  );
}

/** A failure of one call as the error to throw: classified, else `STORE_UNAVAILABLE`. */
export function callFailure(d: Deadline, op: string, error: unknown): TesseraError {
  const kind = d.classify(error);
  if (kind === 'timeout') return timeoutError(d, op, error);
  return kind ?? storeFailure(d.store, op, error);
}

/** One call's scope: a class, whose methods are shared, so a call costs one small object. */
class Scope<T> implements CallScope {
  state: 'running' | 'settled' | 'abandoned' = 'running';
  /** What to free if the deadline passes first. */
  releases: Array<() => void> | undefined = undefined;
  /** The call's promise, once `bounded` returned it (steps may run before that). */
  call: Promise<T> | undefined = undefined;
  readonly startedAt: number = performance.now();
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  get isAbandoned(): boolean {
    return this.state === 'abandoned' || performance.now() - this.startedAt >= this.timeoutMs;
  }

  onAbandon(release: () => void): void {
    if (this.state === 'abandoned') return release();
    if (this.releases !== undefined) return void this.releases.push(release);
    this.releases = [release];
    if (this.call !== undefined) this.watch(this.call);
  }

  /** Frees what the steps hold once `call` rejects while they still run (the timer fired). */
  watch(call: Promise<T>): void {
    call.catch(() => {
      if (this.state !== 'running') return;
      this.state = 'abandoned';
      for (const release of this.releases!) release();
    });
  }
}

/** Runs one store call within `d.timeoutMs` (see the module comment). */
export function withDeadline<T>(
  d: Deadline,
  op: string,
  run: (scope: CallScope) => Promise<T>,
): Promise<T> {
  const scope = new Scope<T>(d.timeoutMs);
  const call = bounded(
    d.store,
    op,
    d.timeoutMs,
    () => {
      let pending: Promise<T>;
      try {
        pending = run(scope);
      } catch (error) {
        scope.state = 'settled';
        return Promise.reject(callFailure(d, op, error));
      }
      return pending.then(
        (value) => {
          if (scope.state === 'running') scope.state = 'settled';
          return value;
        },
        (error: unknown) => {
          if (scope.state === 'running') scope.state = 'settled';
          throw callFailure(d, op, error);
        },
      );
    },
    d.setting,
  );
  scope.call = call;
  if (scope.releases !== undefined) scope.watch(call);
  return call;
}
