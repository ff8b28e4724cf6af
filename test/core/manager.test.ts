import { describe, expect, it } from 'vitest';
import { createSessionManager, storeKey, type SessionManagerOptions } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory/index.js';
import { testClock } from '../contract/store.js';
import { browser, header, request, setCookieValue, withCookie } from '../support/requests.js';
import { spyStore } from '../support/spy-store.js';

function setup(options: SessionManagerOptions = {}) {
  const clock = testClock();
  const store = spyStore(memoryStore({ clock }));
  const manager = createSessionManager<Record<string, unknown>>({
    store,
    clock,
    gcInterval: false,
    ...options,
  });
  return { clock, store, manager };
}

describe('lazy loading and what reaches the store', () => {
  it('makes no store call and sends no header for a request that never touches its session', async () => {
    const { store, manager } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    store.reset();
    const { headers } = await b.visit(() => undefined);
    expect(store.calls).toEqual([]);
    expect(headers).toEqual([]);
  });

  it('does not store or cookie a new session nobody wrote to, unless saveNew is on', async () => {
    const { store, manager } = setup();
    const { headers } = await browser(manager).visit(async (s) => s.get('x'));
    expect(store.ops('write')).toEqual([]);
    expect(headers).toEqual([]);

    const eager = setup({ saveNew: true });
    const out = await browser(eager.manager).visit(() => undefined);
    expect(eager.store.ops('write')).toHaveLength(1);
    expect(setCookieValue(out.headers)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('reads a returning session with one get and writes nothing while the deadline is far', async () => {
    const { store, manager } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('name', 'ada'));
    store.reset();
    const { result, headers } = await b.visit(async (s) => [
      await s.get('name'),
      await s.get('name'),
      await s.has('other'),
    ]);
    expect(result).toEqual(['ada', 'ada', false]);
    expect(store.calls.map((c) => c.op)).toEqual(['get']);
    expect(headers).toEqual([]);
  });

  it('writes only a TTL touch for a read once touchAfter has passed', async () => {
    const { store, manager, clock } = setup({ idleTimeout: 60_000, touchAfter: 10_000 });
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    clock.advance(5_000);
    store.reset();
    await b.visit((s) => s.get('a'));
    expect(store.ops('touch')).toEqual([]);
    clock.advance(6_000);
    await b.visit((s) => s.get('a'));
    expect(store.ops('touch')).toHaveLength(1);
    expect(store.ops('touch')[0]!.args[1]).toBe(clock.now() + 60_000);
    expect(store.ops('write')).toEqual([]);
  });

  it('writes only the keys that changed, and never an unchanged session', async () => {
    const { store, manager } = setup();
    const b = browser(manager);
    await b.visit((s) => {
      s.set('a', 1);
      s.set('b', { deep: [1] });
      s.set('c', 'x');
    });
    store.reset();
    await b.visit(async (s) => {
      await s.get('b');
      s.set('a', 2);
      s.delete('c');
    });
    expect(store.ops('write').map((c) => c.args[1])).toEqual([{ set: { a: 2 }, unset: ['c'] }]);
    store.reset();
    await b.visit(async (s) => {
      await s.all();
      s.set('a', 2);
      s.set('a', 2);
    });
    expect(store.ops('write').map((c) => c.args[1])).toEqual([{ set: { a: 2 } }]);
    store.reset();
    await b.visit(async (s) => void (await s.all()));
    expect(store.ops('write')).toEqual([]);
  });

  it('saves a nested mutation of a value it handed out', async () => {
    const { store, manager } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('cart', { items: ['apple'] }));
    store.reset();
    await b.visit(async (s) => {
      const cart = (await s.get('cart')) as { items: string[] };
      cart.items.push('pear');
    });
    expect(store.ops('write').map((c) => c.args[1])).toEqual([
      { set: { cart: { items: ['apple', 'pear'] } } },
    ]);
    const { result } = await b.visit((s) => s.get('cart'));
    expect(result).toEqual({ items: ['apple', 'pear'] });
  });

  it('writes a change to a session it never read without reading it first (one round trip)', async () => {
    const { store, manager } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    store.reset();
    const { headers } = await b.visit((s) => s.set('b', 2));
    expect(store.calls.map((c) => c.op)).toEqual(['write']);
    expect(headers).toEqual([]);
    expect((await b.visit((s) => s.all())).result).toEqual({ a: 1, b: 2 });
  });
});

describe('ids and cookies', () => {
  it('issues a 256-bit base64url id in a secure-by-default cookie with no-store and Vary', async () => {
    const { manager } = setup();
    const { headers } = await browser(manager).visit((s) => s.set('a', 1));
    const [cookie] = header(headers, 'set-cookie');
    expect(cookie).toMatch(/^sid=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(header(headers, 'cache-control')).toEqual(['no-store']);
    expect(header(headers, 'vary')).toEqual(['Cookie']);
  });

  it('marks the cookie Secure on https and when configured, with Max-Age for a persistent cookie', async () => {
    const { manager } = setup({ cookie: { maxAge: 3600_000 } });
    const s = manager.load(request({}, { isSecure: true }));
    s.set('a', 1);
    expect(header(await manager.commit(s), 'set-cookie')[0]).toMatch(
      /; Max-Age=3600; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    const host = setup({ cookie: { name: '__Host-sid', secure: true, sameSite: 'strict' } });
    const t = host.manager.load(request());
    t.set('a', 1);
    expect(header(await host.manager.commit(t), 'set-cookie')[0]).toMatch(
      /^__Host-sid=[^;]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
    );
  });

  it('never adopts an id it did not issue (strict mode)', async () => {
    const { store, manager } = setup();
    const planted = 'A'.repeat(43);
    const s = manager.load(withCookie(planted));
    expect(await s.get('a')).toBeUndefined();
    s.set('a', 1);
    const issued = setCookieValue(await manager.commit(s));
    expect(issued).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(issued).not.toBe(planted);
    expect(await store.get(storeKey(planted))).toBeUndefined();
  });

  it.each([
    ['../../etc/passwd'],
    ['..%2F..%2Fx'],
    ['a'],
    [''],
    ['x'.repeat(10_000)],
    ["' OR 1=1--"],
    ['{"$ne":null}'],
    ['ａ'.repeat(43)],
    ['A'.repeat(42) + '\u0000'],
    ['A'.repeat(42) + ' '],
  ])('ignores the malformed id %j without asking the store', async (bad) => {
    const { store, manager } = setup();
    const s = manager.load(
      request({ cookie: `sid=${encodeURIComponent(bad)}`, 'x-session-id': bad }),
    );
    expect(await s.get('a')).toBeUndefined();
    expect(s.isNew).toBe(true);
    await manager.commit(s);
    expect(store.calls).toEqual([]);
  });

  it('refuses two different values of its cookie in one header (cookie tossing)', async () => {
    const { manager, store } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    store.reset();
    const other = 'B'.repeat(43);
    const s = manager.load(request({ cookie: `sid=${b.cookie}; sid=${other}` }));
    expect(s.isNew).toBe(true);
    expect(await s.get('a')).toBeUndefined();
    expect(store.calls).toEqual([]);
  });

  it('supports an id prefix and a custom generator, and refuses weak generators at start-up', async () => {
    const { manager } = setup({ idPrefix: 'sess_' });
    const { headers } = await browser(manager).visit((s) => s.set('a', 1));
    expect(setCookieValue(headers)).toMatch(/^sess_[A-Za-z0-9_-]{43}$/);
    let n = 0;
    const custom = setup({ generateId: () => `custom-${String(n++).padStart(30, '0')}` });
    expect(
      setCookieValue((await browser(custom.manager).visit((s) => s.set('a', 1))).headers),
    ).toMatch(/^custom-0+1$/);
    expect(() => createSessionManager({ generateId: () => 'short' })).toThrow(/generateId/);
    expect(() => createSessionManager({ idBytes: 8 })).toThrow(/idBytes/);
  });

  it.each([
    [{ cookie: { name: 'bad name' } }, /name/],
    [{ cookie: { name: '__Host-x' } }, /__Host-/],
    [{ cookie: { name: '__Host-x', secure: true, path: '/app' } }, /__Host-/],
    [{ cookie: { name: '__Host-x', secure: true, domain: 'example.com' } }, /__Host-/],
    [{ cookie: { path: '/x; Domain=evil.com' } }, /path/],
    [{ cookie: { domain: 'evil.com; Secure' } }, /domain/],
    [{ cookie: { sameSite: 'none' as const } }, /secure/],
    [{ cookie: { maxAge: -1 } }, /maxAge/],
    [{ idleTimeout: 0 }, /idleTimeout/],
    [{ touchAfter: 10 ** 12 }, /touchAfter/],
    [{ transport: { cookie: false } }, /transport/],
    [{ transport: { header: 'bad header' } }, /header/],
    [{ maxSessionsPerUser: 0 }, /maxSessionsPerUser/],
  ] as Array<[SessionManagerOptions, RegExp]>)(
    'fails at start-up with a CONFIG error for %j',
    (options, message) => {
      expect(() => createSessionManager(options)).toThrow(
        expect.objectContaining({ code: 'CONFIG', message: expect.stringMatching(message) }),
      );
    },
  );
});

describe('transports', () => {
  it('reads the id from a header and answers new ids in the same header', async () => {
    const { manager } = setup({ transport: { cookie: false, header: 'X-Session-Id' } });
    const first = manager.load(request());
    first.set('a', 1);
    const out = await manager.commit(first);
    const id = header(out, 'x-session-id')[0]!;
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(header(out, 'set-cookie')).toEqual([]);
    const again = manager.load(request({ 'x-session-id': id, cookie: 'sid=ignored' }));
    expect(await again.get('a')).toBe(1);
    expect(await manager.load(request({ cookie: `sid=${id}` })).get('a')).toBeUndefined();
  });

  it('ignores ids in the query string unless the query transport is on; then renews them', async () => {
    const { manager } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    expect(await manager.load(request({}, { url: `/?sid=${b.cookie}` })).get('a')).toBeUndefined();

    const q = setup({ transport: { cookie: true, query: 'sid' } });
    const first = q.manager.load(request());
    first.set('a', 1);
    const id = setCookieValue(await q.manager.commit(first))!;
    const viaQuery = q.manager.load(request({}, { url: `/page?x=1&sid=${id}` }));
    expect(await viaQuery.get('a')).toBe(1);
    const out = await q.manager.commit(viaQuery);
    const renewed = setCookieValue(out)!;
    expect(renewed).not.toBe(id);
    expect(header(out, 'referrer-policy')).toEqual(['no-referrer']);
    expect(await q.manager.load(request({}, { url: `/?sid=${id}` })).get('a')).toBeUndefined();
  });
});

describe('timeouts', () => {
  it('ends a session idle for longer than idleTimeout, even if the store still holds it', async () => {
    const { manager, clock } = setup({ idleTimeout: 10_000, touchAfter: 0 });
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    clock.advance(9_000);
    expect((await b.visit((s) => s.get('a'))).result).toBe(1);
    clock.advance(9_000);
    expect((await b.visit((s) => s.get('a'))).result).toBe(1);
    clock.advance(10_001);
    const { result, headers } = await b.visit((s) => s.get('a'));
    expect(result).toBeUndefined();
    expect(setCookieValue(headers)).toBe('');
  });

  it('ends a session at its absolute deadline however active it is', async () => {
    const { manager, clock } = setup({
      idleTimeout: 60_000,
      absoluteTimeout: 300_000,
      touchAfter: 0,
    });
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    for (let t = 0; t < 5; t++) {
      clock.advance(50_000);
      expect((await b.visit((s) => s.get('a'))).result).toBe(1);
    }
    clock.advance(49_000);
    expect((await b.visit((s) => s.get('a'))).result).toBe(1);
    clock.advance(1_001);
    expect((await b.visit((s) => s.get('a'))).result).toBeUndefined();
  });
});

describe('regenerate, destroy, login and logout', () => {
  it('regenerate keeps the data under a new id and kills the old id at once', async () => {
    const { manager, store } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    const old = b.cookie!;
    const { headers } = await b.visit((s) => s.regenerate());
    expect(b.cookie).not.toBe(old);
    expect(header(headers, 'set-cookie')).toHaveLength(1);
    expect(await store.get(storeKey(old))).toBeUndefined();
    expect((await b.visit((s) => s.get('a'))).result).toBe(1);
    expect(await manager.load(withCookie(old)).get('a')).toBeUndefined();
  });

  it('destroy deletes the record before the response and clears the cookie', async () => {
    const { manager, store } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    const id = b.cookie!;
    const s = manager.load(withCookie(id));
    await s.destroy();
    expect(await store.get(storeKey(id))).toBeUndefined();
    const out = await manager.commit(s);
    expect(header(out, 'set-cookie')[0]).toMatch(
      /^sid=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax$/,
    );
    expect(header(out, 'cache-control')).toEqual(['no-store']);
  });

  it('does not bring back a session logged out while a slow request was still running', async () => {
    const { manager, store } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    const id = b.cookie!;
    const slow = manager.load(withCookie(id));
    expect(await slow.get('a')).toBe(1);
    const logout = manager.load(withCookie(id));
    await logout.logout();
    await manager.commit(logout);
    slow.set('b', 2);
    const out = await manager.commit(slow);
    expect(await store.get(storeKey(id))).toBeUndefined();
    expect(setCookieValue(out)).not.toBe(id);
  });

  it('login renews the id, binds the user with device information, and the old id is dead', async () => {
    const { manager, store } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('cart', ['apple']));
    const anonymous = b.cookie!;
    await b.visit((s) => s.login('alice'), { 'user-agent': 'Firefox/130' });
    expect(b.cookie).not.toBe(anonymous);
    expect(await store.get(storeKey(anonymous))).toBeUndefined();
    const { result } = await b.visit(async (s) => ({ cart: await s.get('cart'), user: s.userId }));
    expect(result).toEqual({ cart: ['apple'], user: 'alice' });
    const [device] = await manager.sessionsOf('alice', storeKey(b.cookie!));
    expect(device).toMatchObject({ current: true, userAgent: 'Firefox/130', ip: '127.0.0.1' });
    expect(device!.handle).toBe(storeKey(b.cookie!));
  });

  it('lists, revokes one, and revokes all other sessions of a user', async () => {
    const { manager } = setup();
    const devices = [browser(manager), browser(manager), browser(manager)];
    for (const d of devices) await d.visit((s) => s.login('bob'));
    const list = await manager.sessionsOf('bob');
    expect(list).toHaveLength(3);
    await manager.revoke(storeKey(devices[0]!.cookie!));
    expect(
      (await devices[0]!.visit(async (s) => (await s.load(), s.userId))).result,
    ).toBeUndefined();
    expect((await devices[1]!.visit(async (s) => (await s.load(), s.userId))).result).toBe('bob');
    const keep = storeKey(devices[2]!.cookie!);
    expect(await manager.revokeUser('bob', { except: keep })).toBe(1);
    expect((await manager.sessionsOf('bob', keep)).map((d) => d.current)).toEqual([true]);
    await expect(manager.revoke('../etc')).rejects.toMatchObject({ code: 'BAD_ID' });
  });

  it('keeps at most maxSessionsPerUser under 10 parallel logins, evicting the oldest', async () => {
    const { manager, clock } = setup({ maxSessionsPerUser: 3 });
    const old = browser(manager);
    await old.visit((s) => s.login('carol'));
    clock.advance(1000);
    const logins = Array.from({ length: 10 }, () => browser(manager));
    await Promise.all(logins.map((d) => d.visit((s) => s.login('carol'))));
    const live = await manager.sessionsOf('carol');
    expect(live.length).toBe(3);
    expect(live.some((d) => d.handle === storeKey(old.cookie!))).toBe(false);
  });

  it('refuses the login past the limit with the refuse policy', async () => {
    const { manager } = setup({ maxSessionsPerUser: 2, sessionLimitPolicy: 'refuse' });
    await browser(manager).visit((s) => s.login('dave'));
    await browser(manager).visit((s) => s.login('dave'));
    const third = manager.load(request());
    await expect(third.login('dave')).rejects.toMatchObject({
      code: 'TOO_MANY_SESSIONS',
      status: 409,
    });
    expect(await manager.sessionsOf('dave')).toHaveLength(2);
  });
});

describe('data', () => {
  it('shows flash messages once', async () => {
    const { manager } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    await b.visit((s) => {
      s.flash('info', 'saved');
      s.flash('info', 'and again');
      s.flash('error', 'oops');
    });
    expect((await b.visit((s) => s.peekFlash())).result).toEqual({
      info: ['saved', 'and again'],
      error: ['oops'],
    });
    expect((await b.visit((s) => s.consumeFlash('info'))).result).toEqual(['saved', 'and again']);
    expect((await b.visit((s) => s.consumeFlash())).result).toEqual({ error: ['oops'] });
    expect((await b.visit((s) => s.consumeFlash())).result).toEqual({});
    expect((await b.visit((s) => s.all())).result).toEqual({ a: 1 });
  });

  it('never loses a count when 50 requests of one session increment at once', async () => {
    const { manager } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('n', 0));
    const results = await Promise.all(
      Array.from({ length: 50 }, () => b.visit((s) => s.increment('n'))),
    );
    expect(new Set(results.map((r) => r.result)).size).toBe(50);
    expect((await b.visit((s) => s.get('n'))).result).toBe(50);
  });

  it('keeps every key when parallel requests each set a different one', async () => {
    const { manager } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('base', true));
    await Promise.all(Array.from({ length: 30 }, (_, i) => b.visit((s) => s.set(`k${i}`, i))));
    const { result } = await b.visit((s) => s.all());
    expect(Object.keys(result as object)).toHaveLength(31);
  });

  it('round-trips Dates, Maps, Sets, BigInts and bytes through the store', async () => {
    const { manager } = setup();
    const b = browser(manager);
    const value = {
      when: new Date(0),
      map: new Map([['k', 1]]),
      set: new Set(['x']),
      big: 10n ** 30n,
      bytes: new Uint8Array([1, 2, 255]),
    };
    await b.visit((s) => s.set('v', value));
    expect((await b.visit((s) => s.get('v'))).result).toEqual(value);
  });

  it('refuses values and keys no store can keep, at the call', async () => {
    const { manager } = setup();
    const s = manager.load(request());
    expect(() => s.set('f', () => 1)).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => s.set('n', Number.NaN)).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => s.set('__proto__', 1)).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => s.set('__flash.x', 1)).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => s.set('c', cyclic)).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
  });

  it('flush clears every key in one write', async () => {
    const { manager, store } = setup();
    const b = browser(manager);
    await b.visit((s) => {
      s.set('a', 1);
      s.set('b', 2);
    });
    store.reset();
    await b.visit((s) => {
      s.flush();
      s.set('c', 3);
    });
    expect(store.ops('write').map((c) => c.args[1])).toEqual([{ replace: true, set: { c: 3 } }]);
    expect((await b.visit((s) => s.all())).result).toEqual({ c: 3 });
  });

  it('refuses changes after commit', async () => {
    const { manager } = setup();
    const s = manager.load(request());
    s.set('a', 1);
    await manager.commit(s);
    expect(() => s.set('b', 2)).toThrow(expect.objectContaining({ code: 'ALREADY_COMMITTED' }));
  });
});

