/**
 * The synchronous first read (`getNow`, issue 16): what a handler sees is the same as through `get`,
 * whether the store answers at once, fails at once, or sits behind a wrapper that made every
 * method asynchronous (a Proxy, as test doubles and instrumentation wrap stores).
 */
import { describe, expect, it } from 'vitest';
import { createSessionManager, type Store } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory/index.js';
import { browser } from '../support/requests.js';

/** Every method of `store` made asynchronous and failing while `down.now` is set. */
function proxied(store: Store, down: { now: boolean }): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      const method = value as (...args: unknown[]) => unknown;
      return async (...args: unknown[]): Promise<unknown> => {
        if (down.now) throw new Error('injected outage');
        return Reflect.apply(method, target, args);
      };
    },
  });
}

describe('a session first read from a store that answers at once', () => {
  it('reads in the same step: the value is there before any microtask ran', async () => {
    const manager = createSessionManager<{ n: number }>({ gcInterval: false });
    const b = browser(manager);
    await b.visit((s) => s.increment('n'));
    await b.visit(async (s) => {
      let seen: number | undefined;
      void s.get('n').then((n) => (seen = n));
      // One microtask turn: the value's own promise, nothing of the store's before it.
      await Promise.resolve();
      expect(seen).toBe(1);
    });
    await manager.close();
  });

  it('gives STORE_UNAVAILABLE when getNow throws, and keeps the session', async () => {
    const inner = memoryStore();
    let failing = false;
    const store: Store = { ...inner };
    Object.defineProperty(store, 'getNow', {
      value: (key: string) => {
        if (failing) throw new Error('boom');
        return inner.getNow!(key);
      },
    });
    const manager = createSessionManager<{ n: number }>({ store, gcInterval: false });
    const b = browser(manager);
    await b.visit((s) => s.increment('n'));
    failing = true;
    await expect(b.visit((s) => s.get('n'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    failing = false;
    expect((await b.visit((s) => s.get('n'))).result).toBe(1);
    await manager.close();
  });

  it('waits for a getNow a wrapper made asynchronous, and a failure there logs no one out', async () => {
    const down = { now: false };
    const manager = createSessionManager<{ n: number }>({
      store: proxied(memoryStore(), down),
      gcInterval: false,
    });
    const b = browser(manager);
    await b.visit((s) => s.increment('n'));
    expect((await b.visit((s) => s.get('n'))).result).toBe(1);
    down.now = true;
    await expect(b.visit((s) => s.get('n'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    down.now = false;
    expect((await b.visit((s) => s.get('n'))).result).toBe(1);
    await manager.close();
  });
});
