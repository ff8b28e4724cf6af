/**
 * The demo on plain node:http: `npm start` (the default framework).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SessionManager } from '../../src/index.js';
import { withSessions } from '../../src/adapters/node.js';
import { errorReply, handleDemo, type DemoData, type DemoReply } from './app.js';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Stop buffering far past the API's limit; the API answers 400 for the oversized body.
      if (size <= 64 * 1024) chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Writes a demo reply on a node:http response. */
export function send(res: ServerResponse, reply: DemoReply | undefined): void {
  if (reply === undefined) {
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: 'NOT_FOUND', message: 'No such route.' }));
  } else if (reply.html !== undefined) {
    res.writeHead(reply.status, { 'content-type': 'text/html; charset=utf-8' }).end(reply.html);
  } else if (reply.text !== undefined) {
    res.writeHead(reply.status, { 'content-type': 'text/plain; charset=utf-8' }).end(reply.text);
  } else {
    res
      .writeHead(reply.status, { 'content-type': 'application/json' })
      .end(JSON.stringify(reply.json));
  }
}

/** Serves the demo with node:http on `port`. */
export async function serve(
  manager: SessionManager<DemoData>,
  port: number,
  host?: string,
): Promise<Server> {
  const server = createServer(
    withSessions(
      manager,
      async (req, res) => {
        const path = (req.url ?? '/').split('?')[0]!;
        send(
          res,
          await handleDemo(manager, req.session, {
            method: req.method ?? 'GET',
            path,
            contentType: req.headers['content-type'],
            readBody: () => readBody(req),
          }),
        );
      },
      { onError: (error, _req, res) => send(res, errorReply(error)) },
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
