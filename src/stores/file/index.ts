/**
 * @module The file store: one file per session in a folder, shared safely by several processes.
 *
 * Layout: `<dir>/sessions/<h0h1>/<h2>/<hex>.json`, where `hex` is the store key (already a SHA-256
 * hash of the session id) in hex, so nothing a client sends ever reaches a path; and
 * `<dir>/users/<sha256(userId)>/<hex>`, one empty marker per session of a user. Folders are
 * created 0700 and files 0600.
 *
 * Every change runs under a per-session lock file that also holds between processes, reads the
 * record, applies the delta and replaces the file atomically (temporary file, fsync, rename, fsync
 * of the folder). So concurrent writes of different keys all survive, even from several
 * processes, and a crash (even `kill -9`) leaves each session as it was before or after the write
 * in flight, never half written. A crashed process's locks are taken over at once on the same host
 * (its pid is gone) and after `staleLockAge` otherwise. Reads take no lock.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyDelta } from '../../core/delta.js';
import { TesseraError } from '../../core/errors.js';
import { capExpiry, isLive } from '../../core/expiry.js';
import { storeKey } from '../../core/id.js';
import { probeStore } from '../../core/probe.js';
import type { StoreFactory } from '../../core/store-url.js';
import {
  systemClock,
  type Clock,
  type ScanPage,
  type Store,
  type StoreRecord,
  type UserSession,
} from '../../core/store.js';
import { checkDuration } from '../../core/time.js';
import { numberParam } from '../_shared/url-params.js';
import {
  formatRecord,
  keyOfHex,
  layoutOf,
  readRecord,
  remove,
  renameRetrying,
  syncDir,
  touchMarker,
  writeAtomic,
} from './io.js';
import { fileLeases } from './lease.js';
import { withLock, type LockTiming } from './lock.js';
import { createGc, HEX_NAME, SESSION_FILE } from './gc.js';
import { leafDirs, list } from './walk.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'file';

/** Options of {@link fileStore}. */
export interface FileStoreOptions {
  /** The folder holding the sessions; created (0700) when missing. Give each application its own. */
  dir: string;
  /**
   * fsync each session file and its folder before a write is acknowledged, so acknowledged writes
   * survive a power loss or OS crash. `false` still survives a crash of the process itself.
   * @default true
   */
  fsync?: boolean;
  /** How long a write waits for another process's lock on the same session (ms). @default 1500 */
  lockTimeout?: number;
  /** A lock older than this (ms) is taken over even when its process may still run. @default 10000 */
  staleLockAge?: number;
  /** The clock deciding expiry; tests pass one they can move. @default Date.now */
  clock?: Clock;
}

/**
 * Creates a file store.
 *
 * @example
 * const sessions = createSessionManager({ store: fileStore({ dir: '/var/lib/myapp/sessions' }) })
 */
