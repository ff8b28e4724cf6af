/**
 * The session operations express-session's API and the read-only places build on (issue 12):
 * `save`, `reload`, `touch`, per-session lifetimes, read-only sessions, and a manager that never
 * sets a cookie.
 */
import { describe, expect, it } from 'vitest';
import { createSessionManager, isTesseraError, storeKey } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory/index.js';
import { testClock } from '../contract/store.js';
import { browser, header, request, setCookieValue, withCookie } from '../support/requests.js';
import { spyStore } from '../support/spy-store.js';
import { FAULTS, faultyStore } from '../support/faults.js';
import { rateLimiter } from '../../src/limit/index.js';

const MINUTE = 60_000;

function setup(options: { setCookie?: boolean } = {}) {
  const clock = testClock();
  const store = spyStore(memoryStore({ clock }));
  const manager = createSessionManager({
    store,
    clock,
    idleTimeout: 30 * MINUTE,
    absoluteTimeout: 12 * 60 * MINUTE,
    gcInterval: false,
    ...options,
  });
  return { clock, store, manager, b: browser(manager) };
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return isTesseraError(error) ? error.code : 'other';
  }
  return undefined;
};

describe('save', () => {
  it('writes the changes now and leaves the session open for more', async () => {
    const { store, manager, b } = setup();
    await b.visit(async (s) => {
      s.set('a', 1);
      await s.save();
      // Stored before the commit: a new session got its id and record at once.
      expect(s.id).toBeDefined();
      expect((await store.get(storeKey(s.id!)))?.data).toEqual({ a: 1 });
      s.set('b', 2);
    });
    const { result } = await b.visit((s) => s.all());
    expect(result).toEqual({ a: 1, b: 2 });
    expect(b.cookie).toBeDefined();
    await manager.close();
  });

  it('costs no store call when nothing changed', async () => {
    const { store, b } = setup();
    await b.visit((s) => s.set('a', 1));
    store.reset();
    await b.visit(async (s) => {
      await s.load();
      await s.save();
    });
    expect(store.ops('write')).toHaveLength(0);
  });
});

describe('reload', () => {
  it('drops unsaved changes and reads the record again', async () => {
    const { b } = setup();
    await b.visit((s) => s.set('theme', 'dark'));
    const { result } = await b.visit(async (s) => {
      s.set('theme', 'unsaved');
      s.set('other', 1);
      await s.reload();
      return s.all();
    });
    expect(result).toEqual({ theme: 'dark' });
    expect((await b.visit((s) => s.all())).result).toEqual({ theme: 'dark' });
  });
});

describe('touch', () => {
  it('moves the idle deadline at commit even when no touch is due', async () => {
    const { store, clock, b } = setup();
    await b.visit((s) => s.set('a', 1));
    clock.advance(MINUTE);
    store.reset();
    await b.visit((s) => s.load());
    expect(store.ops('touch')).toHaveLength(0);
    await b.visit(async (s) => {
      await s.load();
      s.touch();
    });
    expect(store.ops('touch')).toHaveLength(1);
  });
});

