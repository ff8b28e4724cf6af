/**
 * The file store across processes: two processes writing one session, and a writer killed with
 * SIGKILL over and over (the crash test). Writers run test/fixtures/file-writer.ts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { fileStore } from '../../src/stores/file/index.js';
import { newKey } from '../contract/store.js';

const WRITER = new URL('../fixtures/file-writer.ts', import.meta.url).pathname;
const ROUNDS = Number(process.env['TESSERA_CRASH_ROUNDS'] ?? 30);
const blobOf = (seq: number): string =>
  `${seq}:`.padEnd(64 + ((seq * 977) % 3000), String.fromCharCode(97 + (seq % 26)));

const children = new Set<ChildProcessWithoutNullStreams>();
function writer(args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], { stdio: 'pipe' });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
const exited = (child: ChildProcessWithoutNullStreams): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', resolve));
/** Resolves with the first stdout line `predicate` accepts, calling `onLine` for every line. */
function watch(
  child: ChildProcessWithoutNullStreams,
  onLine: (line: string) => void = () => {},
): (predicate: (line: string) => boolean) => Promise<void> {
  const lines = createInterface({ input: child.stdout });
  const waiters: Array<{ predicate: (line: string) => boolean; resolve: () => void }> = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  lines.on('line', (line) => {
    onLine(line);
    for (const w of [...waiters]) {
      if (!w.predicate(line)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return (predicate) =>
    new Promise((resolve, reject) => {
      waiters.push({ predicate, resolve });
      child.once('exit', (code, signal) =>
        reject(new Error(`writer exited (${code ?? signal}) before it was ready: ${stderr}`)),
      );
    });
}

describe('file store across processes', () => {
  let dir = '';
  afterEach(async () => {
    for (const child of children) child.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'keeps every key when two processes write different keys of one session at once',
    { timeout: 60_000 },
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'tessera-file-race-'));
      const store = fileStore({ dir });
      const key = newKey();
      await store.write(key, { create: true, set: { base: true } }, Date.now() + 3_600_000);
      const n = 150;
      const a = writer(['race', dir, key, 'a', String(n)]);
      const b = writer(['race', dir, key, 'b', String(n)]);
      const [waitA, waitB] = [watch(a), watch(b)];
      await Promise.all([waitA((l) => l === 'ready'), waitB((l) => l === 'ready')]);
      a.stdin.write('go\n');
      b.stdin.write('go\n');
      await Promise.all([waitA((l) => l === 'done'), waitB((l) => l === 'done')]);
      await Promise.all([exited(a), exited(b)]);
      const data = (await store.get(key))!.data;
      expect(data['total']).toBe(2 * n);
      for (let i = 0; i < n; i++) {
        expect(data[`a-${i}`]).toBe(i);
        expect(data[`b-${i}`]).toBe(i);
      }
      expect(Object.keys(data)).toHaveLength(2 * n + 2);
    },
  );

  it(
    `leaves every session whole and holding its last acknowledged write after ${ROUNDS} kill -9s`,
    { timeout: 300_000 },
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'tessera-file-crash-'));
      const keys = Array.from({ length: 6 }, newKey);
      const acked = new Map(keys.map((key) => [key, 0]));
      const setup = fileStore({ dir });
      for (const key of keys)
        await setup.write(
          key,
          { create: true, set: { seq: 0, blob: blobOf(0) }, userId: 'user-0' },
          Date.now() + 3_600_000,
        );
      let totalAcks = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const child = writer(['crash', dir, keys.join(',')]);
        const wait = watch(child, (line) => {
          const [word, key, seq] = line.split(' ');
          if (word !== 'ack') return;
          acked.set(key!, Number(seq));
          totalAcks++;
        });
        // Kill it at a random moment once it has started writing.
        await wait((line) => line.startsWith('ack '));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 150));
        child.kill('SIGKILL');
        await exited(child);

        // Every session file parses, whole, and holds the last acknowledged write or the one in flight.
        const store = fileStore({ dir });
        const files = (await readdir(join(dir, 'sessions'), { recursive: true }))
          .map(String)
          .filter((f) => f.endsWith('.json'));
        expect(files).toHaveLength(keys.length);
        for (const file of files) {
          const parsed = JSON.parse(await readFile(join(dir, 'sessions', file), 'utf8')) as {
            data: { seq: number; blob: string };
          };
          expect(parsed.data.blob).toBe(blobOf(parsed.data.seq));
        }
        for (const key of keys) {
          const record = (await store.get(key))!;
          const seq = record.data['seq'] as number;
          expect([acked.get(key), acked.get(key)! + 1]).toContain(seq);
          acked.set(key, seq);
          // The user index always lists a session under the user it is bound to.
          expect((await store.byUser!(record.userId!)).map((s) => s.key)).toContain(key);
        }
      }
      expect(totalAcks).toBeGreaterThan(ROUNDS);
      // Crash leftovers (stale locks, temporary files) do not block anything and GC clears the locks.
      const store = fileStore({ dir });
      for (const key of keys)
        await store.write(key, { set: { after: true } }, Date.now() + 3_600_000);
      await store.gc!({ budgetMs: 5000 });
      const left = (await readdir(dir, { recursive: true })).map(String);
      expect(left.filter((f) => f.endsWith('.lock'))).toEqual([]);
    },
  );
});
