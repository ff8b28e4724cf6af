/**
 * tessera-session/upgrade: sessions on WebSocket handshakes (the real `ws` package, client and
 * server), socket.io's allowRequest and SSE streams, on a node:http server on 127.0.0.1.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { sendError, withSessions } from '../../src/adapters/node.js';
import {
  allowRequest,
  loadUpgradeSession,
  sessionOfUpgrade,
  sessionUpgrade,
} from '../../src/adapters/upgrade.js';
import { createSessionManager, type Session, type SessionManager } from '../../src/index.js';
import {
  Client,
  listen,
  probeStore,
  type ProbeStore,
  type RunningApp,
} from '../contract/adapter-app.js';

const TRUSTED = 'https://app.example';
const STORE_TIMEOUT = 150;

let store: ProbeStore;
let manager: SessionManager;
let wss: WebSocketServer;
let app: RunningApp;
let host: string;
/** What the last `allowRequest` callback was given, and the session it left for the request. */
let allowed: { args: [string | null | undefined, boolean]; userId: string | undefined } | undefined;

/** Streams an SSE answer from the session of a read-only load: its user, then ticks. */
function streamEvents(session: Session, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  res.write(`data: user ${session.userId ?? 'none'}\n\n`);
  const timer = setInterval(() => res.write('data: tick\n\n'), 10);
  req.on('close', () => clearInterval(timer));
}

beforeEach(async () => {
  store = probeStore();
  // touchAfter 0: every loaded session is due a touch, which a handshake must still not make.
  manager = createSessionManager({ store, storeTimeout: STORE_TIMEOUT, touchAfter: 0 });
  wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws: WebSocket, req: IncomingMessage, session: Session) => {
    let change = 'allowed';
    try {
      session.set('seen', true);
    } catch (error) {
      change = (error as { code?: string }).code ?? 'error';
    }
    ws.send(
      JSON.stringify({
        userId: session.userId ?? null,
        isNew: session.isNew,
        isReadOnly: session.isReadOnly,
        isSameAsGetter: sessionOfUpgrade(req) === session,
        change,
      }),
    );
  });
  const crossOrigin = { trustedOrigins: [TRUSTED] };
  const strict = sessionUpgrade(manager, wss, { requireUser: true, crossOrigin });
  const open = sessionUpgrade(manager, wss, { crossOrigin });
  const proxied = sessionUpgrade(manager, wss, { crossOrigin, trustProxy: true });
  const unchecked = sessionUpgrade(manager, wss, { crossOrigin: false });
  const admins = sessionUpgrade(manager, wss, {
    requireUser: (session) => session.userId === 'root',
  });
  const upgrades: Record<string, typeof strict> = {
    '/ws': strict,
    '/ws/open': open,
    '/ws/proxied': proxied,
    '/ws/unchecked': unchecked,
    '/ws/admin': admins,
  };
  const allow = allowRequest(manager, { requireUser: true, crossOrigin });

  const routes = withSessions(manager, async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://test.invalid');
    if (req.method === 'POST' && url.pathname === '/login') {
      await req.session.login(url.searchParams.get('user') ?? 'alice');
      return void res.end(
        JSON.stringify({ id: req.session.id, handle: manager.handleOf(req.session) }),
      );
    }
    if (req.method === 'POST' && url.pathname === '/logout') {
      await req.session.logout();
      return void res.end('{}');
    }
    if (url.pathname === '/events') {
      // An SSE route of the node adapter: its own req.session stays untouched, the stream reads a
      // read-only one.
      const session = await loadUpgradeSession(manager, req, { requireUser: true });
      return streamEvents(session, req, res);
    }
    res.writeHead(404).end();
  });
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/socket.io/')) {
      // What engine.io does with its allowRequest option, on a plain request.
      return allow(req, (...args) => {
        allowed = { args, userId: sessionOfUpgrade(req)?.userId };
        res.writeHead(args[1] ? 200 : 403).end();
      });
    }
    if (req.url === '/sse') {
      return void loadUpgradeSession(manager, req).then(
        (session) => streamEvents(session, req, res),
        (error: unknown) => sendError(error, req, res),
      );
    }
    routes(req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    (upgrades[req.url ?? ''] ?? strict)(req, socket, head);
  });
  app = await listen(server);
  host = app.url.slice('http://'.length);
  allowed = undefined;
});

