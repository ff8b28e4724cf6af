/**
 * @module The health check of the SQL stores: write a probe record, read it back, delete it.
 */
import { randomBytes } from 'node:crypto';
import { TesseraError } from '../../core/errors.js';
import type { Clock, Store } from '../../core/store.js';

/**
 * Writes, reads back and deletes a probe record under a random key (43 characters, like a real
 * key), rejecting with a clear error when any step fails or the record does not read back.
 */
export async function sqlCheck(store: Store, clock: Clock): Promise<void> {
  const key = `probe_${randomBytes(30).toString('base64url')}`.slice(0, 43);
  const nonce = randomBytes(8).toString('hex');
  let failure: Error | undefined;
  try {
    await store.write(key, { create: true, set: { probe: nonce } }, clock.now() + 60_000);
    const record = await store.get(key);
    if (record?.data['probe'] !== nonce) {
      failure = new TesseraError(
        'STORE_UNAVAILABLE',
        `The ${store.name} store did not read back the probe record it just wrote; check the table's triggers and replication.`,
      );
    }
  } catch (error) {
    failure = asError(error);
  }
  try {
    await store.destroy(key);
  } catch (error) {
    failure ??= asError(error);
  }
  if (failure !== undefined) throw failure;
}

const asError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(String(error));
