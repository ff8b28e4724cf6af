/**
 * SQLite across processes: several writer processes on one file never see SQLITE_BUSY, and a
 * writer killed with SIGKILL mid-write loses nothing it acknowledged.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { storeKey } from '../../src/core/id.js';
import { sqliteStore } from '../../src/stores/sqlite/index.js';

const fixture = new URL('../fixtures/sqlite-writer.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-proc-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function writer(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const exited = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null
      ? resolve()
      : child.once('exit', () => resolve()),
  );

describe('sqlite store across processes', () => {
  it('lets four processes write one file at once without a single SQLITE_BUSY', async () => {
    const file = join(dir, 'busy.db');
    const HOUR = 3_600_000;
    const setup = sqliteStore({ path: file });
    await setup.write(
      storeKey('busy-shared'),
      { create: true, set: { total: 0 } },
      Date.now() + HOUR,
    );
    const writes = 400;
    const outputs = await Promise.all(
      [0, 1, 2, 3].map(async (worker) => {
        const child = writer(['busy', file, String(worker), String(writes)]);
        let out = '';
        let err = '';
        child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        await exited(child);
        return { out, err, code: child.exitCode };
      }),
    );
    for (const o of outputs) {
      expect(o.err).toBe('');
      expect(o.code).toBe(0);
      expect(JSON.parse(o.out)).toEqual({ errors: 0, writes });
    }
    const shared = await setup.get(storeKey('busy-shared'));
    expect(shared?.data).toEqual({
      total: 4 * writes,
      w0: writes - 1,
      w1: writes - 1,
      w2: writes - 1,
      w3: writes - 1,
    });
    await setup.close();
  }, 120_000);

  it('keeps every acknowledged write when the writer is killed with SIGKILL, 20 times over', async () => {
    const file = join(dir, 'crash.db');
    const sessions = 12;
    const HOUR = 3_600_000;
    const keyOf = (i: number): string => storeKey(`crash-session-${i}`);
    const acked = new Map<number, { v: number; n: number }>();
    const setup = sqliteStore({ path: file });
    for (let i = 0; i < sessions; i++) {
      await setup.write(
        keyOf(i),
        { create: true, set: { v: -1, pad: '' }, incr: { n: 0 } },
        Date.now() + HOUR,
      );
      acked.set(i, { v: -1, n: 0 });
    }
    await setup.close();

    let seq = 0;
    let kills = 0;
    let totalAcks = 0;
    for (let round = 0; round < 20; round++) {
      const child = writer(['crash', file, String(sessions), String(seq)]);
      let inFlight: { i: number; seq: number } | undefined;
      let acksThisRound = 0;
      const killAfter = 1 + ((round * 37) % 60);
      const lines = createInterface({ input: child.stdout! });
      await new Promise<void>((resolve) => {
        lines.on('line', (line) => {
          const [tag, i, s, n] = line.split(' ');
          if (tag === 'B') inFlight = { i: Number(i), seq: Number(s) };
          if (tag === 'A') {
            acked.set(Number(i), { v: Number(s), n: Number(n) });
            inFlight = undefined;
            seq = Number(s) + 1;
            totalAcks++;
            if (++acksThisRound === killAfter) {
              child.kill('SIGKILL');
              resolve();
            }
          }
        });
        child.once('exit', () => resolve());
      });
      await exited(child);
      expect(child.signalCode).toBe('SIGKILL');
      kills++;
      // Lines already in the pipe when the kill landed.
      await new Promise((r) => setImmediate(r));
      lines.close();

      const reader = sqliteStore({ path: file });
      for (let i = 0; i < sessions; i++) {
        const record = await reader.get(keyOf(i));
        const last = acked.get(i)!;
        const seen = { v: record?.data['v'], n: record?.data['n'] };
        if (inFlight?.i === i && seen.v === inFlight.seq) {
          // The write in flight at the kill may have committed without being acknowledged.
          expect(seen.n).toBe(last.n + 1);
          acked.set(i, { v: inFlight.seq, n: last.n + 1 });
          seq = inFlight.seq + 1;
        } else {
          expect(seen).toEqual(last);
        }
      }
      await reader.close();
    }
    const check = new Database(file, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
    expect(kills).toBe(20);
    expect(totalAcks).toBeGreaterThan(20);
  }, 180_000);
});
