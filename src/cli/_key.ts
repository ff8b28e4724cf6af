/**
 * @module Which session a `show`/`revoke` argument names: a session id (hashed to its store key)
 * or a store key as `list` prints it.
 */
import { isStoreKey, storeKey } from '../core/id.js';
import type { StoreRecord } from '../core/store.js';
import { UsageError } from './_args.js';
import type { Io } from './_output.js';

/** A session found by its argument. */
export interface Found {
  key: string;
  /** How the argument matched: as a session id, or as the store key itself. */
  matched: 'id' | 'hash';
  record: StoreRecord;
}

async function readStdin(io: Io): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0]?.trim() ?? '';
}

/**
 * Finds the session `arg` names. `--id` hashes it, `--hash` takes it as the key; otherwise the
 * id is tried first and then, for a 43-character key shape, the key: a default id has that
 * shape too, and sha256 makes a mix-up impossible in practice.
 */
export async function findSession(
  arg: string,
  flags: Record<string, unknown>,
  io: Io,
  get: (key: string) => Promise<StoreRecord | undefined>,
): Promise<Found | undefined> {
  const value = arg === '-' ? await readStdin(io) : arg;
  if (value === '') throw new UsageError('The session id or key is empty.');
  if (flags['id'] === true && flags['hash'] === true)
    throw new UsageError('Pass --id or --hash, not both.');
  if (flags['hash'] === true && !isStoreKey(value))
    throw new UsageError(
      'A store key is 43 characters of A-Z, a-z, 0-9, "_" and "-" (as `list` prints it).',
    );
  if (flags['hash'] !== true) {
    const key = storeKey(value);
    const record = await get(key);
    if (record !== undefined) return { key, matched: 'id', record };
    if (flags['id'] === true || !isStoreKey(value)) return undefined;
  }
  const record = await get(value);
  return record === undefined ? undefined : { key: value, matched: 'hash', record };
}
