/**
 * @module Reading one environment value: durations, booleans, whole numbers and choices, each
 * failing with a `CONFIG` error that names the variable.
 */
import { TesseraError } from '../core/errors.js';
import { nearestName } from '../core/options-check.js';

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** A `CONFIG` error about variable `name`. */
export function envError(name: string, message: string): TesseraError {
  return new TesseraError('CONFIG', `Environment variable ${name}: ${message}`);
}

/**
 * A duration in milliseconds: a bare number is milliseconds (`1800000`), or a number with a unit
 * of `ms`, `s`, `m`, `h` or `d` (`30m`, `12h`, `1.5h`). `bare` changes what a bare number counts
 * (beego's variables count seconds). Refuses zero, negatives and anything else.
 */
export function parseDuration(name: string, text: string, bare = 1): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  const value = match ? Number(match[1]) * (match[2] ? UNITS[match[2].toLowerCase()]! : bare) : NaN;
  if (!Number.isFinite(value) || value <= 0 || !Number.isSafeInteger(Math.round(value)))
    throw envError(
      name,
      `must be a positive duration: milliseconds (${bare === 1 ? '1800000' : 'here, a bare number counts seconds'}) or a number with a unit ms, s, m, h or d (30m, 12h); got ${JSON.stringify(text)}.`,
    );
  return Math.round(value);
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** A boolean: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off` (any case). */
export function parseBoolean(name: string, text: string): boolean {
  const word = text.trim().toLowerCase();
  if (TRUE.has(word)) return true;
  if (FALSE.has(word)) return false;
  throw envError(name, `must be true or false (1/0, yes/no, on/off); got ${JSON.stringify(text)}.`);
}

/** Whether `text` switches something off (`off`, `false`, `no`, `none`, `0`). */
export function isOff(text: string): boolean {
  return FALSE.has(text.trim().toLowerCase()) || text.trim().toLowerCase() === 'none';
}

/** A whole number from `min` to `max`. */
export function parseWhole(name: string, text: string, min: number, max: number): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw envError(
      name,
      `must be a whole number from ${min} to ${max}; got ${JSON.stringify(text)}.`,
    );
  return value;
}

/** One of `choices` (any case). */
export function parseChoice<T extends string>(
  name: string,
  text: string,
  choices: readonly T[],
): T {
  const word = text.trim().toLowerCase();
  const found = choices.find((c) => c === word);
  if (found === undefined)
    throw envError(
      name,
      `must be ${choices.map((c) => JSON.stringify(c)).join(', ')}; got ${JSON.stringify(text)}.`,
    );
  return found;
}

/** The name of `known` nearest to `name`, when one is close enough to be a typo. */
export function nearest(name: string, known: Iterable<string>): string | undefined {
  return nearestName(name, known, Math.max(3, Math.floor(name.length / 4)));
}
