/**
 * tessera with the Redis store on Express 5, given a node-redis client: the same client library
 * connect-redis uses, so the comparison is between the stores (BENCH_TESSERA_REDIS_DRIVER=ioredis
 * tries ioredis instead).
 */
import express from 'express';
import { createServer } from 'node:http';
import { createClient } from 'redis';
import { expressSession, type RequestWithSession } from '../../src/adapters/express.js';
import { createSessionManager, type Store } from '../../src/index.js';
import { redisStore } from '../../src/stores/redis/index.js';
import { listen, onStop, REDIS_URL } from '../_server.js';

type Data = { count: number };
// Under valgrind (instruction counts) a call takes ~50x longer: the harness raises the bound.
const timeout = Number(process.env['BENCH_STORE_TIMEOUT'] ?? 2000);
let store: Store;
if (process.env['BENCH_TESSERA_REDIS_DRIVER'] === 'ioredis') {
  store = redisStore({
    url: REDIS_URL,
    prefix: 'bench-ts:',
    driver: 'ioredis',
    commandTimeout: timeout,
  });
} else {
  const client = createClient({ url: REDIS_URL });
  client.on('error', (error: unknown) => console.error(error));
  await client.connect();
  onStop(() => client.close());
  store = redisStore({ client, prefix: 'bench-ts:', commandTimeout: timeout });
}
const sessions = createSessionManager<Data>({ store });
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
