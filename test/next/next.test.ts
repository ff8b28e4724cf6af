/**
 * tessera-session/next in a real Next.js app (test/fixtures/next-app), built with `next build` and
 * served by `next start`: route handlers, Server Actions submitted as a browser submits their
 * forms, Server Components, and the proxy, all on one memory store shared through `globalThis`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startNextApp, textOf, visitor, type NextApp, type Visitor } from './app.js';

let app: NextApp;

beforeAll(async () => {
  app = await startNextApp();
}, 240_000);

afterAll(async () => {
  // Undefined when the build failed.
  await (app as NextApp | undefined)?.stop();
});

/** Store calls by operation since the last reset, and the outage switch (`null`: none). */
async function control(body?: { failAfter?: number | null; reset?: true }): Promise<{
  ops: Record<string, number>;
}> {
  const response = await fetch(`${app.base}/api/control`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await response.json()) as { ops: Record<string, number> };
}

beforeEach(async () => {
  await control({ failAfter: null, reset: true });
});

/** The count the visitor's session holds, as a route handler reads it. */
async function countOf(v: Visitor): Promise<number> {
  return ((await (await v.go('/api/count')).json()) as { count: number }).count;
}

/** A visitor whose session exists and counts `count`. */
async function counted(count: number): Promise<Visitor> {
  const v = visitor(app.base);
  for (let i = 0; i < count; i++) await v.go('/api/count', { method: 'POST' });
  return v;
}

describe('route handlers (withSessions)', () => {
  it('read and write the session; the cookie sent back carries the session', async () => {
    const v = visitor(app.base);
    const first = await v.go('/api/count');
    expect(await first.json()).toEqual({ count: 0, userId: null });
    expect(first.headers.getSetCookie()).toEqual([]);

    const write = await v.go('/api/count', { method: 'POST' });
    expect(await write.json()).toEqual({ count: 1 });
    expect(write.headers.getSetCookie()).toEqual([
      expect.stringMatching(/^sid=[\w-]+; Max-Age=3600; Path=\/; HttpOnly; SameSite=Lax$/),
    ]);
    expect(await (await v.go('/api/count', { method: 'POST' })).json()).toEqual({ count: 2 });
    expect(await countOf(v)).toBe(2);
  });

  it('refuse a POST from another site before the handler runs (403 CROSS_SITE)', async () => {
    const v = await counted(1);
    const response = await v.go('/api/count', {
      method: 'POST',
      headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: 'CROSS_SITE' });
    expect(await countOf(v)).toBe(1);
  });

  it('answer a store failure with 503 and no session cookie', async () => {
    const v = await counted(1);
    await control({ failAfter: 0 });
    const response = await v.go('/api/count', { method: 'POST' });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'STORE_UNAVAILABLE' });
    expect(response.headers.getSetCookie()).toEqual([]);
    await control({ failAfter: null });
    expect(await countOf(v)).toBe(1);
  });

  it('send the new id a login already stored when it then fails (the headers of discard)', async () => {
    const v = await counted(3);
    const before = v.cookies.get('sid');
    // The record is renamed to its new id; the login's write binding the user fails.
    await control({ failAfter: 1, reset: true });
    const response = await v.go('/api/login', {
      method: 'POST',
      body: JSON.stringify({ name: 'ada' }),
    });
    const { ops } = await control({ failAfter: null });
    expect(ops).toEqual({ rename: 1, write: 1 });
    expect(response.status).toBe(503);
    expect(v.cookies.get('sid')).toMatch(/^[\w-]+$/);
    expect(v.cookies.get('sid')).not.toBe(before);
    // The client kept a working session: the new id holds the data.
    expect(await countOf(v)).toBe(3);
  });
});

