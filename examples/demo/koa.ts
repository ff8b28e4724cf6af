/**
 * The demo on Koa: `DEMO_FRAMEWORK=koa npm start`.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import Koa from 'koa';
import { koaSession } from '../../src/adapters/koa.js';
import type { SessionManager } from '../../src/index.js';
import { errorReply, handleDemo, type DemoData } from './app.js';

/** The raw body, at most 64 KiB kept (the API answers 400 past its own limit). */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 64 * 1024) chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Serves the demo with Koa on `port`. */
export async function serve(
  manager: SessionManager<DemoData>,
  port: number,
  host?: string,
): Promise<Server> {
  const app = new Koa()
    .use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        const reply = errorReply(error);
        if (reply.status === 500) console.error(error);
        ctx.status = reply.status;
        ctx.body = reply.json;
      }
    })
    .use(async (ctx, next) => {
      if (ctx.path !== '/healthz') {
        await next();
        return;
      }
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'ok';
    })
    .use(koaSession(manager))
    .use(async (ctx) => {
      const reply = await handleDemo(manager, ctx.session, {
        method: ctx.method,
        path: ctx.path,
        contentType: ctx.headers['content-type'],
        readBody: () => readBody(ctx.req),
      });
      if (reply === undefined) {
        ctx.status = 404;
        ctx.body = { error: 'NOT_FOUND', message: 'No such route.' };
        return;
      }
      ctx.status = reply.status;
      if (reply.html !== undefined) ctx.type = 'text/html; charset=utf-8';
      else if (reply.text !== undefined) ctx.type = 'text/plain; charset=utf-8';
      ctx.body = reply.html ?? reply.text ?? reply.json;
    });
  const handle = app.callback();
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
