/**
 * Memory per session in the memory store, and the cost of a GC pass, at 1e5 and 1e6 sessions.
 * Run: node --expose-gc --import tsx bench/memory.ts [--json]
 * Each session is what the demo stores after a visit: a counter and a short preference, created
 * through the store with a real store key, an absolute deadline and a 30-minute idle deadline.
 */
import { randomBytes } from 'node:crypto';
import { storeKey } from '../src/core/id.js';
import { memoryStore } from '../src/stores/memory/index.js';
import { testClockFor } from './_clock.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with: node --expose-gc --import tsx bench/memory.ts');
  process.exit(1);
}

async function measure(n: number) {
  const clock = testClockFor();
  const store = memoryStore({ clock, maxSessions: Number.POSITIVE_INFINITY });
  gc!();
  const before = process.memoryUsage().heapUsed;
  const keys: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) keys[i] = storeKey(randomBytes(32).toString('base64url'));
  const t = clock.now();
  for (let i = 0; i < n; i++) {
    // 1% of sessions expire after 1 s, spread over the rest of the next half hour like real traffic.
    const ttl = i % 100 === 0 ? 1000 : 60_000 + (i % 1800) * 1000;
    await store.write(
      keys[i]!,
      {
        create: true,
        createdAt: t,
        absoluteExpiresAt: t + 43_200_000,
        set: { count: i % 50, 'pref:theme': 'dark' },
      },
      t + ttl,
    );
  }
  // Drop our own references: what is left is the store's (its keys included).
  keys.length = 0;
  gc!();
  const total = process.memoryUsage().heapUsed - before;
  clock.advance(2000);
  const started = performance.now();
  const result = await store.gc!({ limit: Number.MAX_SAFE_INTEGER, budgetMs: 60_000 });
  const gcMs = performance.now() - started;
  const count = await store.count!();
  await store.close();
  return {
    sessions: n,
    bytesPerSession: Math.round(total / n),
    gcRemoved: result.removed,
    gcMs: Number(gcMs.toFixed(1)),
    gcUsPerRemoved: Number(((gcMs * 1000) / result.removed).toFixed(2)),
    liveAfter: count,
  };
}

const rows = [];
for (const n of [100_000, 1_000_000]) rows.push(await measure(n));
if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
else console.table(rows);
