/**
 * The adapter contract against tessera-session/fetch: plain Web Request/Response handlers, served by
 * @hono/node-server's bridge, plus loadSession/commitSession for frameworks that return responses.
 */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { commitSession, loadSession, withSessions } from '../../src/adapters/fetch.js';
import { createSessionManager, type SessionManager } from '../../src/index.js';
import { Client, probeStore, type ContractData, type Reply } from '../contract/adapter-app.js';
import { listen, routeOf, runAdapterContract, type RunningApp } from '../contract/adapter.js';

function toResponse(reply: Reply, request: Request): Response {
  if (reply.redirect !== undefined)
    return Response.redirect(new URL(reply.redirect, request.url), 302);
  const chunks = reply.chunks;
  if (chunks !== undefined) {
    const iterator = chunks[Symbol.asyncIterator]();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(new TextEncoder().encode(next.value));
      },
    });
    return new Response(body, {
      status: reply.status ?? 200,
      headers: { 'content-type': 'text/plain' },
    });
  }
  if (reply.text !== undefined) return new Response(reply.text, { status: reply.status ?? 200 });
  return Response.json(reply.json, { status: reply.status ?? 200 });
}

const serve = (fetch: (request: Request) => Promise<Response>): Promise<RunningApp> =>
  listen(createAdaptorServer({ fetch }) as Server);

function contractHandler(
  manager: SessionManager<ContractData>,
): (request: Request) => Promise<Response> {
  return withSessions(manager, async (request, session) => {
    const { route, query } = routeOf(
      request.method,
      new URL(request.url).pathname + new URL(request.url).search,
    );
    if (!route) return new Response('not found', { status: 404 });
    return toResponse(await route.run(session, query), request);
  });
}

runAdapterContract({ name: 'Fetch API', start: (manager) => serve(contractHandler(manager)) });

describe('tessera-session/fetch: loadSession and commitSession', () => {
  const running: RunningApp[] = [];
  afterEach(async () => {
    for (const app of running.splice(0)) await app.close();
  });

  it('a loader-style handler loads, changes and commits the session itself', async () => {
    const manager = createSessionManager<ContractData>({ store: probeStore() });
    running.push(
      await serve(async (request) => {
        const session = loadSession(manager, request);
        const visits = ((await session.get('visits')) as number | undefined) ?? 0;
        session.set('visits', visits + 1);
        return commitSession(manager, session, Response.json({ visits: visits + 1 }));
      }),
    );
    const client = new Client(running[0]!.url);
    expect(JSON.parse((await client.get('/')).body)).toEqual({ visits: 1 });
    expect(JSON.parse((await client.get('/')).body)).toEqual({ visits: 2 });
  });

  it('extra handler arguments (env, ctx) are passed through', async () => {
    const manager = createSessionManager<ContractData>({ store: probeStore() });
    const handler = withSessions(manager, (_request, _session, env: { name: string }) =>
      Response.json({ env: env.name }),
    );
    const response = await handler(new Request('http://app.test/'), { name: 'worker' });
    expect(await response.json()).toEqual({ env: 'worker' });
  });

  it('an https request URL sets the Secure flag', async () => {
    const manager = createSessionManager<ContractData>({ store: probeStore() });
    const handler = withSessions(manager, (_request, session) => {
      session.set('a', 1);
      return new Response('ok');
    });
    const response = await handler(new Request('https://app.test/'));
    expect(response.headers.getSetCookie()[0]).toMatch(/; Secure/i);
  });
});
