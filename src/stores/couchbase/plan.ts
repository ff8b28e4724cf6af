/**
 * @module Planning a Couchbase write as sub-document operations: pure functions.
 *
 * A write to a live session reads the few fields it depends on with one `lookupIn` (the deadlines,
 * the user, and the keys it removes or increments), then sends one `mutateIn` of upserts, removes
 * and counters with the CAS that lookup returned. The CAS makes the pair atomic: if anything
 * changed the document in between, the `mutateIn` fails and the write starts again from the
 * lookup. The CAS is needed because the contract's checks depend on the stored record (is it
 * live, what is its absolute deadline, is an incremented key a number) and sub-document
 * operations cannot test a value. A write that needs more than 16 specs, or names a key no path
 * can address, replaces the whole document instead (also under CAS).
 */
import { capExpiry } from '../../core/expiry.js';
import type { Delta, JsonValue, SessionMeta } from '../../core/store.js';
import type { DeltaPlan } from '../_sql/delta-plan.js';
import { MAX_SPECS, dataPath } from './paths.js';

/** A session as the Couchbase store keeps it: the record itself, as JSON. */
export interface CouchbaseSessionDocument {
  data: Record<string, JsonValue>;
  createdAt: number;
  /** The idle deadline (epoch ms), capped at `absoluteExpiresAt`; the document expires with it. */
  expiresAt: number;
  absoluteExpiresAt?: number;
  userId?: string;
  meta?: SessionMeta;
}

/** The top-level fields every sub-document write reads first. */
export const HEAD_PATHS = ['expiresAt', 'absoluteExpiresAt', 'createdAt', 'userId'] as const;

/** One sub-document operation, turned into the SDK's `MutateInSpec` by the store. */
export type SubdocOp =
  | { readonly kind: 'upsert'; readonly path: string; readonly value: JsonValue }
  | { readonly kind: 'remove'; readonly path: string }
  | { readonly kind: 'increment'; readonly path: string; readonly by: number };

/**
 * The paths a sub-document write reads first: {@link HEAD_PATHS}, then each key it removes or
 * increments. `undefined` when the write cannot go by sub-document (too many specs, a key no
 * path names, or an increment the delta itself refuses): the store then goes by the whole
 * document.
 */
export function lookupPaths(plan: DeltaPlan): string[] | undefined {
  // A delta setting a key it also increments to a non-number is refused whatever is stored;
  // the whole-document path reports it exactly as the contract words it.
  if (plan.refused.length > 0) return undefined;
  const keys = [...plan.unset, ...plan.readIncr.map(([key]) => key)];
  const written = [...Object.keys(plan.set), ...keys];
  if (written.some((key) => dataPath(key) === undefined)) return undefined;
  const paths = [...HEAD_PATHS, ...keys.map((key) => dataPath(key)!)];
  return paths.length > MAX_SPECS ? undefined : paths;
}

/** What the lookup found: each looked-up path to its value, `undefined` when it is missing. */
export type Looked = ReadonlyMap<string, unknown>;

/** The sub-document write for a live record, or why it cannot be sent (see {@link subdocWrite}). */
export type SubdocWrite =
  | {
      ops: SubdocOp[];
      expiresAt: number;
      counters: Record<string, number> | undefined;
      nonNumeric: undefined;
    }
  | { ops: undefined; expiresAt: undefined; counters: undefined; nonNumeric: string[] | undefined };

/**
 * The operations applying `delta` to the live record the lookup saw, in the contract's order
 * (replace, unset, set, incr), and each counter's new value (exact, since the CAS holds the
 * document as it was read). `nonNumeric` when an incremented key holds something else; `ops`
 * undefined and no `nonNumeric` when more than 16 specs are needed.
 */
export function subdocWrite(
  delta: Delta,
  plan: DeltaPlan,
  looked: Looked,
  expiresAt: number,
): SubdocWrite {
  const nonNumeric = plan.readIncr
    .map(([key]) => key)
    .filter((key) => {
      const value = looked.get(dataPath(key)!);
      return value !== undefined && typeof value !== 'number';
    });
  if (nonNumeric.length > 0)
    return { ops: undefined, expiresAt: undefined, counters: undefined, nonNumeric };
  const ops: SubdocOp[] = [];
  if (plan.replace) ops.push({ kind: 'upsert', path: 'data', value: {} });
  for (const key of plan.unset) {
    const path = dataPath(key)!;
    if (looked.get(path) !== undefined) ops.push({ kind: 'remove', path });
  }
  for (const [key, value] of Object.entries(plan.set))
    ops.push({ kind: 'upsert', path: dataPath(key)!, value });
  let counters: Record<string, number> | undefined;
  if (plan.incrKeys.length > 0) {
    counters = {};
    for (const key of plan.incrKeys) if (key in plan.set) counters[key] = plan.set[key] as number;
  }
  for (const [key, by] of plan.readIncr) {
    const path = dataPath(key)!;
    const before = looked.get(path) as number | undefined;
    const after = (before ?? 0) + by;
    counters![key] = after;
    // The server's counter takes whole numbers within 64 bits only; any other sum is computed
    // here and written, which the CAS makes just as atomic.
    ops.push(
      Number.isSafeInteger(by) && (before === undefined || Number.isSafeInteger(before))
        ? { kind: 'increment', path, by }
        : { kind: 'upsert', path, value: after },
    );
  }
  if (delta.userId !== undefined) {
    if (delta.userId !== null) ops.push({ kind: 'upsert', path: 'userId', value: delta.userId });
    else if (looked.get('userId') !== undefined) ops.push({ kind: 'remove', path: 'userId' });
  }
  if (delta.meta !== undefined)
    ops.push({ kind: 'upsert', path: 'meta', value: delta.meta as JsonValue });
  const absolute = looked.get('absoluteExpiresAt');
  const capped = capExpiry(expiresAt, typeof absolute === 'number' ? absolute : undefined);
  ops.push({ kind: 'upsert', path: 'expiresAt', value: capped });
  if (ops.length > MAX_SPECS)
    return { ops: undefined, expiresAt: undefined, counters: undefined, nonNumeric: undefined };
  return { ops, expiresAt: capped, counters, nonNumeric: undefined };
}

/** A stored document as a record, or `undefined` when it is not live at `now`. */
export function liveDocument(
  doc: CouchbaseSessionDocument | undefined,
  now: number,
): CouchbaseSessionDocument | undefined {
  if (doc === undefined || typeof doc.expiresAt !== 'number' || doc.expiresAt <= now)
    return undefined;
  if (doc.absoluteExpiresAt !== undefined && doc.absoluteExpiresAt <= now) return undefined;
  return doc;
}
