/**
 * Observers see every store call, commit and session event, carry no ids or data, and cannot break
 * a request; and each store call gets exactly one deadline.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createSessionManager,
  memoryStore,
  type Observer,
  type Store,
  type StoreCallEnd,
} from '../../src/index.js';
import { testClock } from '../contract/store.js';
import { browser } from '../support/requests.js';
import { spyStore } from '../support/spy-store.js';

function recorder() {
  const events: string[] = [];
  const ends: StoreCallEnd[] = [];
  const observer: Observer = {
    onStoreCall(call) {
      events.push(`call ${call.store}.${call.op}`);
      return (end) => {
        ends.push(end);
        events.push(`end ${call.op} ${end.outcome}`);
      };
    },
    onCommit: (e) => events.push(`commit ${e.kind}${e.isIdSent ? ' +id' : ''}`),
    onSession: (e) => events.push(`session ${e.type}${e.count > 1 ? ` ×${e.count}` : ''}`),
    onError: (e) => events.push(`error ${e.error.code} during ${e.during}`),
    onGc: (e) => events.push(`gc ${e.removed}`),
  };
  return { events, ends, observer };
}

describe('observers', () => {
  it('see store calls, commits and session events of a visit, a login and a logout', async () => {
    const { events, ends, observer } = recorder();
    const manager = createSessionManager({ observers: [observer], gcInterval: false });
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    await b.visit((s) => s.login('alice'));
    await b.visit((s) => s.logout());
    expect(events).toEqual([
      'call memory.write',
      'end write ok',
      'session created',
      'commit create +id',
      'call memory.rename',
      'end rename ok',
      'session renewed',
      'call memory.write',
      'end write ok',
      'commit none +id',
      'call memory.destroy',
      'end destroy ok',
      'session destroyed',
      'commit none',
    ]);
    expect(ends.every((e) => e.durationMs >= 0 && e.error === undefined)).toBe(true);
    // Nothing an observer receives names a session, a key or a user.
    expect(JSON.stringify(events)).not.toMatch(/alice|[A-Za-z0-9_-]{43}/);
  });

  it('see failures with their outcome and code, and the commit that failed', async () => {
    const { events, observer } = recorder();
    const store = spyStore(memoryStore());
    const manager = createSessionManager({ store, observers: [observer], gcInterval: false });
    store.mode = 'fail';
    await expect(browser(manager).visit((s) => s.set('a', 1))).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    expect(events).toEqual([
      'call memory.write',
      'end write error',
      'error STORE_UNAVAILABLE during commit',
    ]);
  });

  it('see timeouts as their own outcome', async () => {
    const { ends, observer } = recorder();
    const store = spyStore(memoryStore());
    const hanging: Store = { ...store, name: 'remote', isLocal: false };
    const manager = createSessionManager({
      store: hanging,
      observers: [observer],
      storeTimeout: 30,
      gcInterval: false,
    });
    store.mode = 'hang';
    await expect(browser(manager).visit((s) => s.set('a', 1))).rejects.toMatchObject({
      code: 'STORE_TIMEOUT',
    });
    expect(ends.map((e) => [e.outcome, e.error?.code])).toEqual([['timeout', 'STORE_TIMEOUT']]);
  });

  it('count revocations and expired sessions, and report GC passes', async () => {
    const { events, observer } = recorder();
    const clock = testClock();
    const manager = createSessionManager({
      observers: [observer],
      clock,
      idleTimeout: 1000,
      touchAfter: 0,
      gcInterval: false,
    });
    for (let i = 0; i < 3; i++) await browser(manager).visit((s) => s.login('bob'));
    const stale = browser(manager);
    await stale.visit((s) => s.set('x', 1));
    events.length = 0;
    expect(await manager.revokeUser('bob')).toBe(3);
    clock.advance(2000);
    await stale.visit((s) => s.get('x'));
    await manager.gc();
    expect(events).toContain('session revoked ×3');
    expect(events).toContain('session expired');
    expect(events.filter((e) => e.startsWith('gc '))).toHaveLength(1);
  });

  it('cannot break a request: a hook that throws is ignored', async () => {
    const angry: Observer = {
      onStoreCall: () => {
        throw new Error('observer bug');
      },
      onCommit: () => {
        throw new Error('observer bug');
      },
    };
    const manager = createSessionManager({ observers: [angry], gcInterval: false });
    const b = browser(manager);
    await b.visit((s) => s.set('n', 1));
    expect((await b.visit((s) => s.get('n'))).result).toBe(1);
  });
});

describe('one deadline per store call', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A store that never answers, declaring (or not) that it bounds its own calls. */
  function silent(timeoutMs?: number): Store {
    const inner = spyStore(memoryStore());
    inner.mode = 'hang';
    return { ...inner, name: 'remote', ...(timeoutMs === undefined ? {} : { timeoutMs }) };
  }

  it('bounds a store that sets no deadline of its own by storeTimeout', async () => {
    const manager = createSessionManager({ store: silent(), storeTimeout: 40, gcInterval: false });
    await expect(browser(manager).visit((s) => s.set('a', 1))).rejects.toMatchObject({
      code: 'STORE_TIMEOUT',
      message: expect.stringContaining('storeTimeout'),
    });
  });

  it('adds no timer of its own to a store that bounds its calls (timeoutMs)', async () => {
    vi.useFakeTimers();
    const manager = createSessionManager({ store: silent(500), gcInterval: false });
    let settled = false;
    const visit = browser(manager)
      .visit((s) => s.set('a', 1))
      .finally(() => (settled = true));
    visit.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(10_000);
    // The store said it bounds itself (at 500 ms): the manager's default 2000 ms timer never ran.
    expect(vi.getTimerCount()).toBe(0);
    expect(settled).toBe(false);
  });

  it('still applies a storeTimeout set shorter than the store’s own bound', async () => {
    const manager = createSessionManager({
      store: silent(10_000),
      storeTimeout: 40,
      gcInterval: false,
    });
    await expect(browser(manager).visit((s) => s.set('a', 1))).rejects.toMatchObject({
      code: 'STORE_TIMEOUT',
    });
  });
});
