/**
 * The demo on Fastify: `DEMO_FRAMEWORK=fastify npm start`.
 */
import type { Server } from 'node:http';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { fastifySession, type FastifyRequestWithSession } from '../../src/adapters/fastify.js';
import type { SessionManager } from '../../src/index.js';
import { errorReply, handleDemo, type DemoData, type DemoReply, DEMO_ROUTES } from './app.js';

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
  const app = Fastify({
    forceCloseConnections: true,
    // A URL Fastify cannot decode (`%E0%A4%A`) gets the demo's answer, not Fastify's own shape.
    frameworkErrors: (error, _request, reply) => void send(reply, errorReply(error)),
  });
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
    const answer = await handleDemo(manager, session, {
      method: request.method,
      path,
      contentType: request.headers['content-type'],
      readBody,
    });
    return answer === undefined ? reply.code(404).send(notFound) : send(reply, answer);
  };
  app.get('/healthz', (_request, reply) => reply.type('text/plain; charset=utf-8').send('ok'));
  for (const [method, route] of DEMO_ROUTES) app[method](route, api);
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(notFound));
  app.setErrorHandler((error, _request, reply) => {
    const answer = errorReply(error);
    if (answer.status === 500) console.error(error);
    return send(reply, answer);
  });

  // Listen as node:http does (all interfaces unless HOST says otherwise), not on Fastify's localhost.
  await app.ready();
  await new Promise<void>((resolve, reject) => {
    app.server.once('error', reject);
    app.server.listen(port, host, resolve);
  });
  return app.server;
}
