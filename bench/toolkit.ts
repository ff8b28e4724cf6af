/**
 * `npx tsx bench/toolkit.ts`: what a session lock round trip and a rate-limit check cost on Redis
 * (the test server on 127.0.0.1:6390, `npm run services`), one at a time, so each number is one
 * call's latency.
 *
 *   npx tsx bench/toolkit.ts [--n=3000] [--redis=6390]
 */
import { parseArgs } from 'node:util';
import { createSessionManager, createStore } from '../src/index.js';
import { rateLimiter } from '../src/limit/index.js';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '3000' }, redis: { type: 'string', default: '6390' } },
});
const n = Number(values.n);
const url = (prefix: string): string =>
  `redis://127.0.0.1:${values.redis}/0?prefix=bench-${prefix}-${Date.now().toString(36)}:`;

async function time(label: string, run: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < Math.min(200, n); i++) await run();
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await run();
    samples.push(performance.now() - t);
  }
  const total = performance.now() - started;
  samples.sort((a, b) => a - b);
  const at = (p: number): string =>
    `${(samples[Math.floor((p / 100) * (n - 1))]! * 1000).toFixed(0)} µs`;
  console.log(
    `${label.padEnd(44)} p50 ${at(50).padStart(7)}  p99 ${at(99).padStart(7)}  ${Math.round((n / total) * 1000).toLocaleString('en')} /s`,
  );
}

const store = await createStore(url('lock'));
const manager = createSessionManager<{ n: number }>({ store, gcInterval: false });
const first = manager.load({ header: () => undefined, isSecure: false, url: '/', ip: '127.0.0.1' });
first.set('n', 0);
await manager.commit(first);
const cookie = `sid=${first.id!}`;
const session = () =>
  manager.load({
    header: (h) => (h === 'cookie' ? cookie : undefined),
    isSecure: false,
    url: '/',
    ip: '127.0.0.1',
  });

await time('store.lock + store.unlock (2 round trips)', async () => {
  const token = await store.lock!('bench-key', 5000);
  await store.unlock!('bench-key', token!);
});
await time('session.lock(() => {}) (lease, read, release)', () => session().lock(() => undefined));
await time('session.update(n => n + 1) (lease, read, write, release)', () =>
  session().update('n', (v) => (v ?? 0) + 1),
);
const limiterStore = await createStore(url('limit'));
const fixed = rateLimiter({ store: limiterStore, limit: 1e9, windowMs: 60_000 });
const sliding = rateLimiter({
  store: limiterStore,
  limit: 1e9,
  windowMs: 60_000,
  algorithm: 'sliding',
  name: 's',
});
await time('rate limit check, fixed window (1 round trip)', () => fixed.check('user:bench'));
await time('rate limit check, sliding window (2, in parallel)', () => sliding.check('user:bench'));
await manager.close();
await limiterStore.close();
