/** Bare Koa 3, no sessions: the limit of the Koa contender. */
import Koa from 'koa';
import { createServer } from 'node:http';
import { listen } from '../_server.js';

const app = new Koa();
app.use((ctx) => {
  ctx.body = { count: 1 };
});
const handle = app.callback();
listen(createServer((req, res) => void handle(req, res)));
