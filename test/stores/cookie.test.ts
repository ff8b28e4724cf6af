/**
 * The cookie store: the contract suite through a cookie jar (each call is one request: bind the
 * jar's cookies, run the call, store the cookies it sets), then the store driven by the manager
 * on a real node:http server on 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { withSessions, type RequestWithSession } from '../../src/adapters/node.js';
import { storeKey } from '../../src/core/id.js';
import { createSessionManager, type SessionManager } from '../../src/index.js';
import type { SessionManagerOptions } from '../../src/core/options.js';
import { createStore } from '../../src/stores/registry.js';
import type { SealedStore, Store, WriteResult } from '../../src/core/store.js';
import { cookieStore, type CookieStoreOptions } from '../../src/stores/cookie/index.js';
import { fileStore } from '../../src/stores/file/index.js';
import { memoryStore } from '../../src/stores/memory/index.js';
import { layoutOf } from '../../src/stores/file/io.js';
import { runStoreContract, testClock, type TestClock } from '../contract/store.js';

const secret = (): string => randomBytes(32).toString('base64url');
const SECRETS = [secret()];
const HOUR = 3_600_000;

/**
 * A Store over a sealed store, as a browser's cookie jar per key would drive it: every call binds
 * that key's cookies, runs, and keeps the cookies set. Calls on one key run one after another, as
 * a browser's sequential requests do.
 */
function cookieJarStore(sealed: SealedStore): Store {
  const jars = new Map<string, Map<string, string>>();
  const tails = new Map<string, Promise<unknown>>();
  const serial = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const run = (tails.get(key) ?? Promise.resolve()).then(fn, fn);
    tails.set(
      key,
      run.catch(() => {}),
    );
    return run;
  };
  const request = (key: string) => {
    const jar = jars.get(key) ?? new Map<string, string>();
    const bound = sealed.bind({
      name: 'sid',
      read: (name) => jar.get(name),
      maxCookieBytes: 4000,
      isValidId: () => true,
    });
    const keep = (target: string, id: string | undefined): void => {
      for (const [name, value] of bound.cookies(id)) {
        if (value === undefined) jar.delete(name);
        else jar.set(name, value);
      }
      jars.delete(key);
      if (jar.size > 0) jars.set(target, jar);
    };
    const own =
      bound.sessionId === undefined
        ? storeKey(randomBytes(16).toString('hex'))
        : storeKey(bound.sessionId);
    return { bound, keep, own };
  };
  return {
    name: sealed.name,
    get: (key) =>
      serial(key, async () => {
        const { bound, own } = request(key);
        return bound.get(own);
      }),
    write: (key, delta, expiresAt) =>
      serial(key, async (): Promise<WriteResult> => {
        const { bound, keep, own } = request(key);
        const id = delta.create ? randomBytes(16).toString('hex') : bound.sessionId;
        const result = await bound.write(id === undefined ? own : storeKey(id), delta, expiresAt);
        keep(key, id);
        return result;
      }),
    touch: (key, expiresAt) =>
      serial(key, async () => {
        const { bound, keep, own } = request(key);
        await bound.touch(own, expiresAt);
        keep(key, bound.sessionId);
      }),
    destroy: (key) =>
      serial(key, async () => {
        const { bound, keep, own } = request(key);
        await bound.destroy(own);
        keep(key, undefined);
      }),
    rename: (oldKey, newKey) =>
      serial(oldKey, async () => {
        const { bound, keep, own } = request(oldKey);
        const newId = randomBytes(16).toString('hex');
        const moved = await bound.rename!(own, storeKey(newId));
        if (moved) keep(newKey, newId);
        return moved;
      }),
    check: () => sealed.check!(),
    close: () => sealed.close(),
  };
}

const NO_SERVER =
  'the cookie store keeps no server state: sessions live in the browsers that hold the cookies';
