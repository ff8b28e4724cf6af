/**
 * @module Durations and the bound on every store call.
 */
import { TesseraError, storeFailure } from './errors.js';

export const SECOND: number = 1000;
export const MINUTE: number = 60 * SECOND;
export const HOUR: number = 60 * MINUTE;
export const DAY: number = 24 * HOUR;

/**
 * Runs a store operation, rejecting with `STORE_TIMEOUT` when it takes longer than `timeoutMs`
 * and turning any other failure into `STORE_UNAVAILABLE`. The operation itself is not cancelled
 * (drivers offer no general way to); its late result is ignored.
 */
export function bounded<T>(
  storeName: string,
  op: string,
  timeoutMs: number,
  run: () => Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new TesseraError(
          'STORE_TIMEOUT',
          `The ${storeName} store did not answer ${op} within ${timeoutMs} ms. Check the server's load and network, or raise \`storeTimeout\`.`,
        ),
      );
    }, timeoutMs);
    let pending: Promise<T>;
    try {
      pending = run();
    } catch (error) {
      clearTimeout(timer);
      reject(storeFailure(storeName, op, error));
      return;
    }
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(storeFailure(storeName, op, error));
      },
    );
  });
}

/**
 * Runs a store operation of a store that never waits on I/O: only wraps its failures. `then`, when
 * given, continues with the result in the same step (no promise of its own on the read path).
 */
export function unbounded<T, R = T>(
  storeName: string,
  op: string,
  run: () => Promise<T>,
  then?: (value: T) => R | PromiseLike<R>,
): Promise<R> {
  try {
    // Without `then`, R is T and the value passes through.
    return run().then<R, never>(then, (error: unknown) => {
      throw storeFailure(storeName, op, error);
    });
  } catch (error) {
    return Promise.reject(storeFailure(storeName, op, error));
  }
}

/** Checks a duration option: a positive finite number of milliseconds. */
export function checkDuration(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TesseraError(
      'CONFIG',
      `Option \`${name}\` must be a positive number of milliseconds; got ${String(value)}.`,
    );
  }
  return value;
}
