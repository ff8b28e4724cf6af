/**
 * @module Increments of non-numbers in the SQL stores: refused whole, found without a statement
 * on the common path.
 *
 * A write with keys of `incr` that the delta leaves alone (`DeltaPlan.readIncr`) carries a guard:
 * its statement matches the row only while each of those keys holds a number or nothing. A write
 * that matches no row is then either on a missing record or refused, and one read of the record
 * tells which. A delta that itself sets an incremented key to a non-number (`DeltaPlan.refused`)
 * is refused whatever the row holds, so it is never sent; the read only finds `existed`.
 */
import { applyDelta } from '../../core/delta.js';
import { TesseraError } from '../../core/errors.js';
import type { Delta, StoreRecord, WriteResult } from '../../core/store.js';
import type { DeltaPlan } from './delta-plan.js';

/** Tries of a guarded write whose row changed between the statement and the read. */
const ATTEMPTS = 3;

/** What a write that may be refused needs from its store. */
export interface GuardedWrite {
  plan: DeltaPlan;
  delta: Delta;
  expiresAt: number;
  now: number;
  /** Sends the write; `undefined` when it matched no row. */
  write(): Promise<WriteResult | undefined>;
  /** Reads the live record (one statement). */
  read(): Promise<StoreRecord | undefined>;
}

/**
 * Runs a write (see the module comment): the write alone when it matches a row or carries no
 * guard, else the read that explains it. A row that takes the delta by the time it is read changed
 * in between, so the write is sent again; after {@link ATTEMPTS} tries, `STORE_CONFLICT`.
 */
export async function writeGuarded(w: GuardedWrite): Promise<WriteResult> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (w.plan.refused.length === 0) {
      const written = await w.write();
      if (written !== undefined) return written;
      if (w.plan.readIncr.length === 0) return { existed: false };
    }
    const record = await w.read();
    const applied = applyDelta(record, w.delta, w.expiresAt, w.now);
    if (applied === undefined) return { existed: false };
    if (applied.nonNumeric !== undefined)
      return { existed: record !== undefined, nonNumeric: applied.nonNumeric };
  }
  throw new TesseraError(
    'STORE_CONFLICT',
    `A write with an increment kept meeting a session that changed under it (${ATTEMPTS} tries). Retry the request.`,
  );
}
