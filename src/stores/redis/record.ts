/**
 * @module How the Redis store lays a record out: key names, hash fields, write script arguments.
 *
 * A session is one hash, `<prefix>s:{<key>}`. Each data key is a field holding its JSON value;
 * bookkeeping sits in reserved fields whose names start with `~` and one letter. A data key that
 * itself starts with `~` is stored with one more `~` in front, so no data key can collide with a
 * reserved field. The braces make `<key>` the hash tag: in a cluster every command of one session
 * goes to one slot.
 */
import type {
  Delta,
  JsonValue,
  SessionMeta,
  StoreRecord,
  UserSession,
  WriteResult,
} from '../../core/store.js';

/** The hash of session `key`. */
export const sessionKey = (prefix: string, key: string): string => `${prefix}s:{${key}}`;

/** The sorted set indexing the sessions of `userId` (same formula as `ukey` in the scripts). */
export const userKey = (prefix: string, userId: string): string => `${prefix}u:{${userId}}`;

/** The SCAN pattern matching every session hash under `prefix`. */
export const sessionPattern = (prefix: string): string =>
  `${prefix.replace(/[*?[\]\\]/g, '\\$&')}s:{*`;

/** The store key inside a session hash's name (inverse of {@link sessionKey}). */
export const keyOfSession = (prefix: string, redisKey: string): string =>
  redisKey.slice(prefix.length + 3, -1);

/** The hash field of data key `key`. */
export const fieldOf = (key: string): string => (key.startsWith('~') ? `~${key}` : key);

/**
 * A hash reply as pairs, whatever shape the client gave it: a flat array (RESP2), a plain object or
 * a Map (RESP3 clients).
 */
export function hashEntries(reply: unknown): [string, string][] {
  const out: [string, string][] = [];
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out.push([text(reply[i]), text(reply[i + 1])]);
  } else if (reply instanceof Map) {
    for (const [field, value] of reply as Map<unknown, unknown>)
      out.push([text(field), text(value)]);
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [field, value] of Object.entries(reply)) out.push([field, text(value)]);
  }
  return out;
}

/**
 * The record held by a hash (HGETALL reply), or `undefined` for an empty reply. Throws on a hash
 * whose bookkeeping or values do not parse (a foreign or corrupted key).
 */
export function decodeHash(reply: unknown): StoreRecord | undefined {
  const entries = hashEntries(reply);
  if (entries.length === 0) return undefined;
  const data: Record<string, JsonValue> = {};
  let createdAt: number | undefined;
  let expiresAt: number | undefined;
  let absoluteExpiresAt: number | undefined;
  let userId: string | undefined;
  let meta: SessionMeta | undefined;
  for (const [field, value] of entries) {
    if (!field.startsWith('~') || field.startsWith('~~')) {
      data[field.startsWith('~') ? field.slice(1) : field] = JSON.parse(value) as JsonValue;
      continue;
    }
    switch (field) {
      case '~c':
        createdAt = Number(value);
        break;
      case '~e':
        expiresAt = Number(value);
        break;
      case '~a':
        absoluteExpiresAt = Number(value);
        break;
      case '~u':
        userId = value;
        break;
      case '~m':
        meta = JSON.parse(value) as SessionMeta;
        break;
      default: // ~v and fields of later versions
    }
  }
  if (
    expiresAt === undefined ||
    !Number.isFinite(expiresAt) ||
    createdAt === undefined ||
    !Number.isFinite(createdAt)
  ) {
    throw new Error('a session hash lacks its createdAt or expiresAt field');
  }
  const record: StoreRecord = { data, createdAt, expiresAt };
  if (absoluteExpiresAt !== undefined) record.absoluteExpiresAt = absoluteExpiresAt;
  if (userId !== undefined) record.userId = userId;
  if (meta !== undefined) record.meta = meta;
  return record;
}

/**
 * Arguments of the WRITE script for `delta` (see its comment for the layout), built in one array
 * with no intermediate lists: the fixed part, the unset fields, set pairs, incr fields and incr
 * amounts, then only the extras the flags name (creation times, user, meta).
 */
export function writeArgs(
  delta: Delta,
  now: number,
  expiresAt: number,
  isInline: boolean,
  channel: string,
  member: string,
): string[] {
  let flags = isInline ? 'i' : '';
  if (delta.create) flags += 'c';
  if (delta.replace) flags += 'r';
  if (delta.userId !== undefined) flags += delta.userId === null ? 'd' : 's';
  if (delta.meta !== undefined) flags += 'm';
  const { unset, set, incr } = delta;
  const args = [
    String(now),
    String(Math.trunc(expiresAt)),
    flags,
    channel,
    `w:${member}`,
    '0',
    '0',
    '0',
  ];
  if (unset !== undefined && unset.length > 0) {
    args[5] = String(unset.length);
    for (const key of unset) args.push(fieldOf(key));
  }
  if (set !== undefined) {
    const keys = Object.keys(set);
    if (keys.length > 0) args[6] = String(keys.length);
    for (const key of keys) args.push(fieldOf(key), JSON.stringify(set[key]));
  }
  if (incr !== undefined) {
    const keys = Object.keys(incr);
    if (keys.length > 0) args[7] = String(keys.length);
    for (const key of keys) args.push(fieldOf(key));
    for (const key of keys) args.push(String(incr[key]));
  }
  if (delta.create) {
    args.push(
      String(Math.trunc(delta.createdAt ?? now)),
      delta.absoluteExpiresAt === undefined ? '' : String(Math.trunc(delta.absoluteExpiresAt)),
    );
  }
  if (typeof delta.userId === 'string') args.push(delta.userId);
  if (delta.meta !== undefined) args.push(JSON.stringify(delta.meta));
  return args;
}

/** The keys of `delta.incr`, in the order the WRITE script reports their values. */
export const incrKeys = (delta: Delta): string[] =>
  delta.incr === undefined ? [] : Object.keys(delta.incr);

/**
 * The result of a WRITE reply that refused the delta (`{-1, existed, positions...}`: incr keys
 * holding something other than a number), or `undefined` for any other reply.
 */
export function refusedIncr(
  reply: readonly unknown[],
  names: readonly string[],
): WriteResult | undefined {
  if (Number(reply[0]) !== -1) return undefined;
  return {
    existed: Number(reply[1]) === 1,
    nonNumeric: reply.slice(2).map((position) => names[Number(position) - 1]!),
  };
}

/** A reply element as text: strings and numbers as they are, buffers decoded, anything else ''. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return '';
}

/** A counter as the script formats it (`%.17g`), back to a number. */
export function parseCounter(value: unknown): number {
  const s = text(value);
  if (s === 'inf') return Number.POSITIVE_INFINITY;
  if (s === '-inf') return Number.NEGATIVE_INFINITY;
  return Number(s);
}

/** A user's session as the index scripts report it: fields as text, `meta` as JSON or empty. */
export function userSession(
  key: string,
  createdAt: unknown,
  expiresAt: unknown,
  meta: unknown,
): UserSession {
  const session: UserSession = {
    key,
    createdAt: Number(createdAt ?? 0),
    expiresAt: Number(expiresAt),
  };
  const json = text(meta);
  if (json !== '') session.meta = JSON.parse(json) as SessionMeta;
  return session;
}
