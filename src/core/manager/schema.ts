/**
 * @module Checks on the write path: with a `schema`, what a request is about to write is checked
 * against it first, so one bad `set` is refused with `INVALID_DATA` naming the key instead of being
 * stored and then failing every later load (which would log the user out); with `maxBytes`, a
 * write that would make the session larger is refused with `TOO_LARGE` naming the key.
 */
import { TesseraError } from '../errors.js';
import type { SessionState } from '../session/session.js';
import type { Delta, JsonValue } from '../store.js';
import type { ManagerContext } from './context.js';

/** The top-level key an issue's path starts with. */
function keyOf(
  path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined,
): string {
  const first = path?.[0];
  if (first === undefined) return '(the whole session)';
  return String(typeof first === 'object' ? first.key : first);
}

/**
 * Rejects with `INVALID_DATA` when the session's data after `delta` fails the schema. Loads the
 * record first when it was not read yet (a schema needs the whole data). No-op without a schema.
 */
export async function checkWrite(
  ctx: ManagerContext,
  s: SessionState,
  delta: Delta,
): Promise<void> {
  const { schema, codec, maxBytes } = ctx.o;
  if (maxBytes !== undefined) await checkSize(s, delta, maxBytes);
  if (schema === undefined) return;
  await s.ensureLoaded();
  const data: Record<string, unknown> = {};
  const put = (values: Record<string, JsonValue>): void => {
    for (const [key, value] of Object.entries(values))
      if (!key.startsWith('__')) data[key] = codec.decode(value);
  };
  if (!delta.replace && s.record) put(s.record.data);
  for (const key of delta.unset ?? []) delete data[key];
  if (delta.set) put(delta.set);
  for (const [key, by] of Object.entries(delta.incr ?? {})) {
    const before = data[key];
    data[key] = (typeof before === 'number' ? before : 0) + by;
  }
  const result = await schema['~standard'].validate(data);
  if (!result.issues) return;
  // Keys only: an issue's message may quote the value, and messages never carry session data.
  const keys = [...new Set(result.issues.map((issue) => keyOf(issue.path)))];
  throw new TesseraError(
    'INVALID_DATA',
    `The session would fail its schema at ${keys.map((k) => `\`${k}\``).join(', ')} (${result.issues.length} issue(s)); nothing was written. Fix the value before setting it.`,
  );
}

/** The size of a session's data as stored: its JSON, in bytes. */
export function sizeOf(data: Record<string, JsonValue>): number {
  return Buffer.byteLength(JSON.stringify(data));
}

/**
 * Rejects with `TOO_LARGE` when the session's data after `delta` would pass `maxBytes`, naming the
 * largest key the delta writes. Loads the record first when it was not read yet. A delta that
 * only shrinks the session always passes, so a session over the cap can be mended.
 */
async function checkSize(s: SessionState, delta: Delta, maxBytes: number): Promise<void> {
  if (delta.set === undefined && delta.incr === undefined) return;
  await s.ensureLoaded();
  const data: Record<string, JsonValue> = delta.replace || !s.record ? {} : { ...s.record.data };
  for (const key of delta.unset ?? []) delete data[key];
  Object.assign(data, delta.set);
  for (const [key, by] of Object.entries(delta.incr ?? {})) {
    const before = data[key];
    data[key] = (typeof before === 'number' ? before : 0) + by;
  }
  const bytes = sizeOf(data);
  if (bytes <= maxBytes) return;
  let largest = '';
  let largestBytes = -1;
  for (const [key, value] of Object.entries(delta.set ?? {})) {
    const size = Buffer.byteLength(JSON.stringify(value));
    if (size > largestBytes) [largest, largestBytes] = [key, size];
  }
  throw new TesseraError(
    'TOO_LARGE',
    `The session would hold ${bytes} bytes, over \`maxBytes\` (${maxBytes})${largest === '' ? '' : `; the largest value written is \`${largest}\` (${largestBytes} bytes)`}. Nothing was written: store less in the session (an id pointing at your database) or raise \`maxBytes\`.`,
  );
}
