/**
 * The demo on Express: `DEMO_FRAMEWORK=express npm start`.
 */
import { createServer, type Server } from 'node:http';
import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type Response,
} from 'express';
import { expressSession, type RequestWithSession } from '../../src/adapters/express.js';
import type { SessionManager } from '../../src/index.js';
import { errorReply, handleDemo, type DemoData, type DemoReply, DEMO_ROUTES } from './app.js';

function send(res: Response, reply: DemoReply): void {
  res.status(reply.status);
  if (reply.html !== undefined) res.type('html').send(reply.html);
  else if (reply.text !== undefined) res.type('text').send(reply.text);
  else res.json(reply.json);
}

/** Serves the demo with Express on `port`. */
export async function serve(
  manager: SessionManager<DemoData>,
  port: number,
  host?: string,
): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  app.use(expressSession(manager));
  // The demo's API reads raw bodies itself (and answers 400 for bad JSON), so take any body as text.
  app.use(express.text({ type: () => true, limit: '64kb' }));

  const api = (req: Request, res: Response, next: NextFunction): void => {
    const session = (req as unknown as RequestWithSession<DemoData>).session;
    const readBody = (): Promise<string> =>
      Promise.resolve(typeof req.body === 'string' ? req.body : '');
    const contentType = req.get('content-type');
    handleDemo(manager, session, {
      method: req.method,
      path: req.path,
      contentType,
      readBody,
    }).then((reply) => (reply === undefined ? next() : send(res, reply)), next);
  };
  app.get('/healthz', (_req, res) => void res.type('text').send('ok'));
  for (const [method, route] of DEMO_ROUTES) app[method](route, api);
  app.use(
    (_req, res) => void res.status(404).json({ error: 'NOT_FOUND', message: 'No such route.' }),
  );

  const onError: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
    const reply = errorReply(error);
    if (reply.status === 500) console.error(error);
    send(res, reply);
  };
  app.use(onError);

  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
