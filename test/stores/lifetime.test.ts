/**
 * A session's own lifetime is honoured by every store (issue 12, item 3): on each real server, a
 * session given a short lifetime ends after it, unused, although the manager's idle timeout is
 * 30 minutes; it keeps its lifetime through a renewed id; a session without one lives on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createSessionManager, type ResponseHeaders } from '../../src/index.js';
import { backends } from '../support/backends.js';
import { request } from '../support/requests.js';

const folder = mkdtempSync(join(tmpdir(), 'tessera-lifetime-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** The cookies a response sets, as a browser keeps them (all names: the cookie store chunks). */
function keep(jar: Map<string, string>, headers: ResponseHeaders): string[] {
  const lines: string[] = [];
  for (const [name, value] of headers) {
    if (name !== 'set-cookie') continue;
    lines.push(value);
    const [pair = ''] = value.split(';');
    const eq = pair.indexOf('=');
    if (/max-age=0/i.test(value)) jar.delete(pair.slice(0, eq));
    else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return lines;
}
const cookieHeader = (jar: Map<string, string>) =>
  request(jar.size === 0 ? {} : { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') });

for (const backend of await backends(folder)) {
  describe.skipIf(backend.skip)(`a session's own lifetime on ${backend.name}`, () => {
    it('ends the session after it, through a renewed id, while a session without one lives on', async () => {
      const manager = createSessionManager({
        store: await backend.open(),
        idleTimeout: 30 * 60_000,
        gcInterval: false,
      });
      try {
        const short = new Map<string, string>();
        const plain = new Map<string, string>();
        for (const [jar, lifetime] of [
          [short, 1500],
          [plain, undefined],
        ] as const) {
          const s = manager.load(cookieHeader(jar));
          s.set('a', 1);
          if (lifetime !== undefined) s.setLifetime(lifetime);
          const lines = keep(jar, await manager.commit(s));
          // Max-Age is whole seconds, rounded up.
          if (lifetime !== undefined) expect(lines.join()).toMatch(/Max-Age=2;/);
          else expect(lines.join()).not.toMatch(/Max-Age/);
        }
        // A renewed id keeps the lifetime (it lives in the record).
        const renewed = manager.load(cookieHeader(short));
        expect(await renewed.get('a')).toBe(1);
        expect(renewed.lifetime).toBe(1500);
        await renewed.regenerate();
        keep(short, await manager.commit(renewed));

        await sleep(3200);
        const gone = manager.load(cookieHeader(short));
        expect(await gone.get('a')).toBeUndefined();
        expect(gone.isNew).toBe(true);
        const alive = manager.load(cookieHeader(plain));
        expect(await alive.get('a')).toBe(1);
      } finally {
        await manager.close();
      }
    }, 20_000);
  });
}
