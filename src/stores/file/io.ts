/**
 * @module The file store's layout on disk and its atomic reads and writes.
 *
 * ```
 * <dir>/sessions/<h0h1>/<h2>/<hex>.json   one session (hex = the 64 hex digits of the key's hash)
 * <dir>/sessions/<h0h1>/<h2>/<hex>.lock   its lock, while a write holds it
 * <dir>/users/<sha256(userId) hex>/<hex>  an empty marker: this session belongs to this user
 * ```
 *
 * Names are hex, never the base64url key, so they stay distinct on case-insensitive file systems,
 * and never anything a client sent: the key is already a SHA-256 hash of the session id, and it
 * is checked for its exact shape before any path is built from it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TesseraError } from '../../core/errors.js';
import type { StoreRecord } from '../../core/store.js';

const KEY = /^[A-Za-z0-9_-]{43}$/;
const errno = (error: unknown): string | undefined =>
  (error as NodeJS.ErrnoException | undefined)?.code;

/** The hex file name of a store key. Throws `BAD_ID` for anything but a canonical 43-character key. */
export function hexOf(key: string): string {
  const bytes =
    typeof key === 'string' && KEY.test(key) ? Buffer.from(key, 'base64url') : undefined;
  if (bytes === undefined || bytes.length !== 32 || bytes.toString('base64url') !== key) {
    throw new TesseraError(
      'BAD_ID',
      'The file store was given a key that is not a store key (43 characters of base64url, a SHA-256 hash); nothing was read or written.',
    );
  }
  return bytes.toString('hex');
}

/** The store key of a hex file name, or `undefined` for a name that is not one. */
export function keyOfHex(name: string): string | undefined {
  return /^[0-9a-f]{64}$/.test(name) ? Buffer.from(name, 'hex').toString('base64url') : undefined;
}

/** The index folder name of a user: the SHA-256 of the user id, in hex. */
export function userHexOf(userId: string): string {
  return createHash('sha256').update(userId).digest('hex');
}

/** Paths of one store folder. */
export interface Layout {
  sessions: string;
  users: string;
  /** The session file of a key. */
  file(key: string): string;
  /** The lock file of a key. */
  lock(key: string): string;
  /** The index folder of a user. */
  userDir(userId: string): string;
  /** The marker of a key in a user's folder. */
  marker(userId: string, key: string): string;
}

/** The layout under `dir`. */
export function layoutOf(dir: string): Layout {
  const sessions = join(dir, 'sessions');
  const users = join(dir, 'users');
  const base = (key: string): string => {
    const hex = hexOf(key);
    return join(sessions, hex.slice(0, 2), hex.slice(2, 3), hex);
  };
  const userDir = (userId: string): string => join(users, userHexOf(userId));
  return {
    sessions,
    users,
    file: (key) => `${base(key)}.json`,
    lock: (key) => `${base(key)}.lock`,
    userDir,
    marker: (userId, key) => join(userDir(userId), hexOf(key)),
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses a session file; `undefined` for anything that is not a record. */
export function parseRecord(text: string): StoreRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value) || value['v'] !== 1 || !isObject(value['data'])) return undefined;
  const { createdAt, expiresAt, absoluteExpiresAt, userId, meta } = value;
  if (typeof createdAt !== 'number' || typeof expiresAt !== 'number') return undefined;
  const record: StoreRecord = { data: value['data'] as StoreRecord['data'], createdAt, expiresAt };
  if (typeof absoluteExpiresAt === 'number') record.absoluteExpiresAt = absoluteExpiresAt;
  if (typeof userId === 'string') record.userId = userId;
  if (isObject(meta)) record.meta = meta;
  return record;
}

/** The text of a session file. */
export function formatRecord(record: StoreRecord): string {
  return JSON.stringify({ v: 1, ...record });
}

/** Reads a session file; `undefined` when it is missing or unreadable as a record. */
export async function readRecord(path: string): Promise<StoreRecord | undefined> {
  try {
    return parseRecord(await readFile(path, 'utf8'));
  } catch (error) {
    if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** Opens `path` for writing with mode 0600, creating its folders (0700) when missing. */
async function create(path: string, flags: string): Promise<FileHandle> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await open(path, flags, 0o600);
    } catch (error) {
      // A concurrent GC may remove an empty folder between our mkdir and open: try again.
      if (errno(error) !== 'ENOENT' || attempt === 3) throw error;
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    }
  }
}

/** fsyncs a folder so a rename or unlink in it survives a power loss. Skipped where folders cannot be opened (Windows). */
export async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Not supported on this platform or file system; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}

/** Renames, retrying briefly on Windows, where a reader holding the target open blocks it. */
export async function renameRetrying(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await rename(from, to);
    } catch (error) {
      const code = errno(error);
      if ((code !== 'EPERM' && code !== 'EACCES' && code !== 'EBUSY') || attempt === 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * (attempt + 1)));
    }
  }
}

/**
 * Replaces `path` with `text` atomically: a temporary file in the same folder, written and
 * fsynced, renamed over the target, then the folder fsynced. Readers see the old or the new file,
 * never a mix; a crash at any point leaves one of the two (and maybe a `.tmp` file GC removes).
 */
export async function writeAtomic(path: string, text: string, durable: boolean): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await create(temp, 'wx');
  try {
    await handle.writeFile(text, 'utf8');
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await renameRetrying(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  if (durable) await syncDir(dirname(path));
}

/** Creates an empty marker file (0600), with its folder. */
export async function touchMarker(path: string): Promise<void> {
  const handle = await create(path, 'w');
  await handle.close();
}

/** Removes a file; a missing one is fine. */
export async function remove(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (errno(error) !== 'ENOENT' && errno(error) !== 'ENOTDIR') throw error;
  }
}
