/** tessera with the memory store on Express 5. */
import express from 'express';
import { createServer } from 'node:http';
import { expressSession, type RequestWithSession } from '../../src/adapters/express.js';
import { createSessionManager, memoryStore } from '../../src/index.js';
import { listen } from '../_server.js';

type Data = { count: number };
// Unbounded, like the peers' memory stores: a full run's new visitors pass the default 100 000.
const sessions = createSessionManager<Data>({ store: memoryStore({ maxSessions: Infinity }) });
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
