/**
 * @module The near cache's bounded LRU: a `Map` in use order (the oldest first), so every
 * operation is O(1) and memory never holds more than `max` entries.
 */

/** A least-recently-used map of at most `max` entries. */
export interface Lru<V> {
  /** The value, marked as used now. */
  get(key: string): V | undefined;
  /** The value, leaving the use order alone. */
  peek(key: string): V | undefined;
  /** Sets the value (marked as used now), dropping the least recently used entry when full. */
  set(key: string, value: V): void;
  delete(key: string): void;
  clear(): void;
  entries(): IterableIterator<[string, V]>;
  readonly size: number;
}

/** Creates an LRU of at most `max` entries. */
export function createLru<V>(max: number): Lru<V> {
  const map = new Map<string, V>();
  return {
    get(key) {
      const value = map.get(key);
      if (value !== undefined) {
        map.delete(key);
        map.set(key, value);
      }
      return value;
    },
    peek: (key) => map.get(key),
    set(key, value) {
      map.delete(key);
      map.set(key, value);
      if (map.size > max) map.delete(map.keys().next().value!);
    },
    delete: (key) => void map.delete(key),
    clear: () => map.clear(),
    entries: () => [...map.entries()][Symbol.iterator](),
    get size() {
      return map.size;
    },
  };
}
