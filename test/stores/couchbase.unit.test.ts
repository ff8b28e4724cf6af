/**
 * The Couchbase store's pure parts, which need no server: document keys, sub-document paths and
 * operations, expiry, URLs and error classes. How a live server applies them is tested in
 * couchbase.test.ts (when COUCHBASE_URL names one).
 */
import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../../src/core/errors.js';
import type { Delta } from '../../src/core/store.js';
import { planDelta } from '../../src/stores/_sql/delta-plan.js';
import { couchbaseStore } from '../../src/stores/couchbase/index.js';
import { classifyCouchbaseError, isRace } from '../../src/stores/couchbase/errors.js';
import {
  dataPath,
  documentExpiry,
  documentKeys,
  userEntryPath,
} from '../../src/stores/couchbase/paths.js';
import {
  HEAD_PATHS,
  liveDocument,
  lookupPaths,
  subdocWrite,
  type CouchbaseSessionDocument,
} from '../../src/stores/couchbase/plan.js';
import { parseCouchbaseUrl } from '../../src/stores/couchbase/url.js';
import { createStore } from '../../src/stores/registry.js';

const NOW = 1_700_000_000_000;

describe('couchbase keys and paths', () => {
  it('keeps sessions, leases and user indexes under the prefix, user ids hashed', () => {
    const keys = documentKeys('app:');
    expect(keys.session('k')).toBe('app:s:k');
    expect(keys.lease('k')).toBe('app:l:k');
    expect(keys.user('x'.repeat(255))).toMatch(/^app:u:[A-Za-z0-9_-]{43}$/);
    expect(keys.user('a')).not.toBe(keys.user('b'));
  });

  it('quotes each session key as one path segment, doubling backticks', () => {
    expect(dataPath('cart')).toBe('data.`cart`');
    expect(dataPath('a.b[0]')).toBe('data.`a.b[0]`');
    expect(dataPath('c`d')).toBe('data.`c``d`');
    expect(userEntryPath('k')).toBe('sessions.`k`');
  });

  it('gives no path for keys no path can name, so those writes replace the document', () => {
    expect(dataPath('')).toBeUndefined();
    expect(dataPath('x'.repeat(1100))).toBeUndefined();
    const delta: Delta = { set: { '': 1 } };
    expect(lookupPaths(planDelta(delta))).toBeUndefined();
  });

  it('expires a document a little after its deadline, never before', () => {
    expect(documentExpiry(NOW + 60_000, NOW)).toBe(61);
    expect(documentExpiry(NOW + 1, NOW)).toBe(2);
    expect(documentExpiry(NOW - 5_000, NOW)).toBe(2);
  });
});

describe('couchbase sub-document writes', () => {
  const looked = (entries: Record<string, unknown>): Map<string, unknown> =>
    new Map(Object.entries({ expiresAt: NOW + 10_000, createdAt: NOW - 1, ...entries }));

  it('reads the deadlines, the user, and the keys it removes or increments', () => {
    const delta: Delta = { set: { a: 1 }, unset: ['u'], incr: { n: 1 } };
    expect(lookupPaths(planDelta(delta))).toEqual([...HEAD_PATHS, 'data.`u`', 'data.`n`']);
  });

  it('goes by the whole document for a delta that refuses its own increment', () => {
    const delta: Delta = { set: { s: 'x' }, incr: { s: 1 } };
    expect(lookupPaths(planDelta(delta))).toBeUndefined();
  });

  it('goes by the whole document past 16 specs', () => {
    const set = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i]));
    const delta: Delta = { set };
    const planned = subdocWrite(delta, planDelta(delta), looked({}), NOW + 60_000);
    expect(planned.ops).toBeUndefined();
    expect(planned.nonNumeric).toBeUndefined();
    const many: Delta = { unset: Array.from({ length: 13 }, (_, i) => `k${i}`) };
    expect(lookupPaths(planDelta(many))).toBeUndefined();
  });

  it('applies replace, unset, set and incr in order, capping the deadline', () => {
    const delta: Delta = { replace: true, set: { a: 'x' }, incr: { n: 2 }, userId: 'u' };
    const planned = subdocWrite(
      delta,
      planDelta(delta),
      looked({ absoluteExpiresAt: NOW + 30_000 }),
      NOW + 60_000,
    );
    expect(planned.ops).toEqual([
      { kind: 'upsert', path: 'data', value: {} },
      { kind: 'upsert', path: 'data.`a`', value: 'x' },
      { kind: 'upsert', path: 'data.`n`', value: 2 },
      { kind: 'upsert', path: 'userId', value: 'u' },
      { kind: 'upsert', path: 'expiresAt', value: NOW + 30_000 },
    ]);
    expect(planned.expiresAt).toBe(NOW + 30_000);
    expect(planned.counters).toEqual({ n: 2 });
  });

  it('uses the server counter for whole numbers and writes the sum otherwise', () => {
    const delta: Delta = { incr: { n: 2, f: 0.5, g: 1 } };
    const planned = subdocWrite(
      delta,
      planDelta(delta),
      looked({ 'data.`n`': 40, 'data.`f`': 1, 'data.`g`': 1.5 }),
      NOW + 60_000,
    );
    expect(planned.ops?.slice(0, 3)).toEqual([
      { kind: 'increment', path: 'data.`n`', by: 2 },
      { kind: 'upsert', path: 'data.`f`', value: 1.5 },
      { kind: 'upsert', path: 'data.`g`', value: 2.5 },
    ]);
    expect(planned.counters).toEqual({ n: 42, f: 1.5, g: 2.5 });
  });

  it('refuses an increment of a non-number, sending nothing', () => {
    const delta: Delta = { set: { a: 1 }, incr: { n: 1, m: 1 } };
    const planned = subdocWrite(
      delta,
      planDelta(delta),
      looked({ 'data.`n`': 'x', 'data.`m`': null }),
      NOW + 60_000,
    );
    expect(planned).toEqual({
      ops: undefined,
      expiresAt: undefined,
      counters: undefined,
      nonNumeric: ['n', 'm'],
    });
  });

  it('removes only keys that are there, and unbinds a bound user', () => {
    const delta: Delta = { unset: ['here', 'gone'], userId: null };
    const planned = subdocWrite(
      delta,
      planDelta(delta),
      looked({ 'data.`here`': 1, userId: 'u' }),
      NOW + 60_000,
    );
    expect(planned.ops).toEqual([
      { kind: 'remove', path: 'data.`here`' },
      { kind: 'remove', path: 'userId' },
      { kind: 'upsert', path: 'expiresAt', value: NOW + 60_000 },
    ]);
  });

  it('reads a document as live only before both deadlines', () => {
    const doc: CouchbaseSessionDocument = { data: {}, createdAt: NOW, expiresAt: NOW + 10 };
    expect(liveDocument(doc, NOW)).toBe(doc);
    expect(liveDocument(doc, NOW + 10)).toBeUndefined();
    expect(liveDocument({ ...doc, absoluteExpiresAt: NOW }, NOW)).toBeUndefined();
    expect(liveDocument(undefined, NOW)).toBeUndefined();
  });
});

