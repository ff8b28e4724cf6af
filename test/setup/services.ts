/**
 * Vitest global setup: starts the real servers the store tests need (scripts/services.sh), and
 * afterwards stops exactly the ones it started; servers that were already up are left running.
 * `TESSERA_SERVICES=off` skips this (unit tests only).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const root = new URL('../../', import.meta.url).pathname;
const script = `${root}scripts/services.sh`;

function serviceNames(): string[] {
  return readdirSync(`${root}scripts/services`)
    .filter((f) => f.endsWith('.sh') && !f.startsWith('_'))
    .map((f) => f.slice(0, -3));
}

const isUp = (name: string): boolean =>
  spawnSync('bash', [script, 'status', name], { stdio: 'ignore' }).status === 0;

export default function setup(): (() => void) | undefined {
  if (process.env['TESSERA_SERVICES'] === 'off') return undefined;
  const toStart = serviceNames().filter((name) => !isUp(name));
  if (toStart.length === 0) return undefined;
  try {
    execFileSync('bash', [script, 'start', ...toStart], { stdio: 'inherit' });
  } catch (error) {
    if (process.env['CI'] === 'true') throw error;
    console.warn(
      '[tessera] could not start every test server; tests that need a missing one say so and skip.',
    );
  }
  return () => {
    if (process.env['TESSERA_KEEP_SERVICES'] === '1') return;
    spawnSync('bash', [script, 'stop', ...toStart], { stdio: 'inherit' });
  };
}
