/**
 * @module Per-session locks for the file store that also hold between processes sharing a folder.
 *
 * A lock is a file created with its content in one step (`link(2)` of a written temporary file,
 * which fails with EEXIST when the lock exists), so a lock file is never seen empty or half
 * written. It holds `pid`, host name, creation time and a random token.
 *
 * A lock is stale when its process is gone (same host: `kill(pid, 0)` says ESRCH) or when it is
 * older than `staleMs` (another host, or a reused pid). Breaking a stale lock happens under a
 * second, short-lived lock (`<lock>.break`): the breaker reads the lock again and removes it only
 * if it is still the stale one it saw, so two processes breaking the same lock cannot remove the
 * fresh lock one of them just took. Releasing removes the lock only if it still holds our token.
 *
 * Within one process, calls for one session also queue in memory first, so the lock file is only
 * contended between processes.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { TesseraError } from '../../core/errors.js';
import { createLanes, type Lanes } from '../_shared/lanes.js';

/** Lock timing. */
export interface LockTiming {
  /** Give up waiting for a lock after this long (ms). */
  timeoutMs: number;
  /** A lock older than this (ms) is taken over even if its process may still run. */
  staleMs: number;
}

const HOST = hostname();
/** The in-process queue in front of each lock file (shared by every file store of the process). */
const serial: Lanes = createLanes();

/** What a lock file holds: who took it, when, and a token only its holder knows. */
const lockContent = (): string =>
  `${process.pid}\n${HOST}\n${Date.now()}\n${randomBytes(8).toString('hex')}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const errno = (error: unknown): string | undefined =>
  (error as NodeJS.ErrnoException | undefined)?.code;

/** Creates `path` holding `content`, atomically; `false` when it exists. */
async function createWith(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, content, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw error;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(temp, content, { flag: 'wx', mode: 0o600 });
  }
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if (errno(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
}

async function readLock(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Whether a lock's content names a process that is gone, or is older than `staleMs`. */
export function isStale(content: string, staleMs: number, now: number = Date.now()): boolean {
  const [pid, host, at] = content.split('\n');
  const createdAt = Number(at);
  if (!Number.isFinite(createdAt) || now - createdAt > staleMs) return true;
  if (host !== HOST) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return errno(error) === 'ESRCH';
  }
}

/** Removes `path` if it still holds `content`. */
async function removeIf(path: string, content: string): Promise<void> {
  if ((await readLock(path)) === content) await unlink(path).catch(() => {});
}

/** Removes the stale lock at `path` (whose content was `seen`), unless it changed meanwhile. */
export async function breakLock(path: string, seen: string, staleMs: number): Promise<void> {
  const guard = `${path}.break`;
  const mine = lockContent();
  if (!(await createWith(guard, mine))) {
    // Someone else is breaking it; if that breaker died, clear its guard for the next attempt.
    const other = await readLock(guard);
    if (other !== undefined && isStale(other, staleMs)) await removeIf(guard, other);
    return;
  }
  try {
    await removeIf(path, seen);
  } finally {
    await removeIf(guard, mine);
  }
}

/**
 * Runs `fn` holding the lock file `path` (and the in-process queue for it). Rejects with
 * `STORE_TIMEOUT` when the lock stays taken for `timeoutMs`.
 */
export function withLock<T>(path: string, timing: LockTiming, fn: () => Promise<T>): Promise<T> {
  return serial(path, async () => {
    const deadline = Date.now() + timing.timeoutMs;
    let token = lockContent();
    for (let attempt = 0; !(await createWith(path, token)); attempt++, token = lockContent()) {
      const held = await readLock(path);
      if (held !== undefined && isStale(held, timing.staleMs)) {
        await breakLock(path, held, timing.staleMs);
        continue;
      }
      if (Date.now() > deadline) {
        throw new TesseraError(
          'STORE_TIMEOUT',
          `The file store could not lock a session within ${timing.timeoutMs} ms: another process holds it. If no process is stuck, raise \`lockTimeout\`.`,
        );
      }
      await sleep(Math.min(2 ** attempt, 20) * (0.5 + Math.random()));
    }
    try {
      return await fn();
    } finally {
      await removeIf(path, token);
    }
  });
}
