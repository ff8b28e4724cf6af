/**
 * @module The bench scripts run as child processes: bench/memory.ts (memory per session),
 * bench/seal.ts (seal+open per second) and bench/sql.ts (SQL statements per request), each
 * printing its results as JSON on its last line.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const ROOT = new URL('..', import.meta.url).pathname;

/** Runs `node <args>` in the repository and parses the last line of its stdout as JSON. */
function runScript(args: string[], env: Record<string, string> = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err = (err + c).slice(-2000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(last));
      } catch (error) {
        reject(new Error(`${args.join(' ')}: ${(error as Error).message}\n${err.trim()}`));
      }
    });
  });
}

const skipped = (error: Error): { skipped: string } => ({ skipped: error.message });

/** Memory per session in the memory store at 1e5 and 1e6 sessions (bench/memory.ts). */
export function memoryBench(): Promise<unknown> {
  return runScript(['--expose-gc', '--import', 'tsx', 'bench/memory.ts', '--json']).catch(skipped);
}

/** Seal+open per second of the cookie store and iron-session (bench/seal.ts), shorter when quick. */
export function sealBench(quick: boolean): Promise<unknown> {
  if (!existsSync(`${ROOT}bench/seal.ts`))
    return Promise.resolve({ skipped: 'bench/seal.ts does not exist yet' });
  return runScript(
    ['--import', 'tsx', 'bench/seal.ts', '--json'],
    quick ? { BENCH_SEAL_ROUNDS: '3', BENCH_SEAL_MS: '300' } : {},
  ).catch(skipped);
}

/** SQL statements per request of the SQL stores (bench/sql.ts). */
export function sqlBench(): Promise<unknown> {
  return runScript(['--import', 'tsx', 'bench/sql.ts', '--json']).catch(skipped);
}