afterEach(async () => {
  store.reset();
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  await app.close();
  await manager.close();
});

/** A logged-in browser: its cookie header, session id and device handle. */
async function login(
  user = 'alice',
): Promise<{ cookie: string; id: string; handle: string; client: Client }> {
  const client = new Client(app.url);
  const answer = await client.post(`/login?user=${user}`);
  expect(answer.status).toBe(200);
  const { id, handle } = JSON.parse(answer.body) as { id: string; handle: string };
  return { cookie: client.cookieHeader(), id, handle, client };
}

interface Hello {
  userId: string | null;
  isNew: boolean;
  isReadOnly: boolean;
  isSameAsGetter: boolean;
  change: string;
}
type Outcome =
  { status: 101; hello: Hello } | { status: number; body: string; headers: IncomingHttpHeaders };

/** Opens a WebSocket with the `ws` client: the server's hello, or the refusal it answered with. */
function handshake(path: string, headers: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${host}${path}`, { headers });
    ws.once('message', (data: Buffer) => {
      resolve({ status: 101, hello: JSON.parse(data.toString('utf8')) as Hello });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    ws.once('error', reject);
  });
}

/** A GET answered with headers first: the response, to stream from. */
function get(path: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    httpRequest(`${app.url}${path}`, { headers }, resolve).on('error', reject).end();
  });
}

/** Reads an SSE stream until it has carried `events` events, then hangs up. */
async function readEvents(res: IncomingMessage, events: number): Promise<string[]> {
  const seen: string[] = [];
  res.setEncoding('utf8');
  let buffered = '';
  for await (const chunk of res as AsyncIterable<string>) {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n\n')) !== -1) {
      seen.push(buffered.slice(0, end));
      buffered = buffered.slice(end + 2);
    }
    if (seen.length >= events) break;
  }
  res.destroy();
  return seen;
}

describe('tessera-session/upgrade: WebSocket handshakes (ws)', () => {
  it("connects a logged-in browser's WebSocket and hands the server its read-only session", async () => {
    const { cookie } = await login('alice');
    const outcome = await handshake('/ws', { cookie });
    expect(outcome).toEqual({
      status: 101,
      hello: {
        userId: 'alice',
        isNew: false,
        isReadOnly: true,
        isSameAsGetter: true,
        change: 'READ_ONLY',
      },
    });
  });

  it('makes one store read and writes nothing (no touch, no Set-Cookie) for a handshake', async () => {
    const { cookie } = await login('alice');
    store.reset();
    const outcome = await handshake('/ws', { cookie });
    expect(outcome.status).toBe(101);
    expect(store.calls).toEqual({ get: 1 });
  });

  it('refuses with 401 a handshake with no cookie or an unknown one when requireUser is on', async () => {
    const none = await handshake('/ws');
    expect(none.status).toBe(401);
    expect(none).toMatchObject({ body: '{"error":"UNAUTHENTICATED"}' });
    const unknown = await handshake('/ws', { cookie: `sid=${'x'.repeat(43)}` });
    expect(unknown.status).toBe(401);
    const { cookie } = await login('alice');
    const tampered = await handshake('/ws', { cookie: cookie.slice(0, -2) + 'AA' });
    expect(tampered.status).toBe(401);
  });

  it('accepts an anonymous visitor as a new session when requireUser is off', async () => {
    const outcome = await handshake('/ws/open');
    expect(outcome).toMatchObject({ status: 101, hello: { userId: null, isNew: true } });
    expect(store.total()).toBe(0);
  });

  it('applies a requireUser predicate only to sessions bound to a user', async () => {
    const alice = await login('alice');
    const root = await login('root');
    expect((await handshake('/ws/admin', { cookie: alice.cookie })).status).toBe(401);
    expect((await handshake('/ws/admin', { cookie: root.cookie })).status).toBe(101);
    expect((await handshake('/ws/admin')).status).toBe(401);
  });

  it('refuses at the next handshake a session revoked through manager.revoke(handle)', async () => {
    const { cookie, handle } = await login('alice');
    expect((await handshake('/ws', { cookie })).status).toBe(101);
    await manager.revoke(handle);
    expect((await handshake('/ws', { cookie })).status).toBe(401);
  });

  it("refuses the other devices' sessions after revokeUser(user, { except }) and keeps that one", async () => {
    const laptop = await login('alice');
    const phone = await login('alice');
    expect(await manager.revokeUser('alice', { except: phone.handle })).toBe(1);
    expect((await handshake('/ws', { cookie: laptop.cookie })).status).toBe(401);
    expect((await handshake('/ws', { cookie: phone.cookie })).status).toBe(101);
  });

  it('refuses a session destroyed by id (manager.destroy) or logged out from another request', async () => {
    const first = await login('alice');
    await manager.destroy(first.id);
    expect((await handshake('/ws', { cookie: first.cookie })).status).toBe(401);

    const second = await login('alice');
    // Another tab of the same browser logs out; this socket's page still holds the old cookie.
    const tab = new Client(app.url, new Map(second.client.cookies));
    expect((await tab.post('/logout')).status).toBe(200);
    expect((await handshake('/ws', { cookie: second.cookie })).status).toBe(401);
  });
});

describe('tessera-session/upgrade: Cross-Site WebSocket Hijacking', () => {
  it('refuses with 403 a handshake from another site, before any store call', async () => {
    const { cookie } = await login('alice');
    store.reset();
    for (const origin of ['https://evil.example', 'http://127.0.0.1.evil.example', 'null']) {
      const outcome = await handshake('/ws', { cookie, origin });
      expect(outcome, origin).toMatchObject({ status: 403, body: '{"error":"CROSS_SITE"}' });
    }
    // Even a handshake that needs no user is refused: the page would get the user's channel.
    expect((await handshake('/ws/open', { cookie, origin: 'https://evil.example' })).status).toBe(
      403,
    );
    expect(store.total()).toBe(0);
  });

  it('accepts the same origin (http or ws, any case, default port left out) and trusted origins', async () => {
    const { cookie } = await login('alice');
    const port = host.split(':')[1]!;
    for (const origin of [
      `http://${host}`,
      `ws://${host}`,
      `HTTP://127.0.0.1:${port}`,
      `https://${host}`,
      TRUSTED,
      'HTTPS://APP.EXAMPLE',
    ]) {
      const outcome = await handshake('/ws', { cookie, origin });
      expect(outcome, origin).toMatchObject({ status: 101, hello: { userId: 'alice' } });
    }
    // Host with the default port given, Origin without it: one origin.
    const outcome = await handshake('/ws', {
      cookie,
      origin: 'http://localhost',
      host: 'localhost:80',
    });
    expect(outcome.status).toBe(101);
  });

  it('over TLS (a trusted proxy says so) refuses a page served over plain http', async () => {
    const { cookie } = await login('alice');
    const secure = { cookie, 'x-forwarded-proto': 'https' };
    expect((await handshake('/ws/proxied', { ...secure, origin: `http://${host}` })).status).toBe(
      403,
    );
    expect((await handshake('/ws/proxied', { ...secure, origin: `https://${host}` })).status).toBe(
      101,
    );
  });

  it('lets any origin through with crossOrigin: false', async () => {
    const { cookie } = await login('alice');
    const outcome = await handshake('/ws/unchecked', { cookie, origin: 'https://evil.example' });
    expect(outcome).toMatchObject({ status: 101, hello: { userId: 'alice' } });
  });

  it('refuses at start-up a trusted origin that is not of the form browsers send', () => {
    const crossOrigin = { trustedOrigins: ['https://a.example/'] };
    expect(() => sessionUpgrade(manager, wss, { crossOrigin })).toThrow(/scheme:\/\/host/);
    expect(() => allowRequest(manager, { crossOrigin: { bypass: ['ws'] } })).toThrow(/start with/);
  });
});

