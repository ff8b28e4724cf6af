/**
 * Starts the demo: `npm start`. Environment:
 *   PORT            port to listen on (default 3000)
 *   HOST            address to bind (default: all interfaces)
 *   TESSERA_STORE   store URL (default "memory:"), e.g. redis://127.0.0.1:6379/0, sqlite:./sessions.db
 *   TESSERA_SECRET  secret(s) for stores that need one (comma-separated for rotation)
 *   DEMO_FRAMEWORK  node (default), express, fastify, koa, hono or fetch
 */
import type { Server } from 'node:http';
import { createSessionManager, createStore, isTesseraError } from '../../src/index.js';
import type { DemoData } from './app.js';
import { createOps } from './ops.js';

const FRAMEWORKS = ['node', 'express', 'fastify', 'koa', 'hono', 'fetch'] as const;
type Framework = (typeof FRAMEWORKS)[number];

function fatal(message: string): never {
  console.error(`demo: ${message}`);
  process.exit(1);
}

const port = Number(process.env['PORT'] ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535)
  fatal(`PORT must be a port number; got ${process.env['PORT']}.`);
const framework = (process.env['DEMO_FRAMEWORK'] ?? 'node') as Framework;
if (!FRAMEWORKS.includes(framework))
  fatal(`DEMO_FRAMEWORK must be one of ${FRAMEWORKS.join(', ')}; got ${framework}.`);
const host = process.env['HOST'];
const storeUrl = process.env['TESSERA_STORE'] ?? 'memory:';
const secret = process.env['TESSERA_SECRET']?.split(',').filter(Boolean);

/** Why the server could not listen, in one line, or `undefined` for any other failure. */
function listenFailure(error: unknown): string | undefined {
  switch ((error as NodeJS.ErrnoException | null)?.code) {
    case 'EADDRINUSE':
      return `port ${port} is already in use (another demo?): stop it, or set PORT to a free port.`;
    case 'EACCES':
      return `not allowed to listen on port ${port}: set PORT to a port above 1023.`;
    case 'EADDRNOTAVAIL':
      return `HOST ${host} is not an address of this machine: set HOST to one, e.g. 127.0.0.1.`;
    default:
      return undefined;
  }
}

try {
  const store = await createStore(storeUrl, secret === undefined ? {} : { secret });
  // The operator view at /ops is fed by the manager's own Prometheus metrics (also at /metrics).
  const ops = createOps();
  const manager = createSessionManager<DemoData>({
    store,
    maxSessionsPerUser: store.byUser ? 10 : undefined,
    observers: [ops.observer],
    onError: (e) => console.error('tessera:', e instanceof Error ? e.message : e),
  });
  ops.start(manager);
  const module = (await import(`./${framework}.js`)) as {
    serve(m: typeof manager, port: number, host?: string): Promise<Server>;
  };
  const server = await module.serve(manager, port, host);
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  console.log(`tessera demo (${framework}, store ${store.name}) on http://localhost:${actual}`);
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    void manager.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  if (isTesseraError(error)) fatal(`${error.code}: ${error.message}`);
  fatal(listenFailure(error) ?? String(error instanceof Error ? error.stack : error));
}
