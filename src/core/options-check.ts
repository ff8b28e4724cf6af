/**
 * @module The start-up checks of what the manager's options are: no unknown key (with the tessera
 * name for an express-session option, and the nearest name for a typo), and each option of the
 * kind it must be, so a mistake fails at start-up with a message that says what to do instead of
 * failing later, per request, with a misleading one.
 */
import { TesseraError } from './errors.js';
import type { SessionManagerOptions } from './options.js';

type Kind = 'object' | 'function' | 'boolean' | 'number' | 'string' | 'array';

/** Every option and the kinds it may be (besides `undefined`). */
const OPTIONS: Record<keyof SessionManagerOptions, readonly Kind[]> = {
  store: ['object'],
  idleTimeout: ['number'],
  absoluteTimeout: ['number', 'boolean'],
  touchAfter: ['number'],
  cookie: ['object'],
  transport: ['object'],
  idBytes: ['number'],
  idPrefix: ['string'],
  generateId: ['function'],
  saveNew: ['boolean'],
  codec: ['object'],
  schema: ['object', 'function'],
  storeTimeout: ['number'],
  maxSessionsPerUser: ['number'],
  sessionLimitPolicy: ['string'],
  gcInterval: ['number', 'boolean'],
  onError: ['function'],
  observers: ['array'],
  clock: ['object'],
  crossOrigin: ['object', 'boolean'],
};

/** express-session's options, and what to do with each under tessera. */
const FROM_EXPRESS_SESSION: Record<string, string> = {
  secret:
    'tessera signs nothing: ids are 256-bit random values and stores only ever see their hashes. Drop `secret` (the cookie store takes `cookieStore({ secrets })`).',
  resave: 'tessera writes back only what changed, key by key. Drop `resave`.',
  saveUninitialized: 'Use `saveNew` (default false: an untouched new session is not stored).',
  rolling:
    'The idle deadline always rolls (`idleTimeout`); `touchAfter` says how often a read moves it. Drop `rolling`.',
  name: 'Use `cookie: { name }`.',
  genid: 'Use `generateId`.',
  proxy: "Trust the proxy in the adapter (`trustProxy`, or your framework's own setting).",
  unset: 'Drop `unset`: `session.destroy()` deletes the record, `session.delete(key)` one key.',
};

function kindOf(value: unknown): Kind | 'null' | 'undefined' | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  return type === 'object' ||
    type === 'function' ||
    type === 'boolean' ||
    type === 'number' ||
    type === 'string' ||
    type === 'undefined'
    ? type
    : 'other';
}

/** The edit distance of two short strings (for "did you mean"). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        diagonal + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function unknownOption(key: string): TesseraError {
  const hint = FROM_EXPRESS_SESSION[key];
  if (hint !== undefined)
    return new TesseraError('CONFIG', `Option \`${key}\` is express-session's. ${hint}`);
  let best: string | undefined;
  let bestDistance = 3;
  for (const known of Object.keys(OPTIONS)) {
    const d = distance(key, known);
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  return new TesseraError(
    'CONFIG',
    `Unknown option \`${key}\`${best === undefined ? '' : `; did you mean \`${best}\``}? The options are listed in the README (Options).`,
  );
}

const STORE_METHODS = ['get', 'write', 'touch', 'destroy', 'close'] as const;

/** Throws `CONFIG` for an unknown option or an option of the wrong kind. */
export function checkShapes(options: SessionManagerOptions): void {
  if (kindOf(options) !== 'object')
    throw new TesseraError(
      'CONFIG',
      'createSessionManager takes an options object (or nothing for the defaults).',
    );
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(OPTIONS, key)) throw unknownOption(key);
    if (value === undefined) continue;
    const kinds = OPTIONS[key as keyof SessionManagerOptions];
    const kind = kindOf(value);
    if (kinds.includes(kind as Kind)) continue;
    if (key === 'store' && kind === 'string')
      throw new TesseraError(
        'CONFIG',
        `Option \`store\` takes a store object, not a URL: use \`store: await createStore(${JSON.stringify(value)})\`.`,
      );
    throw new TesseraError(
      'CONFIG',
      `Option \`${key}\` must be ${kinds.map((k) => (k === 'array' ? 'an array' : `a ${k}`)).join(' or ')}; got ${kind === 'other' ? typeof value : kind}.`,
    );
  }
  const { store, codec, clock, observers } = options;
  if (store !== undefined) {
    const missing = STORE_METHODS.filter((m) => typeof Reflect.get(store, m) !== 'function');
    if (missing.length > 0 || typeof store.name !== 'string')
      throw new TesseraError(
        'CONFIG',
        `Option \`store\` is not a store: it lacks ${[...missing.map((m) => `\`${m}()\``), ...(typeof store.name === 'string' ? [] : ['a `name`'])].join(', ')}. Pass one made by a store factory (memoryStore(), redisStore(…), …) or createStore(url).`,
      );
  }
  if (
    codec !== undefined &&
    (typeof codec.encode !== 'function' || typeof codec.decode !== 'function')
  )
    throw new TesseraError(
      'CONFIG',
      'Option `codec` must have `encode(value)` and `decode(value)` functions (see `jsonCodec`).',
    );
  if (clock !== undefined && typeof clock.now !== 'function')
    throw new TesseraError('CONFIG', 'Option `clock` must have a `now()` function.');
  if (observers !== undefined && observers.some((o) => kindOf(o) !== 'object'))
    throw new TesseraError('CONFIG', 'Option `observers` must be an array of observer objects.');
}