runStoreContract({
  name: 'cookie (through a cookie jar)',
  // The contract stores a 100 KB string; a real deployment keeps maxBytes near its 6144 default.
  create: (clock) => cookieJarStore(cookieStore({ secrets: SECRETS, clock, maxBytes: 256 * 1024 })),
  lacks: {
    byUser: `${NO_SERVER}, so there is no index to list; revokeUser works through a revocation store (tested below)`,
    count: `${NO_SERVER}, so nothing can count them`,
    scan: `${NO_SERVER}, so nothing can list them`,
    gc: 'nothing to collect: each expiry is sealed into its cookie and checked on every read',
  },
});

// ---------------------------------------------------------------------------------------------
// Through the manager, on a real HTTP server.

/** A browser's cookie jar, just enough for these tests. */
class Jar {
  readonly cookies = new Map<string, string>();
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
  take(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const isGone = attributes.some((a) => a.trim().toLowerCase() === 'max-age=0');
      if (isGone) this.cookies.delete(name);
      else this.cookies.set(name, pair!.slice(eq + 1));
    }
  }
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
  setCookies: string[];
}

type App = {
  url: string;
  manager: SessionManager;
  call(path: string, jar: Jar, cookieHeader?: string): Promise<Reply>;
};

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
});

async function app(
  options: {
    store?: Partial<CookieStoreOptions>;
    manager?: SessionManagerOptions;
    clock?: TestClock;
  } = {},
): Promise<App> {
  const clock = options.clock ?? testClock();
  const store = cookieStore({ secrets: SECRETS, clock, ...options.store });
  const manager = createSessionManager({ store, clock, ...options.manager });
  const handler = withSessions(manager, async (req: RequestWithSession, res) => {
    const url = new URL(req.url!, 'http://x');
    const q = (name: string): string => url.searchParams.get(name) ?? '';
    const session = req.session;
    const out: Record<string, unknown> = {};
    switch (url.pathname) {
      case '/set':
        session.set(q('k'), q('v'));
        break;
      case '/big':
        session.set('blob', 'x'.repeat(Number(q('n'))));
        break;
      case '/incr':
        out['n'] = await session.increment('n');
        break;
      case '/login':
        await session.login(q('u'));
        break;
      case '/logout':
        await session.logout();
        break;
      case '/regenerate':
        await session.regenerate();
        break;
      case '/revoke':
        out['revoked'] = await manager.revokeUser(
          q('u'),
          q('except') ? { except: manager.handleOf(session) } : {},
        );
        break;
      case '/flash':
        session.flash('info', q('m'));
        break;
      case '/get':
        out['data'] = await session.all();
        out['flash'] = await session.consumeFlash();
        break;
    }
    out['id'] = session.id ?? null;
    out['userId'] = session.userId ?? null;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(out));
  });
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    manager,
    async call(path, jar, cookieHeader) {
      const header = cookieHeader ?? jar.header();
      const response = await fetch(url + path, { headers: header ? { cookie: header } : {} });
      const setCookies = response.headers.getSetCookie();
      jar.take(setCookies);
      return {
        status: response.status,
        body: (await response.json()) as Record<string, unknown>,
        setCookies,
      };
    },
  };
}

