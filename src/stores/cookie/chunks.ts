/**
 * @module Splitting a sealed session over cookies (`name.0`, `name.1`, …) and joining them back.
 *
 * Internal to the cookie store.
 * A seal that fits one cookie travels as `name`. A larger one is cut into `n` chunks; the first
 * chunk starts with `n` and a dot (`name.0=3.xxxx`), so a missing chunk is noticed and a stale
 * extra chunk is ignored. Each write clears the cookies of the previous layout that it no longer
 * uses.
 */
import { TesseraError } from '../../core/errors.js';
import type { SealedRequest } from '../../core/store.js';

/** The most chunks a session may use (and the most chunk names read from a request). */
export const MAX_CHUNKS = 99;
const FIRST_CHUNK = /^([1-9][0-9]?)\.([A-Za-z0-9_-]*)$/;

/** What a request carries: the joined seal, if complete, and which of our cookie names it sent. */
export interface FoundChunks {
  token: string | undefined;
  present: string[];
}

/** Reads the seal from a request's cookies. Never throws. */
export function readChunks(
  request: Pick<SealedRequest, 'name' | 'read'>,
  maxBytes: number,
): FoundChunks {
  const { name } = request;
  const present: string[] = [];
  const single = request.read(name);
  if (single !== undefined) present.push(name);
  const parts: string[] = [];
  for (let i = 0; i < MAX_CHUNKS; i++) {
    const part = request.read(`${name}.${i}`);
    if (part === undefined) break;
    present.push(`${name}.${i}`);
    parts.push(part);
  }
  if (single !== undefined)
    return { token: single.length <= maxBytes ? single : undefined, present };
  const first = parts[0] === undefined ? null : FIRST_CHUNK.exec(parts[0]);
  if (first === null) return { token: undefined, present };
  const count = Number(first[1]);
  if (count < 2 || parts.length < count) return { token: undefined, present };
  parts[0] = first[2]!;
  const token = parts.slice(0, count).join('');
  return { token: token.length <= maxBytes ? token : undefined, present };
}

/**
 * The cookies that carry `token`, plus clears for names in `present` no longer used. Throws
 * `TOO_LARGE` past `maxBytes` (or past {@link MAX_CHUNKS} cookies).
 */
export function writeChunks(
  name: string,
  token: string,
  maxCookieBytes: number,
  maxBytes: number,
  present: readonly string[],
): Array<readonly [string, string | undefined]> {
  const tooLarge = (): TesseraError =>
    new TesseraError(
      'TOO_LARGE',
      `The session is ${token.length} bytes once sealed, more than the cookie store allows (maxBytes: ${maxBytes} bytes across at most ${MAX_CHUNKS} cookies of 4096 bytes). Keep less in the session (ids rather than whole objects), raise \`maxBytes\`, or use a server-side store.`,
    );
  if (token.length > maxBytes) throw tooLarge();
  const out: Array<readonly [string, string | undefined]> = [];
  if (name.length + 1 + token.length <= maxCookieBytes) {
    out.push([name, token]);
  } else {
    const count = chunkCount(name, token.length, maxCookieBytes);
    if (count === undefined) throw tooLarge();
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const prefix = i === 0 ? `${count}.` : '';
      const room = maxCookieBytes - (name.length + String(i).length + 2) - prefix.length;
      out.push([`${name}.${i}`, prefix + token.slice(offset, offset + room)]);
      offset += room;
    }
  }
  for (const old of present) if (!out.some(([n]) => n === old)) out.push([old, undefined]);
  return out;
}

/** The fewest chunks that hold `length` bytes, or `undefined` when more than {@link MAX_CHUNKS} would be needed. */
function chunkCount(name: string, length: number, maxCookieBytes: number): number | undefined {
  for (let count = 2; count <= MAX_CHUNKS; count++) {
    let room = -(String(count).length + 1);
    for (let i = 0; i < count; i++) room += maxCookieBytes - (name.length + String(i).length + 2);
    if (room >= length) return count;
  }
  return undefined;
}
