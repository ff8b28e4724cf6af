/** tessera with the memory store on node:http. */
import { createServer } from 'node:http';
import { withSessions } from '../../src/adapters/node.js';
import { createSessionManager } from '../../src/index.js';
import { listen, payload } from '../_server.js';

const sessions = createSessionManager<{ count: number }>();
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
