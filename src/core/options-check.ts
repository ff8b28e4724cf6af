/**
 * @module The start-up checks of what the manager's options are: no unknown key (with the tessera
 * name for an express-session option, and the nearest name for a typo), and each option of the
 * kind it must be, so a mistake fails at start-up with a message that says what to do instead of
 * failing later, per request, with a misleading one.
 */
import { TesseraError } from './errors.js';

/** What an option may be (besides `undefined`). */
export type Kind = 'object' | 'function' | 'boolean' | 'number' | 'string' | 'array';

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

/** The name of `known` nearest to `name`, when closer than `within` edits (a typo). */
export function nearestName(
  name: string,
  known: Iterable<string>,
  within: number,
): string | undefined {
  let best: string | undefined;
  let bestDistance = within;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function unknownOption(key: string, known: readonly string[]): TesseraError {
  const hint = FROM_EXPRESS_SESSION[key];
  if (hint !== undefined)
    return new TesseraError('CONFIG', `Option \`${key}\` is express-session's. ${hint}`);
  const best = nearestName(key, known, 3);
  return new TesseraError(
    'CONFIG',
    `Unknown option \`${key}\`${best === undefined ? '' : `; did you mean \`${best}\``}? The options are listed in the README (Options).`,
  );
}

const STORE_METHODS = ['get', 'write', 'touch', 'destroy', 'close'] as const;

/** What {@link checkShapes} checks the contents of, beyond its kind. */
interface Shaped {
  store?: { readonly name?: unknown } | undefined;
  codec?: { readonly encode?: unknown; readonly decode?: unknown } | undefined;
  clock?: { readonly now?: unknown } | undefined;
  observers?: readonly unknown[] | undefined;
}

/**
 * Throws `CONFIG` for an option `kinds` does not list, or one of the wrong kind; then checks that
 * `store`, `codec`, `clock` and `observers` hold what they must.
 */
export function checkShapes(
  options: object,
  kinds: Readonly<Record<string, readonly Kind[]>>,
): void {
  if (kindOf(options) !== 'object')
    throw new TesseraError(
      'CONFIG',
      'createSessionManager takes an options object (or nothing for the defaults).',
    );
  for (const [key, value] of Object.entries(options)) {
    const allowed = Object.hasOwn(kinds, key) ? kinds[key] : undefined;
    if (allowed === undefined) throw unknownOption(key, Object.keys(kinds));
    if (value === undefined) continue;
    const kind = kindOf(value);
    if (allowed.includes(kind as Kind)) continue;
    if (key === 'store' && kind === 'string')
      throw new TesseraError(
        'CONFIG',
        `Option \`store\` takes a store object, not a URL: use \`store: await createStore(${JSON.stringify(value)})\`.`,
      );
    throw new TesseraError(
      'CONFIG',
      `Option \`${key}\` must be ${allowed.map((k) => (k === 'array' ? 'an array' : `a ${k}`)).join(' or ')}; got ${kind === 'other' ? typeof value : kind}.`,
    );
  }
  const { store, codec, clock, observers } = options as Shaped;
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
