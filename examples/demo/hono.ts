/**
 * The demo on Hono (served by @hono/node-server): `DEMO_FRAMEWORK=hono npm start`.
 */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { honoSession, type SessionEnv } from '../../src/adapters/hono.js';
import type { SessionManager } from '../../src/index.js';
import { errorReply, handleDemo, type DemoData, DEMO_ROUTES } from './app.js';

type Env = SessionEnv<DemoData>;

/** Serves the demo with Hono on `port`. */
export async function serve(
  manager: SessionManager<DemoData>,
  port: number,
  host?: string,
): Promise<Server> {
  const app = new Hono<Env>();
  app.get('/healthz', (c) => c.text('ok'));
  app.use(honoSession(manager));

  const api = async (c: Context<Env>): Promise<Response> => {
    const reply = await handleDemo(manager, c.get('session'), {
      method: c.req.method,
      path: c.req.path,
      contentType: c.req.header('content-type'),
      readBody: () => c.req.text(),
    });
    if (reply === undefined) return c.notFound();
    if (reply.html !== undefined) return c.html(reply.html, reply.status as 200);
    if (reply.text !== undefined) return c.text(reply.text, reply.status as 200);
    return c.json(reply.json, reply.status as 200);
  };
  for (const [method, route] of DEMO_ROUTES) app[method](route, api);
  app.notFound((c) => c.json({ error: 'NOT_FOUND', message: 'No such route.' }, 404));
  app.onError((error, c) => {
    const reply = errorReply(error);
    if (reply.status === 500) console.error(error);
    return c.json(reply.json, reply.status as 500);
  });

  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
