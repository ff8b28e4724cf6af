/**
 * scripts/services.sh, which `npm test` uses to bring up the real servers: one server that fails
 * never keeps the others from starting, and a busy dpkg lock is waited for (issue 11, item 16).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'tessera-services-'));
const defs = join(dir, 'defs');
const bin = join(dir, 'bin');
const data = join(dir, 'data');
spawnSync('mkdir', ['-p', defs, bin, data]);

const define = (name: string, start: string): void =>
  writeFileSync(
    join(defs, `${name}.sh`),
    `${name}_start() { ${start}; }\n${name}_stop() { :; }\n${name}_status() { return 1; }\n`,
  );
define('alpha', 'echo "alpha broke" >&2; return 1');
define('beta', 'touch "$SERVICES_DIR/beta-started"');
define('gamma', 'apt_ensure fake-gamma-server fake-gamma-package');
// A stand-in apt-get: records its arguments and "installs" the binary gamma asks for.
writeFileSync(
  join(bin, 'apt-get'),
  `#!/bin/sh\necho "$*" >> "${dir}/apt-args"\nprintf '#!/bin/sh\\n' > "${bin}/fake-gamma-server"\nchmod +x "${bin}/fake-gamma-server"\n`,
);
chmodSync(join(bin, 'apt-get'), 0o755);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/services.sh', () => {
  const run = spawnSync(
    'bash',
    [join(root, 'scripts/services.sh'), 'start', 'alpha', 'beta', 'gamma'],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${bin}:${process.env['PATH'] ?? ''}`,
        TESSERA_SERVICES_DIR: data,
        TESSERA_SERVICE_DEFS: defs,
      },
    },
  );

  it('starts every other server when one fails, and still fails the run, naming it', () => {
    expect(existsSync(join(data, 'beta-started'))).toBe(true);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('start failed for: alpha');
    expect(run.stderr).not.toContain('beta');
  });

  it.skipIf(process.getuid?.() !== 0)(
    'waits for a dpkg lock held by another apt-get instead of failing (as root)',
    () => {
      const args = readFileSync(join(dir, 'apt-args'), 'utf8').trim().split('\n');
      expect(args.length).toBeGreaterThanOrEqual(2);
      for (const line of args) expect(line).toContain('DPkg::Lock::Timeout=');
      expect(args.some((l) => l.includes('install') && l.includes('fake-gamma-package'))).toBe(
        true,
      );
    },
  );
});
