/**
 * @module Where the Couchbase store keeps things: document keys, sub-document paths, expiry.
 */
import { createHash } from 'node:crypto';

/** The longest document key Couchbase accepts, in bytes. */
export const MAX_KEY_BYTES = 250;

/** The most specs one `lookupIn` or `mutateIn` may carry. */
export const MAX_SPECS = 16;

/** The longest sub-document path Couchbase accepts, in bytes. */
const MAX_PATH_BYTES = 1024;

/** The document keys of one store: sessions, per-user index documents and leases. */
export interface DocumentKeys {
  session(key: string): string;
  user(userId: string): string;
  lease(key: string): string;
}

/**
 * The document keys under `prefix`: `<prefix>s:<key>`, `<prefix>l:<key>`, and
 * `<prefix>u:<sha256(userId)>` (a user id may be longer than a key may be, and may hold anything).
 */
export function documentKeys(prefix: string): DocumentKeys {
  return {
    session: (key) => `${prefix}s:${key}`,
    lease: (key) => `${prefix}l:${key}`,
    user: (userId) => `${prefix}u:${createHash('sha256').update(userId).digest('base64url')}`,
  };
}

/**
 * The sub-document path of session key `key` (`` data.`key` ``, backticks doubled inside), or
 * `undefined` for a key no path can name (the empty key, or one past the path limit): writes
 * touching such a key replace the whole document instead.
 */
export function dataPath(key: string): string | undefined {
  if (key === '') return undefined;
  const path = `data.\`${key.replaceAll('`', '``')}\``;
  return Buffer.byteLength(path) > MAX_PATH_BYTES ? undefined : path;
}

/** The path of a session in a user index document (`` sessions.`key` ``). */
export function userEntryPath(key: string): string {
  return `sessions.\`${key.replaceAll('`', '``')}\``;
}

/**
 * The document expiry for a deadline `expiresAt` seen at `now`: whole seconds from now, rounded
 * up, plus one second for the server's clock running ahead. Reads still check the deadline
 * itself, so a document living a little longer is never returned as live.
 */
export function documentExpiry(expiresAt: number, now: number): number {
  return Math.max(1, Math.ceil((expiresAt - now) / 1000)) + 1;
}
