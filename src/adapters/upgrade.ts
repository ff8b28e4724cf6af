/**
 * @module tessera for WebSocket upgrades and Server-Sent Events: the session of a handshake, opened
 * read-only (a handshake cannot send a cookie back), behind the cross-site check browsers do not
 * make for WebSockets. node:http only: `ws` and socket.io are taken by their shape, never imported.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { isTesseraError, TesseraError } from '../core/errors.js';
import type { SessionManager } from '../core/manager/index.js';
import type { Session, SessionData } from '../core/session/index.js';
import type { CrossOriginOptions } from '../core/transport/origin.js';
import { handshakeCheck } from './_shared/handshake-origin.js';
import { nodeFacts, NodeSessionRequest } from './_shared/request.js';

/** Options of {@link loadUpgradeSession} and {@link allowRequest}. */
export interface UpgradeSessionOptions<Data extends SessionData = SessionData> {
  /**
   * Trust `X-Forwarded-Proto` from a proxy in front of the app: a handshake it says came over
   * https is then refused from an `http:` page. @default false
   */
  trustProxy?: boolean | undefined;
  /**
   * The check against Cross-Site WebSocket Hijacking. Browsers send cookies with a WebSocket
   * handshake from any page and apply no same-origin policy to it, so a handshake whose `Origin` is
   * neither this host (the `Host` header, by an http, https, ws or wss origin; https or wss only,
   * when the handshake is known to have come over TLS) nor one of `trustedOrigins` is refused with
   * `CROSS_SITE` (403) before the store is asked. `bypass` paths skip it. A handshake without
   * `Origin` is not a browser's and passes. Pass the manager's own `crossOrigin` to share its
   * lists; `false` switches the check off. Read once per options object.
   * @default {}
   */
  crossOrigin?: CrossOriginOptions | false | undefined;
  /**
   * Refuse, with 401, a handshake whose session is bound to no user: no cookie, an unknown,
   * expired or revoked id, or an anonymous session. A function must also return `true` (it is
   * asked only for a session bound to a user), e.g. to check the user still exists.
   * @default false
   */
  requireUser?:
    | boolean
    | ((session: Session<Data>, req: IncomingMessage) => boolean | Promise<boolean>)
    | undefined;
}

/** Options of {@link withUpgradeSession} and {@link sessionUpgrade}. */
export interface UpgradeHandlerOptions<
  Data extends SessionData = SessionData,
> extends UpgradeSessionOptions<Data> {
  /**
   * Answers a refused handshake on its socket. The default, {@link refuseUpgrade}, sends the
   * error's status (403, 401, 503 for store failures) with `{ "error": code }` and closes it.
   */
  onError?: ((error: unknown, req: IncomingMessage, socket: Duplex) => void) | undefined;
}

/** What a `ws` `WebSocketServer` offers that {@link sessionUpgrade} uses (ws itself is not imported). */
export interface WebSocketServerLike<Socket = unknown> {
  /** Completes a handshake (`new WebSocketServer({ noServer: true })`). */
  handleUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback: (ws: Socket, req: IncomingMessage) => void,
  ): void;
  /** Emits `'connection'` with `(ws, req, session)`. */
  emit(event: 'connection', ...args: unknown[]): boolean;
}

/** socket.io's (engine.io's) `allowRequest` option, by its shape. */
export type AllowRequest = (
  req: IncomingMessage,
  callback: (err: string | null | undefined, success: boolean) => void,
) => void;

/** The listener of a node:http server's `'upgrade'` event. */
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

const DIRECT = nodeFacts(false);
const PROXIED = nodeFacts(true);
/** The session each accepted handshake loaded, for {@link sessionOfUpgrade}. */
const handshakes = new WeakMap<IncomingMessage, Session<SessionData>>();
const ignore = (): void => undefined;

function unauthenticated(): TesseraError {
  return new TesseraError(
    'UNAUTHENTICATED',
    'This handshake needs a logged-in session and came with none (no cookie, an unknown, expired or revoked id, or a session bound to no user). Log in first, then connect.',
  );
}

