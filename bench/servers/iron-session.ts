/** iron-session (the session sealed into the cookie) on node:http. */
import { getIronSession } from 'iron-session';
import { createServer } from 'node:http';
import { listen, payload, SECRET } from '../_server.js';

const options = { password: SECRET, cookieName: 'iron', cookieOptions: { secure: false } };
listen(
  createServer((req, res) => {
    void (async () => {
      let count: number | null = null;
      if (req.url === '/read') {
        const s = await getIronSession<{ count?: number }>(req, res, options);
        count = s.count ?? null;
      } else if (req.url === '/write') {
        const s = await getIronSession<{ count?: number }>(req, res, options);
        s.count = (s.count ?? 0) + 1;
        count = s.count;
        await s.save();
      }
      res.setHeader('content-type', 'application/json');
      res.end(payload(count));
    })();
  }),
);
