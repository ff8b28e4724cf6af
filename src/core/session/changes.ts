/**
 * @module A request's pending changes to its session, per key: what was set or deleted, and the
 * mutable values handed to the handler (checked at commit, so `cart.push(x)` is saved too).
 */
import { isMutable, type Codec } from '../codec.js';
import type { Delta, JsonValue } from '../store.js';

/** Marks a key deleted in this request. */
export const UNSET: unique symbol = Symbol('unset');
/** A pending change of one key: its new encoded value, or {@link UNSET}. */
export type Change = JsonValue | typeof UNSET;

/** A mutable value handed to the handler, with the encoding it had then. */
interface Handed {
  value: unknown;
  snapshot: string;
}

/**
 * The pending changes of one session. Both maps are allocated on first use: most requests only
 * read, and a read of a plain value allocates nothing here.
 */
export class Changes {
  private changeMap: Map<string, Change> | undefined;
  private handedMap: Map<string, Handed> | undefined;
  /** Whether `flush()` asked for all stored data to be replaced. */
  isReplace = false;

  /** Whether anything was changed or handed out (a handed value may still turn out unchanged). */
  get isEmpty(): boolean {
    return (
      (this.changeMap?.size ?? 0) === 0 && (this.handedMap?.size ?? 0) === 0 && !this.isReplace
    );
  }

  /** The pending change of `key`, if any. */
  changeOf(key: string): Change | undefined {
    return this.changeMap?.get(key);
  }

  /** The value handed out for `key` and still tracked, if any. */
  handedOf(key: string): { value: unknown } | undefined {
    return this.handedMap?.get(key);
  }

  /** The keys with a pending change. */
  changedKeys(): IterableIterator<string> | readonly string[] {
    return this.changeMap?.keys() ?? [];
  }

  /** Records a new encoded value for `key`. `value` is the value as given, tracked if mutable. */
  set(key: string, encoded: JsonValue, value: unknown): void {
    (this.changeMap ??= new Map()).set(key, encoded);
    if (isMutable(value)) this.track(key, value, encoded);
    else this.handedMap?.delete(key);
  }

  /** Records a change without a handed value (flash lists, settled appends). */
  setEncoded(key: string, change: Change): void {
    (this.changeMap ??= new Map()).set(key, change);
  }

  /** Records the deletion of `key`. */
  delete(key: string): void {
    (this.changeMap ??= new Map()).set(key, UNSET);
    this.handedMap?.delete(key);
  }

  /** Forgets every pending change and asks for the stored data to be replaced. */
  flush(): void {
    this.changeMap?.clear();
    this.handedMap?.clear();
    this.isReplace = true;
  }

  /** Starts tracking a mutable value read from the store or set, against its encoding. */
  track(key: string, value: unknown, encoded: JsonValue): void {
    (this.handedMap ??= new Map()).set(key, { value, snapshot: JSON.stringify(encoded) });
  }

  /**
   * The delta of this request: explicit changes plus handed values mutated since they were
   * handed out. `undefined` when nothing changed.
   */
  buildDelta(codec: Codec): Delta | undefined {
    if (this.handedMap === undefined && this.changeMap === undefined && !this.isReplace)
      return undefined;
    if (this.handedMap)
      for (const [key, handed] of this.handedMap) {
        const encoded = codec.encode(handed.value);
        if (JSON.stringify(encoded) !== handed.snapshot)
          (this.changeMap ??= new Map()).set(key, encoded);
      }
    if ((this.changeMap?.size ?? 0) === 0 && !this.isReplace) return undefined;
    const delta: Delta = {};
    let set: Record<string, JsonValue> | undefined;
    let unset: string[] | undefined;
    for (const [key, change] of this.changeMap ?? []) {
      if (change === UNSET) {
        if (!this.isReplace) (unset ??= []).push(key);
      } else {
        (set ??= {})[key] = change;
      }
    }
    if (this.isReplace) delta.replace = true;
    if (set) delta.set = set;
    if (unset) delta.unset = unset;
    return delta;
  }

  /** After a write: forget the pending changes; handed values stay tracked against what was written. */
  written(delta: Delta | undefined, codec: Codec): void {
    this.changeMap?.clear();
    this.isReplace = false;
    if (this.handedMap)
      for (const [key, handed] of this.handedMap) {
        handed.snapshot = JSON.stringify(codec.encode(handed.value));
        if (delta?.replace && !(key in (delta.set ?? {}))) this.handedMap.delete(key);
      }
  }

  /** Forgets everything. */
  clear(): void {
    this.changeMap?.clear();
    this.handedMap?.clear();
    this.isReplace = false;
  }
}

/** The keys a session shows: the stored ones (`stored`, unless flushed) and the changed ones. */
export function visibleKeys(
  changes: Changes,
  stored: Record<string, JsonValue> | undefined,
): Set<string> {
  const keys = new Set<string>(stored === undefined ? [] : Object.keys(stored));
  for (const key of changes.changedKeys()) keys.add(key);
  return keys;
}
