/**
 * @module The GC loop of the SQL stores: delete expired rows in batches within a time budget.
 */
import type { GcOptions, GcResult } from '../../core/store.js';

/**
 * One GC pass: calls `batch(n)` (delete at most n expired rows, return how many went) until a
 * batch comes back short (done), `limit` rows went or the time budget is spent.
 */
export async function gcLoop(
  options: GcOptions,
  batch: (size: number) => Promise<number>,
  batchSize = 500,
): Promise<GcResult> {
  const limit = options.limit ?? 10_000;
  const deadline = Date.now() + (options.budgetMs ?? 100);
  let removed = 0;
  for (;;) {
    const size = Math.min(batchSize, limit - removed);
    if (size <= 0) return { removed, done: false };
    const n = await batch(size);
    removed += n;
    if (n < size) return { removed, done: true };
    if (Date.now() >= deadline) return { removed, done: false };
  }
}
