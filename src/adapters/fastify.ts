/**
 * @module tessera for Fastify 5: a plugin that puts the session on `request.session` and commits
 * it in `onSend`, before the response head goes out.
 */
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { TesseraError } from '../core/errors.js';
import type { SessionManager } from '../core/manager.js';
import type { Session, SessionData } from '../core/session.js';
import { commitBeforeHeaders, sendError } from './node.js';
import { nodeSessionRequest } from './_shared/request.js';

/** Options of {@link fastifySession}. */
export interface FastifySessionOptions {
  /** The session manager (`createSessionManager`). */
  manager: SessionManager<SessionData>;
}

/**
 * A Fastify request with its session (replacing a `session` another plugin's types may declare,
 * such as @fastify/session's while you migrate from it).
 */
export type FastifyRequestWithSession<Data extends SessionData = SessionData> = Omit<
  FastifyRequest,
  'session'
> & {
  session: Session<Data>;
};

type Holder = { session: Session<SessionData> | null };

function sessionOf(request: FastifyRequest): Session<SessionData> | null {
  return (request as unknown as Holder).session;
}

function addHeader(reply: FastifyReply, name: string, value: string): void {
  if (name === 'vary') {
    const current = reply.getHeader('vary');
    reply.header(
      'vary',
      current === undefined || current === '' ? value : `${String(current)}, ${value}`,
    );
  } else {
    // Fastify appends `set-cookie` to what is there already.
    reply.header(name, value);
  }
}

const plugin: FastifyPluginCallback<FastifySessionOptions> = (fastify, options, done) => {
  const manager = options.manager;
  if (manager === undefined || typeof manager.load !== 'function') {
    done(
      new TesseraError(
        'CONFIG',
        'fastifySession: pass the session manager, as `app.register(fastifySession, { manager })`.',
      ),
    );
    return;
  }
  // A plain string: another plugin's declaration merging may claim the typed name.
  fastify.decorateRequest('session' as string, null);
  fastify.addHook('onRequest', (request, reply, next) => {
    const session = manager.load(
      nodeSessionRequest(request.raw, {
        secure: () => request.protocol === 'https',
        url: request.url,
        ip: () => request.ip,
      }),
    );
    (request as unknown as Holder).session = session;
    // Only for hijacked replies written straight to reply.raw: Fastify's own replies commit in onSend.
    commitBeforeHeaders(manager, session, request.raw, reply.raw, sendError);
    next();
  });
  // Runs before the error handler: a handler that threw leaves no half-made changes saved.
  fastify.addHook('onError', (request, _reply, _error, next) => {
    const session = sessionOf(request);
    if (session) manager.discard(session);
    next();
  });
  fastify.addHook('onSend', async (request, reply, payload) => {
    const session = sessionOf(request);
    if (!session || !manager.needsCommit(session)) return payload;
    let headers;
    try {
      headers = await manager.commit(session);
    } catch (error) {
      manager.discard(session);
      throw error;
    }
    for (const [name, value] of headers) addHeader(reply, name, value);
    return payload;
  });
  done();
};

/**
 * The session plugin for Fastify 5. `request.session` costs no store call until a handler reads or
 * changes it. Fastify's own settings decide what is secure and who the client is (`trustProxy`,
 * through `request.protocol` and `request.ip`).
 *
 * The session is committed in `onSend`, before the head goes out (redirects, streams and error
 * replies included). A handler that throws leaves its pending changes unsaved. When the commit
 * fails, the `TesseraError` goes to Fastify's error handling; the default handler answers with
 * its status, 503, and no session cookie is sent. The plugin is not encapsulated: register it
 * once at the root.
 *
 * For `request.session` to be typed with your data, declare it once in your app:
 * `declare module 'fastify' { interface FastifyRequest { session: Session<AppData> } }`.
 *
 * @example
 * import Fastify from 'fastify'
 * import { createSessionManager } from 'tessera'
 * import { fastifySession } from 'tessera/fastify'
 *
 * const app = Fastify()
 * await app.register(fastifySession, { manager: createSessionManager() })
 * app.post('/count', async (request) => ({ count: await request.session.increment('count') }))
 */
export const fastifySession: FastifyPluginCallback<FastifySessionOptions> = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'tessera',
  [Symbol.for('plugin-meta')]: { name: 'tessera', fastify: '5.x' },
});
