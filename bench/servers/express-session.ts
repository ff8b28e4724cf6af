/** express-session with its MemoryStore on Express 5. */
import express from 'express';
import session from 'express-session';
import { createServer } from 'node:http';
import { listen, SECRET } from '../_server.js';

declare module 'express-session' {
  interface SessionData {
    count: number;
  }
}

const app = express();
app.use(session({ secret: SECRET, resave: false, saveUninitialized: false }));
app.get('/read', (req, res) => void res.json({ count: req.session.count ?? null }));
app.get('/write', (req, res) => {
  req.session.count = (req.session.count ?? 0) + 1;
  res.json({ count: req.session.count });
});
app.get('/none', (_req, res) => void res.json({ count: null }));
listen(createServer(app));
