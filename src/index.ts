/**
 * @module tessera: the session manager, its types and errors, and the store registry.
 *
 * Left out on purpose: stores other than memory (import `tessera-session/stores/<name>`, so their drivers
 * stay optional) and adapters (`tessera-session/node`, `tessera-session/express`, …).
 */
export { createSessionManager } from './core/manager.js';
export type { SessionManager, ResponseHeaders } from './core/manager.js';
export type { Session, SessionData, DataKey, LoginMeta } from './core/session.js';
export type { SessionManagerOptions, SessionLimitPolicy } from './core/options.js';
export type { CookieOptions } from './core/transport/cookie.js';
export type { SessionRequest, TransportOptions } from './core/transport/index.js';
export type { DeviceSession, RevokeUserOptions, UserOps } from './core/users.js';
export { TesseraError, isTesseraError, ERROR_CODES } from './core/errors.js';
export type { TesseraErrorCode, TesseraErrorOptions } from './core/errors.js';
export { jsonCodec } from './core/codec.js';
export type { Codec } from './core/codec.js';
export type { StandardSchemaV1 } from './core/schema.js';
export { register, createStore } from './core/registry.js';
export type { StoreFactory, StoreUrlOptions } from './core/registry.js';
export { capExpiry, systemClock, isSealedStore } from './core/store.js';
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
  Clock,
  SealedStore,
  SealedSession,
  SealedRequest,
} from './core/store.js';
export { applyDelta, isLive } from './core/delta.js';
export { storeKey } from './core/id.js';
export { memoryStore } from './stores/memory.js';
export type { MemoryStoreOptions } from './stores/memory.js';