/**
 * Loads the session of a request that cannot send a cookie back (a WebSocket `upgrade` request, an
 * SSE stream) read-only: one store read, never a write (no touch either), and every change throws
 * `READ_ONLY`. The id is read as the manager's transports read it. Rejects with `CROSS_SITE` (403)
 * before any store call for another site's handshake, with 401 when `requireUser` refuses, and with
 * `STORE_UNAVAILABLE`/`STORE_TIMEOUT` (503) when the store fails: never an anonymous session in
 * place of one that could not be read. `requireUser` refuses with `UNAUTHENTICATED` (401).
 *
 * @example
 * import { createServer } from 'node:http'
 * import { createSessionManager } from 'tessera-session'
 * import { sendError } from 'tessera-session/node'
 * import { loadUpgradeSession } from 'tessera-session/upgrade'
 *
 * const sessions = createSessionManager()
 * createServer((req, res) => {
 *   loadUpgradeSession(sessions, req, { requireUser: true }).then((session) => {
 *     res.writeHead(200, { 'content-type': 'text/event-stream' })
 *     res.write(`data: hello ${session.userId}\n\n`)
 *   }, (error: unknown) => sendError(error, req, res))
 * }).listen(3000)
 */
export async function loadUpgradeSession<Data extends SessionData = SessionData>(
  manager: SessionManager<Data>,
  req: IncomingMessage,
  options: UpgradeSessionOptions<Data> = {},
): Promise<Session<Data>> {
  const view = new NodeSessionRequest(req, req, options.trustProxy === true ? PROXIED : DIRECT);
  const refusal = handshakeCheck(options.crossOrigin)?.(req, view);
  if (refusal !== undefined) throw refusal;
  const session = manager.load(view, { readOnly: true });
  try {
    await session.load();
  } catch (error) {
    throw isTesseraError(error)
      ? error
      : new TesseraError('STORE_UNAVAILABLE', 'The session of a handshake could not be loaded.', {
          cause: error,
        });
  }
  const { requireUser } = options;
  if (requireUser !== undefined && requireUser !== false) {
    if (session.isNew || session.userId === undefined) throw unauthenticated();
    if (typeof requireUser === 'function' && !(await requireUser(session, req)))
      throw unauthenticated();
  }
  handshakes.set(req, session);
  return session;
}

/**
 * The session {@link loadUpgradeSession} accepted for this request (the one helpers here hand
 * along), or `undefined`. socket.io's `socket.request` is the request `allowRequest` was given.
 *
 * @example
 * import type { IncomingMessage } from 'node:http'
 * import { sessionOfUpgrade } from 'tessera-session/upgrade'
 *
 * function userOf(req: IncomingMessage): string | undefined {
 *   return sessionOfUpgrade(req)?.userId
 * }
 */
export function sessionOfUpgrade<Data extends SessionData = SessionData>(
  req: IncomingMessage,
): Session<Data> | undefined {
  return handshakes.get(req) as Session<Data> | undefined;
}

/**
 * Answers a refused handshake on its raw socket: `HTTP/1.1 <status> <reason>` (the error's status,
 * 500 for an error that is not a {@link TesseraError}) with `{ "error": code }`, then closes the
 * socket. What `server.on('upgrade')` must do instead of leaving the socket open.
 *
 * @example
 * import { createServer } from 'node:http'
 * import { TesseraError } from 'tessera-session'
 * import { refuseUpgrade } from 'tessera-session/upgrade'
 *
 * createServer().on('upgrade', (req, socket) => {
 *   refuseUpgrade(new TesseraError('UNSUPPORTED', 'No WebSockets here.'), req, socket)
 * })
 */
