/**
 * @module Planning an SQL write: a delta split into what the statement computes and what is known.
 */
import { TesseraError } from '../../core/errors.js';
import type { Delta, JsonValue, SessionMeta } from '../../core/store.js';

/** The longest user id the SQL stores keep (MySQL indexes `VARCHAR(255)`). */
export const MAX_USER_ID_LENGTH = 255;

/**
 * A delta split into what the database must compute and what is known beforehand. Counters of
 * keys the same delta sets, unsets or replaces are computed here and folded into `set`; only
 * `readIncr` (keys the delta leaves alone) needs the stored value.
 */
export interface DeltaPlan {
  replace: boolean;
  /** Keys to remove (none when `replace`). */
  unset: string[];
  /** Keys to write, including precomputed counters. */
  set: Record<string, JsonValue>;
  /** `[key, by]` pairs added to the stored number inside the statement. */
  readIncr: Array<[string, number]>;
  /** Every key of `delta.incr`, whose value after the write is reported. */
  incrKeys: string[];
  /**
   * Keys of `delta.incr` that the delta itself sets to something other than a number: the delta
   * is refused whatever the row holds, so the store writes nothing (see `refusal.ts`).
   */
  refused: string[];
  /** Whether the data changes at all. */
  touchesData: boolean;
}

/** Validates a delta and splits it (see {@link DeltaPlan}). */
export function planDelta(delta: Delta): DeltaPlan {
  const replace = delta.replace === true;
  const set: Record<string, JsonValue> = { ...delta.set };
  const unset = replace ? [] : [...(delta.unset ?? [])].filter((key) => !Object.hasOwn(set, key));
  const removed = new Set(unset);
  const readIncr: Array<[string, number]> = [];
  const incrKeys: string[] = [];
  const refused: string[] = [];
  for (const [key, by] of Object.entries(delta.incr ?? {})) {
    if (typeof by !== 'number' || !Number.isFinite(by)) {
      throw new TesseraError('INVALID_DATA', 'An increment must be a finite number.');
    }
    incrKeys.push(key);
    if (Object.hasOwn(set, key)) {
      const before = set[key];
      if (typeof before === 'number') set[key] = before + by;
      else refused.push(key);
    } else if (replace || removed.has(key)) {
      set[key] = by;
      removed.delete(key);
    } else {
      readIncr.push([key, by]);
    }
  }
  checkUserId(delta.userId);
  return {
    replace,
    unset: [...removed],
    set,
    readIncr,
    incrKeys,
    refused,
    touchesData: replace || removed.size > 0 || Object.keys(set).length > 0 || readIncr.length > 0,
  };
}

/** The data of a record made from nothing by `plan` (every counter starts at 0). */
export function freshData(plan: DeltaPlan): Record<string, JsonValue> {
  const data: Record<string, JsonValue> = { ...plan.set };
  for (const [key, by] of plan.readIncr) data[key] = by;
  return data;
}

function checkUserId(userId: string | null | undefined): void {
  if (typeof userId === 'string' && (userId.length === 0 || userId.length > MAX_USER_ID_LENGTH)) {
    throw new TesseraError(
      'INVALID_DATA',
      `A user id must be 1 to ${MAX_USER_ID_LENGTH} characters long for the SQL stores.`,
    );
  }
}

/** A JSON path naming one top-level member, safe for any key (`$."k"` with JSON escapes). */
export function jsonPath(key: string): string {
  return `$.${JSON.stringify(key)}`;
}

/** `meta` as stored: JSON text or SQL NULL. */
export function metaJson(meta: SessionMeta | undefined): string | null {
  return meta === undefined ? null : JSON.stringify(meta);
}

/**
 * The `user_id` and `meta` assignments of an UPDATE applying `delta` (none for what it leaves
 * alone), for dialects with `?` placeholders; their values are pushed onto `values` in order.
 */
export function ownerSets(delta: Delta, values: unknown[]): string[] {
  const sets: string[] = [];
  if (delta.userId !== undefined) {
    sets.push('user_id = ?');
    values.push(delta.userId);
  }
  if (delta.meta !== undefined) {
    sets.push('meta = ?');
    values.push(metaJson(delta.meta));
  }
  return sets;
}
