/** Bare node:http, no sessions: the limit of the node:http contenders. */
import { createServer } from 'node:http';
import { listen, payload } from '../_server.js';

listen(
  createServer((_req, res) => {
    // Serialized per request, as the session servers do.
    res.setHeader('content-type', 'application/json');
    res.end(payload(1));
  }),
);
