/**
 * @module Internal: holding a node:http response (its `writeHead`, `write`, `end`, `flushHeaders`)
 * until the session is committed, for every adapter whose framework writes to one.
 */
import { OutgoingMessage, ServerResponse, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { isTesseraError } from '../../core/errors.js';
import type { ResponseHeaders, SessionManager } from '../../core/manager/index.js';
import type { Session, SessionData } from '../../core/session/index.js';
import { applyHeaders, setsCookie, type HeaderOps } from './headers.js';

/**
 * What answers a request whose session could not be committed, as {@link sendError} does. `arg`
 * is what the adapter passed to {@link commitBeforeHeaders} (Express's `next`, Koa's context), so
 * one function serves every request and none is made per request.
 */
export type CommitFailed<A = undefined> = (
  error: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  arg: A,
) => void;

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

/** Session headers on a node:http response that has not sent its head yet. */
export const NODE_HEADERS: HeaderOps<ServerResponse> = {
  set: (res, name, value) => void res.setHeader(name, value),
  // `appendHeader` checks name and value, then (for a header not there yet) `setHeader` checks
  // them again: a new header goes straight to `setHeader`.
  append: (res, name, value) =>
    void (res.hasHeader(name) ? res.appendHeader(name, value) : res.setHeader(name, value)),
  has: (res, name) => res.hasHeader(name),
};

type Method = 'writeHead' | 'write' | 'end' | 'flushHeaders';
type Call = { method: Method; args: unknown[] };
type Writer = (this: ServerResponse, ...args: unknown[]) => unknown;
type Writers = Record<Method, Writer>;
const METHODS: readonly Method[] = ['writeHead', 'write', 'end', 'flushHeaders'];

/** Options of {@link commitBeforeHeaders}. */
export interface CommitBeforeHeadersOptions {
  /**
   * Decides from the status about to be sent whether the session's pending changes are saved.
   * Adapters that never see a handler's errors (Express, Connect) drop the changes of 5xx answers.
   * @default every status saves
   */
  saveOn?: ((status: number) => boolean) | undefined;
}

const NO_OPTIONS: CommitBeforeHeadersOptions = Object.freeze({});

/** One response held until its session is committed. */
class Hold {
  /** What was written while the commit ran; undefined until the first write. */
  queue: Call[] | undefined = undefined;
  /** Streams piped into the response: dropped with it when the commit fails. */
  piped: Set<Readable> | undefined = undefined;
  /** Committed or let go: calls pass straight through. */
  isReleased = false;
  /**
   * Headers the answer must carry although the session was not committed (a failed handler or
   * commit: a new id already stored), added when its head goes out, whoever writes it then: an
   * error handler that cleared every header first still sends them.
   */
  settled: ResponseHeaders | undefined = undefined;
  readonly manager: SessionManager<SessionData>;
  readonly session: Session<SessionData>;
  readonly req: IncomingMessage;
  readonly onError: CommitFailed<unknown>;
  /** The adapter's argument for `onError`. */
  readonly arg: unknown;
  readonly saveOn: ((status: number) => boolean) | undefined;
  /** The methods to call once released. */
  readonly writers: Writers;
  /** Whether the interceptors sit on the response itself (else on its prototype). */
  readonly isOwn: boolean;
  constructor(
    manager: SessionManager<SessionData>,
    session: Session<SessionData>,
    req: IncomingMessage,
    onError: CommitFailed<unknown>,
    arg: unknown,
    saveOn: ((status: number) => boolean) | undefined,
    writers: Writers,
    isOwn: boolean,
  ) {
    this.manager = manager;
    this.session = session;
    this.req = req;
    this.onError = onError;
    this.arg = arg;
    this.saveOn = saveOn;
    this.writers = writers;
    this.isOwn = isOwn;
  }
}

/** The responses currently held, for responses whose prototype was swapped (see `commitBeforeHeaders`). */
const holds = new WeakMap<ServerResponse, Hold>();
/**
 * Where a response with Node's own prototype (or with interceptors of its own) keeps its hold: a
 * plain property write is cheap there.
 */
const HOLD: unique symbol = Symbol('tessera.hold');
/**
 * Where a response with Node's prototype, held by the interceptors on that prototype, keeps its
 * hold. Not {@link HOLD}: a response held by interceptors of its own that wrap the prototype's
 * must pass through the prototype's untouched.
 */
const PROTO_HOLD: unique symbol = Symbol('tessera.protoHold');
type Holding = ServerResponse & { [HOLD]?: Hold; [PROTO_HOLD]?: Hold };

function holdOf(res: ServerResponse): Hold | undefined {
  return (res as Holding)[HOLD] ?? protoHoldOf(res);
}
/** The hold the interceptors on a prototype serve. */
function protoHoldOf(res: ServerResponse): Hold | undefined {
  return (res as Holding)[PROTO_HOLD] ?? holds.get(res);
}
/** Prototypes that carry the interceptors, each with the methods it had before. */
const patched = new WeakMap<object, Writers>();
/**
 * Node's outgoing-message prototype: never patched (requests a server sends share it too), so a
 * response made directly on it gets its interceptors as own properties.
 */
const UNPATCHED = OutgoingMessage.prototype;
const NODE_PROTOTYPE = ServerResponse.prototype as unknown as Writers;
/** The prototype held last and its originals (see `protoWriters`). */
let last: { readonly proto: object; readonly writers: Writers } | undefined;

function onPipe(this: ServerResponse, source: Readable): void {
  const hold = holdOf(this);
  if (hold && !hold.isReleased) (hold.piped ??= new Set()).add(source);
}

/** Whether `res` is (or was) held by {@link commitBeforeHeaders}. */
export function isHeld(res: ServerResponse): boolean {
  return holdOf(res) !== undefined;
}

/**
 * Puts the response back to its own methods: nothing is held from here on. Interceptors set on
 * the response itself stay while settled headers wait for the head.
 */
function release(res: ServerResponse, hold: Hold): void {
  hold.isReleased = true;
  res.off('pipe', onPipe);
  if (hold.isOwn && hold.settled === undefined)
    for (const method of METHODS) res[method] = hold.writers[method] as never;
}

/**
 * Lets the response go uncommitted: the session's pending changes are dropped, and the headers
 * `discard` says must still reach the client go out with whatever head is written next (the
 * framework's error answer, once it has cleared its own headers).
 */
export function settle<Data extends SessionData>(
  manager: SessionManager<Data>,
  session: Session<Data>,
  res: ServerResponse,
): void {
  const headers = manager.discard(session);
  if (headers.length === 0 || res.headersSent) return;
  const hold = holdOf(res);
  if (hold === undefined) return applyHeaders(NODE_HEADERS, res, headers);
  hold.settled = headers;
  if (hold.isReleased && hold.isOwn)
    for (const method of METHODS) res[method] = OWN_INTERCEPTORS[method] as never;
}

/** Adds the settled headers as the head goes out, once. */
function flushSettled(res: ServerResponse, hold: Hold, method: Method, args: unknown[]): unknown[] {
  const headers = hold.settled!;
  hold.settled = undefined;
  if (res.headersSent) return args;
  applyHeaders(NODE_HEADERS, res, headers);
  return mergeSetCookie({ method, args }, headers);
}

/** The methods a prototype had before it (or the ancestor it inherits them from) was patched. */
function originalsOf(proto: object | null): Writers {
  for (let p = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const writers = patched.get(p);
    if (writers) return writers;
  }
  return ServerResponse.prototype as unknown as Writers;
}

/**
 * The interceptors, each finding its hold its own way: those set on a response itself under HOLD,
 * those set on a prototype in `holds` (so a response held by own interceptors that wrap them
 * passes through them untouched). Not held: the original methods; released: what the hold
 * wrapped (a middleware may have kept a reference to an interceptor).
 */
function interceptors(holdOn: (res: ServerResponse) => Hold | undefined): Writers {
  const make = (method: Method): Writer =>
    function (this: ServerResponse, ...args: unknown[]): unknown {
      const hold = holdOn(this);
      if (hold === undefined)
        return originalsOf(Object.getPrototypeOf(this) as object)[method].apply(this, args);
      if (hold.isReleased)
        return hold.writers[method].apply(
          this,
          hold.settled === undefined ? args : flushSettled(this, hold, method, args),
        );
      return hold.queue === undefined
        ? first(this, hold, method, args)
        : queued(this, hold, method, args);
    };
  return {
    writeHead: make('writeHead'),
    write: make('write'),
    end: make('end'),
    flushHeaders: make('flushHeaders'),
  };
}
const OWN_INTERCEPTORS = interceptors((res) => (res as Holding)[HOLD]);
const PROTO_INTERCEPTORS = interceptors(protoHoldOf);

function queued(res: ServerResponse, hold: Hold, method: Method, args: unknown[]): unknown {
  hold.queue!.push({ method, args });
  // What the real methods return: `write` whether to go on writing, the others the response.
  return method === 'write' ? true : res;
}

/** The head is about to go out: commit first (holding what is written meanwhile), or let it go. */
function first(res: ServerResponse, hold: Hold, method: Method, args: unknown[]): unknown {
  const { manager, session } = hold;
  const status = method === 'writeHead' && typeof args[0] === 'number' ? args[0] : res.statusCode;
  if (hold.saveOn && !hold.saveOn(status)) manager.discard(session);
  if (!manager.needsCommit(session)) {
    // The head goes out now: a later change could never reach the client, so it throws. What is
    // already in the store still goes with it (a new id; the cache headers of a read).
    const headers = manager.discard(session);
    release(res, hold);
    if (headers.length === 0) return hold.writers[method].apply(res, args);
    applyHeaders(NODE_HEADERS, res, headers);
    return hold.writers[method].apply(
      res,
      setsCookie(headers) ? mergeSetCookie({ method, args }, headers) : args,
    );
  }
  hold.queue = [{ method, args }];
  manager.commit(session).then(
    (headers) => {
      release(res, hold);
      if (!res.headersSent) applyHeaders(NODE_HEADERS, res, headers);
      for (const call of hold.queue!) {
        // Middleware that writes the head itself whenever `_header` is unset (compression calls
        // `_implicitHeader()` before each write) asked again while it was held: sent once is enough.
        if (call.method === 'writeHead' && res.headersSent) continue;
        hold.writers[call.method].apply(res, mergeSetCookie(call, headers));
      }
    },
    (error: unknown) => {
      // What already reached the store (a new id) goes out with the error answer.
      const settled = manager.discard(session);
      if (settled.length > 0) hold.settled = settled;
      release(res, hold);
      // The held answer is abandoned: a stream still feeding it must not reach the client
      // ahead of (or after) the error answer.
      for (const source of hold.piped ?? []) source.unpipe(res).destroy();
      hold.onError(error, hold.req, res, hold.arg);
    },
  );
  return method === 'write' ? true : res;
}

/**
 * Holds back the response head (and any body written with it) until the session is committed,
 * so the client's next request always sees what this one wrote.
 *
 * The interceptors go on the response's prototype, once: Node's `ServerResponse.prototype` for
 * plain node:http (the first time any response is held; responses nobody holds pass straight to
 * the methods that were there, at the cost of one property read), or a framework's own
 * (Express's `app.response`). A request then only registers its hold: as a property of a response
 * with Node's prototype, in a WeakMap for one whose prototype was swapped (writing properties onto
 * such an object costs microseconds in V8). No method is written per request. Responses whose
 * methods another middleware already replaced get the interceptors as own properties for the
 * request's lifetime, wrapping whatever was there.
 */
export function commitBeforeHeaders<Data extends SessionData, A = undefined>(
  manager: SessionManager<Data>,
  session: Session<Data>,
  req: IncomingMessage,
  res: ServerResponse,
  onError: CommitFailed<A>,
  options: CommitBeforeHeadersOptions = NO_OPTIONS,
  arg?: A,
): void {
  const proto = Object.getPrototypeOf(res) as Writers;
  const isOwn =
    (proto as object) === UNPATCHED ||
    Object.hasOwn(res, 'end') ||
    Object.hasOwn(res, 'write') ||
    Object.hasOwn(res, 'writeHead') ||
    Object.hasOwn(res, 'flushHeaders');
  const writers: Writers = isOwn ? ownWriters(res as unknown as Writers) : protoWriters(proto);
  // `arg` is passed back to `onError` as given: the adapter that typed `onError` gave it.
  const failed = onError as CommitFailed<unknown>;
  const hold = new Hold(manager, session, req, failed, arg, options.saveOn, writers, isOwn);
  if (isOwn) (res as Holding)[HOLD] = hold;
  else if (proto === NODE_PROTOTYPE) (res as Holding)[PROTO_HOLD] = hold;
  else holds.set(res, hold);
  res.on('pipe', onPipe);
  if (isOwn) for (const method of METHODS) res[method] = OWN_INTERCEPTORS[method] as never;
}

/** The methods a response carries itself (another middleware replaced them), to wrap. */
function ownWriters(res: Writers): Writers {
  const { writeHead, write, end, flushHeaders } = res;
  return { writeHead, write, end, flushHeaders };
}

/**
 * The originals of a prototype's methods, putting the interceptors on it the first time it is
 * seen. The prototype seen last is remembered: a process mostly serves one kind of response.
 */
function protoWriters(proto: Writers): Writers {
  if (last?.proto === proto) return last.writers;
  let writers = patched.get(proto);
  if (writers === undefined) {
    if (proto.end === PROTO_INTERCEPTORS.end) {
      // Inherited from a patched prototype (an Express sub-app's response): share its originals.
      writers = originalsOf(proto);
    } else {
      writers = ownWriters(proto);
      for (const method of METHODS)
        Object.defineProperty(proto, method, {
          value: PROTO_INTERCEPTORS[method],
          writable: true,
          configurable: true,
        });
    }
    patched.set(proto, writers);
  }
  last = { proto, writers };
  return writers;
}

/** `writeHead(status, { 'Set-Cookie': … })` would replace the session cookie: keep both. */
function mergeSetCookie(call: Call, headers: ResponseHeaders): unknown[] {
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
