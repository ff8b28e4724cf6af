/** @fastify/session (with @fastify/cookie and its default memory store) on Fastify 5. */
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { PORT, ready, SECRET } from '../_server.js';

declare module 'fastify' {
  interface Session {
    count?: number;
  }
}

const app = Fastify({ logger: false });
await app.register(fastifyCookie);
await app.register(fastifySession, {
  secret: SECRET,
  saveUninitialized: false,
  cookie: { secure: false },
});
app.get('/read', async (req) => ({ count: req.session.get('count') ?? null }));
app.get('/write', async (req) => {
  const count = (req.session.get('count') ?? 0) + 1;
  req.session.set('count', count);
  return { count };
});
app.get('/none', async () => ({ count: null }));
await app.listen({ port: PORT, host: '127.0.0.1' });
ready(app.server);