describe('couchbase URLs', () => {
  it('takes credentials, bucket and store parameters, and passes the rest to the SDK', () => {
    expect(
      parseCouchbaseUrl(
        'couchbases://app:s%40cret@127.0.0.1,127.0.0.2/sessions?scope=web&collection=s&prefix=x:&timeout=500&casAttempts=3&kv_timeout=1000',
      ),
    ).toEqual({
      connection: 'couchbases://127.0.0.1,127.0.0.2?kv_timeout=1000',
      username: 'app',
      password: 's@cret',
      bucket: 'sessions',
      scope: 'web',
      collection: 's',
      prefix: 'x:',
      timeout: 500,
      casAttempts: 3,
    });
  });

  it('refuses a URL with no bucket or no host', () => {
    expect(() => parseCouchbaseUrl('couchbase://127.0.0.1')).toThrow(
      /must name a host and a bucket/,
    );
    expect(() => parseCouchbaseUrl('couchbase:///b')).toThrow(/must name a host and a bucket/);
  });

  it('makes a store from a couchbase:// URL without connecting', async () => {
    const store = await createStore('couchbase://127.0.0.1/sessions?timeout=300');
    expect(store.name).toBe('couchbase');
    expect(store.timeoutMs).toBe(300);
    expect(typeof store.byUser).toBe('function');
    expect(store.count).toBeUndefined();
    await store.close();
    const tls = await createStore('couchbases://127.0.0.1/sessions');
    expect(tls.name).toBe('couchbase');
    await tls.close();
  });

  it('refuses options it cannot work with', () => {
    expect(() => couchbaseStore({})).toThrow(/needs `collection`, `cluster` or `url`/);
    expect(() => couchbaseStore({ url: 'couchbase://127.0.0.1' })).toThrow(/needs `bucket`/);
    expect(() =>
      couchbaseStore({ url: 'couchbase://127.0.0.1', bucket: 'b', casAttempts: 0 }),
    ).toThrow(/casAttempts/);
  });
});

describe('couchbase errors', () => {
  const sdkError = (name: string): Error => Object.assign(new Error('x'), { name });

  it('reads the SDK timeouts as timeouts', () => {
    for (const name of ['TimeoutError', 'AmbiguousTimeoutError', 'UnambiguousTimeoutError'])
      expect(classifyCouchbaseError(sdkError(name))).toBe('timeout');
  });

  it('reads a value past the server limits as TOO_LARGE, too deep as INVALID_DATA', () => {
    const large = classifyCouchbaseError(sdkError('ValueTooLargeError'));
    expect(isTesseraError(large) && large.code).toBe('TOO_LARGE');
    const deep = classifyCouchbaseError(sdkError('ValueTooDeepError'));
    expect(isTesseraError(deep) && deep.code).toBe('INVALID_DATA');
  });

  it('tells a lost race (retried) from a failure (STORE_UNAVAILABLE)', () => {
    expect(isRace(sdkError('CasMismatchError'))).toBe(true);
    expect(isRace(sdkError('DocumentExistsError'))).toBe(true);
    expect(isRace(sdkError('AuthenticationFailureError'))).toBe(false);
    expect(classifyCouchbaseError(sdkError('AuthenticationFailureError'))).toBeUndefined();
  });

  it('names real SDK error classes by the names it matches', async () => {
    const sdk = await import('couchbase');
    expect(new sdk.CasMismatchError().name).toBe('CasMismatchError');
    expect(new sdk.DocumentNotFoundError().name).toBe('DocumentNotFoundError');
    expect(classifyCouchbaseError(new sdk.UnambiguousTimeoutError())).toBe('timeout');
    expect(isTesseraError(classifyCouchbaseError(new sdk.ValueTooLargeError()))).toBe(true);
  });
});
