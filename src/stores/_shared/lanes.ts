/**
 * @module Lanes: calls under one id run one after another, in the order they came, in this process.
 *
 * The file store queues the calls for one session here before it takes the lock file, and the
 * Memcached store its writes to one key before compare-and-swap, so calls from one process never
 * contend with each other; the lock or the CAS only settles races between processes.
 */

/** Runs `run` after every earlier call of the same lane has settled (whatever its outcome). */
export type Lanes = <T>(id: string, run: () => Promise<T>) => Promise<T>;

/** A set of lanes; an idle lane keeps no memory. */
export function createLanes(): Lanes {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(id: string, run: () => Promise<T>): Promise<T> => {
    const next = (tails.get(id) ?? Promise.resolve()).then(run, run);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    tails.set(id, tail);
    void tail.then(() => {
      if (tails.get(id) === tail) tails.delete(id);
    });
    return next;
  };
}