describe('a session of its own lifetime', () => {
  it('lives its lifetime unused, with a persistent cookie, across a renewed id and a login', async () => {
    const { clock, b, manager, store } = setup();
    const first = await b.visit((s) => {
      s.set('a', 1);
      s.setLifetime(7 * 24 * 60 * MINUTE);
      expect(s.lifetime).toBe(7 * 24 * 60 * MINUTE);
    });
    // Capped by the absolute timeout (12 hours): the cookie ends with the session.
    expect(header(first.headers, 'set-cookie')[0]).toMatch(/Max-Age=43200;/);

    const { clock: c2, b: b2 } = setup();
    await b2.visit((s) => {
      s.set('a', 1);
      s.setLifetime(2 * 60 * MINUTE);
    });
    c2.advance(90 * MINUTE); // past the manager's 30 minutes, within the session's 2 hours
    const renewed = await b2.visit(async (s) => {
      expect(await s.get('a')).toBe(1);
      await s.regenerate();
    });
    expect(header(renewed.headers, 'set-cookie')[0]).toMatch(/Max-Age=7200;/);
    c2.advance(90 * MINUTE);
    const after = await b2.visit(async (s) => {
      expect(s.lifetime).toBeUndefined(); // not loaded yet
      await s.load();
      await s.login('ada');
      return s.lifetime;
    });
    expect(after.result).toBe(2 * 60 * MINUTE);
    c2.advance(121 * MINUTE);
    expect((await b2.visit((s) => s.get('a'))).result).toBeUndefined();

    // Back to the manager's lifetime: a session cookie again, 30 minutes idle.
    await b.visit(async (s) => {
      await s.load();
      s.setLifetime(undefined);
    });
    const record = await store.get(storeKey(b.cookie!));
    expect(record!.expiresAt - clock.now()).toBe(30 * MINUTE);
    await manager.close();
  });

  it('refuses lifetimes under a second or over 400 days', () => {
    const { manager } = setup();
    const s = manager.load(request());
    expect(codeOf(() => s.setLifetime(999))).toBe('INVALID_DATA');
    expect(codeOf(() => s.setLifetime(401 * 24 * 60 * MINUTE))).toBe('INVALID_DATA');
    expect(codeOf(() => s.setLifetime(Number.NaN))).toBe('INVALID_DATA');
    expect(codeOf(() => s.setLifetime(1000))).toBeUndefined();
  });
});

describe('a read-only session', () => {
  it('reads, refuses every change with READ_ONLY, and never writes (not even a due touch)', async () => {
    const { store, clock, manager, b } = setup();
    await b.visit((s) => s.set('a', 1));
    clock.advance(29 * MINUTE); // a touch is due
    store.reset();
    const s = manager.load(withCookie(b.cookie), { readOnly: true });
    expect(s.isReadOnly).toBe(true);
    expect(await s.get('a')).toBe(1);
    for (const change of [
      () => s.set('a', 2),
      () => s.delete('a'),
      () => s.flush(),
      () => s.flash('info', 'x'),
      () => s.setLifetime(5000),
      () => s.touch(),
      () => void s.regenerate(),
      () => void s.destroy(),
      () => void s.login('ada'),
      () => void s.save(),
    ])
      expect(codeOf(change)).toBe('READ_ONLY');
    await expect(s.increment('a')).rejects.toMatchObject({ code: 'READ_ONLY' });
    // Reading again is no change: an open WebSocket may check its session is still live.
    await s.reload();
    expect(await s.get('a')).toBe(1);
    await expect(s.consumeFlash()).rejects.toMatchObject({ code: 'READ_ONLY' });
    expect(manager.needsCommit(s)).toBe(false);
    const headers = await manager.commit(s);
    expect(setCookieValue(headers)).toBeUndefined();
    expect(store.calls.map((c) => c.op)).toEqual(['get', 'get']);
  });
});

describe('setCookie: false', () => {
  it('reads the id from the cookie but never sends Set-Cookie; the app hands the id out', async () => {
    const { manager } = setup({ setCookie: false });
    const s = manager.load(request());
    s.set('a', 1);
    const headers = await manager.commit(s);
    expect(header(headers, 'set-cookie')).toEqual([]);
    const id = s.id!;
    expect(id).toBeDefined();

    const again = manager.load(withCookie(id));
    expect(await again.get('a')).toBe(1);
    await again.destroy();
    expect(header(await manager.commit(again), 'set-cookie')).toEqual([]);
  });

  it('is checked as an option', () => {
    expect(() => createSessionManager({ setCookie: 'no' as unknown as boolean })).toThrow(
      /setCookie/,
    );
  });
});

