/**
 * Every ```ts sample in the README compiles under the project's strict settings, importing the
 * package by its published name (`tessera-session`, `tessera-session/express`, …), each sample as
 * a module of its own.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The ```ts blocks with the line each starts on. */
function samples(): Array<{ line: number; code: string }> {
  const out: Array<{ line: number; code: string }> = [];
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ts') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    out.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return out;
}

describe('README samples', () => {
  const found = samples();

  it('has samples', () => {
    expect(found.length).toBeGreaterThan(10);
  });

  it('compiles every ```ts sample under strict, with the package name tessera-session', () => {
    const dir = join(root, '.scratch', 'readme');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const names: string[] = [];
    for (const { line, code } of found) {
      expect(
        code,
        `README line ${line} imports "tessera" instead of "tessera-session"`,
      ).not.toMatch(/from '(tessera)(\/[^']*)?'/);
      const name = `line-${line}.ts`;
      // `export {}` makes each sample a module of its own, so their names never clash.
      writeFileSync(join(dir, name), `${code}\nexport {};\n`);
      names.push(name);
    }
    const config = {
      extends: '../../tsconfig.json',
      compilerOptions: {
        noEmit: true,
        // Samples show a part of an app: names they declare for the reader may stay unused.
        noUnusedLocals: false,
        noUnusedParameters: false,
        paths: {
          'tessera-session': ['../../src/index.ts'],
          'tessera-session/testing': ['../../src/testing/index.ts'],
          'tessera-session/metrics': ['../../src/observe/metrics.ts'],
          'tessera-session/tracing': ['../../src/observe/tracing.ts'],
          'tessera-session/debug': ['../../src/observe/debug.ts'],
          'tessera-session/limit': ['../../src/limit/index.ts'],
          'tessera-session/stores/*': ['../../src/stores/*/index.ts'],
          'tessera-session/migrate/*': ['../../src/migrate/*.ts'],
          'tessera-session/*': ['../../src/adapters/*.ts'],
        },
      },
      include: names,
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2));
    const tsc = spawnSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')],
      { encoding: 'utf8' },
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  }, 120_000);
});
