/**
 * @module How the MongoDB store reads driver and server errors: by `name` and `code`, never by
 * `instanceof`, so the store needs the driver's classes only when it makes its own client.
 */
import { TesseraError } from '../../core/errors.js';
import type { Classified } from '../_shared/deadline.js';

/**
 * Server codes meaning that a time limit ran out: `50` (`MaxTimeMSExpired`, the `maxTimeMS`
 * guard the store sends with each command) and `262` (`ExceededTimeLimit`).
 */
const TIMEOUT_CODES: ReadonlySet<unknown> = new Set([50, 262]);

/** Driver error classes meaning that a time limit of the driver ran out. */
const TIMEOUT_NAMES: ReadonlySet<unknown> = new Set([
  'MongoNetworkTimeoutError',
  'MongoOperationTimeoutError',
  'MongoWaitQueueTimeoutError',
]);

/**
 * Server codes meaning that the document would pass 16 MiB: `10334` (`BSONObjectTooLarge`),
 * `17419` and `17420` (the updated document is too large).
 */
const TOO_LARGE_CODES: ReadonlySet<unknown> = new Set([10334, 17419, 17420]);

/** The server code of a duplicate key (another writer inserted the same `_id` first). */
export const DUPLICATE_KEY = 11000;

/** Whether `error` is MongoDB's duplicate key error. */
export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown } | null | undefined)?.code === DUPLICATE_KEY;
}

/** Reads a MongoDB error: a timeout, `TOO_LARGE`, or left to become `STORE_UNAVAILABLE`. */
export function classifyMongoError(error: unknown): Classified {
  const e = error as { name?: unknown; code?: unknown; codeName?: unknown; message?: unknown };
  if (e === null || typeof e !== 'object') return undefined;
  if (TIMEOUT_NAMES.has(e.name) || TIMEOUT_CODES.has(e.code) || e.codeName === 'MaxTimeMSExpired')
    return 'timeout';
  const isDriverSizeError =
    e.name === 'BSONError' ||
    e.name === 'MongoInvalidArgumentError' ||
    e.name === 'BSONVersionError' ||
    e.name === 'RangeError';
  if (
    TOO_LARGE_CODES.has(e.code) ||
    (isDriverSizeError &&
      typeof e.message === 'string' &&
      /too large|larger than|exceeds/i.test(e.message))
  ) {
    return new TesseraError(
      'TOO_LARGE',
      'The session is larger than a MongoDB document can hold (16 MiB); keep less data in it.',
      { cause: error },
    );
  }
  return undefined;
}