export function fileStore(options: FileStoreOptions): Store {
  if (typeof options?.dir !== 'string' || options.dir === '')
    throw new TesseraError('CONFIG', 'fileStore: option `dir` (the sessions folder) is required.');
  const clock = options.clock ?? systemClock;
  const durable = options.fsync ?? true;
  const timing: LockTiming = {
    timeoutMs: checkDuration('lockTimeout', options.lockTimeout, 1500, 'the file store'),
    staleMs: checkDuration('staleLockAge', options.staleLockAge, 10_000, 'the file store'),
  };
  const root = resolve(options.dir);
  const paths = layoutOf(root);

  const live = (record: StoreRecord | undefined, now: number): StoreRecord | undefined =>
    record !== undefined && isLive(record, now) ? record : undefined;
  const locked = <T>(key: string, fn: () => Promise<T>): Promise<T> =>
    withLock(paths.lock(key), timing, fn);
  async function unlinkSession(file: string): Promise<void> {
    await remove(file);
    if (durable) await syncDir(dirname(file));
  }

  const leases = fileLeases(root, clock, timing);

  const store: Store = {
    name: STORE_NAME,
    async get(key) {
      return live(await readRecord(paths.file(key)), clock.now());
    },
    async write(key, delta, expiresAt) {
      const file = paths.file(key);
      return await locked(key, async () => {
        const now = clock.now();
        const before = await readRecord(file);
        const current = live(before, now);
        const result = applyDelta(current, delta, expiresAt, now);
        if (result === undefined) return { existed: false };
        if (result.record === undefined)
          return { existed: current !== undefined, nonNumeric: result.nonNumeric };
        const userId = result.record.userId;
        // The marker goes first and the old one last, so a crash never leaves a bound session unindexed.
        if (userId !== undefined && userId !== before?.userId)
          await touchMarker(paths.marker(userId, key));
        await writeAtomic(file, formatRecord(result.record), durable);
        if (before?.userId !== undefined && before.userId !== userId)
          await remove(paths.marker(before.userId, key));
        const existed = current !== undefined;
        return result.counters === undefined ? { existed } : { existed, counters: result.counters };
      });
    },
    async touch(key, expiresAt) {
      const file = paths.file(key);
      return await locked(key, async () => {
        const current = live(await readRecord(file), clock.now());
        if (current === undefined) return;
        await writeAtomic(
          file,
          formatRecord({ ...current, expiresAt: capExpiry(expiresAt, current.absoluteExpiresAt) }),
          durable,
        );
      });
    },
    async destroy(key) {
      const file = paths.file(key);
      return await locked(key, async () => {
        const before = await readRecord(file);
        await unlinkSession(file);
        if (before?.userId !== undefined) await remove(paths.marker(before.userId, key));
      });
    },
    async close() {},
    async rename(oldKey, newKey) {
      const [first, second] = oldKey < newKey ? [oldKey, newKey] : [newKey, oldKey];
      return locked(first, () =>
        locked(second, async () => {
          const from = paths.file(oldKey);
          const to = paths.file(newKey);
          const record = live(await readRecord(from), clock.now());
          if (record === undefined) return false;
          if (oldKey === newKey) return true;
          const displaced = await readRecord(to);
          if (record.userId !== undefined) await touchMarker(paths.marker(record.userId, newKey));
          await mkdir(dirname(to), { recursive: true, mode: 0o700 });
          await renameRetrying(from, to);
          if (durable)
            await Promise.all([
              syncDir(dirname(to)),
              dirname(from) === dirname(to) ? undefined : syncDir(dirname(from)),
            ]);
          if (record.userId !== undefined) await remove(paths.marker(record.userId, oldKey));
          if (displaced?.userId !== undefined && displaced.userId !== record.userId)
            await remove(paths.marker(displaced.userId, newKey));
          return true;
        }),
      );
    },
    async byUser(userId) {
      const now = clock.now();
      const names = await list(paths.userDir(userId), HEX_NAME);
      const found = await Promise.all(
        names.map(async (name): Promise<UserSession | undefined> => {
          const key = keyOfHex(name)!;
          const record = live(await readRecord(paths.file(key)), now);
          if (record === undefined || record.userId !== userId) return undefined;
          const session: UserSession = {
            key,
            createdAt: record.createdAt,
            expiresAt: record.expiresAt,
          };
          if (record.meta !== undefined) session.meta = record.meta;
          return session;
        }),
      );
      return found
        .filter((s): s is UserSession => s !== undefined)
        .sort((a, b) => a.createdAt - b.createdAt);
    },
    async destroyByUser(userId, exceptKey) {
      let count = 0;
      for (const name of await list(paths.userDir(userId), HEX_NAME)) {
        const key = keyOfHex(name)!;
        if (key === exceptKey) continue;
        count += await locked(key, async () => {
          const record = await readRecord(paths.file(key));
          const isTheirs = record !== undefined && record.userId === userId;
          if (isTheirs) await unlinkSession(paths.file(key));
          await remove(paths.marker(userId, key));
          return isTheirs && isLive(record, clock.now()) ? 1 : 0;
        });
      }
      return count;
    },
    async count() {
      let count = 0;
      for await (const rel of leafDirs(paths.sessions))
        count += (await list(join(paths.sessions, rel), SESSION_FILE)).length;
      return count;
    },
    async scan(cursor, limit = 100): Promise<ScanPage> {
      const [fromDir, fromName = ''] =
        cursor === undefined ? [undefined] : [cursor.slice(0, 4), cursor.slice(5)];
      const keys: string[] = [];
      for await (const rel of leafDirs(paths.sessions, fromDir)) {
        const names = (await list(join(paths.sessions, rel), SESSION_FILE)).filter(
          (name) => rel !== fromDir || name > fromName,
        );
        for (const name of names) {
          const key = keyOfHex(name.slice(0, 64))!;
          if (live(await readRecord(paths.file(key)), clock.now())) keys.push(key);
          if (keys.length === limit) return { keys, cursor: `${rel}/${name}` };
        }
      }
      return { keys };
    },
    gc: createGc({ paths, clock, timing, locked, unlinkSession }),
    // `<dir>/leases/<hex>.lease`, read and replaced under the cross-process lock (see lease.ts).
    lock: (key, ttlMs) => leases.lock(key, ttlMs),
    unlock: (key, token) => leases.unlock(key, token),
    check: () =>
      probeStore(
        store,
        storeKey(`tessera/check/${randomBytes(16).toString('hex')}`),
        clock.now(),
        `check that nothing else changes the files under ${root}`,
      ),
  };
  return store;
}

/**
 * `file:` URLs for `createStore`: `file:./sessions` (relative to the working folder),
 * `file:///var/lib/app/sessions` (absolute) or `file://./sessions`. Parameters: `fsync=false`, `lockTimeout`, `staleLockAge` (ms).
 */
export const storeFromUrl: StoreFactory = (url, options) => {
  // WHATWG URLs drop a leading "./" (`file:./x` parses as `file:///x`), so a relative folder is
  // written with the host ".", or taken from the URL as written when the registry passes it.
  const written = options.url;
  let dir: string;
  if (written !== undefined && /^file:(?!\/)/.test(written))
    dir = decodeURIComponent(written.slice(5).split(/[?#]/)[0]!);
  else if (url.host === '.') dir = `.${decodeURIComponent(url.pathname)}`;
  else dir = fileURLToPath(url);
  const lockTimeout = numberParam(url, 'lockTimeout');
  const staleLockAge = numberParam(url, 'staleLockAge');
  return fileStore({
    dir,
    fsync: url.searchParams.get('fsync') !== 'false',
    ...(lockTimeout === undefined ? {} : { lockTimeout }),
    ...(staleLockAge === undefined ? {} : { staleLockAge }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
};
