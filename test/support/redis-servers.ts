/**
 * Dedicated Redis processes for tests that stop servers (outage, failover) or count commands, each
 * on its own port and folder, started as children of the test and stopped by it: the shared test
 * servers are never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { isListening } from './services.js';

/** Whether `redis-server` can be started here. */
export async function hasRedisServer(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('redis-server', ['--version'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

/** A redis-server (or sentinel) process the test owns. */
export interface RedisProcess {
  readonly port: number;
  /** Starts it (again), and waits until it answers PING. */
  start(): Promise<void>;
  /** Stops it (SIGKILL when `hard`), and waits for the process to end. */
  stop(hard?: boolean): Promise<void>;
  /** Freezes it (SIGSTOP): it keeps its connections but answers nothing, as a hung server. */
  pause(): Promise<void>;
  /** Thaws it (SIGCONT). */
  resume(): void;
  /** Stops it and removes its folder. */
  dispose(): Promise<void>;
}

/**
 * A redis-server on `port` with `args`, or a sentinel when `sentinelConf` is given (its config is
 * written into the process's folder, as sentinels rewrite it).
 */
export function redisProcess(
  port: number,
  args: string[] = [],
  sentinelConf?: string,
): RedisProcess {
  const dir = mkdtempSync(join(tmpdir(), `tessera-redis-${port}-`));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  return {
    port,
    async start() {
      if (child) return;
      if (await isListening(port))
        throw new Error(
          `Port ${port} is taken by a process this test did not start; stop it first.`,
        );
      let argv: string[];
      if (sentinelConf === undefined) {
        argv = [
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
          ...args,
        ];
      } else {
        const file = join(dir, 'sentinel.conf');
        writeFileSync(file, `port ${port}\nbind 127.0.0.1\ndir ${dir}\n${sentinelConf}\n`);
        argv = [file, '--sentinel'];
      }
      const proc = spawn('redis-server', argv, { stdio: 'ignore' });
      child = proc;
      // Never outlive the test process, even when a test times out before its clean-up.
      const reap = (): void => void proc.kill('SIGKILL');
      process.once('exit', reap);
      proc.once('exit', () => process.off('exit', reap));
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      proc.once('exit', () => {
        if (child === proc) child = undefined;
      });
      await waitFor(`redis on ${port}`, 10_000, () => ping(port));
    },
    async stop(hard = false) {
      const proc = child;
      if (!proc) return;
      child = undefined;
      proc.kill(hard ? 'SIGKILL' : 'SIGTERM');
      await exited;
      await waitFor(`redis on ${port} to stop`, 10_000, async () => !(await isListening(port)));
    },
    async pause() {
      if (child?.pid === undefined) return;
      child.kill('SIGSTOP');
      await untilStopped(child.pid);
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async dispose() {
      child?.kill('SIGCONT');
      await this.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until process `pid` is really stopped (a signal is delivered asynchronously). */
export async function untilStopped(pid: number): Promise<void> {
  await waitFor(`process ${pid} to stop`, 5000, async () => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /\) T /.test(stat);
  });
}

/** Whether a Redis on `port` answers PING. */
export async function ping(port: number): Promise<boolean> {
  if (!(await isListening(port))) return false;
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Polls `check` until it holds, or throws naming `what` after `ms`. */
export async function waitFor(
  what: string,
  ms: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Number of calls of each command since the last CONFIG RESETSTAT, from INFO commandstats. */
export async function commandStats(client: Redis): Promise<Record<string, number>> {
  const info = await client.info('commandstats');
  const out: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    out[match[1]!] = Number(match[2]);
  return out;
}
