/** tessera with the memory store on Fastify 5. */
import Fastify from 'fastify';
import { fastifySession } from '../../src/adapters/fastify.js';
import { createSessionManager, memoryStore, type Session } from '../../src/index.js';
import { PORT, ready } from '../_server.js';

type Data = { count: number };
const app = Fastify({ logger: false });
// Loaded before `listen` resolves.
// Unbounded, like the peers' memory stores: a full run's new visitors pass the default 100 000.
void app.register(fastifySession, {
  manager: createSessionManager({ store: memoryStore({ maxSessions: Infinity }) }),
});
// Not FastifyRequestWithSession: @fastify/session (another contender) declares its own `session`.
const session = (req: unknown) => (req as { session: Session<Data> }).session;
app.get('/read', async (req) => ({ count: (await session(req).get('count')) ?? null }));
app.get('/write', async (req) => ({ count: await session(req).increment('count') }));
app.get('/none', async () => ({ count: null }));
await app.listen({ port: PORT, host: '127.0.0.1' });
ready(app.server);
