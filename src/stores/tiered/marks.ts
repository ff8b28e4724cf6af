/**
 * @module What the tiered store keeps in the cache tier besides copies: tombstones and stale marks,
 * told apart by one reserved data key, and the fill that never lands on either.
 *
 * The store contract offers no "create if absent", but it does refuse a whole delta whose `incr`
 * names a key holding a non-number. A fill carries `incr: { [MARK]: 0 }` and no `replace`, so it is
 * refused, atomically and in the cache server itself, wherever a tombstone or a stale mark (`MARK`
 * holding a string) is: a fill that read the durable tier before a destroy and reaches the cache
 * after it changes nothing, in this process or any other.
 */
import type { Delta, JsonValue, StoreRecord, WriteResult } from '../../core/store.js';

/**
 * The reserved data key of cache records. Session keys starting with `__` are refused by the
 * session API, so no application value can collide with it.
 */
export const MARK = '__tessera_tier';

/** What a cache record is. */
export type CacheCopy =
  | { kind: 'copy'; record: StoreRecord }
  | { kind: 'tombstone' }
  | { kind: 'stale'; markedAt: number };

/** Reads a cache record: a copy (with the reserved key removed), a tombstone or a stale mark. */
export function readCopy(record: StoreRecord | undefined): CacheCopy | undefined {
  if (record === undefined) return undefined;
  const mark = record.data[MARK];
  if (typeof mark === 'string') {
    if (mark.startsWith('stale:')) return { kind: 'stale', markedAt: Number(mark.slice(6)) };
    return { kind: 'tombstone' };
  }
  if (mark === undefined) return { kind: 'copy', record };
  const data = { ...record.data };
  delete data[MARK];
  return { kind: 'copy', record: { ...record, data } };
}

/** The delta that replaces whatever the cache holds under a key by a tombstone or a stale mark. */
export function markDelta(kind: 'tombstone' | 'stale', now: number): Delta {
  const value: JsonValue = kind === 'tombstone' ? `destroyed:${now}` : `stale:${now}`;
  return { create: true, createdAt: now, replace: true, set: { [MARK]: value }, userId: null };
}

/**
 * The delta that copies a durable record into the cache, refused whole where a tombstone or a
 * stale mark is (see the module comment).
 */
export function fillDelta(record: StoreRecord): Delta {
  const delta: Delta = {
    create: true,
    createdAt: record.createdAt,
    set: record.data,
    incr: { [MARK]: 0 },
  };
  if (record.absoluteExpiresAt !== undefined) delta.absoluteExpiresAt = record.absoluteExpiresAt;
  if (record.userId !== undefined) delta.userId = record.userId;
  if (record.meta !== undefined) delta.meta = record.meta;
  if (record.keyExpiresAt !== undefined) delta.expire = record.keyExpiresAt;
  return delta;
}

/** The delta that writes a whole record over whatever the durable tier has (async repair). */
export function snapshotDelta(record: StoreRecord): Delta {
  const delta: Delta = {
    create: true,
    createdAt: record.createdAt,
    replace: true,
    set: record.data,
    userId: record.userId ?? null,
  };
  if (record.absoluteExpiresAt !== undefined) delta.absoluteExpiresAt = record.absoluteExpiresAt;
  if (record.meta !== undefined) delta.meta = record.meta;
  if (record.keyExpiresAt !== undefined) delta.expire = record.keyExpiresAt;
  return delta;
}

/**
 * A write for the cache tier: refused whole (atomically, in the cache) where a tombstone or stale
 * mark is, so no write can turn one back into a session. `replace` would clear the guard before
 * it is checked, so it becomes an `unset` of the keys the cache holds now (`current`).
 */
export function guardedDelta(delta: Delta, current?: readonly string[]): Delta {
  const out: Delta = { ...delta, incr: { ...delta.incr, [MARK]: 0 } };
  if (delta.replace === true) {
    delete out.replace;
    const kept = new Set(Object.keys(delta.set ?? {}));
    out.unset = [
      ...(delta.unset ?? []),
      ...(current ?? []).filter((k) => k !== MARK && !kept.has(k)),
    ];
  }
  return out;
}

/** A cache write's answer: `'marked'` when a tombstone or stale mark refused it, else cleaned. */
export function cacheAnswer(result: WriteResult): WriteResult | 'marked' {
  if (result.nonNumeric?.includes(MARK) === true) return 'marked';
  if (result.counters === undefined || !(MARK in result.counters)) return result;
  const counters = { ...result.counters };
  delete counters[MARK];
  const { counters: _, ...rest } = result;
  return Object.keys(counters).length === 0 ? rest : { ...rest, counters };
}
