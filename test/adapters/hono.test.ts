/**
 * The adapter contract against tessera-session/hono on Hono 4 (served by @hono/node-server), plus what is
 * particular to Hono: `app.onError`, responses with immutable headers, and typed `c.get('session')`.
 */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { afterEach, describe, expect, it } from 'vitest';
import { honoSession, type SessionEnv } from '../../src/adapters/hono.js';
import { createSessionManager, isTesseraError, type SessionManager } from '../../src/index.js';
import { Client, probeStore, type ContractData } from '../contract/adapter-app.js';
import { listen, ROUTES, runAdapterContract, type RunningApp } from '../contract/adapter.js';

const serve = (app: Hono<SessionEnv<ContractData>>): Promise<RunningApp> =>
  listen(createAdaptorServer({ fetch: app.fetch }) as Server);

function contractApp(manager: SessionManager<ContractData>): Hono<SessionEnv<ContractData>> {
  const app = new Hono<SessionEnv<ContractData>>();
  app.use(honoSession(manager));
  for (const route of ROUTES) {
    app.on(route.method, route.path, async (c) => {
      const reply = await route.run(c.get('session'), new URL(c.req.url).searchParams);
      if (reply.redirect !== undefined) return c.redirect(reply.redirect, 302);
      const chunks = reply.chunks;
      if (chunks !== undefined) {
        c.header('content-type', 'text/plain');
        return stream(c, async (s) => {
          for await (const chunk of chunks) await s.write(chunk);
        });
      }
      if (reply.text !== undefined) return c.text(reply.text);
      return c.json(reply.json);
    });
  }
  return app;
}

runAdapterContract({ name: 'Hono 4', start: (manager) => serve(contractApp(manager)) });

describe('tessera-session/hono: what is particular to Hono', () => {
  const running: RunningApp[] = [];
  afterEach(async () => {
    for (const app of running.splice(0)) await app.close();
  });

  it('a failed commit reaches app.onError as a TesseraError, with no cookie', async () => {
    const store = probeStore();
    const seen: unknown[] = [];
    const app = new Hono<SessionEnv<ContractData>>();
    app.use(honoSession(createSessionManager<ContractData>({ store })));
    app.onError((error, c) => {
      seen.push(error);
      return c.json(
        { failed: isTesseraError(error) ? error.code : 'other' },
        isTesseraError(error) ? 503 : 500,
      );
    });
    app.post('/', (c) => {
      c.get('session').set('a', 1);
      return c.json({ ok: true });
    });
    running.push(await serve(app));
    store.mode = 'reject';
    const answer = await new Client(running[0]!.url).post('/');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ failed: 'STORE_UNAVAILABLE' });
    expect(answer.setCookies).toEqual([]);
    expect(isTesseraError(seen[0])).toBe(true);
  });

  it('a response with immutable headers (from fetch) still gets the session cookie', async () => {
    const upstream = new Hono();
    upstream.get('/', (c) => c.text('upstream'));
    running.push(await listen(createAdaptorServer({ fetch: upstream.fetch }) as Server));
    const app = new Hono<SessionEnv<ContractData>>();
    app.use(honoSession(createSessionManager<ContractData>({ store: probeStore() })));
    app.post('/', async (c) => {
      c.get('session').set('a', 1);
      return fetch(running[0]!.url);
    });
    running.push(await serve(app));
    const answer = await new Client(running[1]!.url).post('/');
    expect(answer.body).toBe('upstream');
    expect(answer.setCookies[0]).toMatch(/^sid=/);
  });

  it('`trustProxy` lets a proxy say the request was https', async () => {
    const app = new Hono<SessionEnv<ContractData>>();
    app.use(
      honoSession(createSessionManager<ContractData>({ store: probeStore() }), {
        trustProxy: true,
      }),
    );
    app.post('/', (c) => {
      c.get('session').set('a', 1);
      return c.json({});
    });
    running.push(await serve(app));
    const answer = await new Client(running[0]!.url).send('POST', '/', {
      'x-forwarded-proto': 'https',
    });
    expect(answer.setCookies[0]).toMatch(/; Secure/i);
  });
});
