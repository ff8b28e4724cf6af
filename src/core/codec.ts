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

/**
 * An app class a codec knows (beego's `gob.Register`): how an instance becomes plain data and
 * back. `encode`'s result is encoded in turn (Dates, Maps and other registered types inside work).
 */
export interface AppType<T extends object> {
  /** The class; only its own instances match (a subclass is registered on its own). */
  readonly type: abstract new (...args: never[]) => T;
  /** The instance as data: plain objects, arrays, primitives and the types above. */
  encode(value: T): unknown;
  /** An instance from what `encode` returned (already decoded). */
  decode(data: unknown): T;
}

/** The registered types of one codec: by class for encoding, by name for decoding. */
interface AppTypes {
  byClass: Map<unknown, { name: string; type: AppType<object> }>;
  byName: Map<string, AppType<object>>;
}
/** How deep values may nest; deeper input is refused rather than risking the stack. */
export const MAX_DEPTH = 64;

function invalid(message: string): TesseraError {
  return new TesseraError('INVALID_DATA', message);
}

function encodeValue(
  value: unknown,
  depth: number,
  seen: Set<object>,
  app: AppTypes | undefined,
): JsonValue {
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
        out[i] = item === undefined ? null : encodeValue(item, depth + 1, seen, app);
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
        entries.push([encodeValue(k, depth + 1, seen, app), encodeValue(v, depth + 1, seen, app)]);
      return { [TAG]: 'Map', v: entries };
    }
    if (value instanceof Set) {
      const items: JsonValue[] = [];
      for (const v of value) items.push(encodeValue(v, depth + 1, seen, app));
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
      const known = app?.byClass.get((proto as { constructor?: unknown }).constructor);
      if (known !== undefined)
        return {
          [TAG]: 'App',
          n: known.name,
          v: encodeValue(known.type.encode(value), depth + 1, seen, app),
        };
      const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
      throw invalid(
        `A ${typeof name === 'string' && name !== '' ? name : 'class'} instance cannot be stored as it is: register the class with \`createCodec().registerType(name, { type, encode, decode })\` and pass that codec as the \`codec\` option, or copy the fields you need into a plain object.`,
      );
    }
    const out: Record<string, JsonValue> = {};
    let tagged = false;
    for (const key of Object.keys(value)) {
      if (key === '__proto__') throw invalid('Session values may not contain a "__proto__" key.');
      const item: unknown = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      if (key === TAG) tagged = true;
      out[key] = encodeValue(item, depth + 1, seen, app);
    }
    // A plain object that happens to have a "$t" key is wrapped, so decoding cannot mistake it.
    return tagged ? { [TAG]: 'Object', v: out } : out;
  } finally {
    seen.delete(value);
  }
}

function decodeValue(value: JsonValue, depth: number, app: AppTypes | undefined): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH)
    throw invalid(`Stored session value nests deeper than ${MAX_DEPTH} levels.`);
  if (Array.isArray(value)) {
    const out: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++)
      out[i] = decodeValue(value[i] as JsonValue, depth + 1, app);
    return out;
  }
  if (Object.hasOwn(value, TAG)) return decodeTagged(value, depth, app);
  return decodeObject(value, depth, app);
}

function decodeObject(
  value: { [key: string]: JsonValue },
  depth: number,
  app: AppTypes | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === '__proto__') continue;
    out[key] = decodeValue(value[key] as JsonValue, depth + 1, app);
  }
  return out;
}

