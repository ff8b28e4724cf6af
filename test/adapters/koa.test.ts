/**
 * The adapter contract against tessera-session/koa, on Koa 3 and Koa 2, plus what is particular to Koa:
 * errors reaching Koa's error handling, `app.proxy`, and responses written straight to `ctx.res`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { koaSession } from '../../src/adapters/koa.js';
import { createSessionManager, isTesseraError, type SessionManager } from '../../src/index.js';
import { Client, probeStore, type ContractData } from '../contract/adapter-app.js';
import { listen, routeOf, runAdapterContract, type RunningApp } from '../contract/adapter.js';

const require = createRequire(import.meta.url);
/** Koa 2, installed as the `koa2` alias; the middleware API is the one Koa 3 has. */
const Koa2 = require('koa2') as typeof Koa;

/** Serves a Koa app on 127.0.0.1, as `app.listen()` does. */
function serve(app: {
  callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}): Promise<RunningApp> {
  const handle = app.callback();
  return listen(createServer((req, res) => void handle(req, res)));
}

function contractApp(Framework: typeof Koa, manager: SessionManager<ContractData>) {
  const app = new Framework();
  app.silent = true;
  return app.use(koaSession(manager)).use(async (ctx) => {
    const { route, query } = routeOf(ctx.method, ctx.url);
    if (!route) return;
    const reply = await route.run(ctx.session, query);
    if (reply.redirect !== undefined) return ctx.redirect(reply.redirect);
    ctx.status = reply.status ?? 200;
    if (reply.chunks !== undefined) {
      ctx.type = 'text/plain';
      ctx.body = Readable.from(reply.chunks);
    } else {
      ctx.body = reply.text ?? reply.json;
    }
  });
}

runAdapterContract({ name: 'Koa 3', start: (manager) => serve(contractApp(Koa, manager)) });
runAdapterContract({ name: 'Koa 2', start: (manager) => serve(contractApp(Koa2, manager)) });

describe('tessera-session/koa: what is particular to Koa', () => {
  const running: RunningApp[] = [];
  afterEach(async () => {
    for (const app of running.splice(0)) await app.close();
  });

  it('a failed commit reaches an upstream error handler as a TesseraError, with no cookie', async () => {
    const store = probeStore();
    const seen: unknown[] = [];
    const app = new Koa()
      .use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          seen.push(error);
          ctx.status = isTesseraError(error) ? error.status : 500;
          ctx.body = { failed: isTesseraError(error) ? error.code : 'other' };
        }
      })
      .use(koaSession(createSessionManager<ContractData>({ store })))
      .use((ctx) => {
        ctx.session.set('a', 1);
        ctx.body = { ok: true };
      });
    running.push(await serve(app));
    store.mode = 'reject';
    const answer = await new Client(running[0]!.url).post('/');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ failed: 'STORE_UNAVAILABLE' });
    expect(answer.setCookies).toEqual([]);
    expect(isTesseraError(seen[0])).toBe(true);
  });

  it('a response written straight to ctx.res is held until the commit', async () => {
    const store = probeStore();
    store.writeDelayMs = 100;
    const app = new Koa()
      .use(koaSession(createSessionManager<ContractData>({ store })))
      .use((ctx) => {
        ctx.session.set('a', 'raw');
        ctx.respond = false;
        ctx.res.writeHead(302, { location: '/next' }).end();
      });
    running.push(await serve(app));
    const answer = await new Client(running[0]!.url).post('/');
    expect(answer.status).toBe(302);
    expect(answer.ms).toBeGreaterThanOrEqual(90);
    expect(answer.setCookies[0]).toMatch(/^sid=/);
  });

  it("Koa's `app.proxy` decides the Secure flag and the address kept at login", async () => {
    const manager = createSessionManager<ContractData>({ store: probeStore() });
    const app = new Koa({ proxy: true }).use(koaSession(manager)).use(async (ctx) => {
      await ctx.session.login('ann');
      ctx.body = { ip: (await manager.sessionsOf('ann'))[0]?.ip ?? null };
    });
    running.push(await serve(app));
    const answer = await new Client(running[0]!.url).send('POST', '/', {
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.7',
    });
    expect(answer.setCookies[0]).toMatch(/; Secure/i);
    expect(JSON.parse(answer.body)).toEqual({ ip: '203.0.113.7' });
  });
});
