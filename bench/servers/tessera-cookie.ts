/** tessera with the cookie store (the session sealed into the cookie) on node:http. */
import { createServer } from 'node:http';
import { withSessions } from '../../src/adapters/node.js';
import { createSessionManager } from '../../src/index.js';
import { cookieStore } from '../../src/stores/cookie/index.js';
import { listen, payload, SECRET } from '../_server.js';

const sessions = createSessionManager<{ count: number }>({
  store: cookieStore({ secrets: [SECRET] }),
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
