/** express-session with connect-redis (node-redis client) on Express 5. */
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { createServer } from 'node:http';
import { createClient } from 'redis';
import { listen, onStop, REDIS_URL, SECRET } from '../_server.js';

declare module 'express-session' {
  interface SessionData {
    count: number;
  }
}

const client = createClient({ url: REDIS_URL });
client.on('error', (error: unknown) => console.error(error));
await client.connect();
onStop(() => client.close());

const app = express();
app.use(
  session({
    secret: SECRET,
    resave: false,
    saveUninitialized: false,
    store: new RedisStore({ client, prefix: 'bench-es:' }),
  }),
);
app.get('/read', (req, res) => void res.json({ count: req.session.count ?? null }));
app.get('/write', (req, res) => {
  req.session.count = (req.session.count ?? 0) + 1;
  res.json({ count: req.session.count });
});
app.get('/none', (_req, res) => void res.json({ count: null }));
listen(createServer(app));
