/**
 * @module The errors of the memcached client: a plain `Error` with a code saying what went wrong.
 */

/**
 * What went wrong, in the `code` of every error the client raises:
 * - `MEMCACHED_UNREACHABLE`: the connection failed (its socket error is the `cause`), or the
 *   server is in its `retryDelay` after a failure.
 * - `MEMCACHED_CLOSED`: the server or the client closed the connection with calls waiting.
 * - `MEMCACHED_TIMEOUT`: the connection heard nothing for `timeout` while calls waited.
 * - `MEMCACHED_BUSY`: `maxPending` calls already wait on that server.
 * - `MEMCACHED_TOO_LARGE`: the server refused an item as larger than it stores.
 * - `MEMCACHED_ERROR`: any other error reply, or a reply the client did not expect.
 */
export type MemcachedErrorCode =
  | 'MEMCACHED_UNREACHABLE'
  | 'MEMCACHED_CLOSED'
  | 'MEMCACHED_TIMEOUT'
  | 'MEMCACHED_BUSY'
  | 'MEMCACHED_TOO_LARGE'
  | 'MEMCACHED_ERROR';

/** An error of the client: a plain `Error` with a {@link MemcachedErrorCode}. */
export type MemcachedError = Error & { readonly code: MemcachedErrorCode };

/** A client error with `code`, and its `cause` when there is one. */
export function memcachedError(
  code: MemcachedErrorCode,
  message: string,
  cause?: unknown,
): MemcachedError {
  const error = new Error(message, cause === undefined ? undefined : { cause });
  return Object.assign(error, { code });
}

/** The {@link MemcachedErrorCode} of an error of this client, or `undefined` for anything else. */
export function memcachedErrorCode(error: unknown): MemcachedErrorCode | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('MEMCACHED_')
    ? (code as MemcachedErrorCode)
    : undefined;
}
