/**
 * Rate limits (issue 14, item 4) on every server store, on its real server: concurrent checks of
 * one key from several processes allow exactly the limit; windows reset; the sliding window keeps
 * a burst at a window's edge within the limit; the headers say what is left.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStore, type Store } from '../../src/index.js';
import { rateLimiter } from '../../src/limit/index.js';
import { cookieStore } from '../../src/stores/cookie/index.js';
import { backends } from '../support/backends.js';
import { SERVICES, skipUnless } from '../support/services.js';

const run = promisify(execFile);
const folder = mkdtempSync(join(tmpdir(), 'tessera-limit-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const unique = (): string => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

for (const backend of (await backends(folder)).filter((b) => b.name !== 'cookie')) {
  describe.skipIf(backend.skip)(`rate limits on ${backend.name}`, () => {
    const stores: Store[] = [];
    afterAll(async () => {
      for (const store of stores) await store.close();
    });
    const open = async (): Promise<Store> => {
      const store = await backend.open();
      stores.push(store);
      return store;
    };

    it('allows exactly the limit of 40 concurrent hits, and says what is left', async () => {
      const limiter = rateLimiter({ store: await open(), limit: 15, windowMs: 60_000 });
      const key = `user:${unique()}`;
      const results = await Promise.all(Array.from({ length: 40 }, () => limiter.check(key)));
      expect(results.filter((r) => r.allowed)).toHaveLength(15);
      const refused = results.find((r) => !r.allowed)!;
      expect(refused).toMatchObject({ remaining: 0, limit: 15 });
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      const headers = Object.fromEntries(limiter.headers(refused));
      expect(headers).toMatchObject({ 'ratelimit-limit': '15', 'ratelimit-remaining': '0' });
      expect(Number(headers['retry-after'])).toBeGreaterThan(0);
      // Another key has its own budget.
      expect((await limiter.check(`user:${unique()}`)).remaining).toBe(14);
    }, 20_000);

    it('starts a new budget with the next window', async () => {
      const limiter = rateLimiter({ store: await open(), limit: 2, windowMs: 1000 });
      const key = `s:${unique()}`;
      // Start at a window's beginning, so both checks fall in one window.
      await sleep(1000 - (Date.now() % 1000) + 5);
      expect((await limiter.check(key)).allowed).toBe(true);
      expect((await limiter.check(key, 2)).allowed).toBe(false);
      await sleep(1000 - (Date.now() % 1000) + 5);
      expect((await limiter.check(key)).allowed).toBe(true);
    }, 10_000);
  });
}

describe('the sliding window', () => {
  it('counts the previous window by how much of it still overlaps', async () => {
    const limiter = rateLimiter({
      store: memoryStore(),
      limit: 10,
      windowMs: 1000,
      algorithm: 'sliding',
    });
    const key = unique();
    // A burst at the end of one window...
    await sleep(1000 - (Date.now() % 1000) + 850);
    const late = await Promise.all(Array.from({ length: 10 }, () => limiter.check(key)));
    expect(late.every((r) => r.allowed)).toBe(true);
    // ...leaves little room at the start of the next: a fixed window would allow 10 more.
    await sleep(1000 - (Date.now() % 1000) + 50);
    const early = await Promise.all(Array.from({ length: 10 }, () => limiter.check(key)));
    expect(early.filter((r) => r.allowed).length).toBeLessThanOrEqual(2);
  });
});

const redisSkip = await skipUnless('Redis', SERVICES.redis.port);
const pgSkip = await skipUnless('PostgreSQL', 5499);

describe('rate limits across processes', () => {
  const urls: Array<[string, string | false, string]> = [
    ['Redis', redisSkip, `redis://127.0.0.1:${SERVICES.redis.port}/0?prefix=limit-${unique()}:`],
    ['PostgreSQL', pgSkip, `${SERVICES.postgres.url}?table=limit_${unique()}`],
  ];
  for (const [name, skip, url] of urls)
    it.skipIf(skip)(
      `three processes share one budget on ${name}`,
      async () => {
        const key = `ip:${unique()}`;
        const worker = new URL('../fixtures/limit/worker.ts', import.meta.url).pathname;
        const answers = await Promise.all(
          [0, 1, 2].map(() =>
            run(process.execPath, ['--import', 'tsx', worker, url, key, '20', '25'], {
              cwd: new URL('../..', import.meta.url).pathname,
            }),
          ),
        );
        const allowed = answers.reduce((sum, a) => sum + Number(a.stdout.trim()), 0);
        expect(allowed).toBe(25);
      },
      30_000,
    );
});

describe('rate limiter options', () => {
  it('refuses bad options and the cookie store', () => {
    const store = memoryStore();
    expect(() => rateLimiter({ store, limit: 0, windowMs: 1000 })).toThrow(/limit/);
    expect(() => rateLimiter({ store, limit: 1, windowMs: Number.NaN })).toThrow(/windowMs/);
    expect(() =>
      rateLimiter({
        store: cookieStore({ secrets: [randomBytes(32).toString('base64url')] }),
        limit: 1,
        windowMs: 1000,
      }),
    ).toThrow(/cookie store/);
  });
});
