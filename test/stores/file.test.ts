import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSessionManager } from '../../src/index.js';
import { createStore } from '../../src/stores/registry.js';
import type { Store } from '../../src/core/store.js';
import { fileStore, storeFromUrl } from '../../src/stores/file/index.js';
import { layoutOf } from '../../src/stores/file/io.js';
import { newKey, runStoreContract, testClock } from '../contract/store.js';

const folders = new Map<Store, string>();
const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'tessera-file-'));

runStoreContract({
  name: 'file',
  async create(clock) {
    const dir = await tempDir();
    const store = fileStore({ dir, clock });
    folders.set(store, dir);
    return store;
  },
  async dispose(store) {
    await rm(folders.get(store)!, { recursive: true, force: true });
    folders.delete(store);
  },
  raceRounds: 50,
});

/** Every file under `dir`, as paths relative to it. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('file store', () => {
  let dir: string;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps one file per session in two levels of hex folders named from the key, 0700 and 0600', async () => {
    dir = await tempDir();
    const store = fileStore({ dir });
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 }, userId: 'alice' }, Date.now() + 60_000);
    const hex = Buffer.from(key, 'base64url').toString('hex');
    const file = join(dir, 'sessions', hex.slice(0, 2), hex.slice(2, 3), `${hex}.json`);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({
      v: 1,
      data: { a: 1 },
      userId: 'alice',
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    for (const folder of [
      join(dir, 'sessions'),
      join(dir, 'sessions', hex.slice(0, 2)),
      join(dir, 'sessions', hex.slice(0, 2), hex.slice(2, 3)),
    ]) {
      expect((await stat(folder)).mode & 0o777).toBe(0o700);
    }
    // The user index is a folder named by the hash of the user id, with an empty marker per session.
    const files = await tree(dir);
    expect(files.some((f) => f.includes('alice'))).toBe(false);
    const markers = files.filter((f) => f.startsWith('users/') && f.split('/').length === 3);
    expect(markers).toEqual([expect.stringMatching(new RegExp(`^users/[0-9a-f]{64}/${hex}$`))]);
    // No lock or temporary file is left behind.
    expect(files.filter((f) => f.endsWith('.lock') || f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses anything but a store key before touching the disk (path traversal)', async () => {
    dir = await tempDir();
    const store = fileStore({ dir });
    const bad = [
      '../../etc/passwd',
      '..%2F..%2Fx',
      '/abs/path',
      'C:\\x',
      '',
      'a'.repeat(44),
      `${newKey().slice(0, 42)}/`,
      `${newKey().slice(0, 42)}B`,
    ];
    for (const key of bad) {
      await expect(store.get(key)).rejects.toMatchObject({ code: 'BAD_ID' });
      await expect(store.write(key, { create: true }, Date.now() + 1000)).rejects.toMatchObject({
        code: 'BAD_ID',
      });
      await expect(store.destroy(key)).rejects.toMatchObject({ code: 'BAD_ID' });
    }
    expect(await tree(dir)).toEqual([]);
  });

  it('keys that differ only in letter case get different files (case-insensitive file systems)', async () => {
    dir = await tempDir();
    const store = fileStore({ dir });
    const lower = Buffer.alloc(32, 0).toString('base64url'); // "AAAA…"
    const bytes = Buffer.alloc(32, 0);
    bytes[0] = 0x68; // base64url "aA…": differs from "AA…" only by case in its first character
    const upper = bytes.toString('base64url');
    expect(upper.toLowerCase().slice(0, 2)).toBe(lower.toLowerCase().slice(0, 2));
    await store.write(lower, { create: true, set: { who: 'lower' } }, Date.now() + 60_000);
    await store.write(upper, { create: true, set: { who: 'upper' } }, Date.now() + 60_000);
    expect((await store.get(lower))?.data).toEqual({ who: 'lower' });
    expect((await store.get(upper))?.data).toEqual({ who: 'upper' });
  });

  it('treats a corrupt session file as missing, and a create replaces it', async () => {
    dir = await tempDir();
    const store = fileStore({ dir });
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    await writeFile(layoutOf(dir).file(key), '{"v":1,"data":');
    expect(await store.get(key)).toBeUndefined();
    expect(await store.write(key, { set: { b: 1 } }, Date.now() + 60_000)).toEqual({
      existed: false,
    });
    await store.write(key, { create: true, set: { c: 1 } }, Date.now() + 60_000);
    expect((await store.get(key))?.data).toEqual({ c: 1 });
  });

  it('takes over a lock left by a dead process at once, and waits for a live one', async () => {
    dir = await tempDir();
    const store = fileStore({ dir, lockTimeout: 300 });
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    const lock = layoutOf(dir).lock(key);
    const { hostname } = await import('node:os');
    // A pid that cannot be running: far above any pid_max.
    await writeFile(lock, `999999999\n${hostname()}\n${Date.now()}\ndead`);
    const started = Date.now();
    await store.write(key, { set: { b: 2 } }, Date.now() + 60_000);
    expect(Date.now() - started).toBeLessThan(200);
    expect((await store.get(key))?.data).toEqual({ a: 1, b: 2 });
    // A lock held by this (live) process and fresh: the write waits, then gives up with STORE_TIMEOUT.
    await writeFile(lock, `${process.pid}\n${hostname()}\n${Date.now()}\nlive`);
    await expect(store.write(key, { set: { c: 3 } }, Date.now() + 60_000)).rejects.toMatchObject({
      code: 'STORE_TIMEOUT',
    });
    expect((await store.get(key))?.data).toEqual({ a: 1, b: 2 });
    // The same lock, once older than staleLockAge, is taken over.
    await writeFile(lock, `${process.pid}\n${hostname()}\n${Date.now() - 60_000}\nold`);
    await store.write(key, { set: { c: 3 } }, Date.now() + 60_000);
    expect((await store.get(key))?.data).toEqual({ a: 1, b: 2, c: 3 });
  });

  it('resumes GC where the budget stopped it, and clears crash leftovers', async () => {
    dir = await tempDir();
    const clock = testClock();
    const store = fileStore({ dir, clock, fsync: false });
    const dead = Array.from({ length: 60 }, newKey);
    const alive = Array.from({ length: 20 }, newKey);
    for (const key of dead)
      await store.write(key, { create: true, userId: 'gc-user' }, clock.now() + 1000);
    for (const key of alive) await store.write(key, { create: true }, clock.now() + 600_000);
    const leftover = `${layoutOf(dir).file(alive[0]!)}.abc123.tmp`;
    await writeFile(leftover, 'half');
    const { utimes } = await import('node:fs/promises');
    const old = new Date(Date.now() - 2 * 60 * 60_000);
    await utimes(leftover, old, old);
    clock.advance(5000);
    let total = 0;
    let passes = 0;
    for (;;) {
      const pass = await store.gc!({ limit: 7 });
      expect(pass.removed).toBeLessThanOrEqual(7);
      total += pass.removed;
      passes++;
      if (pass.done) break;
    }
    expect(total).toBe(60);
    expect(passes).toBeGreaterThanOrEqual(9);
    expect(await store.count!()).toBe(20);
    expect(await store.byUser!('gc-user')).toEqual([]);
    const files = await tree(dir);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // The user index folder of a user with no sessions left is gone too.
    expect(files.filter((f) => f.startsWith('users/') && f.length > 'users/'.length)).toEqual([]);
  });

  it('is created from file: URLs, absolute or relative to the working folder', async () => {
    dir = await tempDir();
    const absolute = await createStore(`file://${dir}/abs?fsync=false`);
    const key = newKey();
    await absolute.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    expect((await readdir(join(dir, 'abs'))).sort()).toEqual(['sessions']);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const relative = await createStore('file://./rel/sessions');
      await relative.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    } finally {
      process.chdir(cwd);
    }
    expect(await readdir(join(dir, 'rel', 'sessions'))).toEqual(['sessions']);
    // `file:./x` parses as `file:///x` (WHATWG drops the "./"); given the URL as written, the
    // factory keeps it relative.
    process.chdir(dir);
    try {
      const written = 'file:./as-written?fsync=false';
      const store = await storeFromUrl(new URL(written), { url: written });
      await store.write(key, { create: true }, Date.now() + 60_000);
    } finally {
      process.chdir(cwd);
    }
    expect(await readdir(join(dir, 'as-written'))).toEqual(['sessions']);
  });

  it('serves two app instances sharing one folder: sessions, user index and revocation are shared', async () => {
    dir = await tempDir();
    const [a, b] = [
      createSessionManager({ store: fileStore({ dir }) }),
      createSessionManager({ store: fileStore({ dir }) }),
    ];
    const request = (cookie?: string) => ({
      isSecure: false,
      header: (name: string) => (name === 'cookie' ? cookie : undefined),
    });
    const cookieOf = (headers: ReadonlyArray<readonly [string, string]>): string =>
      headers.find(([n]) => n === 'set-cookie')![1].split(';')[0]!;
    const first = a.load(request());
    await first.login('erin');
    first.set('theme', 'dark');
    const onA = cookieOf(await a.commit(first));
    const second = b.load(request());
    await second.login('erin');
    const onB = cookieOf(await b.commit(second));
    // Each instance reads the other's session.
    const seen = b.load(request(onA));
    expect(await seen.get('theme')).toBe('dark');
    expect(seen.userId).toBe('erin');
    expect((await a.sessionsOf('erin')).length).toBe(2);
    // Logout everywhere except here, from instance A.
    const here = a.load(request(onA));
    expect(await a.revokeUser('erin', { except: a.handleOf(here) })).toBe(1);
    const gone = b.load(request(onB));
    expect(await gone.get('theme')).toBeUndefined();
    expect(gone.isNew).toBe(true);
    expect(await b.load(request(onA)).get('theme')).toBe('dark');
    await Promise.all([a.close(), b.close()]);
  });
});
