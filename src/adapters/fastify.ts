/**
 * @module tessera for Fastify 5: a plugin that puts the session on `request.session` and commits
 * it in `onSend`, before the response head goes out.
 */
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { TesseraError } from '../core/errors.js';
import type { SessionManager } from '../core/manager/index.js';
import type { Session, SessionData } from '../core/session/index.js';
import { applyHeaders, type HeaderOps } from './_shared/headers.js';
import { commitBeforeHeaders, isHeld, sendError } from './_shared/hold.js';
import { NodeSessionRequest, type RequestFacts } from './_shared/request.js';

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

/** Fastify's `trustProxy` decides, through `request.protocol` and `request.ip`. */
const FASTIFY_FACTS: RequestFacts<FastifyRequest> = {
  isSecure: (request) => request.protocol === 'https',
  url: (request) => request.url,
  ip: (request) => request.ip,
};

/** Session headers on a reply: Fastify appends `set-cookie` itself and replaces other headers. */
const FASTIFY_HEADERS: HeaderOps<FastifyReply> = {
  set: (reply, name, value) => void reply.header(name, value),
  append(reply, name, value) {
    const current = name === 'set-cookie' ? undefined : reply.getHeader(name);
    reply.header(
      name,
      current === undefined || current === '' ? value : `${String(current)}, ${value}`,
    );
  },
  has: (reply, name) => reply.hasHeader(name),
};

type Hijack = (this: FastifyReply) => FastifyReply;

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
  /**
   * A hijacked reply is written straight to `reply.raw`, past `onSend`: `hijack()` then holds the
   * raw response until the commit. Fastify gives each context its own reply prototype; each gets
   * the wrapper once, when its first reply is seen, so requests that never hijack pay nothing.
   */
  const wrapped = new WeakSet<object>();
  /** The reply prototype seen last (wrapped by then): most requests share their route's. */
  let lastProto: object | undefined;
  function holdOnHijack(reply: FastifyReply): void {
    const proto = Object.getPrototypeOf(reply) as { hijack: Hijack };
    wrapped.add(proto);
    const hijack = proto.hijack;
    Object.defineProperty(proto, 'hijack', {
      value: function (this: FastifyReply): FastifyReply {
        const session = sessionOf(this.request);
        if (session && !isHeld(this.raw))
          commitBeforeHeaders(manager, session, this.request.raw, this.raw, sendError);
        return hijack.call(this);
      },
      writable: true,
      configurable: true,
    });
  }
  // A plain string: another plugin's declaration merging may claim the typed name.
  fastify.decorateRequest('session' as string, null);
  fastify.addHook('onRequest', (request, reply, next) => {
    const view = new NodeSessionRequest(request.raw, request, FASTIFY_FACTS);
    // A state-changing request from another site goes to Fastify's error handling (403).
    const refusal = manager.checkRequest(view);
    if (refusal !== undefined) return next(refusal);
    (request as unknown as Holder).session = manager.load(view);
    const proto = Object.getPrototypeOf(reply) as object;
    if (proto !== lastProto && !wrapped.has(proto)) holdOnHijack(reply);
    lastProto = proto;
    next();
  });
  // Runs before the error handler: a handler that threw leaves no half-made changes saved.
  fastify.addHook('onError', (request, _reply, _error, next) => {
    const session = sessionOf(request);
    if (session) manager.discard(session);
    next();
  });
  // A callback hook, not an async one: a request that changed nothing costs no promise here.
  fastify.addHook('onSend', (request, reply, payload, next) => {
    const session = sessionOf(request);
    if (!session) return next(null, payload);
    if (!manager.needsCommit(session)) {
      // Nothing to write: what already reached the store (a new id; the cache headers of a read)
      // still goes with the answer, an error answer included.
      applyHeaders(FASTIFY_HEADERS, reply, manager.discard(session));
      return next(null, payload);
    }
    manager.commit(session).then(
      (headers) => {
        applyHeaders(FASTIFY_HEADERS, reply, headers);
        next(null, payload);
      },
      (error: unknown) => {
        manager.discard(session);
        next(error as Error);
      },
    );
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
 * import { createSessionManager } from 'tessera-session'
 * import { fastifySession } from 'tessera-session/fastify'
 *
 * const app = Fastify()
 * await app.register(fastifySession, { manager: createSessionManager() })
 * app.post('/count', async (request) => ({ count: await request.session.increment('count') }))
 */
export const fastifySession: FastifyPluginCallback<FastifySessionOptions> = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'tessera-session',
  [Symbol.for('plugin-meta')]: { name: 'tessera-session', fastify: '5.x' },
});