describe('store failures', () => {
  it('surfaces a failing store as STORE_UNAVAILABLE and sends no cookie', async () => {
    const { manager, store } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    store.mode = 'fail';
    const s = manager.load(withCookie(b.cookie));
    await expect(s.get('a')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });
    const t = manager.load(request());
    t.set('a', 1);
    await expect(manager.commit(t)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.mode = 'ok';
    expect(await manager.load(withCookie(b.cookie)).get('a')).toBe(1);
  });

  it('bounds a hanging store call by storeTimeout', async () => {
    const clock = testClock();
    const inner = memoryStore({ clock });
    const store = spyStore({ ...inner, name: 'slow', isLocal: false });
    const manager = createSessionManager({ store, clock, storeTimeout: 50, gcInterval: false });
    store.mode = 'hang';
    const started = Date.now();
    await expect(manager.load(withCookie('A'.repeat(43))).get('a')).rejects.toMatchObject({
      code: 'STORE_TIMEOUT',
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('schema', () => {
  it('treats stored data that fails the schema as a new session and reports it', async () => {
    const { z } = await import('zod');
    const clock = testClock();
    const store = memoryStore({ clock });
    const errors: unknown[] = [];
    const loose = createSessionManager({ store, clock, gcInterval: false });
    const strict = createSessionManager({
      store,
      clock,
      gcInterval: false,
      schema: z.object({ count: z.number().optional() }),
      onError: (e) => errors.push(e),
    });
    const b = browser(loose);
    await b.visit((s) => s.set('count', 'not a number'));
    expect(await strict.load(withCookie(b.cookie)).get('count')).toBeUndefined();
    expect(errors).toEqual([expect.objectContaining({ code: 'INVALID_DATA' })]);
    await b.visit((s) => s.set('count', 3));
    expect(await strict.load(withCookie(b.cookie)).get('count')).toBe(3);
  });
});

describe('manager operations', () => {
  it('counts active sessions, collects garbage and checks the store', async () => {
    const { manager, clock } = setup({ idleTimeout: 1000, touchAfter: 0 });
    for (let i = 0; i < 5; i++) await browser(manager).visit((s) => s.set('a', i));
    expect(await manager.activeCount()).toBe(5);
    clock.advance(5000);
    expect(await manager.gc()).toEqual({ removed: 5, done: true });
    expect(await manager.activeCount()).toBe(0);
    await expect(manager.check()).resolves.toBeUndefined();
  });

  it('destroys and regenerates sessions by id outside a request', async () => {
    const { manager } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    const renewed = await manager.regenerate(b.cookie!);
    expect(renewed).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await manager.load(withCookie(b.cookie)).get('a')).toBeUndefined();
    expect(await manager.load(withCookie(renewed)).get('a')).toBe(1);
    await manager.destroy(renewed!);
    expect(await manager.load(withCookie(renewed)).get('a')).toBeUndefined();
    await expect(manager.destroy('nope')).rejects.toMatchObject({ code: 'BAD_ID' });
  });
});
