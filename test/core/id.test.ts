import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIdScheme, isStoreKey, storeKey } from '../../src/core/id.js';

describe('session ids', () => {
  const ids = createIdScheme({});

  it('issues 43-character base64url ids from 32 random bytes, with no repeats in 200,000', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) {
      const id = ids.generate();
      expect(id.length).toBe(43);
      seen.add(id);
    }
    expect(seen.size).toBe(200_000);
    const sample = [...seen].slice(0, 1000).join('');
    expect(sample).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('spreads characters evenly (chi-square over 64 symbols)', () => {
    const counts = new Map<string, number>();
    let total = 0;
    for (let i = 0; i < 20_000; i++) {
      // The last character carries only 4 bits; count the 42 full ones.
      for (const ch of ids.generate().slice(0, 42)) {
        counts.set(ch, (counts.get(ch) ?? 0) + 1);
        total++;
      }
    }
    expect(counts.size).toBe(64);
    const expected = total / 64;
    let chi = 0;
    for (const n of counts.values()) chi += (n - expected) ** 2 / expected;
    // 63 degrees of freedom: p = 0.001 at about 103.4.
    expect(chi).toBeLessThan(103.4);
  });

  it('accepts only ids of exactly its own shape (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (value) => {
        expect(ids.isValid(value)).toBe(/^[A-Za-z0-9_-]{43}$/.test(value));
      }),
      { numRuns: 2000 },
    );
    expect(ids.isValid(ids.generate())).toBe(true);
    expect(ids.isValid('x'.repeat(1_000_000))).toBe(false);
  });

  it('hashes ids into store keys that are safe anywhere and reveal nothing', () => {
    const id = ids.generate();
    const key = storeKey(id);
    expect(isStoreKey(key)).toBe(true);
    expect(key).not.toContain(id.slice(0, 8));
    expect(storeKey(id)).toBe(key);
    expect(storeKey(id.toUpperCase())).not.toBe(key);
  });

  it('with a prefix, validates prefix and body together', () => {
    const prefixed = createIdScheme({ idPrefix: 'app_' });
    const id = prefixed.generate();
    expect(id).toMatch(/^app_[A-Za-z0-9_-]{43}$/);
    expect(prefixed.isValid(id)).toBe(true);
    expect(prefixed.isValid('bad_' + id.slice(4))).toBe(false);
    expect(() => createIdScheme({ idPrefix: 'a;b' })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
  });
});
