/**
 * @module The one error class of tessera and its stable codes.
 */

/**
 * Every code a {@link TesseraError} can carry, with what it means. Codes are stable: match on them,
 * never on messages. The README lists them all (a test keeps the two in step).
 */
export const ERROR_CODES = {
  CONFIG: 'An option is missing or wrong. Raised at start-up, never per request.',
  INSECURE_KEY: 'A secret is too short, repetitive or a well-known example value.',
  STORE_UNAVAILABLE:
    'The store could not be reached or failed. Refused before it was sent, the call changed nothing; a connection lost after sending leaves its outcome unknown.',
  STORE_TIMEOUT: 'The store did not answer within `storeTimeout`. The outcome is unknown.',
  STORE_CONFLICT: 'A compare-and-swap write kept losing to concurrent writers and gave up.',
  BAD_ID: 'A session id or device handle passed to an API call is malformed.',
  TOO_LARGE: 'The session is larger than the store or the cookie can hold.',
  INVALID_DATA:
    'A value cannot be stored in a session (function, cycle, NaN, too deep, reserved key).',
  TOO_MANY_SESSIONS:
    'The user already has `maxSessionsPerUser` sessions and the policy is `refuse`.',
  UNSUPPORTED: 'The store does not offer this ability (for example a user index).',
  ALREADY_COMMITTED: 'The session was changed after it was committed (after the headers went out).',
  CROSS_SITE:
    'A state-changing request came from another site (Sec-Fetch-Site or Origin) and was refused.',
  LOCK_TIMEOUT:
    "The session's lock was held by another request for longer than `wait`, or this holder's lease ran out before it finished.",
  UNAUTHENTICATED:
    'The request needs a session bound to a user (a WebSocket handshake with `requireUser`) and has none.',
  READ_ONLY:
    'A session opened read-only (a Server Component, a WebSocket handshake) was asked to change.',
} as const;

/** A stable error code. */
export type TesseraErrorCode = keyof typeof ERROR_CODES;

/** Options of {@link TesseraError}. */
export interface TesseraErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** The HTTP status an adapter should answer with. Defaults by code (503 for store failures). */
  status?: number;
}

/** The HTTP status each code answers with unless the thrower says otherwise. */
export const ERROR_STATUS: Readonly<Record<TesseraErrorCode, number>> = {
  CONFIG: 500,
  INSECURE_KEY: 500,
  STORE_UNAVAILABLE: 503,
  STORE_TIMEOUT: 503,
  STORE_CONFLICT: 503,
  BAD_ID: 400,
  TOO_LARGE: 413,
  INVALID_DATA: 422,
  TOO_MANY_SESSIONS: 409,
  UNSUPPORTED: 501,
  ALREADY_COMMITTED: 500,
  CROSS_SITE: 403,
  LOCK_TIMEOUT: 503,
  UNAUTHENTICATED: 401,
  READ_ONLY: 500,
};

/**
 * The one error tessera throws. Its `code` is stable; its message says what failed and what to do,
 * and never carries session data, ids or secrets.
 *
 * @example
 * try { await session.get('cart') } catch (e) {
 *   if (isTesseraError(e) && e.code === 'STORE_UNAVAILABLE') return res.writeHead(503).end()
 *   throw e
 * }
 */
export class TesseraError extends Error {
  override name = 'TesseraError' as const;
  /** Stable code; see {@link ERROR_CODES}. */
  readonly code: TesseraErrorCode;
  /** HTTP status an adapter answers with when the error reaches it. */
  readonly status: number;

  constructor(code: TesseraErrorCode, message: string, options: TesseraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? ERROR_STATUS[code];
  }
}

/** Whether `value` is a {@link TesseraError}, also across realms and duplicated installs. */
export function isTesseraError(value: unknown): value is TesseraError {
  return (
    value instanceof TesseraError ||
    (typeof value === 'object' &&
      value !== null &&
      (value as { name?: unknown }).name === 'TesseraError' &&
      typeof (value as { code?: unknown }).code === 'string' &&
      Object.hasOwn(ERROR_CODES, (value as { code: string }).code))
  );
}

/**
 * Wraps whatever a store threw into a `STORE_UNAVAILABLE` error naming the store and the operation,
 * leaving a {@link TesseraError} as it is.
 */
export function storeFailure(storeName: string, op: string, cause: unknown): TesseraError {
  if (isTesseraError(cause)) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new TesseraError(
    'STORE_UNAVAILABLE',
    `The ${storeName} store failed during ${op}: ${reason}. Check that the server is running and reachable.`,
    { cause },
  );
}
