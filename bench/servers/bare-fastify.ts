/** Bare Fastify 5, no sessions: the limit of the Fastify contenders. */
import Fastify from 'fastify';
import { PORT, ready } from '../_server.js';

const app = Fastify({ logger: false });
const send = async (): Promise<{ count: number }> => ({ count: 1 });
app.get('/read', send);
app.get('/write', send);
app.get('/none', send);
await app.listen({ port: PORT, host: '127.0.0.1' });
ready(app.server);
