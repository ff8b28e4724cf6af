/**
 * @module Durations: units and the check every duration option goes through.
 */
import { TesseraError } from './errors.js';

export const SECOND: number = 1000;
export const MINUTE: number = 60 * SECOND;
export const HOUR: number = 60 * MINUTE;
export const DAY: number = 24 * HOUR;

/**
 * Checks a duration option: a positive finite number of milliseconds, or `fallback` when unset.
 * `owner` names who takes the option in the message (`the redis store`); omit it for the manager.
 */
export function checkDuration(
  name: string,
  value: number | undefined,
  fallback: number,
  owner?: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TesseraError(
      'CONFIG',
      `Option \`${name}\`${owner === undefined ? '' : ` of ${owner}`} must be a positive number of milliseconds; got ${String(value)}.`,
    );
  }
  return value;
}
