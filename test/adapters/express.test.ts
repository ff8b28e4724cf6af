/**
 * The adapter contract against tessera-session/express, on Express 5, Express 4 and Connect, plus what is
 * particular to Express: errors reaching Express's error handlers, and its `trust proxy` setting.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import compression from 'compression';
import connect from 'connect';
import express, {
  type ErrorRequestHandler,
  type Express,
  type NextFunction,
  type Request,
  type Response,
} from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { expressSession, type RequestWithSession } from '../../src/adapters/express.js';
import {
  createSessionManager,
  isTesseraError,
  type Session,
  type SessionManager,
} from '../../src/index.js';
import { Client, probeStore, type ContractData, type Reply } from '../contract/adapter-app.js';
import {
  listen,
  routeOf,
  ROUTES,
  runAdapterContract,
  writeReply,
  type RunningApp,
} from '../contract/adapter.js';

const require = createRequire(import.meta.url);
/** Express 4, installed as the `express4` alias; its API here is the one Express 5 shares. */
const express4 = require('express4') as typeof express;

const sessionOf = (req: Request): Session<ContractData> =>
  (req as unknown as RequestWithSession<ContractData>).session;

function send(res: Response, reply: Reply): void {
  if (reply.redirect !== undefined) res.redirect(302, reply.redirect);
  else if (reply.chunks !== undefined)
    Readable.from(reply.chunks).pipe(res.status(reply.status ?? 200).type('text'));
  else if (reply.text !== undefined)
    res
      .status(reply.status ?? 200)
      .type('text')
      .send(reply.text);
  else res.status(reply.status ?? 200).json(reply.json);
}

/** The contract app in Express's idiom; Express 4 needs async errors passed to `next` by hand. */
function contractApp(framework: typeof express, manager: SessionManager<ContractData>): Express {
  const app = framework();
  app.use(expressSession(manager));
  for (const route of ROUTES) {
    const method = route.method === 'GET' ? 'get' : 'post';
    app[method](route.path, (req: Request, res: Response, next: NextFunction) => {
      const query = new URL(req.originalUrl, 'http://x').searchParams;
      route.run(sessionOf(req), query).then((reply) => send(res, reply), next);
    });
  }
  return app;
}

