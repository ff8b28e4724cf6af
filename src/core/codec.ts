/**
 * @module The default codec: session values to JSON-safe values and back.
 *
 * Dates, Maps, Sets, BigInts and Uint8Arrays survive a round trip as tagged objects
 * (`{ "$t": "Date", "v": 1700000000000 }`). Decoding never evaluates anything, builds only plain
 * objects, arrays and the tagged types, and drops `__proto__` keys, so stored data cannot pollute
 * a prototype.
 */
import { TesseraError } from './errors.js';
import type { JsonValue } from './store.js';

/** Turns session values into JSON-safe values and back. */
export interface Codec {
  /** Encode a value for the store; throws `INVALID_DATA` for values it cannot keep. */
  encode(value: unknown): JsonValue;
  /** Decode a stored value; throws `INVALID_DATA` for malformed input. */
  decode(value: JsonValue): unknown;
}

const TAG = '$t';
/** How deep values may nest; deeper input is refused rather than risking the stack. */
export const MAX_DEPTH = 64;

function invalid(message: string): TesseraError {
  return new TesseraError('INVALID_DATA', message);
}

function encodeValue(value: unknown, depth: number, seen: Set<object>): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value))
        throw invalid(
          `Session values must be finite numbers; got ${String(value)}. Store it as a string if you need it.`,
        );
      return value;
    case 'bigint':
      return { [TAG]: 'BigInt', v: value.toString() };
    case 'object':
      break;
    default:
      throw invalid(
        `A ${typeof value} cannot be stored in a session; store plain data (objects, arrays, strings, numbers, Dates, Maps, Sets, BigInts, Uint8Arrays).`,
      );
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH)
    throw invalid(`Session values may nest at most ${MAX_DEPTH} levels deep.`);
  if (seen.has(value))
    throw invalid('A session value refers to itself (a cycle); store a tree of plain data.');
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      const out: JsonValue[] = new Array<JsonValue>(value.length);
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        out[i] = item === undefined ? null : encodeValue(item, depth + 1, seen);
      }
      return out;
    }
    if (value instanceof Date) {
      const ms = value.getTime();
      return { [TAG]: 'Date', v: Number.isNaN(ms) ? null : ms };
    }
    if (value instanceof Map) {
      const entries: JsonValue[] = [];
      for (const [k, v] of value)
        entries.push([encodeValue(k, depth + 1, seen), encodeValue(v, depth + 1, seen)]);
      return { [TAG]: 'Map', v: entries };
    }
    if (value instanceof Set) {
      const items: JsonValue[] = [];
      for (const v of value) items.push(encodeValue(v, depth + 1, seen));
      return { [TAG]: 'Set', v: items };
    }
    if (value instanceof Uint8Array) {
      return {
        [TAG]: 'Bytes',
        v: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64url'),
      };
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw invalid(
        'Only plain objects can be stored in a session, not class instances; copy the fields you need into a plain object.',
      );
    }
    const out: Record<string, JsonValue> = {};
    let tagged = false;
    for (const key of Object.keys(value)) {
      if (key === '__proto__') throw invalid('Session values may not contain a "__proto__" key.');
      const item: unknown = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      if (key === TAG) tagged = true;
      out[key] = encodeValue(item, depth + 1, seen);
    }
    // A plain object that happens to have a "$t" key is wrapped, so decoding cannot mistake it.
    return tagged ? { [TAG]: 'Object', v: out } : out;
  } finally {
    seen.delete(value);
  }
}

function decodeValue(value: JsonValue, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH)
    throw invalid(`Stored session value nests deeper than ${MAX_DEPTH} levels.`);
  if (Array.isArray(value)) {
    const out: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = decodeValue(value[i] as JsonValue, depth + 1);
    return out;
  }
  if (Object.hasOwn(value, TAG)) return decodeTagged(value, depth);
  return decodeObject(value, depth);
}

function decodeObject(value: { [key: string]: JsonValue }, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === '__proto__') continue;
    out[key] = decodeValue(value[key] as JsonValue, depth + 1);
  }
  return out;
}

function decodeTagged(value: { [key: string]: JsonValue }, depth: number): unknown {
  const v = value['v'];
  switch (value[TAG]) {
    case 'Date':
      if (v === null) return new Date(Number.NaN);
      if (typeof v === 'number') return new Date(v);
      break;
    case 'BigInt':
      if (typeof v === 'string' && /^-?\d{1,4096}$/.test(v)) return BigInt(v);
      break;
    case 'Map':
      if (Array.isArray(v)) {
        const map = new Map<unknown, unknown>();
        for (const entry of v) {
          if (!Array.isArray(entry) || entry.length !== 2)
            throw invalid('Stored Map entry is malformed.');
          map.set(
            decodeValue(entry[0] as JsonValue, depth + 1),
            decodeValue(entry[1] as JsonValue, depth + 1),
          );
        }
        return map;
      }
      break;
    case 'Set':
      if (Array.isArray(v)) return new Set(v.map((item) => decodeValue(item, depth + 1)));
      break;
    case 'Bytes':
      if (typeof v === 'string') return new Uint8Array(Buffer.from(v, 'base64url'));
      break;
    case 'Object':
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return decodeObject(v, depth);
      break;
  }
  throw invalid('Stored session value has an unknown or malformed type tag.');
}

/** The default codec. */
export const jsonCodec: Codec = {
  encode: (value) => encodeValue(value, 0, new Set()),
  decode: (value) => decodeValue(value, 0),
};

/** Whether an encoded value can be changed in place by the caller (so it needs a dirty check). */
export function isMutable(value: unknown): boolean {
  return value !== null && typeof value === 'object';
}
