/**
 * @module Debug logs of a session manager's decisions, as an observer: what each commit stored,
 * why a session was dropped, which store calls failed, what GC removed. Switched on in code or by
 * `DEBUG=tessera*` / `NODE_DEBUG=tessera`. Never logs data or secrets; anything id-like in a
 * message is replaced by a short hash.
 */
import type { CommitKind, Observer, SessionEventType } from '../core/observer.js';
import { redact } from './_shared.js';

/** What can be logged: store calls, commits, session events, errors and GC passes. */
export type DebugTopic = 'store' | 'commit' | 'session' | 'error' | 'gc';

/** Options of {@link debugObserver}. */
export interface DebugOptions {
  /**
   * Where each line goes.
   * @default console.error
   */
  log?: (line: string) => void;
  /**
   * What is logged. Each line starts with `tessera:<topic>`.
   * @default every topic
   */
  topics?: readonly DebugTopic[];
}

const TOPICS: readonly DebugTopic[] = ['store', 'commit', 'session', 'error', 'gc'];

const COMMITS: Readonly<Record<CommitKind, string>> = {
  none: 'nothing to store',
  touch: 'idle deadline moved (touch)',
  write: 'changes written to the stored session',
  create: 'new session stored under a new id',
};

const SESSIONS: Readonly<Record<SessionEventType, string>> = {
  created: 'created: first stored',
  renewed: 'renewed: moved to a new id (regenerate, login)',
  destroyed: 'destroyed (destroy, logout)',
  revoked: 'revoked from outside (revoke, revokeUser, per-user cap)',
  expired:
    'expired: the request carried the id of a session that is gone (past its deadline, or ended elsewhere); starting afresh',
  invalid:
    'invalid: the stored record failed its shape or the schema; treated as missing and deleted',
};

const ms = (durationMs: number): string => `${durationMs.toFixed(2)}ms`;

/**
 * An observer that logs the manager's decisions, one line each. Events carry no ids, keys or data,
 * and error messages pass through a filter that replaces id-like runs with `#` and a short hash.
 *
 * @example
 * import { debugObserver } from 'tessera-session/debug'
 *
 * const sessions = createSessionManager({ observers: [debugObserver({ topics: ['commit', 'error'] })] })
 */
export function debugObserver(options: DebugOptions = {}): Observer {
  const log = options.log ?? ((line: string) => console.error(line));
  const topics = new Set(options.topics ?? TOPICS);
  const observer: Observer = {};
  if (topics.has('store'))
    observer.onStoreCall =
      ({ store, op }) =>
      ({ outcome, durationMs, error }) =>
        log(
          `tessera:store ${store}.${op} ${outcome} ${ms(durationMs)}` +
            (error === undefined ? '' : ` ${error.code}: ${redact(error.message)}`),
        );
  if (topics.has('commit'))
    observer.onCommit = ({ kind, isIdSent, isCookieCleared }) =>
      log(
        `tessera:commit ${kind}: ${COMMITS[kind]}` +
          (isIdSent ? '; session id sent' : '') +
          (isCookieCleared ? '; cookie cleared' : ''),
      );
  if (topics.has('session'))
    observer.onSession = ({ type, count }) =>
      log(`tessera:session ${count > 1 ? `${count} sessions ` : ''}${SESSIONS[type]}`);
  if (topics.has('error'))
    observer.onError = ({ error, during }) =>
      log(`tessera:error ${error.code} during ${during}: ${redact(error.message)}`);
  if (topics.has('gc'))
    observer.onGc = ({ removed, done, durationMs }) =>
      log(
        `tessera:gc removed ${removed} expired session(s) in ${ms(durationMs)}${done ? '' : '; more remain'}`,
      );
  return observer;
}

/** Whether `namespace` matches a `DEBUG` list (`debug`'s syntax: commas or spaces, `*`, `-` to exclude). */
function matchesDebug(list: string, namespace: string): boolean {
  let isOn = false;
  for (const raw of list.split(/[\s,]+/)) {
    if (raw === '') continue;
    const isExclusion = raw.startsWith('-');
    const pattern = isExclusion ? raw.slice(1) : raw;
    const regex = new RegExp(
      `^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*?')}$`,
    );
    if (!regex.test(namespace)) continue;
    if (isExclusion) return false;
    isOn = true;
  }
  return isOn;
}

/**
 * The topics switched on by the environment: every topic for `NODE_DEBUG=tessera`; for `DEBUG`,
 * those whose `tessera:<topic>` namespace it matches (`DEBUG=tessera*`, `DEBUG=tessera:commit`).
 */
export function debugTopicsFromEnv(env: NodeJS.ProcessEnv = process.env): DebugTopic[] {
  const nodeDebug = env['NODE_DEBUG'] ?? '';
  if (nodeDebug.split(/[\s,]+/).some((n) => matchesDebug(n, 'tessera'))) return [...TOPICS];
  const debug = env['DEBUG'] ?? '';
  if (debug === '') return [];
  return TOPICS.filter((topic) => matchesDebug(debug, `tessera:${topic}`));
}

/**
 * A {@link debugObserver} for the topics the environment switches on (see
 * {@link debugTopicsFromEnv}), or none: spread it into `observers`.
 *
 * @example
 * const sessions = createSessionManager({ observers: [...debugFromEnv()] })
 */
export function debugFromEnv(
  options: Omit<DebugOptions, 'topics'> = {},
  env: NodeJS.ProcessEnv = process.env,
): Observer[] {
  const topics = debugTopicsFromEnv(env);
  return topics.length === 0 ? [] : [debugObserver({ ...options, topics })];
}
