/**
 * @module tessera for node:http (and anything built on its request and response objects).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { isTesseraError } from '../core/errors.js';
import type { ResponseHeaders, SessionManager } from '../core/manager.js';
import type { Session, SessionData } from '../core/session.js';
import type { SessionRequest } from '../core/transport/index.js';

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
   * Answers a request whose session could not be committed (the store failed). The default sends
   * the error's status (503 for store failures) with `{ "error": code }` and no session cookie.
   */
  onError?: ((error: unknown, req: IncomingMessage, res: ServerResponse) => void) | undefined;
}

/** Reads what tessera needs from an IncomingMessage, lazily. */
export class NodeRequest implements SessionRequest {
  private readonly req: IncomingMessage;
  private readonly trustProxy: boolean;
  constructor(req: IncomingMessage, trustProxy: boolean) {
    this.req = req;
    this.trustProxy = trustProxy;
  }
  header(name: string): string | undefined {
    const value = this.req.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }
  get isSecure(): boolean {
    if ((this.req.socket as TLSSocket).encrypted) return true;
    return this.trustProxy && this.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
  }
  get url(): string | undefined {
    return this.req.url;
  }
  get ip(): string | undefined {
    const forwarded = this.trustProxy
      ? this.header('x-forwarded-for')?.split(',')[0]?.trim()
      : undefined;
    return forwarded || this.req.socket.remoteAddress;
  }
}

/** Adds session headers to a response that has not sent its headers yet. */
export function applyHeaders(res: ServerResponse, headers: ResponseHeaders): void {
  for (const [name, value] of headers) {
    if (name === 'set-cookie' || name === 'vary') res.appendHeader(name, value);
    else res.setHeader(name, value);
  }
}

/** The default answer to a failed commit: the error's status and its code, nothing else. */
export function sendError(error: unknown, _req: IncomingMessage, res: ServerResponse): void {
  const status = isTesseraError(error) ? error.status : 500;
  const code = isTesseraError(error) ? error.code : 'INTERNAL';
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: code }));
}

type Pending = Array<{ method: 'writeHead' | 'write' | 'end' | 'flushHeaders'; args: unknown[] }>;

/** Options of {@link commitBeforeHeaders}. */
export interface CommitBeforeHeadersOptions {
  /**
   * Decides from the status about to be sent whether the session's pending changes are saved.
   * Adapters that never see a handler's errors (Express, Connect) drop the changes of 5xx answers.
   * @default every status saves
   */
  saveOn?: ((status: number) => boolean) | undefined;
}

/**
 * Holds back the response head (and any body written with it) until the session is committed,
 * so the client's next request always sees what this one wrote.
 */
export function commitBeforeHeaders<Data extends SessionData>(
  manager: SessionManager<Data>,
  session: Session<Data>,
  req: IncomingMessage,
  res: ServerResponse,
  onError: (error: unknown, req: IncomingMessage, res: ServerResponse) => void,
  options: CommitBeforeHeadersOptions = {},
): void {
  // Kept unbound on purpose: each is called back with `apply(res, …)`.
  /* eslint-disable @typescript-eslint/unbound-method */
  const original = {
    writeHead: res.writeHead,
    write: res.write,
    end: res.end,
    flushHeaders: res.flushHeaders,
  };
  /* eslint-enable @typescript-eslint/unbound-method */
  let queue: Pending | undefined;
  // Streams piped into the response while it is held: dropped with it when the commit fails.
  const piped = new Set<Readable>();
  const onPipe = (source: Readable): void => void piped.add(source);
  res.on('pipe', onPipe);
  const restore = (): void => {
    res.writeHead = original.writeHead;
    res.write = original.write;
    res.end = original.end;
    res.flushHeaders = original.flushHeaders;
    res.off('pipe', onPipe);
  };
  const intercept = (method: Pending[number]['method']) =>
    function (this: ServerResponse, ...args: unknown[]): unknown {
      if (queue === undefined) {
        const status =
          method === 'writeHead' && typeof args[0] === 'number' ? args[0] : res.statusCode;
        if (options.saveOn && !options.saveOn(status)) manager.discard(session);
        if (!manager.needsCommit(session)) {
          // The head goes out now: a later change could never reach the client, so it throws.
          manager.discard(session);
          restore();
          return (original[method] as (...a: unknown[]) => unknown).apply(res, args);
        }
        queue = [];
        manager.commit(session).then(
          (headers) => {
            restore();
            if (!res.headersSent) applyHeaders(res, headers);
            for (const call of queue!)
              (original[call.method] as (...a: unknown[]) => unknown).apply(
                res,
                mergeSetCookie(call, headers),
              );
          },
          (error: unknown) => {
            restore();
            manager.discard(session);
            // The held answer is abandoned: a stream still feeding it must not reach the client
            // ahead of (or after) the error answer.
            for (const source of piped) source.unpipe(res).destroy();
            onError(error, req, res);
          },
        );
      }
      queue.push({ method, args });
      return method === 'write' ? true : res;
    };
  res.writeHead = intercept('writeHead') as ServerResponse['writeHead'];
  res.write = intercept('write') as ServerResponse['write'];
  res.end = intercept('end') as ServerResponse['end'];
  res.flushHeaders = intercept('flushHeaders');
}

/** `writeHead(status, { 'Set-Cookie': … })` would replace the session cookie: keep both. */
function mergeSetCookie(call: Pending[number], headers: ResponseHeaders): unknown[] {
  if (call.method !== 'writeHead') return call.args;
  const last = call.args[call.args.length - 1];
  if (last === null || typeof last !== 'object' || Array.isArray(last)) return call.args;
  const given = Object.keys(last).find((k) => k.toLowerCase() === 'set-cookie');
  if (given === undefined) return call.args;
  const ours = headers.filter(([name]) => name === 'set-cookie').map(([, value]) => value);
  const theirs = (last as Record<string, unknown>)[given];
  const merged = {
    ...(last as Record<string, unknown>),
    [given]: [...ours, ...(Array.isArray(theirs) ? (theirs as unknown[]) : [theirs])],
  };
  return [...call.args.slice(0, -1), merged];
}

/**
 * Wraps a node:http handler so `req.session` is there and is committed before the response head
 * goes out. A handler that throws gets a 500 and its session changes are not saved (changes it
 * asked to save at once, like `increment`, stay).
 *
 * @example
 * import { createServer } from 'node:http'
 * import { createSessionManager } from 'tessera'
 * import { withSessions } from 'tessera/node'
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
  const trustProxy = options.trustProxy ?? false;
  const onError = options.onError ?? sendError;
  return (req, res) => {
    const session = manager.load(new NodeRequest(req, trustProxy));
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
      // The handler failed: answer without committing its half-made changes.
      manager.discard(session);
      if (!isTesseraError(error)) console.error(error);
      onError(error, req, res);
    }
  };
}
