import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCodec, jsonCodec } from '../../src/core/codec.js';
import { createSessionManager } from '../../src/index.js';
import { browser, request } from '../support/requests.js';
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

describe('app types (createCodec().registerType)', () => {
  class Cart {
    readonly items: Map<string, number>;
    readonly updatedAt: Date;
    constructor(items: Map<string, number>, updatedAt: Date) {
      this.items = items;
      this.updatedAt = updatedAt;
    }
    count(): number {
      let n = 0;
      for (const quantity of this.items.values()) n += quantity;
      return n;
    }
  }
  const cartType = {
    type: Cart,
    encode: (cart: Cart) => ({ items: cart.items, updatedAt: cart.updatedAt }),
    decode: (data: unknown) => {
      const { items, updatedAt } = data as { items: Map<string, number>; updatedAt: Date };
      return new Cart(items, updatedAt);
    },
  };

  it('round-trips a registered class holding Dates and Maps, through a store', async () => {
    const codec = createCodec().registerType('Cart', cartType);
    const manager = createSessionManager<{ cart: Cart }>({ codec, gcInterval: false });
    const b = browser(manager);
    const at = new Date('2026-12-02T10:00:00Z');
    await b.visit((s) =>
      s.set(
        'cart',
        new Cart(
          new Map([
            ['book', 2],
            ['pen', 1],
          ]),
          at,
        ),
      ),
    );
    const { result } = await b.visit((s) => s.get('cart'));
    expect(result).toBeInstanceOf(Cart);
    expect(result!.count()).toBe(3);
    expect(result!.updatedAt.getTime()).toBe(at.getTime());
    // A change made on the instance in place is saved.
    await b.visit(async (s) => (await s.get('cart'))!.items.set('ink', 4));
    expect((await b.visit((s) => s.get('cart'))).result!.count()).toBe(7);
    await manager.close();
  });

  it('refuses an unregistered class with INVALID_DATA naming the key and the fix', () => {
    const manager = createSessionManager<{ cart: Cart }>({ gcInterval: false });
    const s = manager.load(request());
    let error: unknown;
    try {
      s.set('cart', new Cart(new Map(), new Date()));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_DATA' });
    expect((error as Error).message).toMatch(/"cart".*Cart instance.*registerType/s);
  });

  it('decodes only registered names, and builds nothing for others', () => {
    let built = 0;
    class Evil {
      constructor() {
        built++;
      }
    }
    const codec = createCodec().registerType('Cart', cartType);
    const other = createCodec().registerType('Evil', {
      type: Evil,
      encode: () => ({}),
      decode: () => new Evil(),
    });
    const stored = other.encode(new Evil());
    built = 0;
    expect(() => codec.decode(stored)).toThrow(/app type "Evil".*registerType/);
    expect(() => jsonCodec.decode(stored)).toThrow(/INVALID_DATA|app type/);
    expect(built).toBe(0);
  });

  it('matches the class itself, not subclasses, and refuses a name or class twice', () => {
    class Special extends Cart {}
    const codec = createCodec().registerType('Cart', cartType);
    expect(() => codec.encode(new Special(new Map(), new Date()))).toThrow(/Special instance/);
    expect(() => codec.registerType('Cart', { ...cartType, type: Special })).toThrow(/already/);
    expect(() => codec.registerType('Cart2', cartType)).toThrow(/already/);
    expect(() => codec.registerType('no spaces', cartType)).toThrow(/type name/);
  });
});
