/**
 * The MongoDB store's pure parts, which need no server: field names, values, filters, update
 * pipelines, the outcome read from a document, URLs and error codes. How a live server applies
 * them is tested in mongodb.test.ts (when MONGODB_URL names one).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTesseraError, TesseraError } from '../../src/core/errors.js';
import type { Delta } from '../../src/core/store.js';
import { planDelta } from '../../src/stores/_sql/delta-plan.js';
import { createStore } from '../../src/stores/registry.js';
import { classifyMongoError } from '../../src/stores/mongodb/errors.js';
import {
  dataPath,
  fieldName,
  keyOfField,
  readData,
  readValue,
  storedValue,
} from '../../src/stores/mongodb/fields.js';
import { mongodbStore } from '../../src/stores/mongodb/index.js';
import { heldLease, takeLeasePipeline } from '../../src/stores/mongodb/lease.js';
import {
  liveFilter,
  toRecord,
  touchPipeline,
  writeFilter,
  writeOutcome,
  writePipeline,
  writeProjection,
  type MongoSessionDocument,
} from '../../src/stores/mongodb/update.js';
import { parseMongoUrl } from '../../src/stores/mongodb/url.js';

const NOW = 1_700_000_000_000;
const AT = new Date(NOW);

describe('mongodb field names', () => {
  it('gives every key one field name with no "." and no "$", and reads it back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (key) => {
        const field = fieldName(key);
        expect(field).not.toMatch(/[.$\0]/);
        expect(field).not.toBe('');
        expect(keyOfField(field)).toBe(key);
      }),
    );
  });

  it('never gives two keys the same field name', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        fc.pre(a !== b);
        expect(fieldName(a)).not.toBe(fieldName(b));
      }),
    );
  });

  it('escapes the characters MongoDB gives meaning, and the empty key', () => {
    expect(fieldName('cart')).toBe('cart');
    expect(fieldName('a.b')).toBe('a%2Eb');
    expect(fieldName('$where')).toBe('%24where');
    expect(fieldName('100%')).toBe('100%25');
    expect(fieldName('')).toBe('%');
    expect(dataPath('a.b')).toBe('data.a%2Eb');
  });

  it('keeps numbers as numbers and every other value as its JSON text', () => {
    expect(storedValue(3)).toBe(3);
    expect(storedValue('3')).toBe('"3"');
    expect(storedValue({ 'a.b': [null, true] })).toBe('{"a.b":[null,true]}');
    expect(readValue('"3"')).toBe('3');
    expect(readValue(2.5)).toBe(2.5);
    expect(readData({ 'a%2Eb': '{"$x":1}', n: 4 })).toEqual({ 'a.b': { $x: 1 }, n: 4 });
  });
});

describe('mongodb write filters', () => {
  it('matches only a live record for a write without create', () => {
    const delta: Delta = { set: { a: 1 } };
    expect(writeFilter('k', delta, planDelta(delta), NOW)).toEqual({
      _id: 'k',
      expiresAt: { $gt: AT },
    });
  });

  it('requires incremented keys the delta leaves alone to hold a number or nothing', () => {
    const delta: Delta = { incr: { n: 1, 'a.b': 2 } };
    expect(writeFilter('k', delta, planDelta(delta), NOW)).toEqual({
      _id: 'k',
      expiresAt: { $gt: AT },
      $and: [
        { $or: [{ 'data.n': { $exists: false } }, { 'data.n': { $type: 'number' } }] },
        { $or: [{ 'data.a%2Eb': { $exists: false } }, { 'data.a%2Eb': { $type: 'number' } }] },
      ],
    });
  });

  it('puts no $expr in the filter of an upsert (MongoDB refuses it, code 224)', () => {
    const deltas: Delta[] = [
      { create: true, incr: { n: 1 } },
      { create: true, incr: { n: 1, m: 2 }, set: { a: 1 } },
      { create: true, replace: true, set: { a: 1 } },
    ];
    for (const delta of deltas)
      expect(JSON.stringify(writeFilter('k', delta, planDelta(delta), NOW))).not.toContain('$expr');
  });

  it('needs no guard for a counter the same delta sets or unsets', () => {
    const delta: Delta = { set: { n: 1 }, unset: ['m'], incr: { n: 1, m: 1 } };
    expect(writeFilter('k', delta, planDelta(delta), NOW)).toEqual({
      _id: 'k',
      expiresAt: { $gt: AT },
    });
  });

  it('matches the key whatever is there for a create, guarding only a live record', () => {
    const plain: Delta = { create: true, set: { a: 1 } };
    expect(writeFilter('k', plain, planDelta(plain), NOW)).toEqual({ _id: 'k' });
    const counted: Delta = { create: true, incr: { n: 1 } };
    expect(writeFilter('k', counted, planDelta(counted), NOW)).toEqual({
      _id: 'k',
      $or: [
        { expiresAt: { $lte: AT } },
        { $or: [{ 'data.n': { $exists: false } }, { 'data.n': { $type: 'number' } }] },
      ],
    });
  });
});

describe('mongodb update pipelines', () => {
  it('applies replace, unset, set and incr in that order, values as literals', () => {
    const delta: Delta = { unset: ['u'], set: { s: '$notAPath', o: { $x: 1 } }, incr: { n: 2 } };
    expect(writePipeline(delta, planDelta(delta), NOW + 60_000, NOW)).toEqual([
      { $unset: ['data.u'] },
      {
        $set: {
          'data.s': { $literal: '"$notAPath"' },
          'data.o': { $literal: '{"$x":1}' },
          'data.n': { $add: [{ $ifNull: ['$data.n', 0] }, 2] },
        },
      },
      {
        $set: {
          expiresAt: { $min: [new Date(NOW + 60_000), '$absoluteExpiresAt'] },
          rev: { $add: [{ $ifNull: ['$rev', 0] }, 1] },
        },
      },
    ]);
  });

  it('empties the data for replace before setting, and binds or unbinds the user', () => {
    const delta: Delta = { replace: true, set: { a: 1 }, userId: null, meta: { ip: '127.0.0.1' } };
    const stages = writePipeline(delta, planDelta(delta), NOW + 1, NOW);
    expect(stages[0]).toEqual({ $set: { data: { $literal: {} } } });
    expect(stages[1]).toEqual({ $set: { 'data.a': { $literal: 1 } } });
    expect(stages[2]).toEqual({
      $set: { userId: '$$REMOVE', meta: { $literal: { ip: '127.0.0.1' } } },
    });
    const bind: Delta = { userId: 'u-1' };
    expect(writePipeline(bind, planDelta(bind), NOW + 1, NOW)[0]).toEqual({
      $set: { userId: { $literal: 'u-1' } },
    });
  });

  it('starts a missing or expired record afresh on create, keeping a live one', () => {
    const delta: Delta = {
      create: true,
      createdAt: NOW,
      absoluteExpiresAt: NOW + 5_000,
      set: { a: 1 },
    };
    const stages = writePipeline(delta, planDelta(delta), NOW + 60_000, NOW);
    expect(stages[0]).toEqual({ $set: { _tesseraLive: { $gt: ['$expiresAt', AT] } } });
    expect(stages[1]).toEqual({
      $set: {
        data: { $cond: ['$_tesseraLive', '$data', { $literal: {} }] },
        createdAt: { $cond: ['$_tesseraLive', '$createdAt', AT] },
        absoluteExpiresAt: {
          $cond: ['$_tesseraLive', '$absoluteExpiresAt', new Date(NOW + 5_000)],
        },
        userId: { $cond: ['$_tesseraLive', '$userId', '$$REMOVE'] },
        meta: { $cond: ['$_tesseraLive', '$meta', '$$REMOVE'] },
      },
    });
    expect(stages.at(-2)).toEqual({
      $set: {
        expiresAt: { $min: [new Date(NOW + 60_000), '$absoluteExpiresAt'] },
        rev: { $add: [{ $ifNull: ['$rev', 0] }, 1] },
      },
    });
    expect(stages.at(-1)).toEqual({ $unset: ['_tesseraLive'] });
  });

  it('caps a touch at the absolute deadline and touches no data', () => {
    expect(touchPipeline(NOW)).toEqual([
      {
        $set: {
          expiresAt: { $min: [AT, '$absoluteExpiresAt'] },
          rev: { $add: [{ $ifNull: ['$rev', 0] }, 1] },
        },
      },
    ]);
    expect(liveFilter('k', NOW)).toEqual({ _id: 'k', expiresAt: { $gt: AT } });
  });
});

describe('mongodb write outcomes', () => {
  const delta: Delta = { set: { s: 5 }, incr: { n: 2, s: 1 } };
  const plan = planDelta(delta);

  it('asks back only the deadline and the counters it reads', () => {
    expect(writeProjection(plan)).toEqual({ expiresAt: 1, 'data.n': 1 });
  });

  it('reports counters from the document as it was before the update', () => {
    const before = { expiresAt: new Date(NOW + 1), data: { n: 40 } };
    expect(writeOutcome(before, plan, NOW)).toEqual({ existed: true, counters: { n: 42, s: 6 } });
  });

  it('counts from 0 over an expired record or an inserted one', () => {
    const expired = { expiresAt: new Date(NOW), data: { n: 40 } };
    expect(writeOutcome(expired, plan, NOW)).toEqual({ existed: false, counters: { n: 2, s: 6 } });
    expect(writeOutcome(undefined, plan, NOW)).toEqual({
      existed: false,
      counters: { n: 2, s: 6 },
    });
  });

  it('reads a stored document back as a record', () => {
    const doc: MongoSessionDocument = {
      _id: 'k',
      data: { 'a%2Eb': '"x"', n: 1 },
      createdAt: new Date(NOW),
      expiresAt: new Date(NOW + 10),
      absoluteExpiresAt: new Date(NOW + 20),
      userId: 'u',
      meta: { ip: '127.0.0.1' },
      rev: 3,
    };
    expect(toRecord(doc)).toEqual({
      data: { 'a.b': 'x', n: 1 },
      createdAt: NOW,
      expiresAt: NOW + 10,
      absoluteExpiresAt: NOW + 20,
      userId: 'u',
      meta: { ip: '127.0.0.1' },
    });
  });
});

describe('mongodb leases', () => {
  it('takes a lease only over a lapsed one or none, by the server clock, in one upsert', () => {
    expect(takeLeasePipeline('t', 299.5)).toEqual([
      { $set: { _tesseraTake: { $lte: [{ $ifNull: ['$until', new Date(0)] }, '$$NOW'] } } },
      {
        $set: {
          token: { $cond: ['$_tesseraTake', { $literal: 't' }, '$token'] },
          until: { $cond: ['$_tesseraTake', { $add: ['$$NOW', 300] }, '$until'] },
        },
      },
      { $unset: ['_tesseraTake'] },
    ]);
  });

  it('releases only a live lease still holding the token', () => {
    expect(heldLease('k', 't')).toEqual({
      _id: 'k',
      token: 't',
      $expr: { $gt: ['$until', '$$NOW'] },
    });
  });
});

describe('mongodb URLs', () => {
  it('keeps the driver parameters and takes the store ones', () => {
    expect(
      parseMongoUrl(
        'mongodb://u:p@127.0.0.1:27017,127.0.0.1:27018/app?replicaSet=rs0&collection=s&timeout=500&createIndexes=false',
      ),
    ).toEqual({
      connection: 'mongodb://u:p@127.0.0.1:27017,127.0.0.1:27018/app?replicaSet=rs0',
      database: 'app',
      collection: 's',
      timeout: 500,
      createIndexes: false,
    });
    expect(parseMongoUrl('mongodb+srv://cluster0.example.net')).toEqual({
      connection: 'mongodb+srv://cluster0.example.net',
      database: 'tessera',
    });
  });

  it('refuses a URL that is not MongoDB, a bad database name or a bad flag', () => {
    expect(() => parseMongoUrl('redis://127.0.0.1')).toThrow(/must look like/);
    expect(() => parseMongoUrl('mongodb://127.0.0.1/a.b')).toThrow(/may not contain/);
    expect(() => parseMongoUrl('mongodb://127.0.0.1/a?createIndexes=yes')).toThrow(/true or false/);
  });

  it('makes a store from a mongodb:// URL without connecting', async () => {
    const store = await createStore('mongodb://127.0.0.1:1/app?collection=s&timeout=300');
    expect(store.name).toBe('mongodb');
    expect(store.timeoutMs).toBe(300);
    expect(typeof store.rename).toBe('function');
    expect(typeof store.lock).toBe('function');
    expect(store.gc).toBeUndefined();
    await store.close();
  });
});

describe('mongodb options', () => {
  it('refuses a store with nothing to connect to, or a bad collection name', () => {
    expect(() => mongodbStore({})).toThrow(/needs `collection`, `client` or `url`/);
    expect(() => mongodbStore({ url: 'mongodb://127.0.0.1', collectionName: 'system.x' })).toThrow(
      TesseraError,
    );
    expect(() => mongodbStore({ url: 'mongodb://127.0.0.1', timeout: 0 })).toThrow(/positive/);
  });
});

describe('mongodb errors', () => {
  const mongoError = (props: Record<string, unknown>): Error =>
    Object.assign(new Error('x'), props);

  it('reads time limits of the server and the driver as timeouts', () => {
    expect(classifyMongoError(mongoError({ name: 'MongoServerError', code: 50 }))).toBe('timeout');
    expect(classifyMongoError(mongoError({ name: 'MongoNetworkTimeoutError' }))).toBe('timeout');
    expect(classifyMongoError(mongoError({ name: 'MongoOperationTimeoutError' }))).toBe('timeout');
  });

  it('reads a document past 16 MiB as TOO_LARGE', () => {
    const error = classifyMongoError(mongoError({ name: 'MongoServerError', code: 17419 }));
    expect(isTesseraError(error) && error.code).toBe('TOO_LARGE');
    const driver = classifyMongoError(
      mongoError({
        name: 'BSONError',
        message: 'Document is larger than the maximum size 16777216',
      }),
    );
    expect(isTesseraError(driver) && driver.code).toBe('TOO_LARGE');
  });

  it('leaves the rest (server selection, auth, duplicate keys) to become STORE_UNAVAILABLE', () => {
    expect(classifyMongoError(mongoError({ name: 'MongoServerSelectionError' }))).toBeUndefined();
    expect(classifyMongoError(mongoError({ name: 'MongoServerError', code: 18 }))).toBeUndefined();
    expect(classifyMongoError('boom')).toBeUndefined();
  });

  it('fails a call with STORE_UNAVAILABLE when nothing listens, within its timeout', async () => {
    const store = mongodbStore({ url: 'mongodb://127.0.0.1:1/app', timeout: 300 });
    const started = Date.now();
    const error = await store.get('k').catch((e: unknown) => e);
    expect(
      isTesseraError(error) && ['STORE_UNAVAILABLE', 'STORE_TIMEOUT'].includes(error.code),
    ).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
    await store.close();
  });
});
