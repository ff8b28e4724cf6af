/** koa-session (its default: the session in a signed cookie) on Koa 3. */
import Koa from 'koa';
import session from 'koa-session';
import { createServer } from 'node:http';
import { listen, SECRET } from '../_server.js';

const app = new Koa();
app.keys = [SECRET];
app.use(session({ key: 'koa.sess' }, app));
app.use((ctx) => {
  // koa-session 7 does not declare `ctx.session` on Koa's context type.
  const s = (ctx as unknown as { session: Record<string, unknown> }).session;
  if (ctx.path === '/read') ctx.body = { count: (s['count'] as number | undefined) ?? null };
  else if (ctx.path === '/write') {
    const count = ((s['count'] as number | undefined) ?? 0) + 1;
    s['count'] = count;
    ctx.body = { count };
  } else ctx.body = { count: null };
});
const handle = app.callback();
listen(createServer((req, res) => void handle(req, res)));
