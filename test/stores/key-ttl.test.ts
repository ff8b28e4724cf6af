/**
 * A key's own lifetime (`set(key, value, { ttl })`, issue 14 item 3) on every store, on its real
 * server: the key disappears after its TTL while the rest of the session stays and the session's
 * deadline does not move; set again without a TTL it lives as long as the session; the session's
 * next write removes it from the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createSessionManager, storeKey, type ResponseHeaders } from '../../src/index.js';
import { backends } from '../support/backends.js';
import { request } from '../support/requests.js';

const folder = mkdtempSync(join(tmpdir(), 'tessera-key-ttl-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Keeps the cookies a response sets (every name: the cookie store chunks). */
function keep(jar: Map<string, string>, headers: ResponseHeaders): void {
  for (const [name, value] of headers) {
    if (name !== 'set-cookie') continue;
    const [pair = ''] = value.split(';');
    const eq = pair.indexOf('=');
    if (/max-age=0/i.test(value)) jar.delete(pair.slice(0, eq));
    else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
}
const from = (jar: Map<string, string>) =>
  request(jar.size === 0 ? {} : { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') });

type Data = { code: string; keep: string; other: string };

for (const backend of await backends(folder)) {
  describe.skipIf(backend.skip)(`a key's own lifetime on ${backend.name}`, () => {
    it('the key goes after its TTL, the session and its deadline stay', async () => {
      const manager = createSessionManager<Data>({
        store: await backend.open(),
        idleTimeout: 30 * 60_000,
        gcInterval: false,
      });
      const isSealed = backend.name === 'cookie';
      try {
        const jar = new Map<string, string>();
        const first = manager.load(from(jar));
        first.set('code', '123456', { ttl: 1000 });
        first.set('keep', 'yes');
        first.set('other', 'x', { ttl: 1000 });
        keep(jar, await manager.commit(first));
        const before = isSealed ? undefined : await manager.store.get(storeKey(first.id!));

        const soon = manager.load(from(jar));
        expect(await soon.get('code')).toBe('123456');
        // Set again without a TTL: lives as long as the session.
        soon.set('other', 'y');
        keep(jar, await manager.commit(soon));

        await sleep(1300);
        const later = manager.load(from(jar));
        expect(await later.get('code')).toBeUndefined();
        expect(await later.has('code')).toBe(false);
        expect(await later.all()).toEqual({ keep: 'yes', other: 'y' });
        expect(later.isNew).toBe(false);
        if (before !== undefined) {
          // The TTL moved no deadline of the session.
          const after = await manager.store.get(storeKey(later.id!));
          expect(after!.expiresAt).toBeGreaterThanOrEqual(before.expiresAt);
          expect(after!.expiresAt - Date.now()).toBeGreaterThan(29 * 60_000);
        }
        // The next write takes the expired key out of the store.
        later.set('keep', 'still');
        keep(jar, await manager.commit(later));
        if (!isSealed) {
          const stored = await manager.store.get(storeKey(later.id!));
          expect(Object.keys(stored!.data).sort()).toEqual(['keep', 'other']);
        }
      } finally {
        await manager.close();
      }
    }, 20_000);
  });
}

describe('set options', () => {
  it('refuses a TTL that is not a positive number of milliseconds', () => {
    const manager = createSessionManager<Data>({ gcInterval: false });
    const s = manager.load(request());
    for (const ttl of [0, -1, Number.NaN, Infinity])
      expect(() => s.set('code', 'x', { ttl })).toThrow(/ttl/);
  });
});
