/**
 * @module Child processes of the bench: servers pinned to one core, a dedicated Redis server, and
 * the CPU time a process has used (from /proc).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { info } from './_redis.js';

/** The core servers (and Redis) run on; the load generator takes the other. */
export const SERVER_CORE = '0';
/** The core of the load generator (this process). */
export const LOAD_CORE = '1';

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Whether pinning works here (taskset installed and at least two cores). */
export function canPin(cores: number): boolean {
  return hasTaskset && cores >= 2;
}

/** Pins this process (all its threads) to the load generator's core. */
export function pinSelf(): void {
  execFileSync('taskset', ['-a', '-p', '-c', LOAD_CORE, String(process.pid)], { stdio: 'ignore' });
}

/** `[command, ...args]` run on `core` when pinning is on. */
function pinned(
  pin: boolean,
  command: string,
  args: string[],
  core: string = SERVER_CORE,
): [string, string[]] {
  return pin ? ['taskset', ['-c', core, command, ...args]] : [command, args];
}

const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** User and system CPU seconds a process has used so far (all its threads), from /proc/<pid>/stat. */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / TICKS, system: Number(fields[12]) / TICKS };
}

/** User + system CPU seconds a process has used so far (all its threads). */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

/** A running benchmark server. */
export interface ServerProcess {
  readonly pid: number;
  readonly origin: string;
  stop(): Promise<void>;
}

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Pins a running process (all its threads) to the server core. */
export function pinToServerCore(pid: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', SERVER_CORE, String(pid)], { stdio: 'ignore' });
}

/** Lets a running process (all its threads) run on every core again, when it was pinned. */
export function unpin(pid: number, cores: number): void {
  if (!hasTaskset) return;
  execFileSync('taskset', ['-a', '-p', '-c', `0-${cores - 1}`, String(pid)], { stdio: 'ignore' });
}

/** How a server is started beyond its file, environment and pinning. */
export interface StartOptions {
  /** A command node runs under, with its arguments (`['valgrind', '--tool=callgrind']`). */
  wrapper?: readonly string[];
  /** How long to wait for `READY <port>`, in ms. @default 30000 */
  readyMs?: number;
}

/**
 * Starts `file` (a bench server: compiled JavaScript, or TypeScript run under tsx) with node (on
 * the server core when `pin`), and resolves once it prints `READY <port>`. Rejects with the tail
 * of its stderr when it exits or stays silent for `options.readyMs` (30 s).
 */
export function startServer(
  file: string,
  env: Record<string, string>,
  pin: boolean,
  nodeFlags: readonly string[] = [],
  options: StartOptions = {},
): Promise<ServerProcess> {
  const loader = file.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const node = [process.execPath, ...nodeFlags, ...loader, file];
  const [first, ...rest] = [...(options.wrapper ?? []), ...node] as [string, ...string[]];
  const [command, args] = pinned(pin, first, rest);
  const readyMs = options.readyMs ?? 30_000;
  const child = spawn(command, args, {
    env: { ...process.env, ...env, PORT: '0', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await waitExit(child, 3000);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      void stop();
      const tail = stderr.trim().split('\n').slice(-6).join('\n');
      reject(new Error(`${why}${tail ? `:\n${tail}` : ''}`));
    };
    const timer = setTimeout(
      () => fail(`did not report READY within ${readyMs / 1000} s`),
      readyMs,
    );
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
    child.once('error', (error) => fail(error.message));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const port = /READY (\d+)/.exec(out)?.[1];
      if (port === undefined) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve({ pid: child.pid!, origin: `http://127.0.0.1:${port}`, stop });
    });
  });
}

/** A Redis server the bench owns. */
export interface RedisProcess {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** Why it is gone, when it exited before `stop()`. */
  readonly exited: string | undefined;
  stop(): Promise<void>;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function ensureRedisServer(): void {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return;
  } catch {
    // Installed below, as scripts/services/_lib.sh does.
  }
  if (process.getuid?.() !== 0) throw new Error('redis-server is missing: install redis-server');
  process.stderr.write('installing redis-server (apt-get)…\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'ignore', env });
}

/**
 * Starts a dedicated redis-server on 127.0.0.1:`port` (no persistence, data in a temporary folder)
 * as a child of this process, and waits until it answers. It runs on the load generator's core:
 * in production Redis is another machine, so its work must not be charged to the server's core
 * (at the request rates of the Redis contenders the load generator leaves that core mostly idle).
 */
export async function startRedis(port: number, pin: boolean): Promise<RedisProcess> {
  ensureRedisServer();
  if (await ping(port))
    throw new Error(
      `something already answers on 127.0.0.1:${port}; stop it or set BENCH_REDIS_PORT`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-redis-'));
  const [command, args] = pinned(
    pin,
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ],
    LOAD_CORE,
  );
  const child = spawn(command, args, { stdio: 'ignore' });
  let exited: string | undefined;
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) exited = `redis-server exited during the run (${signal ?? `code ${code}`})`;
  });
  const stop = async (): Promise<void> => {
    stopping = true;
    child.kill('SIGTERM');
    await waitExit(child, 5000);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on 127.0.0.1:${port} did not come up`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // Another process may have taken the port first: make sure the one answering is ours.
  const pid = /process_id:(\d+)/.exec(await info(port, 'server'))?.[1];
  if (Number(pid) !== child.pid) {
    await stop();
    throw new Error(
      `another redis-server (pid ${pid}) answers on 127.0.0.1:${port}; set BENCH_REDIS_PORT`,
    );
  }
  return {
    pid: child.pid,
    port,
    url: `redis://127.0.0.1:${port}`,
    get exited() {
      return exited;
    },
    stop,
  };
}
