/**
 * @module Reading a store URL's query string: unknown parameters are refused, numbers read as such.
 */
import { TesseraError } from '../../core/errors.js';

/** Throws `CONFIG` for a query parameter of `url` not in `known`, so a typo cannot go unnoticed. */
export function checkUrlParams(url: URL, known: readonly string[], store: string): void {
  for (const name of url.searchParams.keys()) {
    if (!known.includes(name)) {
      throw new TesseraError(
        'CONFIG',
        `Unknown parameter "${name}" in a ${store} store URL; known: ${known.join(', ')}.`,
      );
    }
  }
}

/** A numeric query parameter, or `undefined` when absent (the store's option check judges it). */
export function numberParam(url: URL, name: string): number | undefined {
  const value = url.searchParams.get(name);
  return value === null ? undefined : Number(value);
}