describe('maxBytes and size()', () => {
  it('refuses a write that would pass the cap with TOO_LARGE naming the key; nothing is written', async () => {
    const clock = testClock();
    const store = memoryStore({ clock });
    const manager = createSessionManager({ store, clock, maxBytes: 1024, gcInterval: false });
    const b = browser(manager);
    await b.visit((s) => s.set('name', 'ada'));
    const big = 'x'.repeat(2000);
    const s = manager.load(withCookie(b.cookie));
    s.set('note', big);
    s.set('small', 1);
    const error = await manager.commit(s).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TOO_LARGE', status: 413 });
    expect((error as Error).message).toMatch(/`note` \(2002 bytes\)/);
    expect((await store.get(storeKey(b.cookie!)))!.data).toEqual({ name: 'ada' });
    // Within the cap it writes, and size() counts what the store holds.
    const { result } = await b.visit(async (session) => {
      session.set('note', 'x'.repeat(500));
      return session.size();
    });
    const record = await store.get(storeKey(b.cookie!));
    expect(result).toEqual({ keys: 2, bytes: Buffer.byteLength(JSON.stringify(record!.data)) });
    // An immediate write is checked too.
    const inc = manager.load(withCookie(b.cookie));
    inc.set('more', 'y'.repeat(600));
    await expect(inc.increment('count')).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });

  it('is checked as an option', () => {
    expect(() => createSessionManager({ maxBytes: 10 })).toThrow(/maxBytes/);
  });
});

describe('failed store calls of lock, update, save and rate limits', () => {
  it('update: whichever store call fails or hangs, the cart keeps its items and the next update works', async () => {
    for (const fault of FAULTS)
      for (let n = 1; n <= 4; n++) {
        const store = faultyStore(memoryStore());
        const manager = createSessionManager<{ cart: number[] }>({
          store,
          storeTimeout: 100,
          gcInterval: false,
        });
        const b = browser(manager);
        await b.visit((s) => s.set('cart', [1]));
        const s = manager.load(withCookie(b.cookie));
        const start = store.calls;
        store.arm(n, fault);
        // lock, the fresh read, the write, unlock: a failure before the write changes nothing.
        const outcome = await s
          .update('cart', (cart) => [...(cart ?? []), 2], { ttl: 300 })
          .then(
            () => 'ok',
            (error: unknown) => (isTesseraError(error) ? error.code : 'other'),
          );
        store.disarm();
        const label = `${fault} at call ${n} (${store.ops[start + n - 1]}) → ${outcome}`;
        expect(['ok', 'STORE_UNAVAILABLE', 'STORE_TIMEOUT'], label).toContain(outcome);
        const cart = await manager.load(withCookie(b.cookie)).get('cart');
        expect([[1], [1, 2]], label).toContainEqual(cart);
        // A lease left behind ends with its ttl: the next update waits for it, then works.
        const next = manager.load(withCookie(b.cookie));
        await next.update('cart', (c) => [...(c ?? []), 3], { wait: 2000 });
        expect((await manager.load(withCookie(b.cookie)).get('cart'))!.at(-1), label).toBe(3);
        await manager.close();
      }
  });

  it('save: a failed write rejects, and the session is as it was', async () => {
    const store = faultyStore(memoryStore());
    const manager = createSessionManager<{ a: number }>({ store, gcInterval: false });
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    const s = manager.load(withCookie(b.cookie));
    await s.load();
    s.set('a', 2);
    store.arm(1, 'error');
    await expect(s.save()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.disarm();
    expect(await manager.load(withCookie(b.cookie)).get('a')).toBe(1);
  });

  it('a rate-limit check on a failing store rejects with the store error, never a verdict', async () => {
    const store = faultyStore(memoryStore());
    const limiter = rateLimiter({ store, limit: 5, windowMs: 60_000 });
    store.arm(1, 'error');
    await expect(limiter.check('k')).rejects.toThrow(/injected failure/);
    store.disarm();
    expect((await limiter.check('k')).remaining).toBe(4);
  });
});
