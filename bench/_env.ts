/**
 * @module The machine, load and versions a run happened on, for the report.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';

/** Where and with what a run happened. */
export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  redisServer: string | undefined;
  versions: Record<string, string>;
}

const PACKAGES = [
  'express',
  'express-session',
  'connect-redis',
  'redis',
  'ioredis',
  'fastify',
  '@fastify/session',
  '@fastify/cookie',
  'koa',
  'koa-session',
  'iron-session',
  'autocannon',
];

function versionOf(name: string): string {
  try {
    const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** Reads the machine and the versions in use. */
export function machine(): Machine {
  let cores = availableParallelism();
  try {
    cores = Number(execFileSync('nproc').toString().trim()) || cores;
  } catch {
    // availableParallelism() it is.
  }
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // Not Linux.
  }
  let redisServer: string | undefined;
  try {
    redisServer = /v=(\S+)/.exec(execFileSync('redis-server', ['--version']).toString())?.[1];
  } catch {
    redisServer = undefined;
  }
  const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const versions: Record<string, string> = { tessera: own.version };
  for (const name of PACKAGES) versions[name] = versionOf(name);
  return {
    cores,
    cpu,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    redisServer,
    versions,
  };
}

/** The 1, 5 and 15 minute load averages. */
export function load(): [number, number, number] {
  const [a, b, c] = loadavg();
  return [a ?? 0, b ?? 0, c ?? 0];
}

/** Busy and total jiffies of one core, from /proc/stat. */
export function coreTicks(core: number): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${core} `));
  if (!line) return { busy: 0, total: 0 };
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const all = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: all - idle, total: all };
}