runAdapterContract({
  name: 'Express 5',
  start: (manager) => listen(createServer(contractApp(express, manager))),
});
runAdapterContract({
  name: 'Express 4',
  start: (manager) => listen(createServer(contractApp(express4, manager))),
});
runAdapterContract({
  name: 'Connect',
  start: (manager) => {
    const app = connect();
    app.use(expressSession(manager));
    app.use((req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => {
      const { route, query } = routeOf(req.method, req.url);
      if (!route) return next();
      route
        .run((req as RequestWithSession<ContractData>).session, query)
        .then((reply) => writeReply(res, reply), next);
    });
    return listen(createServer(app));
  },
});

describe('tessera-session/express: what is particular to Express', () => {
  const running: RunningApp[] = [];
  afterEach(async () => {
    for (const app of running.splice(0)) await app.close();
  });

  it("a failed commit reaches the app's error handler as a TesseraError, with no cookie", async () => {
    const store = probeStore();
    const manager = createSessionManager<ContractData>({ store });
    const app = express();
    const seen: unknown[] = [];
    app.use(expressSession(manager));
    app.post('/set', (req, res) => {
      sessionOf(req).set('a', 1);
      res.cookie('own', 'kept-out').json({ ok: true });
    });
    const handler: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
      seen.push(error);
      res
        .status(isTesseraError(error) ? error.status : 500)
        .json({ failed: isTesseraError(error) ? error.code : 'other' });
    };
    app.use(handler);
    running.push(await listen(createServer(app)));
    store.mode = 'reject';
    const answer = await new Client(running[0]!.url).post('/set');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ failed: 'STORE_UNAVAILABLE' });
    expect(answer.setCookies).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(isTesseraError(seen[0])).toBe(true);
  });

  it("Express's `trust proxy` decides the Secure flag and the address kept at login", async () => {
    const manager = createSessionManager<ContractData>({ store: probeStore() });
    const app = express();
    app.set('trust proxy', true);
    app.use(expressSession(manager));
    app.post('/login', async (req, res) => {
      await sessionOf(req).login('ann');
      const devices = await manager.sessionsOf('ann');
      res.json({ ip: devices[0]?.ip ?? null });
    });
    running.push(await listen(createServer(app)));
    const answer = await new Client(running[0]!.url).send('POST', '/login', {
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.7, 10.0.0.1',
    });
    expect(answer.setCookies[0]).toMatch(/; Secure/i);
    expect(JSON.parse(answer.body)).toEqual({ ip: '203.0.113.7' });
  });

  it('without `trust proxy`, forwarded headers are ignored', async () => {
    const manager = createSessionManager<ContractData>({ store: probeStore() });
    const app = express();
    app.use(expressSession(manager));
    app.post('/set', (req, res) => {
      sessionOf(req).set('a', 1);
      res.json({});
    });
    running.push(await listen(createServer(app)));
    const answer = await new Client(running[0]!.url).send('POST', '/set', {
      'x-forwarded-proto': 'https',
    });
    expect(answer.setCookies[0]).not.toMatch(/secure/i);
  });
  /** An app whose `/visit` sets a value (written blind, slowly) and answers 4 KB, gzipped. */
  function gzipApp(order: 'compression first' | 'session first', store = probeStore()): Express {
    const manager = createSessionManager<ContractData>({ store });
    store.writeDelayMs = 30;
    const app = express();
    if (order === 'compression first') app.use(compression(), expressSession(manager));
    else app.use(expressSession(manager), compression());
    const body = 'tessera '.repeat(512);
    app.get('/visit', (req, res) => {
      sessionOf(req).set('seen', true);
      res.type('text').send(body);
    });
    app.get('/stream', (req, res) => {
      sessionOf(req).set('streamed', true);
      Readable.from([body, body]).pipe(res.type('text'));
    });
    app.get('/read', async (req, res) => {
      const session = sessionOf(req);
      res.json({
        seen: (await session.get('seen')) ?? null,
        streamed: (await session.get('streamed')) ?? null,
      });
    });
    return app;
  }

  it.each(['compression first', 'session first'] as const)(
    'holds the head until the commit with `compression()` (%s), and the body arrives whole',
    async (order) => {
      running.push(await listen(createServer(gzipApp(order))));
      const client = new Client(running[0]!.url);
      for (const path of ['/visit', '/stream']) {
        const answer = await client.send('GET', path, { 'accept-encoding': 'gzip' });
        expect(answer.status).toBe(200);
        expect(answer.headers.get('content-encoding')).toBe('gzip');
        expect(answer.body).toBe('tessera '.repeat(path === '/visit' ? 512 : 1024));
        expect(answer.setCookies).toHaveLength(path === '/visit' ? 1 : 0);
      }
      // The writes were in the store before each answer left: the next request sees them.
      const read = await client.get('/read');
      expect(JSON.parse(read.body)).toEqual({ seen: true, streamed: true });
    },
  );

  it('holds the head when `compression()` runs first on some paths only (both holding ways in one app)', async () => {
    const store = probeStore();
    const manager = createSessionManager<ContractData>({ store });
    store.writeDelayMs = 30;
    const app = express();
    app.use('/gz', compression());
    app.use(expressSession(manager));
    const body = 'tessera '.repeat(512);
    const visit = (req: Request, res: Response): void => {
      void sessionOf(req)
        .increment('count')
        .then((count) => res.type('text').send(`${count} ${body}`));
    };
    app.get('/visit', visit);
    app.get('/gz/visit', visit);
    running.push(await listen(createServer(app)));
    const client = new Client(running[0]!.url);
    const seen: string[] = [];
    for (const path of ['/visit', '/gz/visit', '/visit', '/gz/visit']) {
      const answer = await client.send('GET', path, { 'accept-encoding': 'gzip' });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-encoding')).toBe(path.startsWith('/gz') ? 'gzip' : null);
      expect(answer.ms).toBeGreaterThanOrEqual(25);
      seen.push(answer.body.slice(0, answer.body.indexOf(' ')));
      expect(answer.body.endsWith(body)).toBe(true);
    }
    expect(seen).toEqual(['1', '2', '3', '4']);
  });

  it('holds responses of mounted sub-apps and of apps without sessions in the same process alike', async () => {
    const manager = createSessionManager<ContractData>({ store: probeStore() });
    const parent = express();
    const child = express();
    const plain = express();
    parent.use(expressSession(manager));
    const visit = (req: Request, res: Response): void => {
      const session = sessionOf(req);
      void session.increment('count').then((count) => res.json({ count }));
    };
    parent.get('/visit', visit);
    child.get('/visit', visit);
    parent.use('/child', child);
    plain.get('/plain', (_req, res) => void res.type('text').end('plain'));
    running.push(await listen(createServer(parent)), await listen(createServer(plain)));
    const client = new Client(running[0]!.url);
    const counts: unknown[] = [];
    for (const path of ['/visit', '/child/visit', '/visit', '/child/visit'])
      counts.push(JSON.parse((await client.get(path)).body));
    expect(counts).toEqual([{ count: 1 }, { count: 2 }, { count: 3 }, { count: 4 }]);
    const other = await new Client(running[1]!.url).get('/plain');
    expect(other.body).toBe('plain');
    expect(other.setCookies).toEqual([]);
  });
});
