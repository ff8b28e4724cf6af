/**
 * @module Internal: the one way session headers reach a response, whatever holds its headers.
 */
import type { ResponseHeaders } from '../../core/manager/index.js';

/**
 * How one kind of response takes headers: a constant per framework, so applying headers makes no
 * closure per request.
 */
export interface HeaderOps<Target> {
  /** Sets `name` to `value`, replacing what is there. */
  set(target: Target, name: string, value: string): void;
  /**
   * Adds `value` to what `name` holds already: another `set-cookie` line, or one more entry of a
   * list header such as `vary` (never replacing the framework's own entries).
   */
  append(target: Target, name: string, value: string): void;
  /** Whether the response has `name` already (the handler's own `Cache-Control`). */
  has(target: Target, name: string): boolean;
}

/**
 * Adds the session headers to `target`: `set-cookie` and `vary` are appended, the others set.
 * `cache-control` is the session's default: it replaces the handler's own only on an answer that
 * sets a session cookie (which must never be stored); on one that only read the session, the
 * handler's own `Cache-Control` stays.
 */
export function applyHeaders<Target>(
  ops: HeaderOps<Target>,
  target: Target,
  headers: ResponseHeaders,
): void {
  if (headers.length === 0) return;
  for (const [name, value] of headers) {
    if (name === 'set-cookie' || name === 'vary') ops.append(target, name, value);
    else if (name !== 'cache-control' || setsCookie(headers) || !ops.has(target, name))
      ops.set(target, name, value);
  }
}

/** Whether `headers` set (or clear) a cookie. */
export function setsCookie(headers: ResponseHeaders): boolean {
  for (let i = 0; i < headers.length; i++) if (headers[i]![0] === 'set-cookie') return true;
  return false;
}
