/**
 * @module The memory store's change feed (`watch`): every write and destroy, told at once to each
 * subscription.
 */
import type { StoreChange, Unwatch } from '../../core/store.js';

/** The subscriptions of one memory store. */
export interface Feed {
  emit(kind: 'write' | 'destroy', key: string): void;
  watch(onChange: (change: StoreChange) => void): Unwatch;
  clear(): void;
}

/** Creates a feed. */
export function createFeed(): Feed {
  const watchers = new Set<(change: StoreChange) => void>();
  return {
    emit(kind, key) {
      if (watchers.size === 0) return;
      const change: StoreChange = { kind, key };
      for (const watcher of watchers) {
        try {
          watcher(change);
        } catch {
          // A watcher's failure is its own: it stops neither the others nor the store.
        }
      }
    },
    watch(onChange) {
      // A subscription of its own each time, so subscribing one function twice gives two feeds.
      const watcher = (change: StoreChange): void => onChange(change);
      watchers.add(watcher);
      return async () => void watchers.delete(watcher);
    },
    clear() {
      watchers.clear();
    },
  };
}
