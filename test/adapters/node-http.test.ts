import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSessionManager } from '../../src/index.js';
import { withSessions, type RequestWithSession } from '../../src/adapters/node.js';
import { memoryStore } from '../../src/stores/memory/index.js';
import { spyStore } from '../support/spy-store.js';
import type { ServerResponse } from 'node:http';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function start(
  handler: (req: RequestWithSession, res: ServerResponse) => unknown,
  delayWrites = 0,
) {
  const inner = memoryStore();
  const slow = {
    ...inner,
    write: async (...args: Parameters<typeof inner.write>) => (
      await new Promise((r) => setTimeout(r, delayWrites)),
      inner.write(...args)
    ),
  };
  const store = spyStore(delayWrites ? slow : inner);
  const manager = createSessionManager({ store, gcInterval: false });
  server = createServer(withSessions(manager, handler));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let cookie: string | undefined;
  const go = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(base + path, {
      redirect: 'manual',
      ...init,
      headers: { ...(cookie ? { cookie } : {}), ...(init.headers as Record<string, string>) },
    });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
    if (set) cookie = set.split(';')[0]!.endsWith('=') ? undefined : set.split(';')[0];
    return res;
  };
  return {
    store,
    go,
    get cookie() {
      return cookie;
    },
  };
}

describe('node:http adapter', () => {
  it("holds responses through Node's prototype, leaving a server without sessions in the same process untouched", async () => {
    const app = await start(async (req, res) => {
      await req.session.increment('n');
      res.end('ok');
    });
    expect((await app.go('/')).status).toBe(200);
    // Node's response prototype carries the interceptors now; nothing of them shows on its own
    // responses, and a plain server's responses (written every way) pass straight through.
    const plain = createServer((req, res) => {
      if (req.url === '/head') {
        res.writeHead(201, { 'x-plain': '1' });
        res.write('a');
        res.end('b');
      } else {
        res.setHeader('x-plain', '2');
        res.flushHeaders();
        res.end('c');
      }
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
      const head = await fetch(`${base}/head`);
      expect([head.status, head.headers.get('x-plain'), await head.text()]).toEqual([
        201,
        '1',
        'ab',
      ]);
      expect(head.headers.get('vary')).toBeNull();
      expect(head.headers.get('set-cookie')).toBeNull();
      const flushed = await fetch(`${base}/flush`);
      expect([flushed.status, flushed.headers.get('x-plain'), await flushed.text()]).toEqual([
        200,
        '2',
        'c',
      ]);
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
    // And the sessions' server still commits before its head goes out.
    const second = await app.go('/');
    expect(second.status).toBe(200);
    expect(Object.hasOwn((await import('node:http')).ServerResponse.prototype, 'end')).toBe(true);
  });

  it('commits before the head goes out, so the request after a redirect sees the login', async () => {
    const app = await start(async (req, res) => {
      if (req.url === '/login') {
        await req.session.login('alice');
        res.writeHead(302, { location: '/me' }).end();
      } else {
        await req.session.load();
        res.end(req.session.userId ?? 'anonymous');
      }
    }, 30);
    const login = await app.go('/login', { method: 'POST' });
    expect(login.status).toBe(302);
    expect(login.headers.get('cache-control')).toBe('no-store');
    expect(await (await app.go('/me')).text()).toBe('alice');
  });

  it('keeps the session cookie next to cookies the handler sets in writeHead', async () => {
    const app = await start((req, res) => {
      req.session.set('a', 1);
      res.writeHead(200, { 'Set-Cookie': 'theme=dark; Path=/' }).end('ok');
    });
    const res = await app.go('/');
    const cookies = res.headers.getSetCookie();
    expect(cookies.some((c) => c.startsWith('theme=dark'))).toBe(true);
    expect(cookies.some((c) => /^sid=[A-Za-z0-9_-]{43};/.test(c))).toBe(true);
  });

  it('streams a body written in chunks after committing', async () => {
    const app = await start((req, res) => {
      req.session.set('a', 1);
      res.write('one,');
      setTimeout(() => res.end('two'), 10);
    });
    const res = await app.go('/');
    expect(await res.text()).toBe('one,two');
    expect(app.cookie).toMatch(/^sid=/);
  });

  it('returns what the real methods return while the head is held, so chained calls work', async () => {
    const returned: unknown[] = [];
    let response: ServerResponse | undefined;
    const app = await start((req, res) => {
      response = res;
      req.session.set('a', 1);
      returned.push(res.write('one,'));
      returned.push(res.end('two'));
    }, 20);
    const res = await app.go('/');
    expect(await res.text()).toBe('one,two');
    expect(returned[0]).toBe(true);
    expect(returned[1]).toBe(response);
    expect(app.cookie).toMatch(/^sid=/);
  });

  it('answers 500 and saves nothing when the handler throws', async () => {
    const app = await start((req) => {
      req.session.set('half', true);
      throw new Error('boom');
    });
    const res = await app.go('/');
    expect(res.status).toBe(500);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(app.store.ops('write')).toEqual([]);
  });

  it('answers 503 with no cookie when the store is down, and recovers when it returns', async () => {
    const app = await start(async (req, res) => {
      res.end(String(await req.session.increment('n')));
    });
    expect(await (await app.go('/')).text()).toBe('1');
    app.store.mode = 'fail';
    const down = await app.go('/');
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: 'STORE_UNAVAILABLE' });
    expect(down.headers.getSetCookie()).toEqual([]);
    app.store.mode = 'ok';
    expect(await (await app.go('/')).text()).toBe('2');
  });

  it('costs no store call for a route that never touches the session, cookie or not', async () => {
    const app = await start((req, res) => {
      if (req.url === '/healthz') {
        res.end('ok');
        return;
      }
      req.session.set('a', 1);
      res.end('set');
    });
    await app.go('/');
    app.store.reset();
    const res = await app.go('/healthz');
    expect(await res.text()).toBe('ok');
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(app.store.calls).toEqual([]);
  });
});

describe('node:http adapter, handlers that capture res.end before touching the session', () => {
  it('still commits first when res.end was read before the await (res.end(String(await …)))', async () => {
    const app = await start(async (req, res) => {
      res.end(String(await req.session.increment('n')));
    });
    const first = await app.go('/');
    expect(await first.text()).toBe('1');
    expect(app.cookie).toMatch(/^sid=/);
    expect(await (await app.go('/')).text()).toBe('2');
  });
});
