/**
 * The contract suite judges stores by what they have: it fails a store whose declaration disagrees
 * with its methods, and every case it skips says why (test/fixtures/contract/stores.fixture.ts).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

function runFixtures(): string {
  const result = spawnSync(
    process.execPath,
    [
      `${root}node_modules/vitest/vitest.mjs`,
      'run',
      '--config',
      'test/fixtures/contract/vitest.config.ts',
      '--reporter=verbose',
      '--no-color',
    ],
    { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } },
  );
  return `${result.stdout}\n${result.stderr}`;
}

describe('the store contract suite (tessera-session/testing)', () => {
  const output = runFixtures();
  const lines = output.split('\n');
  const line = (store: string, test: string): string =>
    lines.find((l) => l.includes(`store contract: ${store}`) && l.includes(test)) ?? '';

  it('fails a store that declares an ability it has', () => {
    expect(line('claims to lack rename', 'declares its abilities truthfully')).toMatch(/^\s*×/);
    expect(output).toContain('rename: declared as lacking, but the store has it');
  });

  it('fails a store with half an ability (lock without unlock), and runs none of its cases', () => {
    expect(line('half a lease', 'declares its abilities truthfully')).toMatch(/^\s*×/);
    expect(output).toContain('lock: only some of its methods exist');
    expect(line('half a lease', 'grants exactly one of many')).toMatch(/^\s*↓/);
  });

  it('skips the cases of missing abilities, each with its reason: the declared one or a default', () => {
    expect(line('required methods only', 'declares its abilities truthfully')).toMatch(/^\s*✓/);
    expect(line('required methods only', 'removes expired records')).toMatch(
      /↓.*\[a reason of its own\]/,
    );
    expect(line('required methods only', 'moves a record to a new key')).toMatch(
      /↓.*\[the store has no `rename`\]/,
    );
    expect(line('required methods only', 'grants exactly one')).toMatch(
      /↓.*\[the store has no leases/,
    );
    // Its required cases all ran and passed.
    expect(line('required methods only', 'returns undefined for a key it never saw')).toMatch(
      /^\s*✓/,
    );
  });

  it('runs every case of a store that has every ability (the memory store: nothing skipped)', () => {
    expect(line('claims to lack rename', 'moves a record to a new key')).toMatch(/^\s*✓/);
    expect(line('claims to lack rename', 'grants exactly one')).toMatch(/^\s*✓/);
    expect(line('claims to lack rename', 'drops a key at its own deadline')).toMatch(/^\s*✓/);
  });
});
