/**
 * Dedicated PostgreSQL and MariaDB servers for outage tests: each test starts its own server in a
 * temporary folder on its own port, stops, freezes and restarts it, and removes it at the end.
 * The shared test servers (scripts/services) are never touched.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { untilStopped } from './redis-servers.js';
import { isListening } from './services.js';

/** A server a test owns. */
export interface DedicatedServer {
  readonly url: string;
  readonly port: number;
  /** Start (again) and wait until it accepts connections. */
  start(): Promise<void>;
  /** Stop at once, as a crash would (connections are cut, nothing is flushed politely). */
  crash(): Promise<void>;
  /** Freeze every server process (SIGSTOP): connections stay open, nothing answers. */
  freeze(): Promise<void>;
  /** Undo {@link freeze}. */
  thaw(): void;
  /** Stop it and remove its folder. Safe to call twice. */
  remove(): Promise<void>;
}

const PG_BIN = '/usr/lib/postgresql/15/bin';
const isRoot = (): boolean => process.getuid?.() === 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${ms} ms`);
    await sleep(100);
  }
}

async function waitClosed(port: number, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (await isListening(port)) {
    if (Date.now() > deadline) throw new Error(`port ${port} still open after ${ms} ms`);
    await sleep(50);
  }
}

/** The reason a dedicated server of this kind cannot run here, or `false`. */
export function dedicatedSkip(kind: 'postgres' | 'mariadb'): string | false {
  const missing =
    kind === 'postgres'
      ? !existsSync(`${PG_BIN}/initdb`)
      : !existsSync('/usr/sbin/mariadbd') ||
        spawnSync('which', ['mariadb-install-db']).status !== 0;
  if (!missing) return false;
  const reason = `${kind === 'postgres' ? 'PostgreSQL 15' : 'MariaDB'} binaries are not installed, so no dedicated server can be started for the outage test (run \`npm run services -- start\` as root once)`;
  if (process.env['CI'] === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

/** A PostgreSQL 15 server of its own on `port` (as the `postgres` user when we are root). */
export async function dedicatedPostgres(port: number): Promise<DedicatedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pg-'));
  const asPg = (command: string): void => {
    if (isRoot())
      execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', command], { stdio: 'ignore' });
    else execFileSync('sh', ['-c', command], { stdio: 'ignore' });
  };
  if (isRoot())
    chownSync(
      dir,
      Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
      Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
    );
  asPg(
    `'${PG_BIN}/initdb' -D '${dir}/data' -A trust -U postgres --no-sync >'${dir}/initdb.log' 2>&1`,
  );
  const pids = (): number[] => {
    const file = join(dir, 'data', 'postmaster.pid');
    if (!existsSync(file)) return [];
    const main = Number(readFileSync(file, 'utf8').split('\n')[0]);
    const children = spawnSync('pgrep', ['-P', String(main)])
      .stdout.toString()
      .split('\n')
      .filter(Boolean)
      .map(Number);
    return [main, ...children];
  };
  let removed = false;
  const server: DedicatedServer = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      asPg(
        `'${PG_BIN}/pg_ctl' -D '${dir}/data' -l '${dir}/log' -o "-k '${dir}' -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off" start`,
      );
      await waitFor(`PostgreSQL on ${port}`, () => isListening(port));
    },
    async crash() {
      asPg(`'${PG_BIN}/pg_ctl' -D '${dir}/data' -m immediate -w stop`);
      await waitClosed(port);
    },
    async freeze() {
      // Wait until every process really is stopped, or a call sent right after may still be answered.
      for (const pid of pids()) {
        process.kill(pid, 'SIGSTOP');
        await untilStopped(pid);
      }
    },
    thaw() {
      for (const pid of pids()) process.kill(pid, 'SIGCONT');
    },
    async remove() {
      if (removed) return;
      removed = true;
      try {
        server.thaw();
        if (existsSync(join(dir, 'data', 'postmaster.pid')))
          asPg(`'${PG_BIN}/pg_ctl' -D '${dir}/data' -m immediate -w stop`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return server;
}

/** A MariaDB server of its own on `port` (root, no password). */
export async function dedicatedMariadb(port: number): Promise<DedicatedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-maria-'));
  const user = userInfo().username;
  execFileSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${dir}/data`,
      `--user=${user}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ],
    {
      stdio: 'ignore',
    },
  );
  let pid: number | undefined;
  let removed = false;
  const server: DedicatedServer = {
    url: `mysql://root@127.0.0.1:${port}/mysql`,
    port,
    async start() {
      const child = spawn(
        '/usr/sbin/mariadbd',
        [
          '--no-defaults',
          `--datadir=${dir}/data`,
          `--user=${user}`,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          `--socket=${dir}/sock`,
          `--pid-file=${dir}/mariadb.pid`,
          `--log-error=${dir}/error.log`,
          '--skip-log-bin',
          '--innodb-buffer-pool-size=32M',
          '--innodb-flush-log-at-trx-commit=2',
        ],
        { detached: true, stdio: 'ignore' },
      );
      child.unref();
      pid = child.pid;
      await waitFor(`MariaDB on ${port}`, () => isListening(port), 60_000);
    },
    async crash() {
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
      pid = undefined;
      await waitClosed(port);
    },
    async freeze() {
      if (pid === undefined) return;
      process.kill(pid, 'SIGSTOP');
      await untilStopped(pid);
    },
    thaw() {
      if (pid !== undefined) process.kill(pid, 'SIGCONT');
    },
    async remove() {
      if (removed) return;
      removed = true;
      try {
        server.thaw();
        if (pid !== undefined) await server.crash();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return server;
}