export function refuseUpgrade(error: unknown, _req: IncomingMessage, socket: Duplex): void {
  if (socket.destroyed) return;
  // A client that resets meanwhile must not leave an 'error' nobody listens to (it would crash).
  socket.off('error', ignore).on('error', ignore);
  if (!socket.writable) return void socket.destroy();
  const status = isTesseraError(error) ? error.status : 500;
  const body = JSON.stringify({ error: isTesseraError(error) ? error.code : 'INTERNAL' });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * Wraps an `'upgrade'` listener so it runs only for an accepted handshake, with its read-only
 * session (see {@link loadUpgradeSession}); a refused one is answered by `onError`. The socket has
 * an `'error'` listener while the store is asked; `handler` gets it without (as node hands it over).
 * Throws `CONFIG` at once for a malformed `crossOrigin`.
 *
 * @example
 * import { createServer } from 'node:http'
 * import { createSessionManager } from 'tessera-session'
 * import { withUpgradeSession } from 'tessera-session/upgrade'
 *
 * const sessions = createSessionManager()
 * createServer().on('upgrade', withUpgradeSession(sessions, (req, socket, head, session) => {
 *   // Complete the handshake with any WebSocket library; `session.userId` is known.
 * }, { requireUser: true }))
 */
export function withUpgradeSession<Data extends SessionData = SessionData>(
  manager: SessionManager<Data>,
  handler: (req: IncomingMessage, socket: Duplex, head: Buffer, session: Session<Data>) => void,
  options: UpgradeHandlerOptions<Data> = {},
): UpgradeListener {
  const onError = options.onError ?? refuseUpgrade;
  handshakeCheck(options.crossOrigin);
  return (req, socket, head) => {
    // Node hands an upgrade socket over with no 'error' listener: a client that resets while the
    // store is asked would crash the process.
    socket.on('error', ignore);
    loadUpgradeSession(manager, req, options)
      .then(
        (session) => {
          // The client gave up while the store was asked.
          if (socket.destroyed) return;
          socket.off('error', ignore);
          handler(req, socket, head, session);
        },
        (error: unknown) => {
          if (!isTesseraError(error)) console.error(error);
          if (!socket.destroyed) onError(error, req, socket);
        },
      )
      .catch((error: unknown) => {
        // The handler or onError threw: nothing sensible can be written on the socket any more.
        console.error(error);
        socket.destroy();
      });
  };
}

/**
 * The `'upgrade'` listener for a `ws` server: an accepted handshake is completed by
 * `wss.handleUpgrade` and emitted as `'connection'` with `(ws, req, session)` (also there as
 * `sessionOfUpgrade(req)`); a refused one is answered on the socket (see {@link refuseUpgrade}).
 * Throws `CONFIG` at once for a malformed `crossOrigin`.
 *
 * @example
 * import { createServer } from 'node:http'
 * import { WebSocketServer } from 'ws'
 * import { createSessionManager } from 'tessera-session'
 * import { sessionOfUpgrade, sessionUpgrade } from 'tessera-session/upgrade'
 *
 * const sessions = createSessionManager()
 * const wss = new WebSocketServer({ noServer: true })
 * wss.on('connection', (ws, req) => ws.send(`hello ${sessionOfUpgrade(req)?.userId}`))
 * createServer().on('upgrade', sessionUpgrade(sessions, wss, { requireUser: true })).listen(3000)
 */
export function sessionUpgrade<Socket, Data extends SessionData = SessionData>(
  manager: SessionManager<Data>,
  wss: WebSocketServerLike<Socket>,
  options: UpgradeHandlerOptions<Data> = {},
): UpgradeListener {
  return withUpgradeSession(
    manager,
    (req, socket, head, session) =>
      wss.handleUpgrade(req, socket, head, (ws) => void wss.emit('connection', ws, req, session)),
    options,
  );
}

/**
 * socket.io's `allowRequest`: its callback gets `(null, true)` for an accepted handshake (the
 * session is then `sessionOfUpgrade(socket.request)`) and `(code, false)` for a refused one, the
 * error's code (`CROSS_SITE`, `STORE_UNAVAILABLE`, …). engine.io answers every refusal 403, whatever
 * the code: it takes no status. Throws `CONFIG` at once for a malformed `crossOrigin`.
 *
 * @example
 * import { createSessionManager } from 'tessera-session'
 * import { allowRequest, sessionOfUpgrade } from 'tessera-session/upgrade'
 *
 * const sessions = createSessionManager()
 * // new Server(httpServer, { allowRequest: allowRequest(sessions, { requireUser: true }) })
 * //   .on('connection', (socket) => sessionOfUpgrade(socket.request)?.userId)
 * const options = { allowRequest: allowRequest(sessions, { requireUser: true }) }
 */
export function allowRequest<Data extends SessionData = SessionData>(
  manager: SessionManager<Data>,
  options: UpgradeSessionOptions<Data> = {},
): AllowRequest {
  handshakeCheck(options.crossOrigin);
  return (req, callback) => {
    loadUpgradeSession(manager, req, options)
      .then(
        () => callback(null, true),
        (error: unknown) => {
          if (!isTesseraError(error)) console.error(error);
          callback(isTesseraError(error) ? error.code : 'INTERNAL', false);
        },
      )
      // A callback that throws is the caller's bug; it must not become an unhandled rejection.
      .catch((error: unknown) => console.error(error));
  };
}
