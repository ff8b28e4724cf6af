/**
 * @module The tiered store's public types: its modes and what it adds to a store.
 */
import type { Store } from '../../core/store.js';
import type { FlushReport } from './backup.js';

/** How writes reach the durable tier; see the module notes for what each promises. */
export type BackupMode = 'sync' | 'async' | 'off';

/** A tiered store: a {@link Store}, plus its mode and write-behind queue. */
export interface TieredStore extends Store {
  /** The mode it was made with. */
  readonly backup: BackupMode;
  /** Durable writes queued, running or waiting for repair (`async`; always 0 otherwise). */
  readonly pending: number;
  /** Waits until the queue reached the durable tier, or `timeoutMs` passed (`async`). */
  flush(timeoutMs?: number): Promise<FlushReport>;
}