describe('tessera-session/upgrade: store failures', () => {
  it('answers 503 when the store fails, never accepting the handshake as anonymous', async () => {
    const { cookie } = await login('alice');
    store.mode = 'reject';
    for (const path of ['/ws', '/ws/open']) {
      const outcome = await handshake(path, { cookie });
      expect(outcome, path).toMatchObject({ status: 503, body: '{"error":"STORE_UNAVAILABLE"}' });
    }
  });

  it('answers 503 STORE_TIMEOUT when the store hangs past storeTimeout', async () => {
    const { cookie } = await login('alice');
    store.mode = 'hang';
    const started = performance.now();
    const outcome = await handshake('/ws/open', { cookie });
    expect(outcome).toMatchObject({ status: 503, body: '{"error":"STORE_TIMEOUT"}' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(STORE_TIMEOUT - 10);
  });

  it('survives a client that resets its connection while the store is asked', async () => {
    const { cookie } = await login('alice');
    store.mode = 'hang';
    const socket = connect(Number(host.split(':')[1]), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
        `Cookie: ${cookie}\r\n\r\n`,
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    socket.resetAndDestroy();
    // The load times out on a socket that is gone; the server still serves the next handshake.
    await new Promise((resolve) => setTimeout(resolve, STORE_TIMEOUT + 50));
    store.mode = 'ok';
    expect((await handshake('/ws', { cookie })).status).toBe(101);
  });
});

describe('tessera-session/upgrade: socket.io allowRequest', () => {
  it('calls back (null, true) for a logged-in browser and leaves its session for socket.request', async () => {
    const { cookie } = await login('alice');
    expect((await get('/socket.io/?EIO=4&transport=polling', { cookie })).statusCode).toBe(200);
    expect(allowed).toEqual({ args: [null, true], userId: 'alice' });
  });

  it("calls back (code, false) for no user, another site's page and a failed store", async () => {
    await get('/socket.io/?EIO=4&transport=websocket');
    expect(allowed).toEqual({ args: ['UNAUTHENTICATED', false], userId: undefined });
    const { cookie } = await login('alice');
    await get('/socket.io/?EIO=4', { cookie, origin: 'https://evil.example' });
    expect(allowed).toEqual({ args: ['CROSS_SITE', false], userId: undefined });
    await get('/socket.io/?EIO=4', { cookie, origin: TRUSTED });
    expect(allowed).toEqual({ args: [null, true], userId: 'alice' });
    store.mode = 'reject';
    await get('/socket.io/?EIO=4', { cookie });
    expect(allowed).toEqual({ args: ['STORE_UNAVAILABLE', false], userId: undefined });
  });
});

describe('tessera-session/upgrade: SSE', () => {
  it('streams events from a read-only session on plain node:http: one read, no write, no Set-Cookie', async () => {
    const { cookie } = await login('alice');
    store.reset();
    const res = await get('/sse', { cookie, accept: 'text/event-stream' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await readEvents(res, 3)).toEqual(['data: user alice', 'data: tick', 'data: tick']);
    expect(store.calls).toEqual({ get: 1 });
  });

  it('streams through the node adapter (withSessions) with a read-only session beside req.session', async () => {
    const { cookie } = await login('alice');
    store.reset();
    const res = await get('/events', { cookie, accept: 'text/event-stream' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await readEvents(res, 3)).toEqual(['data: user alice', 'data: tick', 'data: tick']);
    expect(store.calls).toEqual({ get: 1 });
  });

  it('answers a stream refused by its session with the error status (401, 403, 503)', async () => {
    expect((await get('/events')).statusCode).toBe(401);
    const { cookie } = await login('alice');
    expect((await get('/sse', { cookie, origin: 'https://evil.example' })).statusCode).toBe(403);
    store.mode = 'reject';
    expect((await get('/sse', { cookie })).statusCode).toBe(503);
  });
});
