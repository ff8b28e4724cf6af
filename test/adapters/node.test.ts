/**
 * The adapter contract against the node:http adapter (tessera-session/node).
 */
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { withSessions } from '../../src/adapters/node.js';
import { createSessionManager } from '../../src/index.js';
import {
  Client,
  listen,
  probeStore,
  routeOf,
  writeReply,
  type ContractData,
} from '../contract/adapter-app.js';
import { runAdapterContract } from '../contract/adapter.js';

runAdapterContract({
  name: 'node:http',
  start: (manager) =>
    listen(
      createServer(
        withSessions(manager, async (req, res) => {
          const { route, query } = routeOf(req.method, req.url);
          if (!route) return void res.writeHead(404).end();
          writeReply(res, await route.run(req.session, query));
        }),
      ),
    ),
});

describe('tessera-session/node: what is particular to node:http', () => {
  it('a change made right after the head was written throws ALREADY_COMMITTED instead of being lost', async () => {
    const manager = createSessionManager<ContractData>({ store: probeStore() });
    const app = await listen(
      createServer(
        withSessions(manager, (req, res) => {
          req.session.set('a', 1);
          res.writeHead(200);
          let outcome = 'allowed';
          try {
            req.session.set('b', 2);
          } catch (error) {
            outcome = (error as { code?: string }).code ?? 'error';
          }
          res.end(outcome);
        }),
      ),
    );
    const client = new Client(app.url);
    expect((await client.get('/')).body).toBe('ALREADY_COMMITTED');
    await app.close();
  });
});
