/**
 * @module How the Couchbase store reads SDK errors: by class name (the SDK sets `name` to it), so
 * the store needs the SDK's classes only where it makes its own cluster connection.
 */
import { TesseraError } from '../../core/errors.js';
import type { Classified } from '../_shared/deadline.js';

/** SDK errors meaning that a time limit ran out (the outcome of a mutation may be unknown). */
const TIMEOUT_NAMES: ReadonlySet<unknown> = new Set([
  'TimeoutError',
  'AmbiguousTimeoutError',
  'UnambiguousTimeoutError',
]);

/** SDK errors meaning that a document or value would pass the server's limits (20 MiB). */
const TOO_LARGE_NAMES: ReadonlySet<unknown> = new Set(['ValueTooLargeError', 'PathTooBigError']);

/** SDK errors meaning that a value nests deeper than sub-document operations allow. */
const TOO_DEEP_NAMES: ReadonlySet<unknown> = new Set(['ValueTooDeepError', 'PathTooDeepError']);

/** Whether `error` is the SDK error of class `name` (`DocumentNotFoundError`, `CasMismatchError`…). */
export function isCouchbaseError(error: unknown, name: string): boolean {
  return (error as { name?: unknown } | null | undefined)?.name === name;
}

/** Whether `error` says another writer got there first: the caller reads again and retries. */
export function isRace(error: unknown): boolean {
  const name = (error as { name?: unknown } | null | undefined)?.name;
  return (
    name === 'CasMismatchError' ||
    name === 'DocumentExistsError' ||
    name === 'DocumentNotFoundError'
  );
}

/** Reads a Couchbase SDK error: a timeout, `TOO_LARGE`, `INVALID_DATA`, or `STORE_UNAVAILABLE`. */
export function classifyCouchbaseError(error: unknown): Classified {
  const name = (error as { name?: unknown } | null | undefined)?.name;
  if (TIMEOUT_NAMES.has(name)) return 'timeout';
  if (TOO_LARGE_NAMES.has(name))
    return new TesseraError(
      'TOO_LARGE',
      'The session is larger than a Couchbase document can hold (20 MiB); keep less data in it.',
      { cause: error },
    );
  if (TOO_DEEP_NAMES.has(name))
    return new TesseraError(
      'INVALID_DATA',
      'A session value nests deeper than Couchbase sub-document operations allow (32 levels).',
      { cause: error },
    );
  return undefined;
}
