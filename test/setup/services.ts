/**
 * Vitest global setup: starts the real servers the store tests need (scripts/services.sh) when
 * the run includes such tests, and stops exactly what it started.
 */
import { execFileSync } from 'node:child_process';

const script = new URL('../../scripts/services.sh', import.meta.url).pathname;

export default function setup(): (() => void) | undefined {
  if (process.env['TESSERA_SERVICES'] === 'off') return undefined;
  try {
    execFileSync('bash', [script, 'start'], { stdio: 'inherit' });
  } catch (error) {
    if (process.env['CI'] === 'true') throw error;
    console.warn('[tessera] could not start the test servers; store tests that need them will say so and skip.');
    return undefined;
  }
  return () => {
    if (process.env['TESSERA_KEEP_SERVICES'] !== '1') execFileSync('bash', [script, 'stop'], { stdio: 'inherit' });
  };
}
