/**
 * @module The health check of the SQL stores: the core's probe, under a key shaped like a real one.
 */
import { randomBytes } from 'node:crypto';
import { probeStore } from '../../core/probe.js';
import type { Clock, Store } from '../../core/store.js';

/**
 * Writes, reads back and deletes a probe record under a random key (43 characters, like a real
 * key). A missing table or a newer schema rejects with `CONFIG` from the store's first call.
 */
export function sqlCheck(store: Store, clock: Clock): Promise<void> {
  const key = `probe_${randomBytes(30).toString('base64url')}`.slice(0, 43);
  return probeStore(store, key, clock.now(), "check the table's triggers and replication");
}
