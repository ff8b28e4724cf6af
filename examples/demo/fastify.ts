/**
 * The demo on Fastify: `DEMO_FRAMEWORK=fastify npm start`.
 */
import type { Server } from 'node:http';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { fastifySession, type FastifyRequestWithSession } from '../../src/adapters/fastify.js';
import { isTesseraError, type SessionManager } from '../../src/index.js';
import { handleDemo, type DemoData, type DemoReply, DEMO_ROUTES } from './app.js';

function send(reply: FastifyReply, answer: DemoReply): FastifyReply {
  reply.code(answer.status);
  if (answer.html !== undefined) return reply.type('text/html; charset=utf-8').send(answer.html);
  if (answer.text !== undefined) return reply.type('text/plain; charset=utf-8').send(answer.text);
  return reply.send(answer.json);
}

const notFound = { error: 'NOT_FOUND', message: 'No such route.' };

/** Serves the demo with Fastify on `port`. */
export async function serve(
  manager: SessionManager<DemoData>,
  port: number,
  host?: string,
): Promise<Server> {
  const app = Fastify({ forceCloseConnections: true });
  await app.register(fastifySession, { manager });
  // The demo's API reads raw bodies itself (and answers 400 for bad JSON), so take any body as text.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_request, body, done) => done(null, body),
  );

  const api = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const session = (request as unknown as FastifyRequestWithSession<DemoData>).session;
    const path = request.url.split('?')[0]!;
    const readBody = (): Promise<string> =>
      Promise.resolve(typeof request.body === 'string' ? request.body : '');
    const answer = await handleDemo(manager, session, { method: request.method, path, readBody });
    return answer === undefined ? reply.code(404).send(notFound) : send(reply, answer);
  };
  app.get('/healthz', (_request, reply) => reply.type('text/plain; charset=utf-8').send('ok'));
  for (const [method, route] of DEMO_ROUTES) app[method](route, api);
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(notFound));
  app.setErrorHandler((error, _request, reply) => {
    if (isTesseraError(error)) return reply.code(error.status).send({ error: error.code });
    const status = (error as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return reply
        .code(400)
        .send({ error: 'BAD_REQUEST', message: 'The request body could not be read.' });
    }
    console.error(error);
    return reply.code(500).send({ error: 'INTERNAL' });
  });

  // Listen as node:http does (all interfaces unless HOST says otherwise), not on Fastify's localhost.
  await app.ready();
  await new Promise<void>((resolve, reject) => {
    app.server.once('error', reject);
    app.server.listen(port, host, resolve);
  });
  return app.server;
}
