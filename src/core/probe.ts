/**
 * @module The one health check: write a probe record, read it back, delete it. The manager's
 * `check()` uses it for stores without a `check` of their own, and stores build theirs on it.
 */
import { TesseraError } from './errors.js';
import type { Store } from './store.js';

/** What {@link probeStore} calls: a store's own methods, or wrappers around them. */
export type ProbeTarget = Pick<Store, 'name' | 'write' | 'get' | 'destroy'>;

/**
 * Writes a probe record under `key` (a store key: the caller picks one no session can have),
 * reads it back and deletes it. Rejects with `STORE_UNAVAILABLE` when the record does not come
 * back as written; `hint` ends that message with what to look at.
 */
export async function probeStore(
  store: ProbeTarget,
  key: string,
  now: number,
  hint = 'check that nothing evicts or rewrites its keys',
): Promise<void> {
  await store.write(key, { create: true, set: { probe: now } }, now + 60_000);
  let back;
  try {
    back = await store.get(key);
  } finally {
    await store.destroy(key);
  }
  if (back?.data['probe'] !== now)
    throw new TesseraError(
      'STORE_UNAVAILABLE',
      `The ${store.name} store did not return the probe record it was given; ${hint}.`,
    );
}
