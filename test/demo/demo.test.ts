/**
 * The demo, started as `npm start` starts it (`tsx examples/demo/main.ts`) once per framework, on
 * 127.0.0.1 with PORT=0, and driven through the same HTTP checks of its JSON API and page, with
 * the memory store and with the cookie store.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Answer } from '../contract/adapter-app.js';
import { SERVICES, skipUnless } from '../support/services.js';
import { runDemoToExit, startDemo, stopDemo, type Demo } from './start.js';

const FRAMEWORKS = ['node', 'express', 'fastify', 'koa', 'hono', 'fetch'] as const;

const json = (body: string): unknown => JSON.parse(body);
const send = (client: Client, method: string, path: string, body: string): Promise<Answer> =>
  client.send(method, path, { 'content-type': 'application/json' }, body);

// All six start side by side: each takes a second or two to compile and listen.
const starting = new Map(
  FRAMEWORKS.map((framework) => [
    framework,
    startDemo({ DEMO_FRAMEWORK: framework, TESSERA_STORE: 'memory:' }),
  ]),
);
// A failed start is reported by the describe that waits for it.
for (const pending of starting.values()) pending.catch(() => {});
afterAll(async () => {
  await Promise.all(
    [...starting.values()].map((pending) => pending.then(stopDemo, () => undefined)),
  );
});

for (const framework of FRAMEWORKS) {
  describe(`the demo on ${framework}`, () => {
    let demo: Demo | undefined;
    beforeAll(async () => {
      demo = await starting.get(framework)!;
    }, 30_000);

    it('starts with the framework and store it was given', () => {
      expect(demo!.banner).toContain(`tessera demo (${framework}, store memory)`);
    });

    it('serves /healthz without a session, and 404 for unknown routes', async () => {
      const client = new Client(demo!.url);
      const health = await client.get('/healthz');
      expect([health.status, health.body, health.setCookies]).toEqual([200, 'ok', []]);
      const missing = await client.get('/api/nothing-here');
      expect(missing.status).toBe(404);
      expect(json(missing.body)).toMatchObject({ error: 'NOT_FOUND' });
    });

    it('has an operator view fed by its own metrics, which touches no session', async () => {
      const client = new Client(demo!.url);
      await client.post('/api/count');
      await client.post('/api/count');
      const ops = await new Client(demo!.url).get('/api/ops');
      expect(ops.status).toBe(200);
      expect(ops.setCookies).toEqual([]);
      const body = json(ops.body) as {
        store: string;
        totals: { calls: number; errors: number; commits: Record<string, number> };
        samples: unknown[];
      };
      expect(body.store).toBe('memory');
      expect(body.totals.calls).toBeGreaterThanOrEqual(2);
      expect(Object.keys(body.totals.commits).sort()).toEqual(['create', 'none', 'touch', 'write']);
      expect(Array.isArray(body.samples)).toBe(true);
      const metrics = await new Client(demo!.url).get('/metrics');
      expect(metrics.body).toMatch(/^tessera_store_call_duration_seconds_count\{/m);
      expect(metrics.body).not.toContain(client.cookies.get('sid')!);
      const page = await new Client(demo!.url).get('/ops');
      expect(page.status).toBe(200);
      expect(page.body).toContain('Operator view');
    });

    it('counts visits in a session that starts with the first write', async () => {
      const client = new Client(demo!.url);
      const first = await client.get('/api/session');
      expect(json(first.body)).toEqual({ count: 0, user: null, flash: [] });
      expect(first.setCookies).toEqual([]);
      expect(json((await client.post('/api/count')).body)).toEqual({ count: 1 });
      expect(client.cookies.has('sid')).toBe(true);
      expect(json((await client.post('/api/count')).body)).toEqual({ count: 2 });
    });

    it('logs in, shows the welcome flash once on the page, keeps preferences and logs out', async () => {
      const client = new Client(demo!.url);
      await client.post('/api/count');
      const before = client.cookies.get('sid');
      expect(json((await send(client, 'POST', '/api/login', '{"user":"alice"}')).body)).toEqual({
        user: 'alice',
      });
      expect(client.cookies.get('sid')).not.toBe(before);
      expect(json((await client.get('/api/session')).body)).toEqual({
        count: 1,
        user: 'alice',
        flash: ['Welcome, alice.'],
      });
      const page = await client.get('/');
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(page.body).toContain('<p class="flash">Welcome, alice.</p>');
      expect(json((await client.get('/api/session')).body)).toMatchObject({ flash: [] });
      expect(
        json((await send(client, 'PUT', '/api/prefs/theme', '{"value":"dark"}')).body),
      ).toEqual({ name: 'theme', value: 'dark' });
      expect(json((await client.get('/api/prefs')).body)).toEqual({ theme: 'dark' });
      expect(json((await client.post('/api/logout')).body)).toEqual({ user: null });
      expect(json((await client.get('/api/session')).body)).toEqual({
        count: 0,
        user: null,
        flash: [],
      });
    });

    it('lists the devices of a user and revokes them', async () => {
      const user = `bob${randomBytes(3).toString('hex')}`;
      const [laptop, phone, tablet] = [
        new Client(demo!.url),
        new Client(demo!.url),
        new Client(demo!.url),
      ];
      for (const device of [laptop, phone, tablet])
        await send(device, 'POST', '/api/login', JSON.stringify({ user }));
      const devices = json((await laptop.get('/api/devices')).body) as Array<{
        id: string;
        current: boolean;
      }>;
      expect(devices).toHaveLength(3);
      expect(devices.filter((d) => d.current)).toHaveLength(1);
      const other = devices.find((d) => !d.current)!;
      expect(json((await laptop.post(`/api/devices/${other.id}/revoke`)).body)).toEqual({
        revoked: 1,
      });
      expect(json((await laptop.post('/api/devices/revoke-others')).body)).toEqual({ revoked: 1 });
      expect(json((await phone.get('/api/session')).body)).toMatchObject({ user: null });
      expect(json((await tablet.get('/api/session')).body)).toMatchObject({ user: null });
      expect(json((await laptop.get('/api/session')).body)).toMatchObject({ user });
    });

    it('answers bad input with 400 and a message, and devices without a login with 401', async () => {
      const client = new Client(demo!.url);
      const badJson = await send(client, 'POST', '/api/login', '{not json');
      expect(badJson.status).toBe(400);
      expect(json(badJson.body)).toMatchObject({ error: 'BAD_REQUEST' });
      expect(
        (await send(client, 'POST', '/api/login', '{"user":"no spaces allowed"}')).status,
      ).toBe(400);
      expect((await send(client, 'PUT', '/api/prefs/theme', 'x'.repeat(20_000))).status).toBe(400);
      const devices = await client.get('/api/devices');
      expect(devices.status).toBe(401);
      expect(json(devices.body)).toMatchObject({ error: 'NOT_LOGGED_IN' });
    });

    it('destroys a session on request', async () => {
      const client = new Client(demo!.url);
      await client.post('/api/count');
      expect(json((await client.post('/api/destroy')).body)).toEqual({});
      expect(client.cookies.has('sid')).toBe(false);
      expect(json((await client.get('/api/session')).body)).toMatchObject({ count: 0 });
    });

    it('refuses a body not sent as JSON with 415 and a message (no login from a plain form)', async () => {
      const client = new Client(demo!.url);
      // What an HTML form on any site can send: text/plain with a JSON body (login CSRF).
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp']) {
        const login = await client.send(
          'POST',
          '/api/login',
          { 'content-type': type },
          '{"user":"eve"}',
        );
        expect(login.status, type).toBe(415);
        expect(json(login.body), type).toEqual({
          error: 'UNSUPPORTED_MEDIA_TYPE',
          message: expect.stringContaining('Content-Type: application/json'),
        });
      }
      const pref = await client.send(
        'PUT',
        '/api/prefs/theme',
        { 'content-type': 'text/plain' },
        '{"value":"dark"}',
      );
      expect(pref.status).toBe(415);
      expect(json((await client.get('/api/session')).body)).toMatchObject({ user: null });
      expect(json((await client.get('/api/prefs')).body)).toEqual({});
      const withCharset = await client.send(
        'POST',
        '/api/login',
        { 'content-type': 'Application/JSON; charset=utf-8' },
        '{"user":"alice"}',
      );
      expect(json(withCharset.body)).toEqual({ user: 'alice' });
    });

    it('answers a preference name that is malformed or "__proto__" with 400 and a message', async () => {
      const client = new Client(demo!.url);
      const malformed = await send(client, 'PUT', '/api/prefs/%E0%A4%A', '{"value":"x"}');
      expect(malformed.status).toBe(400);
      expect(json(malformed.body)).toEqual({ error: 'BAD_REQUEST', message: expect.any(String) });
      const proto = await send(client, 'PUT', '/api/prefs/__proto__', '{"value":"x"}');
      expect(proto.status).toBe(400);
      expect(json(proto.body)).toEqual({
        error: 'BAD_REQUEST',
        message: expect.stringContaining('"__proto__" is reserved'),
      });
      expect(json((await client.get('/api/prefs')).body)).toEqual({});
    });

    it("answers a value no session can keep with the error's status, 422 INVALID_DATA, and why", async () => {
      const client = new Client(demo!.url);
      const deep = `{"value":${'['.repeat(100)}${']'.repeat(100)}}`;
      const answer = await send(client, 'PUT', '/api/prefs/deep', deep);
      expect(answer.status).toBe(422);
      expect(json(answer.body)).toEqual({
        error: 'INVALID_DATA',
        message: expect.stringContaining('deep'),
      });
    });

    it('says in one line that its port is taken, and exits with 1', async () => {
      const port = new URL(demo!.url).port;
      const exit = await runDemoToExit({ DEMO_FRAMEWORK: framework, PORT: port });
      expect(exit.code).toBe(1);
      expect(exit.stderr.trim().split('\n')).toEqual([
        `demo: port ${port} is already in use (another demo?): stop it, or set PORT to a free port.`,
      ]);
    });
  });

  describe(`the demo on ${framework} with the cookie store`, () => {
    let demo: Demo | undefined;
    beforeAll(async () => {
      demo = await startDemo({
        DEMO_FRAMEWORK: framework,
        TESSERA_STORE: 'cookie:',
        TESSERA_SECRET: randomBytes(32).toString('hex'),
      });
    }, 30_000);
    afterAll(() => stopDemo(demo));

    it('answers a session too large for the cookie with 413 TOO_LARGE and a message', async () => {
      const client = new Client(demo!.url);
      expect((await send(client, 'PUT', '/api/prefs/theme', '{"value":"dark"}')).status).toBe(200);
      const essay = JSON.stringify({ value: randomBytes(6000).toString('hex') });
      const tooLarge = await send(client, 'PUT', '/api/prefs/essay', essay);
      expect(tooLarge.status).toBe(413);
      expect(json(tooLarge.body)).toEqual({
        error: 'TOO_LARGE',
        message: expect.stringContaining('cookie store'),
      });
      expect(tooLarge.setCookies).toEqual([]);
      expect(json((await client.get('/api/prefs')).body)).toEqual({ theme: 'dark' });
    });

    it('answers devices with 501 UNSUPPORTED and a message (the cookie keeps no user index)', async () => {
      const client = new Client(demo!.url);
      expect((await send(client, 'POST', '/api/login', '{"user":"carol"}')).status).toBe(200);
      const devices = await client.get('/api/devices');
      expect(devices.status).toBe(501);
      expect(json(devices.body)).toEqual({
        error: 'UNSUPPORTED',
        message: expect.stringContaining('no user index'),
      });
      expect(json((await client.get('/api/session')).body)).toMatchObject({ user: 'carol' });
    });
  });
}

const redisSkip = await skipUnless('Redis', SERVICES.redis.port);
describe.skipIf(redisSkip)('the demo honours TESSERA_STORE', () => {
  let demo: Demo | undefined;
  beforeAll(async () => {
    const prefix = `demo-${randomBytes(4).toString('hex')}:`;
    demo = await startDemo({
      DEMO_FRAMEWORK: 'hono',
      TESSERA_STORE: `redis://127.0.0.1:${SERVICES.redis.port}/0?prefix=${prefix}`,
    });
  }, 30_000);
  afterAll(() => stopDemo(demo));

  it('keeps its sessions in the store the URL names', async () => {
    expect(demo!.banner).toContain('tessera demo (hono, store redis)');
    const client = new Client(demo!.url);
    await client.post('/api/count');
    expect(json((await client.post('/api/count')).body)).toEqual({ count: 2 });
  });
});

describe('the demo honours TESSERA_SECRET (the cookie store needs one)', () => {
  let demo: Demo | undefined;
  beforeAll(async () => {
    demo = await startDemo({
      DEMO_FRAMEWORK: 'koa',
      TESSERA_STORE: 'cookie:',
      TESSERA_SECRET: randomBytes(32).toString('hex'),
    });
  }, 30_000);
  afterAll(() => stopDemo(demo));

  it('keeps its sessions sealed in the cookie', async () => {
    expect(demo!.banner).toContain('tessera demo (koa, store cookie)');
    const client = new Client(demo!.url);
    await client.post('/api/count');
    expect(json((await client.post('/api/count')).body)).toEqual({ count: 2 });
  });
});
