/** tessera with the memory store on Fastify 5. */
import Fastify from 'fastify';
import { fastifySession } from '../../src/adapters/fastify.js';
import { createSessionManager, type Session } from '../../src/index.js';
import { PORT, ready } from '../_server.js';

type Data = { count: number };
const app = Fastify({ logger: false });
// Loaded before `listen` resolves.
void app.register(fastifySession, { manager: createSessionManager() });
// Not FastifyRequestWithSession: @fastify/session (another contender) declares its own `session`.
const session = (req: unknown) => (req as { session: Session<Data> }).session;
app.get('/read', async (req) => ({ count: (await session(req).get('count')) ?? null }));
app.get('/write', async (req) => ({ count: await session(req).increment('count') }));
app.get('/none', async () => ({ count: null }));
await app.listen({ port: PORT, host: '127.0.0.1' });
ready(app.server);
