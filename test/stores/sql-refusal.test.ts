/**
 * The SQL stores' rare path after a guarded write matched no row (`_sql/refusal.ts`), with the
 * row changing between the statements as another process would change it. The stores' own
 * tests run the common path on real servers.
 */
import { describe, expect, it } from 'vitest';
import type { Delta, StoreRecord, WriteResult } from '../../src/core/store.js';
import { planDelta } from '../../src/stores/_sql/delta-plan.js';
import { writeGuarded } from '../../src/stores/_sql/refusal.js';

const now = 1_000_000;
const record = (data: StoreRecord['data']): StoreRecord => ({
  data,
  createdAt: now - 1000,
  expiresAt: now + 60_000,
});

/** A guarded write whose statement and read answer from scripted outcomes, counting each. */
function scripted(delta: Delta, writes: Array<WriteResult | undefined>, reads: StoreRecord[]) {
  const calls = { writes: 0, reads: 0 };
  const run = writeGuarded({
    plan: planDelta(delta),
    delta,
    expiresAt: now + 60_000,
    now,
    write: async () => writes[calls.writes++],
    read: async () => reads[calls.reads++],
  });
  return { run, calls };
}

describe('a guarded SQL write that matched no row', () => {
  it('reports the refused keys the read finds, and a missing record as not existing', async () => {
    const refused = scripted({ incr: { a: 1, b: 1 } }, [undefined], [record({ a: 'x', b: 2 })]);
    expect(await refused.run).toEqual({ existed: true, nonNumeric: ['a'] });
    const missing = scripted({ incr: { a: 1 } }, [undefined], []);
    expect(await missing.run).toEqual({ existed: false });
    expect([refused.calls, missing.calls]).toEqual([
      { writes: 1, reads: 1 },
      { writes: 1, reads: 1 },
    ]);
  });

  it('sends the write again when the row took a number in between, and gives up after three tries', async () => {
    const again = scripted(
      { incr: { a: 1 } },
      [undefined, { existed: true, counters: { a: 6 } }],
      [record({ a: 5 })],
    );
    expect(await again.run).toEqual({ existed: true, counters: { a: 6 } });
    expect(again.calls).toEqual({ writes: 2, reads: 1 });
    const busy = scripted(
      { incr: { a: 1 } },
      [],
      [1, 2, 3].map((a) => record({ a })),
    );
    await expect(busy.run).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
    expect(busy.calls).toEqual({ writes: 3, reads: 3 });
  });

  it('never sends a delta that sets an incremented key to a non-number, nor a write without a guard twice', async () => {
    const own = scripted({ create: true, set: { a: 'x' }, incr: { a: 1 } }, [], []);
    expect(await own.run).toEqual({ existed: false, nonNumeric: ['a'] });
    expect(own.calls).toEqual({ writes: 0, reads: 1 });
    const plain = scripted({ set: { a: 1 } }, [undefined], []);
    expect(await plain.run).toEqual({ existed: false });
    expect(plain.calls).toEqual({ writes: 1, reads: 0 });
  });
});
