import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonCodec } from '../../src/core/codec.js';
import type { JsonValue } from '../../src/core/store.js';

const roundTrip = (value: unknown): unknown =>
  jsonCodec.decode(JSON.parse(JSON.stringify(jsonCodec.encode(value))) as JsonValue);

describe('json codec', () => {
  it('keeps Dates, Maps, Sets, BigInts and bytes, nested anywhere', () => {
    const value = {
      at: new Date('2026-11-23T10:00:00.000Z'),
      invalid: new Date(Number.NaN),
      map: new Map<unknown, unknown>([
        ['a', new Set([1n])],
        [2, { b: new Date(5) }],
      ]),
      list: [new Uint8Array([0, 1, 254, 255]), -(2n ** 70n)],
    };
    expect(roundTrip(value)).toEqual(value);
  });

  it('keeps plain objects that happen to use the tag key', () => {
    const value = { $t: 'Date', v: 1, nested: { $t: 'Map' } };
    expect(roundTrip(value)).toEqual(value);
  });

  it('round-trips any JSON-like value (property)', () => {
    fc.assert(
      // "__proto__" keys are refused at `set` on purpose (see below); everything else must survive.
      fc.property(
        fc.jsonValue({ maxDepth: 6 }).filter((v) => !JSON.stringify(v).includes('"__proto__"')),
        (value) => {
          const plain = JSON.parse(JSON.stringify(value)) as unknown;
          expect(roundTrip(plain)).toEqual(plain);
        },
      ),
      { numRuns: 500 },
    );
  });

  it.each([
    ['a function', () => 1],
    ['a symbol', Symbol('x')],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a class instance', new (class Thing {})()],
    ['an object with __proto__', JSON.parse('{"__proto__": {"polluted": 1}}') as unknown],
  ])('refuses %s with INVALID_DATA', (_name, value) => {
    expect(() => jsonCodec.encode({ v: value })).toThrow(
      expect.objectContaining({ code: 'INVALID_DATA' }),
    );
  });

  it('refuses values nested deeper than 64 levels, and decodes hostile depth without overflowing', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => jsonCodec.encode(deep)).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    const hostile = JSON.parse('['.repeat(10_000) + ']'.repeat(10_000)) as JsonValue;
    expect(() => jsonCodec.decode(hostile)).toThrow(
      expect.objectContaining({ code: 'INVALID_DATA' }),
    );
  });

  it('cannot pollute prototypes from stored data', () => {
    const stored = JSON.parse(
      '{"a":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}',
    ) as JsonValue;
    const decoded = jsonCodec.decode(stored) as Record<string, Record<string, unknown>>;
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(decoded['a'])).toBe(Object.prototype);
    expect(Object.hasOwn(decoded['a']!, '__proto__')).toBe(false);
  });

  it('refuses unknown or malformed tags instead of guessing', () => {
    for (const bad of [
      { $t: 'Function', v: 'x' },
      { $t: 'BigInt', v: '1e9' },
      { $t: 'Map', v: [[1]] },
      { $t: 'Date', v: 'x' },
    ]) {
      expect(() => jsonCodec.decode(bad as JsonValue)).toThrow(
        expect.objectContaining({ code: 'INVALID_DATA' }),
      );
    }
  });
});
