/**
 * @module tessera-session: the session manager, its types and errors, the store contract and the
 * store registry, and the memory store (the default).
 *
 * Left out on purpose: stores other than memory (import `tessera-session/stores/<name>`, so their
 * drivers stay optional), adapters (`tessera-session/node`, `tessera-session/express`, …), the store
 * contract suite (`tessera-session/testing`, which needs vitest), and the manager's internals
 * (session state, commit plans), which may change without notice.
 */
import { createManager, type SessionManager } from './core/manager/index.js';
import type { SessionManagerOptions } from './core/options.js';
import type { SessionData } from './core/session/types.js';
import { memoryStore } from './stores/memory/index.js';

/**
 * Creates a session manager. Without a `store` it keeps sessions in this process's memory.
 *
 * @example
 * import { createServer } from 'node:http'
 * import { createSessionManager } from 'tessera-session'
 * import { withSessions } from 'tessera-session/node'
 *
 * const sessions = createSessionManager<{ count: number }>({ idleTimeout: 30 * 60_000 })
 * createServer(withSessions(sessions, async (req, res) => {
 *   const count = await req.session.increment('count')
 *   res.end(`visit ${count}`)
 * })).listen(3000)
 */
export function createSessionManager<Data extends SessionData = SessionData>(
  options: SessionManagerOptions = {},
): SessionManager<Data> {
  return createManager<Data>(options, (clock) => memoryStore({ clock }));
}

export type { SessionManager, ResponseHeaders, LoadOptions } from './core/manager/index.js';
export type {
  Session,
  SessionData,
  DataKey,
  NumberKey,
  LoginMeta,
  SetOptions,
} from './core/session/index.js';
export type { SessionManagerOptions, SessionLimitPolicy } from './core/options.js';
export type { CookieOptions } from './core/transport/cookie.js';
export type { SessionRequest, TransportOptions } from './core/transport/index.js';
export type { DeviceSession, RevokeUserOptions, UserOps } from './core/manager/admin.js';
export { TesseraError, isTesseraError, ERROR_CODES } from './core/errors.js';
export type { TesseraErrorCode, TesseraErrorOptions } from './core/errors.js';
export { createCodec, jsonCodec } from './core/codec.js';
export type { AppCodec, AppType } from './core/codec.js';
export type { Codec } from './core/codec.js';
export type { StandardSchemaV1 } from './core/schema.js';
export type {
  Observer,
  StoreOp,
  StoreCallStart,
  StoreCallEnd,
  CommitKind,
  CommitEvent,
  SessionEventType,
  SessionEvent,
  ErrorEvent,
  GcEvent,
} from './core/observer.js';
export { register, createStore } from './stores/registry.js';
export { parseStoreUrl } from './core/store-url.js';
export type { StoreFactory, StoreUrlOptions } from './core/store-url.js';
export { systemClock, isSealedStore } from './core/store.js';
export type {
  Store,
  StoreRecord,
  Delta,
  WriteResult,
  JsonValue,
  SessionMeta,
  UserSession,
  GcOptions,
  GcResult,
  ScanPage,
  StoreChange,
  Unwatch,
  Clock,
  SealedStore,
  SealedSession,
  SealedRequest,
} from './core/store.js';
export { capExpiry, isLive } from './core/expiry.js';
export { applyDelta } from './core/delta.js';
export { bounded } from './core/store-call.js';
export { probeStore } from './core/probe.js';
export { storeKey } from './core/id.js';
export { memoryStore } from './stores/memory/index.js';
export type { MemoryStoreOptions } from './stores/memory/index.js';
export { fromEnv } from './config/env.js';
export type { FromEnvOptions } from './config/env.js';
