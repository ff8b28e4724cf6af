/** tessera with the memory store on node:http. */
import { createServer } from 'node:http';
import { withSessions } from '../../src/adapters/node.js';
import { createSessionManager, memoryStore } from '../../src/index.js';
import { listen, payload } from '../_server.js';

// Unbounded, like the peers' memory stores: a full run's new visitors pass the default 100 000.
const sessions = createSessionManager<{ count: number }>({
  store: memoryStore({ maxSessions: Infinity }),
});
listen(
  createServer(
    withSessions(sessions, async (req, res) => {
      let count: number | null = null;
      if (req.url === '/read') count = (await req.session.get('count')) ?? null;
      else if (req.url === '/write') count = await req.session.increment('count');
      res.setHeader('content-type', 'application/json');
      res.end(payload(count));
    }),
  ),
);