describe('cookie store through the manager (node:http on 127.0.0.1)', () => {
  it('seals the whole record into the cookie and reads it back; untouched requests send nothing', async () => {
    const { call } = await app();
    const jar = new Jar();
    expect((await call('/get', jar)).setCookies).toEqual([]);
    const set = await call('/set?k=colour&v=teal', jar);
    expect(set.setCookies).toHaveLength(1);
    expect(set.setCookies[0]).toMatch(/^sid=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(set.setCookies[0]).not.toContain('teal');
    const read = await call('/get', jar);
    expect(read.body['data']).toEqual({ colour: 'teal' });
    expect(read.setCookies).toEqual([]);
    expect(read.body['id']).toEqual(expect.any(String));
    expect((await call('/get', jar)).body['id']).toBe(read.body['id']);
    expect((await call('/incr', jar)).body['n']).toBe(1);
    expect((await call('/incr', jar)).body['n']).toBe(2);
    await call('/flash?m=saved', jar);
    expect((await call('/get', jar)).body['flash']).toEqual({ info: ['saved'] });
    expect((await call('/get', jar)).body['flash']).toEqual({});
  });

  it('splits a large session over name.0, name.1, … with no Set-Cookie over 4096 bytes, and shrinking clears spare chunks', async () => {
    const { call } = await app({
      manager: {
        cookie: {
          name: '__Secure-session',
          secure: true,
          domain: 'example.test',
          path: '/app/and/a/rather/long/path',
          maxAge: 30 * 86_400_000,
        },
      },
      store: { maxBytes: 16_000 },
    });
    const jar = new Jar();
    // The path attribute would make a browser hold back the cookie on "/"; this jar ignores paths.
    const big = await call('/big?n=7000', jar);
    expect(big.status).toBe(200);
    expect([...jar.cookies.keys()].sort()).toEqual([
      '__Secure-session.0',
      '__Secure-session.1',
      '__Secure-session.2',
    ]);
    for (const line of big.setCookies) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(4096);
    expect(Math.max(...big.setCookies.map((l) => Buffer.byteLength(l)))).toBeGreaterThan(4000);
    expect(((await call('/get', jar)).body['data'] as { blob: string }).blob).toHaveLength(7000);
    // Shrink to two chunks, then to one cookie: the chunks no longer needed are cleared.
    const two = await call('/big?n=4000', jar);
    expect(two.setCookies.filter((l) => /Max-Age=0/.test(l)).map((l) => l.split('=')[0])).toEqual([
      '__Secure-session.2',
    ]);
    expect([...jar.cookies.keys()].sort()).toEqual(['__Secure-session.0', '__Secure-session.1']);
    const one = await call('/big?n=10', jar);
    expect(
      one.setCookies
        .filter((l) => /Max-Age=0/.test(l))
        .map((l) => l.split('=')[0])
        .sort(),
    ).toEqual(['__Secure-session.0', '__Secure-session.1']);
    expect([...jar.cookies.keys()]).toEqual(['__Secure-session']);
    expect(((await call('/get', jar)).body['data'] as { blob: string }).blob).toBe('x'.repeat(10));
  });

  it('never sends a Set-Cookie over 4096 bytes, whatever the size (property)', async () => {
    // 12 000 bytes keeps the request's Cookie header under Node's 16 KB limit on all headers.
    const { call } = await app({
      manager: { cookie: { name: 's', maxAge: 86_400_000 } },
      store: { maxBytes: 12_000 },
    });
    let sizes = { fits: 0, tooLarge: 0 };
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 10_000 }), async (n) => {
        const jar = new Jar();
        const reply = await call(`/big?n=${n}`, jar);
        for (const line of reply.setCookies)
          expect(Buffer.byteLength(line)).toBeLessThanOrEqual(4096);
        if (reply.status === 413) {
          expect(reply.body).toEqual({ error: 'TOO_LARGE' });
          expect(reply.setCookies).toEqual([]);
          sizes = { ...sizes, tooLarge: sizes.tooLarge + 1 };
          return;
        }
        expect(reply.status).toBe(200);
        sizes = { ...sizes, fits: sizes.fits + 1 };
        expect(((await call('/get', jar)).body['data'] as { blob: string }).blob).toHaveLength(n);
      }),
      { numRuns: 60 },
    );
    expect(sizes.fits).toBeGreaterThan(0);
    expect(sizes.tooLarge).toBeGreaterThan(0);
  });

  it('fails with TOO_LARGE naming the bound past maxBytes, sends no cookie, and keeps the old one working', async () => {
    const { call } = await app();
    const jar = new Jar();
    await call('/set?k=a&v=1', jar);
    const before = jar.header();
    const reply = await call('/big?n=7000', jar);
    // 413 Content Too Large: the session, not the server, is at fault (issue 11, item 10).
    expect(reply.status).toBe(413);
    expect(reply.body).toEqual({ error: 'TOO_LARGE' });
    expect(reply.setCookies).toEqual([]);
    expect(jar.header()).toBe(before);
    expect((await call('/get', jar)).body['data']).toEqual({ a: '1' });
    const store = cookieStore({ secrets: SECRETS });
    const bound = store.bind({
      name: 'sid',
      read: () => undefined,
      maxCookieBytes: 4000,
      isValidId: () => true,
    });
    await bound.write(
      storeKey('x'),
      { create: true, set: { blob: 'x'.repeat(7000) } },
      Date.now() + HOUR,
    );
    expect(() => bound.cookies('x')).toThrow(/maxBytes: 6144 bytes/);
  });

  it('turns tampered, truncated, re-encoded, duplicated and foreign cookies into a new empty session, never an error', async () => {
    const { call } = await app();
    const jar = new Jar();
    await call('/set?k=role&v=user', jar);
    const good = jar.cookies.get('sid')!;
    const bad = [
      `${good.slice(0, 40)}${good[40] === 'A' ? 'B' : 'A'}${good.slice(41)}`,
      good.slice(0, -1),
      good.slice(0, 20),
      Buffer.from(good, 'base64url').toString('base64'),
      `${good}==`,
      randomBytes(good.length).toString('base64url').slice(0, good.length),
      '',
    ];
    for (const value of bad) {
      const reply = await call('/get', new Jar(), `sid=${value}`);
      expect(reply.status).toBe(200);
      expect(reply.body['data']).toEqual({});
      expect(reply.body['id']).toBeNull();
      // The same answer whatever check failed: no hint, no header.
      expect(reply.setCookies).toEqual([]);
      // The next write replaces the unreadable cookie.
      const jar2 = new Jar();
      jar2.cookies.set('sid', value);
      await call('/set?k=fresh&v=1', jar2);
      expect((await call('/get', jar2)).body['data']).toEqual({ fresh: '1' });
    }
    const twice = await call('/get', new Jar(), `sid=${good}; sid=${bad[0]!}`);
    expect(twice.body['data']).toEqual({});
    // A value sealed for another cookie name (same secrets) is refused too.
    const other = await app({ manager: { cookie: { name: 'other' } } });
    expect((await other.call('/get', new Jar(), `other=${good}`)).body['data']).toEqual({});
  });

  it('refuses every bit flip and truncation of a real session cookie (property)', async () => {
    const store = cookieStore({ secrets: SECRETS });
    const first = store.bind({
      name: 'sid',
      read: () => undefined,
      maxCookieBytes: 4000,
      isValidId: () => true,
    });
    await first.write(
      storeKey('id-1'),
      { create: true, set: { role: 'admin' }, userId: 'u' },
      Date.now() + HOUR,
    );
    const [[, token]] = first.cookies('id-1') as [[string, string]];
    const open = (value: string) =>
      store.bind({
        name: 'sid',
        read: (n) => (n === 'sid' ? value : undefined),
        maxCookieBytes: 4000,
        isValidId: () => true,
      });
    expect(open(token).sessionId).toBe('id-1');
    const bytes = Buffer.from(token, 'base64url');
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const copy = Buffer.from(bytes);
      copy[bit >> 3]! ^= 1 << (bit & 7);
      const bound = open(copy.toString('base64url'));
      expect(bound.sessionId).toBeUndefined();
      expect(await bound.get(storeKey('id-1'))).toBeUndefined();
    }
    for (let n = 0; n < token.length; n++)
      expect(open(token.slice(0, n)).sessionId).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 600 }), (value) => {
        fc.pre(value !== token);
        expect(open(value).sessionId).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a replayed cookie after its idle and absolute deadlines, which live inside the seal', async () => {
    const clock = testClock();
    const { call } = await app({
      clock,
      manager: { idleTimeout: 60_000, absoluteTimeout: 10 * 60_000 },
    });
    const jar = new Jar();
    await call('/set?k=a&v=1', jar);
    const captured = jar.header();
    clock.advance(59_000);
    expect((await call('/get', jar, captured)).body['data']).toEqual({ a: '1' });
    clock.advance(2000);
    expect((await call('/get', new Jar(), captured)).body['data']).toEqual({});
    // Kept busy, the session still ends at the absolute deadline.
    const busy = new Jar();
    await call('/set?k=a&v=1', busy);
    for (let t = 0; t < 10; t++) {
      clock.advance(55_000);
      expect((await call('/get', busy)).body['data']).toEqual({ a: '1' });
    }
    clock.advance(55_000);
    expect((await call('/get', busy)).body['data']).toEqual({});
  });

  it('re-seals with a later deadline when a read comes near the idle deadline', async () => {
    const clock = testClock();
    const { call } = await app({ clock, manager: { idleTimeout: 60_000, touchAfter: 30_000 } });
    const jar = new Jar();
    await call('/set?k=a&v=1', jar);
    clock.advance(10_000);
    expect((await call('/get', jar)).setCookies).toEqual([]);
    clock.advance(25_000);
    expect((await call('/get', jar)).setCookies).toHaveLength(1);
    clock.advance(50_000);
    expect((await call('/get', jar)).body['data']).toEqual({ a: '1' });
  });

  it('rotates keys: old cookies open while their secret is listed, and become new sessions once it is removed', async () => {
    const [oldSecret, newSecret] = [secret(), secret()];
    const jar = new Jar();
    const before = await app({ store: { secrets: [oldSecret] } });
    await before.call('/set?k=a&v=1', jar);
    const oldCookie = jar.header();
    const during = await app({ store: { secrets: [newSecret, oldSecret] } });
    expect((await during.call('/get', jar)).body['data']).toEqual({ a: '1' });
    await during.call('/set?k=b&v=2', jar);
    const after = await app({ store: { secrets: [newSecret] } });
    expect((await after.call('/get', jar)).body['data']).toEqual({ a: '1', b: '2' });
    const reply = await after.call('/get', new Jar(), oldCookie);
    expect(reply.status).toBe(200);
    expect(reply.body['data']).toEqual({});
  });

  it('renews the id on regenerate and login, keeping the data', async () => {
    const { call } = await app();
    const jar = new Jar();
    const first = await call('/set?k=a&v=1', jar);
    const renewed = await call('/regenerate', jar);
    expect(renewed.body['id']).not.toBe(first.body['id']);
    const login = await call('/login?u=alice', jar);
    expect(login.body['id']).not.toBe(renewed.body['id']);
    const read = await call('/get', jar);
    expect(read.body).toMatchObject({ data: { a: '1' }, userId: 'alice', id: login.body['id'] });
  });

  it('without a revocation store: logout clears every chunk here, a copied cookie stays valid until its deadline, revokeUser is UNSUPPORTED', async () => {
    const { call, manager } = await app({ store: { maxBytes: 12_000 } });
    const jar = new Jar();
    await call('/login?u=bob', jar);
    await call('/big?n=4000', jar);
    expect(jar.cookies.size).toBe(2);
    const copy = jar.header();
    const out = await call('/logout', jar);
    expect(out.setCookies.map((l) => l.split('=')[0]).sort()).toEqual(['sid.0', 'sid.1']);
    expect(out.setCookies.every((l) => l.includes('Max-Age=0'))).toBe(true);
    expect(jar.cookies.size).toBe(0);
    expect((await call('/get', jar)).body['userId']).toBeNull();
    // The documented limit: a cookie copied before logout still opens.
    expect((await call('/get', new Jar(), copy)).body['userId']).toBe('bob');
    await expect(manager.revokeUser('bob')).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    await expect(manager.activeCount()).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it("with a revocation store: revokeUser ends every copy of the user's cookies but the caller's, and logout ends copies", async () => {
    const clock = testClock();
    const revocations = memoryStore({ clock });
    const { call } = await app({ clock, store: { revocations } });
    const [laptop, phone, other] = [new Jar(), new Jar(), new Jar()];
    await call('/login?u=carol', laptop);
    await call('/login?u=carol', phone);
    await call('/login?u=dave', other);
    const phoneCopy = phone.header();
    clock.advance(10);
    // Logout everywhere else, from the laptop.
    await call('/revoke?u=carol&except=1', laptop);
    expect((await call('/get', phone)).body['userId']).toBeNull();
    expect((await call('/get', new Jar(), phoneCopy)).body['userId']).toBeNull();
    expect((await call('/get', laptop)).body['userId']).toBe('carol');
    expect((await call('/get', other)).body['userId']).toBe('dave');
    // The kept session stays kept after it renews its id.
    await call('/regenerate', laptop);
    expect((await call('/get', laptop)).body['userId']).toBe('carol');
    // Logging in again after the revocation works.
    clock.advance(10);
    await call('/login?u=carol', phone);
    expect((await call('/get', phone)).body['userId']).toBe('carol');
    // Logout: the copy taken before it no longer opens.
    const laptopCopy = laptop.header();
    await call('/logout', laptop);
    expect((await call('/get', new Jar(), laptopCopy)).body['userId']).toBeNull();
    // Renewal: the pre-renewal cookie of a signed-in session no longer opens.
    const beforeRenewal = phone.header();
    await call('/regenerate', phone);
    expect((await call('/get', new Jar(), beforeRenewal)).body['userId']).toBeNull();
    expect((await call('/get', phone)).body['userId']).toBe('carol');
    // Revoking everyone, no exception.
    clock.advance(10);
    await call('/revoke?u=carol', other);
    expect((await call('/get', phone)).body['userId']).toBeNull();
  });

  it('fails closed with 503 when the revocation store fails, asks it only when the session is used, and recovers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-revocations-'));
    try {
      const { call } = await app({ store: { revocations: fileStore({ dir }) } });
      const jar = new Jar();
      await call('/login?u=frank', jar);
      // A folder where the user's revocation record belongs: reading it fails (EISDIR).
      const broken = layoutOf(dir).file(storeKey('tessera/revoked-user/frank'));
      await mkdir(broken, { recursive: true });
      const failed = await call('/get', jar);
      expect(failed.status).toBe(503);
      expect(failed.body).toEqual({ error: 'STORE_UNAVAILABLE' });
      expect(failed.setCookies).toEqual([]);
      // A request that never touches its session asks nothing.
      expect((await call('/nothing', jar)).status).toBe(200);
      await rm(broken, { recursive: true });
      expect((await call('/get', jar)).body['userId']).toBe('frank');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses transports other than the cookie and a session limit, at start-up', () => {
    const store = cookieStore({ secrets: SECRETS });
    expect(() => createSessionManager({ store, transport: { header: 'x-session' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    expect(() => createSessionManager({ store, transport: { query: 'sid' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    expect(() => createSessionManager({ store, maxSessionsPerUser: 3 })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
  });
});

describe('cookie store options', () => {
  it('refuses weak secrets at start-up with INSECURE_KEY', () => {
    expect(() => cookieStore({ secrets: 'too short' })).toThrow(
      expect.objectContaining({ code: 'INSECURE_KEY' }),
    );
    expect(() =>
      cookieStore({ secrets: [secret(), 'complex_password_at_least_32_characters_long'] }),
    ).toThrow(expect.objectContaining({ code: 'INSECURE_KEY' }));
    expect(() => cookieStore({ secrets: SECRETS, maxBytes: 100 })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
  });

  it('is created from a cookie: URL with secrets passed aside, and checks itself', async () => {
    await expect(createStore('cookie:')).rejects.toMatchObject({ code: 'CONFIG' });
    const store = (await createStore('cookie:?maxBytes=8000&revocations=memory:', {
      secret: SECRETS,
    })) as SealedStore;
    expect(store.name).toBe('cookie');
    await expect(store.check!()).resolves.toBeUndefined();
    await expect(store.destroyByUser!('someone')).resolves.toBe(0);
    await expect(store.get(storeKey('x'))).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    await store.close();
  });
});
