/**
 * @module The session a handler works with: its public types and the state behind them.
 */
export type { Session, SessionData, DataKey, NumberKey, LoginMeta, SetOptions } from './types.js';
export { SessionState } from './session.js';
