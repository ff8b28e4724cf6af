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
}

/** Adds the session headers to `target`: `set-cookie` and `vary` are appended, the others set. */
export function applyHeaders<Target>(
  ops: HeaderOps<Target>,
  target: Target,
  headers: ResponseHeaders,
): void {
  for (const [name, value] of headers) {
    if (name === 'set-cookie' || name === 'vary') ops.append(target, name, value);
    else ops.set(target, name, value);
  }
}
