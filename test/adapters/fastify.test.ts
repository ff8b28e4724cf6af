/**
 * The adapter contract against tessera-session/fastify on Fastify 5, plus what is particular to Fastify:
 * errors reaching its error handler, `trustProxy`, hijacked replies and plugin registration.
 */
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { fastifySession, type FastifyRequestWithSession } from '../../src/adapters/fastify.js';
import {
  createSessionManager,
  isTesseraError,
  type Session,
  type SessionManager,
} from '../../src/index.js';
import { Client, probeStore, type ContractData } from '../contract/adapter-app.js';
import { appOf, ROUTES, runAdapterContract, type RunningApp } from '../contract/adapter.js';

const sessionOf = (request: FastifyRequest): Session<ContractData> =>
  (request as unknown as FastifyRequestWithSession<ContractData>).session;

async function start(app: FastifyInstance): Promise<RunningApp> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const running = appOf(app.server);
  return { url: running.url, close: () => app.close() };
}

async function contractApp(manager: SessionManager<ContractData>): Promise<FastifyInstance> {
  const app = Fastify({ forceCloseConnections: true });
  await app.register(fastifySession, { manager });
  for (const route of ROUTES) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (request, reply) => {
        const query = new URL(request.url, 'http://x').searchParams;
        const answer = await route.run(sessionOf(request), query);
        if (answer.redirect !== undefined) return reply.redirect(answer.redirect, 302);
        reply.code(answer.status ?? 200);
        if (answer.chunks !== undefined)
          return reply.type('text/plain').send(Readable.from(answer.chunks));
        if (answer.text !== undefined) return reply.type('text/plain').send(answer.text);
        return reply.send(answer.json);
      },
    });
  }
  return app;
}

runAdapterContract({
  name: 'Fastify 5',
  start: async (manager) => start(await contractApp(manager)),
});

describe('tessera-session/fastify: what is particular to Fastify', () => {
  const running: RunningApp[] = [];
  afterEach(async () => {
    for (const app of running.splice(0)) await app.close();
  });

  it("a failed commit reaches the app's error handler as a TesseraError, with no cookie", async () => {
    const store = probeStore();
    const seen: unknown[] = [];
    const app = Fastify({ forceCloseConnections: true });
    await app.register(fastifySession, { manager: createSessionManager<ContractData>({ store }) });
    app.setErrorHandler((error, _request, reply) => {
      seen.push(error);
      return reply
        .code(isTesseraError(error) ? error.status : 500)
        .send({ failed: isTesseraError(error) ? error.code : 'other' });
    });
    app.post('/', async (request) => {
      sessionOf(request).set('a', 1);
      return { ok: true };
    });
    running.push(await start(app));
    store.mode = 'reject';
    const answer = await new Client(running[0]!.url).post('/');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ failed: 'STORE_UNAVAILABLE' });
    expect(answer.setCookies).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(isTesseraError(seen[0])).toBe(true);
  });

  it('registered at the root, it serves routes of encapsulated plugins too', async () => {
    const app = Fastify({ forceCloseConnections: true });
    await app.register(fastifySession, {
      manager: createSessionManager<ContractData>({ store: probeStore() }),
    });
    await app.register(async (child) => {
      child.post('/', async (request) => {
        sessionOf(request).set('a', 1);
        return {};
      });
    });
    running.push(await start(app));
    expect((await new Client(running[0]!.url).post('/')).setCookies[0]).toMatch(/^sid=/);
  });

  it.each([
    ['root first', ['/plain', '/', '/child/plain', '/child/raw']],
    ['child first', ['/child/raw', '/child/plain', '/', '/plain']],
  ])(
    'a hijacked reply written to reply.raw is held until the commit, in any plugin context (%s)',
    async (_order, paths) => {
      const store = probeStore();
      store.writeDelayMs = 100;
      const app = Fastify({ forceCloseConnections: true });
      await app.register(fastifySession, {
        manager: createSessionManager<ContractData>({ store }),
      });
      const raw = (request: FastifyRequest, reply: FastifyReply): void => {
        sessionOf(request).set('a', request.url);
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/plain' });
        reply.raw.end('raw');
      };
      app.post('/', raw);
      app.get('/plain', async () => ({ plain: true }));
      await app.register(
        async (child) => {
          child.post('/raw', raw);
          child.get('/plain', async () => ({ plain: true }));
        },
        { prefix: '/child' },
      );
      running.push(await start(app));
      for (const path of paths) {
        const isPlain = path.endsWith('plain');
        const answer = await new Client(running[0]!.url).send(isPlain ? 'GET' : 'POST', path);
        if (isPlain) {
          expect(JSON.parse(answer.body)).toEqual({ plain: true });
          expect(answer.setCookies).toEqual([]);
        } else {
          expect(answer.body).toBe('raw');
          expect(answer.ms).toBeGreaterThanOrEqual(90);
          expect(answer.setCookies).toHaveLength(1);
          expect(answer.setCookies[0]).toMatch(/^sid=/);
        }
      }
    },
  );

  it("Fastify's `trustProxy` decides the Secure flag and the address kept at login", async () => {
    const manager = createSessionManager<ContractData>({ store: probeStore() });
    const app = Fastify({ trustProxy: true, forceCloseConnections: true });
    await app.register(fastifySession, { manager });
    app.post('/', async (request) => {
      await sessionOf(request).login('ann');
      return { ip: (await manager.sessionsOf('ann'))[0]?.ip ?? null };
    });
    running.push(await start(app));
    const answer = await new Client(running[0]!.url).send('POST', '/', {
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.7',
    });
    expect(answer.setCookies[0]).toMatch(/; Secure/i);
    expect(JSON.parse(answer.body)).toEqual({ ip: '203.0.113.7' });
  });

  it('registering without a manager fails at start-up with a CONFIG error', async () => {
    const app = Fastify();
    await expect(app.register(fastifySession, {} as never)).rejects.toMatchObject({
      code: 'CONFIG',
    });
  });
});
