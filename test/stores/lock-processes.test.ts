/**
 * Leases (`lock`/`unlock`) across real processes: three Node processes taking turns on one key
 * never hold it at once, and a holder killed with SIGKILL frees it when its lease runs out, for
 * every server store (Redis, Redis Cluster, PostgreSQL, MariaDB, SQLite, file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/store.js';
import { createStore } from '../../src/stores/registry.js';
import { newKey } from '../contract/store.js';
import { SERVICES, skipUnless } from '../support/services.js';
import { freshTable } from '../support/sql-helpers.js';
import { testPrefix } from '../support/redis-clients.js';

const fixture = new URL('../fixtures/lock/worker.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'tessera-lock-proc-'));
const children = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  // Newest first: the stores close before their tables are dropped.
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const PROCESSES = 3;
const ROUNDS = 15;
const MYSQL_DATABASE = 'tessera_test';

/** A child running the worker fixture, its stdout as lines. */
function worker(args: string[]): {
  child: ChildProcess;
  lines: AsyncIterator<string>;
  err: () => string;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return { child, lines, err: () => err };
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null
      ? resolve(child.exitCode)
      : child.once('exit', (code) => resolve(code)),
  );

async function nextLine(w: ReturnType<typeof worker>): Promise<string> {
  const { value, done } = await w.lines.next();
  if (done) throw new Error(`the worker ended without a line: ${w.err()}`);
  return value;
}

/**
 * The sections of `log` that overlap: every `start p i` must be followed at once by its own
 * `end p i`. Returns the first offending lines, or '' when the log is sound.
 */
function overlaps(log: string): string {
  const lines = log.trim().split('\n');
  for (let n = 0; n < lines.length; n += 2) {
    const start = /^start (\d+) (\d+)$/.exec(lines[n] ?? '');
    const end = /^end (\d+) (\d+)$/.exec(lines[n + 1] ?? '');
    if (start === null || end === null || start[1] !== end[1] || start[2] !== end[2])
      return `lines ${n + 1}-${n + 2}: ${lines[n]} / ${lines[n + 1]}`;
  }
  return '';
}

interface Target {
  name: string;
  skip: string | false;
  /** A fresh URL for one test (its own table, prefix or folder). */
  url: () => Promise<string>;
}

const redisSkip = await skipUnless('Redis', SERVICES.redis.port);
const clusterSkip = await skipUnless('Redis Cluster', SERVICES.redisCluster.ports[0]);
const pgSkip = await skipUnless('PostgreSQL', 5499);
const mariaSkip = await skipUnless('MariaDB', 3399);

const pgTables: string[] = [];
const myTables: string[] = [];
cleanups.push(async () => {
  if (pgTables.length === 0) return;
  const pool = new pg.Pool({ connectionString: SERVICES.postgres.url });
  for (const t of pgTables)
    await pool.query(`DROP TABLE IF EXISTS "${t}", "${t}_schema", "${t}_locks"`);
  await pool.end();
});
cleanups.push(async () => {
  if (myTables.length === 0) return;
  const c = await mysql.createConnection(
    SERVICES.mariadb.url.replace(/\/mysql$/, `/${MYSQL_DATABASE}`),
  );
  for (const t of myTables)
    await c.query(`DROP TABLE IF EXISTS \`${t}\`, \`${t}_schema\`, \`${t}_locks\``);
  await c.end();
});

const TARGETS: Target[] = [
  {
    name: 'redis',
    skip: redisSkip,
    url: async () =>
      `redis://127.0.0.1:${SERVICES.redis.port}?prefix=${encodeURIComponent(testPrefix())}`,
  },
  {
    name: 'redis cluster',
    skip: clusterSkip,
    url: async () =>
      `redis+cluster://${SERVICES.redisCluster.ports.map((p) => `127.0.0.1:${p}`).join(',')}?prefix=${encodeURIComponent(testPrefix())}`,
  },
  {
    name: 'postgres',
    skip: pgSkip,
    url: async () => {
      const table = freshTable('lk');
      pgTables.push(table);
      return `${SERVICES.postgres.url}?table=${table}`;
    },
  },
  {
    name: 'mysql (MariaDB)',
    skip: mariaSkip,
    url: async () => {
      const admin = await mysql.createConnection(SERVICES.mariadb.url);
      await admin.query(`CREATE DATABASE IF NOT EXISTS ${MYSQL_DATABASE}`);
      await admin.end();
      const table = freshTable('lk');
      myTables.push(table);
      return `${SERVICES.mariadb.url.replace(/\/mysql$/, `/${MYSQL_DATABASE}`)}?table=${table}`;
    },
  },
  {
    name: 'sqlite',
    skip: false,
    url: async () => `sqlite:${join(dir, `${freshTable('lk')}.db`)}`,
  },
  {
    name: 'file',
    skip: false,
    url: async () => `file://${join(dir, freshTable('lk'))}`,
  },
];

for (const target of TARGETS) {
  describe.skipIf(target.skip)(`leases across processes: ${target.name}`, () => {
    it(`gives one key to one of ${PROCESSES} processes at a time (${ROUNDS} rounds each)`, async () => {
      const url = await target.url();
      // The parent opens the store first, so the tables exist before the workers race on them.
      const store: Store = await createStore(url);
      const key = newKey();
      expect(await store.unlock!(key, await store.lock!(key, 1000).then((t) => t!))).toBe(true);
      await store.close();
      const log = join(dir, `${freshTable('log')}.txt`);
      const workers = Array.from({ length: PROCESSES }, () =>
        worker(['loop', url, key, String(ROUNDS), log, '10000']),
      );
      const codes = await Promise.all(workers.map((w) => exited(w.child)));
      expect(workers.map((w) => w.err()).join('')).toBe('');
      expect(codes).toEqual(workers.map(() => 0));
      const text = readFileSync(log, 'utf8');
      expect(text.trim().split('\n')).toHaveLength(2 * PROCESSES * ROUNDS);
      expect(overlaps(text)).toBe('');
      // Every process had its turns: the log names each pid ROUNDS times.
      const pids = new Set(workers.map((w) => String(w.child.pid)));
      for (const pid of pids)
        expect(text.split('\n').filter((l) => l.startsWith(`start ${pid} `))).toHaveLength(ROUNDS);
    }, 60_000);

    it('frees the lease of a holder killed with SIGKILL once its ttl ran out, not before', async () => {
      const url = await target.url();
      const store: Store = await createStore(url);
      cleanups.push(() => store.close());
      const key = newKey();
      const ttl = 1500;
      const holder = worker(['hold', url, key, String(ttl)]);
      const held = await nextLine(holder);
      expect(held).toMatch(/^held \d+$/);
      const heldAt = Number(held.split(' ')[1]);
      holder.child.kill('SIGKILL');
      await exited(holder.child);
      // Its process is gone, but its lease is not: nobody gets the key until the ttl ran out.
      expect(await store.lock!(key, 10_000)).toBeUndefined();
      const taker = worker(['take', url, key, '10000']);
      const taken = await nextLine(taker);
      expect(taken).toMatch(/^taken \d+$/);
      const takenAt = Number(taken.split(' ')[1]);
      // The holder printed the time it asked for its lease, which began after that: the lease
      // ends no earlier than `heldAt + ttl` (100 ms left for the clocks' rounding).
      expect(takenAt - heldAt).toBeGreaterThanOrEqual(ttl - 100);
      expect(takenAt - heldAt).toBeLessThan(ttl + 5000);
      expect(await exited(taker.child)).toBe(0);
      expect(taker.err()).toBe('');
    }, 60_000);
  });
}
