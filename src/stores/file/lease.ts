/**
 * @module The file store's leases (`lock`/`unlock`): one small file per leased key,
 * `<dir>/leases/<hex>.lease`, holding the holder's token and the lease's deadline.
 *
 * Taking and releasing a lease read and replace that file under the store's cross-process lock
 * file (`<dir>/leases/<hex>.lock`, see `lock.ts`), held only for that read and write, never for
 * the lease itself. So a lease outlives no process by more than its ttl: a holder that dies leaves
 * a file whose deadline passes, and the next `lock` of the key overwrites it. Release removes the
 * file only while it still holds the caller's token and has not run out.
 *
 * Deadlines follow the store's clock, as record expiry does. Lease files are not fsynced: a lease
 * need not survive a power loss, which ends every holder with it.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../core/store.js';
import { hexOf, remove, writeAtomic } from './io.js';
import { withLock, type LockTiming } from './lock.js';

/** A lease file's content. */
interface Lease {
  token: string;
  expiresAt: number;
}

/** The lease methods of a file store rooted at `root`. */
export interface FileLeases {
  lock(key: string, ttlMs: number): Promise<string | undefined>;
  unlock(key: string, token: string): Promise<boolean>;
}

async function readLease(path: string): Promise<Lease | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
  try {
    const value = JSON.parse(text) as Partial<Lease>;
    if (typeof value.token === 'string' && typeof value.expiresAt === 'number')
      return { token: value.token, expiresAt: value.expiresAt };
  } catch {
    // An unreadable lease file (never written by this store) holds no lease.
  }
  return undefined;
}

/** Creates the lease methods for the store rooted at `root`. */
export function fileLeases(root: string, clock: Clock, timing: LockTiming): FileLeases {
  const dir = join(root, 'leases');
  const base = (key: string): string => join(dir, hexOf(key));
  return {
    lock: (key, ttlMs) =>
      withLock(`${base(key)}.lock`, timing, async () => {
        const path = `${base(key)}.lease`;
        const now = clock.now();
        const held = await readLease(path);
        if (held !== undefined && held.expiresAt > now) return undefined;
        const lease: Lease = { token: randomUUID(), expiresAt: now + ttlMs };
        await writeAtomic(path, JSON.stringify(lease), false);
        return lease.token;
      }),
    unlock: (key, token) =>
      withLock(`${base(key)}.lock`, timing, async () => {
        const path = `${base(key)}.lease`;
        const held = await readLease(path);
        if (held === undefined || held.token !== token || held.expiresAt <= clock.now())
          return false;
        await remove(path);
        return true;
      }),
  };
}
