/** Bare Express 5, no sessions: the limit of the Express contenders. */
import express from 'express';
import { createServer } from 'node:http';
import { listen } from '../_server.js';

const app = express();
const send = (_req: express.Request, res: express.Response): void => void res.json({ count: 1 });
app.get('/read', send);
app.get('/write', send);
app.get('/none', send);
listen(createServer(app));
