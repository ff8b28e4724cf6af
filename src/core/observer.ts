/**
 * @module Observers: the one extension point for metrics, tracing and debug logs. The manager
 * reports store calls, commits, session lifecycle events and errors to the observers it was given;
 * with none (or none listening to an event) the event costs nothing: no clock read, no object.
 */
import type { TesseraError } from './errors.js';

/** The store operations a manager calls, as observers see them. */
export type StoreOp =
  | 'get'
  | 'write'
  | 'touch'
  | 'destroy'
  | 'rename'
  | 'byUser'
  | 'destroyByUser'
  | 'count'
  | 'scan'
  | 'gc'
  | 'check'
  | 'lock'
  | 'unlock'
  | 'close';

/** A store call about to start. */
export interface StoreCallStart {
  /** The store's name (`redis`, `postgres`, …): a bounded label, never a key. */
  readonly store: string;
  readonly op: StoreOp;
}

/** How a store call ended. */
export interface StoreCallEnd {
  /** `ok`; `timeout` when its deadline passed (`STORE_TIMEOUT`); `error` for any other failure. */
  readonly outcome: 'ok' | 'error' | 'timeout';
  /** From start to end, in milliseconds (`performance.now()` resolution). */
  readonly durationMs: number;
  /** The error the caller got, for `error` and `timeout`. */
  readonly error: TesseraError | undefined;
}

/**
 * What a commit did: `none` (nothing to store), `touch` (the idle deadline moved), `write` (a
 * delta applied to the stored record) or `create` (a new record, under a new id).
 */
export type CommitKind = 'none' | 'touch' | 'write' | 'create';

/** A finished commit. */
export interface CommitEvent {
  readonly kind: CommitKind;
  /** Whether the response carries the session id (a new or renewed id, a persistent cookie). */
  readonly isIdSent: boolean;
  /** Whether the response clears the session cookie (a destroyed or dead session). */
  readonly isCookieCleared: boolean;
}

/**
 * A change in a session's life: `created` (first stored), `renewed` (new id: regenerate, login),
 * `destroyed` (destroy, logout), `revoked` (ended from outside: revoke, revokeUser, a per-user
 * cap), `expired` (a request came back with the id of a session that is gone: past its deadline,
 * or ended elsewhere), `invalid` (a stored record failed its shape or the schema and was treated
 * as missing).
 */
export type SessionEventType =
  'created' | 'renewed' | 'destroyed' | 'revoked' | 'expired' | 'invalid';

/** A session lifecycle event. Carries no id, key or data. */
export interface SessionEvent {
  readonly type: SessionEventType;
  /** How many sessions it concerns (more than 1 for `revokeUser` and cap enforcement). */
  readonly count: number;
}

/** An error that reached the caller or `onError`. */
export interface ErrorEvent {
  readonly error: TesseraError;
  /** Where it happened: a store operation, `commit`, `gc`, `schema`, … */
  readonly during: string;
}

/** A finished garbage collection pass. */
export interface GcEvent {
  readonly removed: number;
  readonly done: boolean;
  readonly durationMs: number;
}

/**
 * Receives what a manager does. Every hook is optional; implement the ones you need. Hooks run
 * synchronously on the request path: keep them cheap and never throw (a throw is caught and
 * ignored). Events never carry session ids, store keys, user ids or data.
 */
export interface Observer {
  /**
   * A store call starts. Return a function to be called once when it ends (a span's end, a
   * histogram timer), or nothing.
   */
  onStoreCall?(call: StoreCallStart): ((end: StoreCallEnd) => void) | undefined | void;
  /** A commit ran (adapters skip the commit of a session that needs none: no event then). */
  onCommit?(event: CommitEvent): void;
  /** A session was created, renewed, destroyed, revoked, found expired or found invalid. */
  onSession?(event: SessionEvent): void;
  /** An error reached the caller, or happened off the request path. */
  onError?(event: ErrorEvent): void;
  /** A GC pass finished. */
  onGc?(event: GcEvent): void;
}

/** The observers combined into one, with a hook only where at least one observer has it. */
export type Observers = Readonly<Observer>;

const NONE: Observers = Object.freeze({});

function guard<A extends unknown[], R>(run: (...args: A) => R): (...args: A) => R | undefined {
  return (...args) => {
    try {
      return run(...args);
    } catch {
      return undefined;
    }
  };
}

/**
 * Combines observers into one. A hook missing from every observer stays missing, so callers test
 * `observers.onCommit` once and skip the event entirely. A hook that throws is ignored.
 */
export function combineObservers(list: readonly Observer[] | undefined): Observers {
  if (list === undefined || list.length === 0) return NONE;
  const out: Observer = {};
  const calls: Array<NonNullable<Observer['onStoreCall']>> = [];
  const commits: Array<NonNullable<Observer['onCommit']>> = [];
  const sessions: Array<NonNullable<Observer['onSession']>> = [];
  const errors: Array<NonNullable<Observer['onError']>> = [];
  const gcs: Array<NonNullable<Observer['onGc']>> = [];
  for (const o of list) {
    if (o.onStoreCall) calls.push(o.onStoreCall.bind(o));
    if (o.onCommit) commits.push(o.onCommit.bind(o));
    if (o.onSession) sessions.push(o.onSession.bind(o));
    if (o.onError) errors.push(o.onError.bind(o));
    if (o.onGc) gcs.push(o.onGc.bind(o));
  }
  if (calls.length > 0) {
    const starts = calls.map((hook) => guard(hook));
    out.onStoreCall = (call) => {
      let ends: Array<(end: StoreCallEnd) => void> | undefined;
      for (const start of starts) {
        const end = start(call);
        if (typeof end === 'function') (ends ??= []).push(guard(end));
      }
      if (ends === undefined) return undefined;
      const all = ends;
      return all.length === 1 ? all[0] : (end) => all.forEach((f) => f(end));
    };
  }
  const onCommit = fanOut(commits);
  if (onCommit) out.onCommit = onCommit;
  const onSession = fanOut(sessions);
  if (onSession) out.onSession = onSession;
  const onError = fanOut(errors);
  if (onError) out.onError = onError;
  const onGc = fanOut(gcs);
  if (onGc) out.onGc = onGc;
  return Object.freeze(out);
}

/** One function calling every hook, each guarded; `undefined` when there is none. */
function fanOut<E>(hooks: Array<(event: E) => void>): ((event: E) => void) | undefined {
  if (hooks.length === 0) return undefined;
  const safe = hooks.map((h) => guard(h));
  return safe.length === 1 ? safe[0] : (event) => safe.forEach((h) => h(event));
}
