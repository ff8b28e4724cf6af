/**
 * @module The session manager: wires its parts together (load, commit, renew, admin) and gives
 * adapters and applications its API.
 */
import { TesseraError } from '../errors.js';
import { resolveOptions, type SessionManagerOptions } from '../options.js';
import { SessionState } from '../session/session.js';
import type { Session, SessionData } from '../session/types.js';
import type { Clock, Store } from '../store.js';
import type { SessionRequest } from '../transport/index.js';
import { createAdmin, type UserOps } from './admin.js';
import { createCommitter, type ResponseHeaders } from './commit.js';
import { settledHeaders } from './headers.js';
import { createContext } from './context.js';
import { createHost } from './host.js';
import { createLoader, createOpener } from './load.js';
import { createRenewal } from './renew.js';

export type { ResponseHeaders } from './commit.js';

/** Options of {@link SessionManager.load}. */
export interface LoadOptions {
  /**
   * Open the session read-only: reads work, every change is refused with `READ_ONLY`, and no
   * commit writes anything (no touch either). For places that cannot send a cookie: Server
   * Components, WebSocket and SSE handshakes.
   */
  readOnly?: boolean | undefined;
}

/** The session manager. One per application; share it across requests. */
export interface SessionManager<Data extends SessionData = SessionData> extends UserOps {
  /** The store in use. */
  readonly store: Store;
  /** The session of a request. Costs no store call: the record loads when first read. */
  load(request: SessionRequest, options?: LoadOptions): Session<Data>;
  /**
   * Whether a request may go on to its handler: `undefined`, or the `CROSS_SITE` error (403) to
   * answer a state-changing request from another site with (see the `crossOrigin` option).
   * Adapters ask before they run the handler.
   */
  checkRequest(request: SessionRequest): TesseraError | undefined;
  /**
   * Save what the request changed and say which headers to send. Call it before the response
   * headers go out; adapters do. Rejects with `STORE_UNAVAILABLE`/`STORE_TIMEOUT` when the store
   * fails, in which case no header should be sent.
   */
  commit(session: Session<Data>): Promise<ResponseHeaders>;
  /**
   * Drop this request's pending changes: nothing more is written (a failed handler or commit).
   * Returns the headers the response must still carry for what already reached the store: the
   * new id of a login or regenerate that failed at a later step (so the client keeps a working
   * session), or the clearing of a destroyed session's cookie. Adapters add them to the error
   * answer.
   */
  discard(session: Session<Data>): ResponseHeaders;
  /** Whether `commit` would do anything (adapters use it to skip work on untouched sessions). */
  needsCommit(session: Session<Data>): boolean;
  /** The device handle of a session (the hashed id), or `undefined` for a new session. */
  handleOf(session: Session<Data>): string | undefined;
  /** Give the session `id` a new id (returned), or `undefined` when it no longer exists. */
  regenerate(id: string): Promise<string | undefined>;
  /** Stop background work and close the store. */
  close(): Promise<void>;
}

/**
 * Creates a session manager. `defaultStore` makes the store when `options.store` is unset (the
 * package entry point passes the memory store, so the core imports no store).
 */
export function createManager<Data extends SessionData>(
  options: SessionManagerOptions,
  defaultStore: (clock: Clock) => Store,
): SessionManager<Data> {
  const o = resolveOptions(options);
  const store = o.store ?? defaultStore(o.clock);
  const ctx = createContext(o, store);
  const renewal = createRenewal(ctx);
  const host = createHost(ctx, createLoader(ctx), renewal);
  const open = createOpener<Data>(ctx, host);
  const committer = createCommitter(ctx, renewal.renew);
  const { stopGC, ...admin } = createAdmin(ctx);

  const isOwn = (session: Session<Data>): session is SessionState<Data> =>
    session instanceof SessionState && session.host === host;
  /** The state of a session this manager made; any other is refused. */
  function stateOf(session: Session<Data>): SessionState<Data> {
    if (isOwn(session)) return session;
    throw new TesseraError(
      'CONFIG',
      'That session was not made by this manager: pass the session its `load` returned.',
    );
  }

  return {
    ...admin,
    store,
    load: (request, options) =>
      options?.readOnly === true ? open(request).makeReadOnly() : open(request),
    checkRequest: o.originCheck ?? (() => undefined),
    discard(session) {
      const s = stateOf(session);
      s.close();
      return settledHeaders(ctx, s);
    },
    needsCommit: (session) => committer.needsCommit(stateOf(session)),
    commit: (session) => committer.commit(stateOf(session)),
    handleOf(session) {
      const s = stateOf(session);
      return s.isMissing ? undefined : s.key;
    },
    regenerate: renewal.renewById,
    async close() {
      stopGC();
      await store.close();
    },
  };
}
