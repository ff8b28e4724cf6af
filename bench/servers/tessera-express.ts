/** tessera with the memory store on Express 5. */
import express from 'express';
import { createServer } from 'node:http';
import { expressSession, type RequestWithSession } from '../../src/adapters/express.js';
import { createSessionManager } from '../../src/index.js';
import { listen } from '../_server.js';

type Data = { count: number };
const sessions = createSessionManager<Data>();
const app = express();
app.use(expressSession(sessions));
const session = (req: express.Request) => (req as unknown as RequestWithSession<Data>).session;
app.get(
  '/read',
  async (req, res) => void res.json({ count: (await session(req).get('count')) ?? null }),
);
app.get(
  '/write',
  async (req, res) => void res.json({ count: await session(req).increment('count') }),
);
app.get('/none', (_req, res) => void res.json({ count: null }));
listen(createServer(app));
