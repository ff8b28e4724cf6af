/**
 * The debug observer logs the manager's decisions one line each, and never a raw session id, a
 * store key, a user, data, a secret or a cookie value; the environment switches it on.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { storeKey } from '../../src/core/id.js';
import {
  createSessionManager,
  memoryStore,
  type SessionManager,
  type Store,
} from '../../src/index.js';
import {
  debugFromEnv,
  debugObserver,
  debugTopicsFromEnv,
  type DebugOptions,
} from '../../src/observe/debug.js';
import { cookieStore } from '../../src/stores/cookie/index.js';
import { sqliteStore } from '../../src/stores/sqlite/index.js';
import { testClock } from '../contract/store.js';
import { browser } from '../support/requests.js';
import { spyStore } from '../support/spy-store.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-debug-'));
const managers: SessionManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup(options: Parameters<typeof createSessionManager>[0] = {}, debug: DebugOptions = {}) {
  const lines: string[] = [];
  const manager = createSessionManager({
    gcInterval: false,
    ...options,
    observers: [debugObserver({ log: (line) => lines.push(line), ...debug })],
  });
  managers.push(manager);
  return { lines, manager, text: () => lines.join('\n') };
}

describe('debugObserver', () => {
  it('logs store calls, commit kinds, session events and GC passes', async () => {
    const clock = testClock();
    const { lines, manager } = setup({
      store: memoryStore({ clock }),
      clock,
      idleTimeout: 1000,
      touchAfter: 0,
    });
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    await b.visit((s) => s.get('a'));
    clock.advance(2000);
    await b.visit((s) => s.get('a'));
    await manager.gc();
    expect(lines[0]).toMatch(/^tessera:store memory\.write ok \d+\.\d\dms$/);
    expect(lines).toContain('tessera:session created: first stored');
    expect(lines).toContain(
      'tessera:commit create: new session stored under a new id; session id sent',
    );
    expect(lines).toContain('tessera:commit touch: idle deadline moved (touch)');
    expect(lines.some((l) => l.startsWith('tessera:session expired: the request carried'))).toBe(
      true,
    );
    expect(lines.some((l) => /^tessera:gc removed \d+ expired session\(s\) in /.test(l))).toBe(
      true,
    );
  });

  it('logs a failed store call and the failed commit with their code', async () => {
    const store = spyStore(memoryStore());
    const { lines, manager } = setup({ store });
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    store.mode = 'fail';
    await expect(b.visit((s) => s.get('a'))).rejects.toThrow();
    await expect(b.visit((s) => s.set('a', 2))).rejects.toThrow();
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^tessera:store memory\.get error .*STORE_UNAVAILABLE: The memory store failed during get: connect ECONNREFUSED/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^tessera:error STORE_UNAVAILABLE during commit: /),
    );
  });

  it('never logs the session id, the cookie, the user or data (memory and SQLite)', async () => {
    for (const store of [memoryStore(), sqliteStore({ path: join(dir, 'd.db') })]) {
      const { text, manager } = setup({ store });
      const b = browser(manager);
      await b.visit((s) => s.set('card', '4111 1111 1111 1111'));
      const id = b.cookie!;
      await b.visit(async (s) => {
        await s.login('alice@example.com');
        s.set('note', 'hunter2');
      });
      const renewed = b.cookie!;
      await b.visit((s) => s.logout());
      const out = text();
      expect(out).toContain(`tessera:store ${store.name}.rename ok`);
      for (const secret of [id, renewed, storeKey(id), storeKey(renewed)])
        expect(out).not.toContain(secret);
      expect(out).not.toMatch(/alice|4111|card|hunter2|note|[A-Za-z0-9_-]{20,}/);
    }
  });

  it('never logs the cookie store’s secret or its sealed cookie', async () => {
    const secret = randomBytes(32).toString('base64url');
    const { text, manager } = setup({ store: cookieStore({ secrets: [secret] }) });
    const b = browser(manager);
    await b.visit((s) => s.set('cart', 3));
    await b.visit((s) => s.get('cart'));
    await b.visit((s) => s.set('cart', 4));
    expect(b.cookie!.length).toBeGreaterThan(40);
    const out = text();
    expect(out).toContain('tessera:commit');
    expect(out).not.toContain(secret);
    expect(out).not.toContain(b.cookie!);
    expect(out).not.toContain(b.cookie!.slice(0, 20));
  });

  it('replaces an id-like token in a driver’s message with a short hash', async () => {
    const inner = memoryStore();
    let seenKey = '';
    const leaky: Store = {
      ...inner,
      get: (key) => {
        seenKey = key;
        return Promise.reject(new Error(`no record at sessions:${key}`));
      },
    };
    const { text, manager } = setup({ store: leaky });
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    await expect(b.visit((s) => s.get('a'))).rejects.toThrow();
    expect(seenKey).toHaveLength(43);
    expect(text()).not.toContain(seenKey);
    expect(text()).toMatch(/no record at sessions:#[A-Za-z0-9_-]{8}\./);
  });

  it('logs only the topics asked for', async () => {
    const { lines, manager } = setup({}, { topics: ['commit'] });
    await browser(manager).visit((s) => s.set('a', 1));
    expect(lines).toEqual([
      'tessera:commit create: new session stored under a new id; session id sent',
    ]);
    expect(Object.keys(debugObserver({ topics: ['commit'] }))).toEqual(['onCommit']);
  });
});

describe('debug from the environment', () => {
  it('reads DEBUG with debug’s patterns and NODE_DEBUG', () => {
    const all = ['store', 'commit', 'session', 'error', 'gc'];
    expect(debugTopicsFromEnv({})).toEqual([]);
    expect(debugTopicsFromEnv({ DEBUG: 'express:*' })).toEqual([]);
    expect(debugTopicsFromEnv({ DEBUG: 'tessera*' })).toEqual(all);
    expect(debugTopicsFromEnv({ DEBUG: 'tessera:*' })).toEqual(all);
    expect(debugTopicsFromEnv({ DEBUG: 'app,tessera:commit tessera:gc' })).toEqual([
      'commit',
      'gc',
    ]);
    expect(debugTopicsFromEnv({ DEBUG: '*,-tessera:store' })).toEqual(all.slice(1));
    expect(debugTopicsFromEnv({ NODE_DEBUG: 'http,tessera' })).toEqual(all);
    expect(debugTopicsFromEnv({ NODE_DEBUG: 'http' })).toEqual([]);
  });

  it('gives an observer only when the environment asks for one', async () => {
    expect(debugFromEnv({}, {})).toEqual([]);
    const lines: string[] = [];
    const observers = debugFromEnv({ log: (l) => lines.push(l) }, { DEBUG: 'tessera:session' });
    const manager = createSessionManager({ gcInterval: false, observers });
    managers.push(manager);
    await browser(manager).visit((s) => s.set('a', 1));
    expect(lines).toEqual(['tessera:session created: first stored']);
  });
});