function decodeTagged(
  value: { [key: string]: JsonValue },
  depth: number,
  app: AppTypes | undefined,
): unknown {
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
            decodeValue(entry[0] as JsonValue, depth + 1, app),
            decodeValue(entry[1] as JsonValue, depth + 1, app),
          );
        }
        return map;
      }
      break;
    case 'Set':
      if (Array.isArray(v)) return new Set(v.map((item) => decodeValue(item, depth + 1, app)));
      break;
    case 'Bytes':
      if (typeof v === 'string') return new Uint8Array(Buffer.from(v, 'base64url'));
      break;
    case 'Object':
      if (v !== null && typeof v === 'object' && !Array.isArray(v))
        return decodeObject(v, depth, app);
      break;
    case 'App': {
      const name = value['n'];
      const type = typeof name === 'string' ? app?.byName.get(name) : undefined;
      // Nothing is built for a name this codec was not given: stored data picks no class.
      if (type === undefined)
        throw invalid(
          `A stored session value is of the app type ${typeof name === 'string' ? JSON.stringify(name) : '(unnamed)'}, which this codec does not know: register it with \`registerType\`.`,
        );
      if (v !== undefined) return type.decode(decodeValue(v, depth + 1, app));
      break;
    }
  }
  throw invalid('Stored session value has an unknown or malformed type tag.');
}

/** The default codec. */
export const jsonCodec: Codec = {
  encode: (value) => encodeValue(value, 0, new Set(), undefined),
  decode: (value) => decodeValue(value, 0, undefined),
};

/** A codec that app classes can be registered with (see {@link createCodec}). */
export interface AppCodec extends Codec {
  /**
   * Teach the codec one class under a stable `name` (stored with each value: renaming it strands
   * stored values). Returns the codec, for chaining. Throws `CONFIG` for a name or class given twice.
   */
  registerType<T extends object>(name: string, type: AppType<T>): AppCodec;
}

/**
 * The default codec plus app classes (beego's and icza's `gob.Register`), per manager rather
 * than process-wide, so two libraries in one app cannot clash. An instance of a registered class
 * round-trips; an unregistered one is refused with `INVALID_DATA` naming the key and this fix;
 * decoding builds only registered classes, by their registered name.
 *
 * @example
 * import { createCodec, createSessionManager } from 'tessera-session'
 *
 * class Money {
 *   constructor(cents: bigint, currency: string) { this.cents = cents; this.currency = currency }
 *   readonly cents: bigint
 *   readonly currency: string
 * }
 * const codec = createCodec().registerType('Money', {
 *   type: Money,
 *   encode: (m) => ({ cents: m.cents, currency: m.currency }),
 *   decode: (d) => {
 *     const { cents, currency } = d as { cents: bigint; currency: string }
 *     return new Money(cents, currency)
 *   },
 * })
 * const sessions = createSessionManager({ codec })
 */
export function createCodec(): AppCodec {
  const app: AppTypes = { byClass: new Map(), byName: new Map() };
  const codec: AppCodec = {
    encode: (value) => encodeValue(value, 0, new Set(), app),
    decode: (value) => decodeValue(value, 0, app),
    registerType(name, type) {
      if (typeof name !== 'string' || !/^[A-Za-z_][\w.$-]{0,99}$/.test(name))
        throw new TesseraError(
          'CONFIG',
          `registerType: ${JSON.stringify(String(name))} is not a usable type name (letters, digits, "_", ".", "-", "$").`,
        );
      if (
        typeof type?.type !== 'function' ||
        typeof type.encode !== 'function' ||
        typeof type.decode !== 'function'
      )
        throw new TesseraError(
          'CONFIG',
          `registerType(${JSON.stringify(name)}): pass { type, encode, decode }.`,
        );
      if (app.byName.has(name) || app.byClass.has(type.type))
        throw new TesseraError(
          'CONFIG',
          `registerType(${JSON.stringify(name)}): that name or class is registered already.`,
        );
      const entry = type as unknown as AppType<object>;
      app.byName.set(name, entry);
      app.byClass.set(type.type, { name, type: entry });
      return codec;
    },
  };
  return codec;
}

/** Whether an encoded value can be changed in place by the caller (so it needs a dirty check). */
export function isMutable(value: unknown): boolean {
  return value !== null && typeof value === 'object';
}
