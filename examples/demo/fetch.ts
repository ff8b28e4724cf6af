/**
 * The demo as one Fetch API handler (`Request` in, `Response` out), served on node:http through
 * @hono/node-server's bridge: `DEMO_FRAMEWORK=fetch npm start`. The same handler runs unchanged
 * in Bun (`Bun.serve({ fetch })`), Deno (`Deno.serve(fetch)`) or a Next.js route handler.
 */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { withSessions } from '../../src/adapters/fetch.js';
import type { SessionManager } from '../../src/index.js';
import { errorReply, handleDemo, type DemoData, type DemoReply } from './app.js';

function toResponse(reply: DemoReply | undefined): Response {
  if (reply === undefined)
    return Response.json({ error: 'NOT_FOUND', message: 'No such route.' }, { status: 404 });
  if (reply.html !== undefined)
    return new Response(reply.html, {
      status: reply.status,
      headers: { 'content-type': 'text/html; charset=utf-8' },
    });
  if (reply.text !== undefined)
    return new Response(reply.text, {
      status: reply.status,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  return Response.json(reply.json, { status: reply.status });
}

/** The demo as a Fetch handler. Store failures (and failed commits) are answered by `errorReply`. */
export function demoHandler(
  manager: SessionManager<DemoData>,
): (request: Request) => Promise<Response> {
  return withSessions(
    manager,
    async (request, session) => {
      const path = new URL(request.url).pathname;
      return toResponse(
        await handleDemo(manager, session, {
          method: request.method,
          path,
          contentType: request.headers.get('content-type') ?? undefined,
          readBody: () => request.text(),
        }),
      );
    },
    { onError: (error) => toResponse(errorReply(error)) },
  );
}

/** Serves the demo's Fetch handler on `port`. */
export async function serve(
  manager: SessionManager<DemoData>,
  port: number,
  host?: string,
): Promise<Server> {
  const server = createAdaptorServer({ fetch: demoHandler(manager) }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
