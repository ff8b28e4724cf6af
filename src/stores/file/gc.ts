/**
 * @module The file store's garbage collection: a bounded, resumable walk over the session folders.
 *
 * It walks the session folders in a fixed order, bounded by a time budget and a count, resumable
 * from a cursor the store keeps, never holding more than one session's lock at a time. It also
 * clears crash leftovers (old temporary files, stale locks) and user-index markers whose session is
 * gone.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isLive } from '../../core/expiry.js';
import type { Clock, GcOptions, GcResult, StoreRecord } from '../../core/store.js';
import { keyOfHex, readRecord, remove, userHexOf, type Layout } from './io.js';
import { breakLock, isStale, type LockTiming } from './lock.js';
import { leafDirs, list, removeIfEmpty } from './walk.js';

/** What GC needs from its store. */
export interface GcDeps {
  paths: Layout;
  clock: Clock;
  timing: LockTiming;
  /** Runs `fn` holding the lock of `key`. */
  locked: <T>(key: string, fn: () => Promise<T>) => Promise<T>;
  /** Removes a session file (and makes that durable when the store fsyncs). */
  unlinkSession: (file: string) => Promise<void>;
}

export const SESSION_FILE: RegExp = /^[0-9a-f]{64}\.json$/;
export const HEX_NAME: RegExp = /^[0-9a-f]{64}$/;
/** Temporary files older than this are leftovers of a crash. */
const TEMP_MAX_AGE = 60 * 60_000;

/** The store's `gc`: each call resumes where the previous one stopped. */
export function createGc(deps: GcDeps): (options?: GcOptions) => Promise<GcResult> {
  const { paths, clock, timing, locked, unlinkSession } = deps;
  /** `s:<folder>` while walking sessions, `u:<user>` while walking the user index. */
  let gcCursor: string | undefined;

  /** Removes a session that is expired (checked again under its lock); returns 1 if it did. */
  const collect = (key: string): Promise<number> =>
    locked(key, async () => {
      const record = await readRecord(paths.file(key));
      if (record === undefined || isLive(record, clock.now())) return 0;
      await unlinkSession(paths.file(key));
      if (record.userId !== undefined) await remove(paths.marker(record.userId, key));
      return 1;
    });

  /** Clears crash leftovers: temporary files older than an hour and stale locks. */
  async function tidy(dir: string, name: string): Promise<void> {
    const path = join(dir, name);
    if (name.endsWith('.tmp')) {
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > TEMP_MAX_AGE) await remove(path);
    } else if (name.endsWith('.lock') || name.endsWith('.break')) {
      const content = await readFile(path, 'utf8').catch(() => undefined);
      if (content !== undefined && isStale(content, timing.staleMs))
        await breakLock(path, content, timing.staleMs);
    }
  }

  /** Removes index markers whose session is gone or belongs to someone else. */
  async function sweepUser(userHex: string, stop: () => boolean): Promise<boolean> {
    const dir = join(paths.users, userHex);
    for (const name of await list(dir, HEX_NAME)) {
      if (stop()) return false;
      const key = keyOfHex(name)!;
      const isStaleMarker = (r: StoreRecord | undefined): boolean =>
        r === undefined || r.userId === undefined || userHexOf(r.userId) !== userHex;
      if (!isStaleMarker(await readRecord(paths.file(key)))) continue;
      await locked(key, async () => {
        if (isStaleMarker(await readRecord(paths.file(key)))) await remove(join(dir, name));
      });
    }
    await removeIfEmpty(dir);
    return true;
  }

  return async function gc(gcOptions: GcOptions = {}): Promise<GcResult> {
    const deadline = Date.now() + (gcOptions.budgetMs ?? 100);
    const limit = gcOptions.limit ?? 10_000;
    let removed = 0;
    const stop = (): boolean => removed >= limit || Date.now() > deadline;
    const phase = gcCursor?.slice(0, 2);
    if (phase !== 'u:') {
      for await (const rel of leafDirs(paths.sessions, gcCursor?.slice(2))) {
        gcCursor = `s:${rel}`;
        const dir = join(paths.sessions, rel);
        for (const name of await list(dir)) {
          if (stop()) return { removed, done: false };
          if (!SESSION_FILE.test(name)) {
            await tidy(dir, name);
            continue;
          }
          const key = keyOfHex(name.slice(0, 64))!;
          const record = await readRecord(join(dir, name));
          if (record !== undefined && !isLive(record, clock.now())) removed += await collect(key);
        }
      }
      gcCursor = 'u:';
    }
    for (const userHex of await list(paths.users, HEX_NAME)) {
      if (userHex < gcCursor!.slice(2)) continue;
      gcCursor = `u:${userHex}`;
      if (!(await sweepUser(userHex, stop))) return { removed, done: false };
    }
    gcCursor = undefined;
    return { removed, done: true };
  };
}
