/**
 * @module tessera for node:http (and anything built on its request and response objects).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isTesseraError } from '../core/errors.js';
import type { SessionManager } from '../core/manager/index.js';
import type { Session, SessionData } from '../core/session/index.js';
import { commitBeforeHeaders, sendError, settle } from './_shared/hold.js';
import { nodeFacts, NodeSessionRequest } from './_shared/request.js';

export { sendError } from './_shared/hold.js';

/** A node:http request with its session. */
export type RequestWithSession<Data extends SessionData = SessionData> = IncomingMessage & {
  session: Session<Data>;
};

/** Options of {@link withSessions}. */
export interface NodeAdapterOptions {
  /**
   * Trust `X-Forwarded-Proto` and `X-Forwarded-For` from a proxy in front of the app (for the
   * `Secure` cookie flag and the address recorded at login). @default false
   */
  trustProxy?: boolean | undefined;
  /**
   * Answers a request whose session could not be committed (the store failed). The default,
   * {@link sendError}, sends the error's status (503 for store failures) with `{ "error": code }`
   * and no session cookie.
   */
  onError?: ((error: unknown, req: IncomingMessage, res: ServerResponse) => void) | undefined;
}

/**
 * Wraps a node:http handler so `req.session` is there and is committed before the response head
 * goes out. A handler that throws gets a 500 and its session changes are not saved (changes it
 * asked to save at once, like `increment`, stay).
 *
 * @example
 * import { createServer } from 'node:http'
 * import { createSessionManager } from 'tessera-session'
 * import { withSessions } from 'tessera-session/node'
 *
 * const sessions = createSessionManager<{ count: number }>()
 * createServer(withSessions(sessions, async (req, res) => {
 *   res.end(String(await req.session.increment('count')))
 * })).listen(3000)
 */
export function withSessions<Data extends SessionData = SessionData>(
  manager: SessionManager<Data>,
  handler: (req: RequestWithSession<Data>, res: ServerResponse) => unknown,
  options: NodeAdapterOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const facts = nodeFacts(options.trustProxy ?? false);
  const onError = options.onError ?? sendError;
  return (req, res) => {
    const view = new NodeSessionRequest(req, req, facts);
    const refusal = manager.checkRequest(view);
    if (refusal !== undefined) return onError(refusal, req, res);
    const session = manager.load(view);
    (req as RequestWithSession<Data>).session = session;
    commitBeforeHeaders(manager, session, req, res, onError);
    let result: unknown;
    try {
      result = handler(req as RequestWithSession<Data>, res);
    } catch (error) {
      return fail(error);
    }
    if (result instanceof Promise) result.catch(fail);

    function fail(error: unknown): void {
      if (res.headersSent) {
        res.destroy(error instanceof Error ? error : undefined);
        return;
      }
      // The handler failed: answer without committing its half-made changes (what already
      // reached the store, such as a new id, still goes out with the answer).
      settle(manager, session, res);
      if (!isTesseraError(error)) console.error(error);
      onError(error, req, res);
    }
  };
}
