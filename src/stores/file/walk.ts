/**
 * @module Walking the file store's folders in a fixed order, so scans and GC can stop and resume.
 *
 * A pass can stop anywhere and resume from a cursor.
 */
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

const errno = (error: unknown): string | undefined =>
  (error as NodeJS.ErrnoException | undefined)?.code;

/** The entries of a folder, sorted; none when it is missing. */
export async function list(dir: string, pattern?: RegExp): Promise<string[]> {
  try {
    const names = await readdir(dir);
    return (pattern ? names.filter((name) => pattern.test(name)) : names).sort();
  } catch (error) {
    if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return [];
    throw error;
  }
}

/**
 * The session folders (`ab/c`, relative to `sessions`) in order, from `from` on (inclusive).
 * Reads one top-level folder at a time, so it costs nothing past where the caller stops.
 */
export async function* leafDirs(sessions: string, from?: string): AsyncGenerator<string> {
  const start = from ?? '';
  for (const top of await list(sessions, /^[0-9a-f]{2}$/)) {
    if (top < start.slice(0, 2)) continue;
    for (const leaf of await list(join(sessions, top), /^[0-9a-f]$/)) {
      const rel = `${top}/${leaf}`;
      if (rel >= start) yield rel;
    }
  }
}

/** Removes a folder if it is empty; anything else (not empty, gone, in use) is left alone. */
export async function removeIfEmpty(dir: string): Promise<void> {
  await rmdir(dir).catch(() => {});
}