describe('Server Actions (getSession, commitSession, updateSession)', () => {
  it('write through cookies(): the Set-Cookie keeps its attributes, and the page rendered after the action sees the new session', async () => {
    const v = visitor(app.base);
    const response = await v.submit('/');
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual([
      // Next adds the Expires that matches Max-Age.
      expect.stringMatching(
        /^sid=[\w-]+; Path=\/; Expires=[^;]+ GMT; Max-Age=3600; HttpOnly; SameSite=lax$/,
      ),
    ]);
    // The same response: Next renders the page after the action, with the cookie it just set.
    expect(textOf(await response.text(), 'count')).toBe('1');
    expect(await countOf(v)).toBe(1);
    expect(textOf(await (await v.submit('/')).text(), 'count')).toBe('2');
  });

  it('set a Secure cookie when Next says the request came over https', async () => {
    const v = visitor(app.base);
    const response = await v.submit('/', {}, { 'x-forwarded-proto': 'https' });
    expect(response.headers.getSetCookie()).toEqual([expect.stringMatching(/; Secure;/)]);
  });

  it('log in and redirect after the commit; the proxy lets the visitor in; a redirect inside updateSession still commits the logout', async () => {
    const v = visitor(app.base);
    const guarded = await v.go('/private');
    expect(guarded.status).toBe(307);
    expect(guarded.headers.get('location')).toBe('/login');

    const login = await v.submit('/login', { name: 'ada' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/private');
    expect(login.headers.getSetCookie()).toEqual([expect.stringMatching(/^sid=[\w-]+;/)]);

    const page = await v.go('/private');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(textOf(html, 'owner')).toBe('ada');
    expect(textOf(html, 'user')).toBe('ada');

    const logout = await v.submit('/private');
    expect(logout.status).toBe(303);
    expect(logout.headers.get('location')).toBe('/login');
    // The proxy's touch re-sends the persistent cookie; the action's clearing comes after it.
    expect(logout.headers.getSetCookie().at(-1)).toMatch(/^sid=; .*Max-Age=0/);
    expect(v.cookies.has('sid')).toBe(false);
    expect((await v.go('/private')).status).toBe(307);
  });

  it('send the new id a login already stored when it then fails, if the action catches the error', async () => {
    const v = await counted(3);
    const before = v.cookies.get('sid');
    const submit = await v.form('/login');
    // The record is renamed to its new id; the login's write binding the user fails.
    await control({ failAfter: 1, reset: true });
    const response = await submit({ name: 'ada' });
    expect((await control({ failAfter: null })).ops).toEqual({ rename: 1, write: 1 });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?error=STORE_UNAVAILABLE');
    expect(v.cookies.get('sid')).toMatch(/^[\w-]+$/);
    expect(v.cookies.get('sid')).not.toBe(before);
    expect(await countOf(v)).toBe(3);
  });
});

describe('Server Components (readSession)', () => {
  it('read the session without writing it: no touch, no Set-Cookie, one store read per render', async () => {
    const v = await counted(2);
    await control({ reset: true });
    for (let i = 0; i < 3; i++) {
      const page = await v.go('/');
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(textOf(html, 'count')).toBe('2');
      expect(textOf(html, 'read-only')).toBe('true');
      expect(page.headers.getSetCookie()).toEqual([]);
    }
    // The layout and the page read the same session: one read per request, nothing written,
    // although this manager moves the deadline on every read of a writable session:
    expect((await control()).ops).toEqual({ get: 3 });
    await countOf(v);
    expect((await control()).ops).toEqual({ get: 4, touch: 1 });
  });

  it('refuse a write with READ_ONLY, with a message that says where to write', async () => {
    const v = await counted(1);
    const page = await v.go('/write');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(textOf(html, 'code')).toBe('READ_ONLY');
    expect(textOf(html, 'message')).toMatch(/opened read-only.*route handler, a Server Action/);
    expect(page.headers.getSetCookie()).toEqual([]);

    const uncaught = await v.go('/write-uncaught');
    expect(uncaught.status).toBe(500);
    expect(uncaught.headers.getSetCookie()).toEqual([]);
    expect(await countOf(v)).toBe(1);
  });
});

describe('proxy.ts (withSessions on the Node.js runtime)', () => {
  it('redirects a visitor whose session is not logged in', async () => {
    const v = await counted(1);
    const response = await v.go('/private');
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toBe('/login');
  });

  it('moves the idle deadline of a logged-in visitor who only reads pages', async () => {
    const v = visitor(app.base);
    await v.go('/api/login', { method: 'POST', body: JSON.stringify({ name: 'grace' }) });
    await control({ reset: true });
    const page = await v.go('/private');
    expect(textOf(await page.text(), 'owner')).toBe('grace');
    // The proxy reads and touches (its persistent cookie goes out again); the page only reads.
    expect((await control()).ops).toEqual({ get: 2, touch: 1 });
    expect(page.headers.getSetCookie()).toEqual([
      expect.stringMatching(/^sid=[\w-]+; Max-Age=3600/),
    ]);
  });
});
