/**
 * Bad input gets a clear error at start-up, never a session that fails later (issue 11: items 4,
 * 5, 6, 9 and 20).
 */
import { describe, expect, it } from 'vitest';
import {
  createSessionManager,
  createStore,
  memoryStore,
  type SessionManagerOptions,
} from '../../src/index.js';
import { createCookieCodec } from '../../src/core/transport/cookie.js';
import { browser } from '../support/requests.js';

const config = (message: RegExp) => ({ code: 'CONFIG', message: expect.stringMatching(message) });
/** Options as a user's JavaScript (or a loose cast) may pass them. */
const loose = (options: Record<string, unknown>) => options as SessionManagerOptions;

describe('cookie lifetime (issue 11, item 4)', () => {
  it('refuses a maxAge under one second, which would send Max-Age=0 and delete the cookie', () => {
    expect(() => createCookieCodec({ maxAge: 999 })).toThrow(
      expect.objectContaining(config(/at least 1000.*Did you mean 999000/)),
    );
    expect(() => createCookieCodec({ maxAge: 0 })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    expect(() => createCookieCodec({ maxAge: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
  });

  it('rounds a part second up, so the cookie never ends before the session', () => {
    expect(createCookieCodec({ maxAge: 1500 }).serialize('v', false)).toContain('Max-Age=2');
    expect(createCookieCodec({ maxAge: 60_000 }).serialize('v', false)).toContain('Max-Age=60;');
  });
});

describe('transports (issue 11, item 5)', () => {
  it('refuses a query-only transport: no new id could ever reach the client', () => {
    expect(() => createSessionManager({ transport: { cookie: false, query: 'sid' } })).toThrow(
      expect.objectContaining(config(/only reads ids.*`cookie` or `header`/)),
    );
    expect(() =>
      createSessionManager({ transport: { cookie: false, header: 'x-session', query: 'sid' } }),
    ).not.toThrow();
  });
});

describe('only keys that were stored count (issue 11, item 6)', () => {
  it('answers undefined for built-in object members and internal keys of a loaded session', async () => {
    const manager = createSessionManager({ gcInterval: false });
    const b = browser(manager);
    await b.visit((s) => {
      s.set('a', 1);
      s.flash('info', 'hello');
    });
    const { result } = await b.visit(async (s) => {
      const loose = s as unknown as {
        get(k: string): Promise<unknown>;
        has(k: string): Promise<boolean>;
      };
      return {
        constructor: await loose.get('constructor'),
        proto: await loose.get('__proto__'),
        toString: await loose.has('toString'),
        hasOwnProperty: await loose.get('hasOwnProperty'),
        flash: await loose.get('__flash.info'),
        a: await loose.get('a'),
      };
    });
    expect(result).toEqual({
      constructor: undefined,
      proto: undefined,
      toString: false,
      hasOwnProperty: undefined,
      flash: undefined,
      a: 1,
    });
  });

  it('still keeps a key named like a built-in when the app stores one', async () => {
    const manager = createSessionManager<{ toString: string }>({ gcInterval: false });
    const b = browser(manager);
    await b.visit((s) => s.set('toString', 'mine'));
    expect((await b.visit((s) => s.get('toString'))).result).toBe('mine');
  });
});

describe('options (issue 11, item 9)', () => {
  it.each([
    ['secret', { secret: 'keyboard cat' }, /express-session's.*signs nothing/],
    ['resave', { resave: false }, /express-session's.*Drop `resave`/],
    ['saveUninitialized', { saveUninitialized: false }, /Use `saveNew`/],
    ['a typo', { idelTimeout: 1000 }, /Unknown option `idelTimeout`; did you mean `idleTimeout`/],
    [
      'a store URL',
      { store: 'redis://127.0.0.1:6379' },
      /takes a store object, not a URL: use `store: await createStore\("redis:/,
    ],
    [
      'an empty store',
      { store: {} },
      /is not a store: it lacks `get\(\)`, `write\(\)`, `touch\(\)`, `destroy\(\)`, `close\(\)`, a `name`/,
    ],
    ['an empty codec', { codec: {} }, /`codec` must have `encode\(value\)` and `decode\(value\)`/],
    ['onError as a string', { onError: 'log' }, /`onError` must be a function; got string/],
    ['a clock without now', { clock: {} }, /`clock` must have a `now\(\)`/],
    ['observers as an object', { observers: {} }, /`observers` must be an array/],
  ])('refuses %s at start-up with what to do instead', (_name, options, message) => {
    expect(() => createSessionManager(loose(options))).toThrow(
      expect.objectContaining(config(message)),
    );
  });

  it('accepts every documented option', () => {
    expect(() =>
      createSessionManager({
        store: memoryStore(),
        idleTimeout: 60_000,
        absoluteTimeout: false,
        touchAfter: 1000,
        cookie: { name: 's' },
        transport: { cookie: true },
        idBytes: 32,
        idPrefix: 'x_',
        saveNew: false,
        storeTimeout: 1000,
        gcInterval: false,
        onError: () => undefined,
        observers: [],
        clock: { now: Date.now },
      }).close(),
    ).not.toThrow();
  });

  it('gives CONFIG, not a TypeError, for createStore without a URL', async () => {
    await expect(createStore(undefined as unknown as string)).rejects.toMatchObject(
      config(/must be a non-empty string/),
    );
    await expect(createStore('')).rejects.toMatchObject(config(/non-empty string/));
  });
});

describe('the cookie name when secure is on (issue 11, item 20)', () => {
  it('defaults to a __Host- name, which no sibling subdomain can plant', () => {
    expect(createCookieCodec({ secure: true }).name).toBe('__Host-sid');
    expect(createCookieCodec({ secure: true, domain: 'example.com' }).name).toBe('__Secure-sid');
    expect(createCookieCodec({ secure: true, path: '/app' }).name).toBe('__Secure-sid');
    expect(createCookieCodec({}).name).toBe('sid');
    expect(createCookieCodec({ secure: true, name: 'mine' }).name).toBe('mine');
  });
});

describe('a schema checks what is written, not only what is read (issue 11, item 7)', () => {
  it('refuses a set the schema refuses, naming the key, and keeps the session as it was', async () => {
    const { z } = await import('zod');
    const manager = createSessionManager<{ count?: number; name?: string }>({
      schema: z.object({ count: z.number().optional(), name: z.string().optional() }),
      gcInterval: false,
    });
    const b = browser(manager);
    await b.visit((s) => s.set('count', 1));
    const bad = b.visit((s) => s.set('count', 'two' as unknown as number));
    await expect(bad).rejects.toMatchObject({
      code: 'INVALID_DATA',
      message: expect.stringContaining('`count`'),
    });
    await expect(bad).rejects.not.toMatchObject({ message: expect.stringContaining('two') });
    // The bad value never reached the store: the user keeps a working session.
    expect((await b.visit((s) => s.get('count'))).result).toBe(1);
    await b.visit((s) => s.set('name', 'ada'));
    expect((await b.visit(async (s) => s.all())).result).toEqual({ count: 1, name: 'ada' });
  });

  it('checks immediate writes too (increment into a key the schema wants as a string)', async () => {
    const { z } = await import('zod');
    const manager = createSessionManager({
      schema: z.object({ label: z.string().optional() }),
      gcInterval: false,
    });
    await expect(browser(manager).visit((s) => s.increment('label'))).rejects.toMatchObject({
      code: 'INVALID_DATA',
      message: expect.stringContaining('`label`'),
    });
  });
});

describe('increment refuses a key that holds something else (issue 11, item 8)', () => {
  it('leaves an array as it is instead of replacing it with 1', async () => {
    const manager = createSessionManager({ gcInterval: false });
    const b = browser(manager);
    await b.visit((s) => s.set('list', [1, 2]));
    await expect(
      b.visit(async (s) => {
        await s.load();
        return s.increment('list');
      }),
    ).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringContaining('"list"') });
    await expect(
      b.visit((s) => {
        s.set('label', 'x');
        return s.increment('label');
      }),
    ).rejects.toMatchObject({ code: 'INVALID_DATA' });
    expect((await b.visit((s) => s.get('list'))).result).toEqual([1, 2]);
    // Not read first: the store itself refuses the write, atomically.
    await expect(b.visit((s) => s.increment('list'))).rejects.toMatchObject({
      code: 'INVALID_DATA',
      message: expect.stringContaining('"list"'),
    });
    expect((await b.visit((s) => s.get('list'))).result).toEqual([1, 2]);
  });
});
