/**
 * The Couchbase store against a live server named by COUCHBASE_URL (none runs on these machines:
 * without it every test here is skipped with that reason; see test/support/url-servers.ts).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/stores/registry.js';
import type { Store } from '../../src/core/store.js';
import { newKey, runStoreContract } from '../contract/store.js';
import { serverUrl, skipUnlessUrl, withParam } from '../support/url-servers.js';

const skip = skipUnlessUrl('couchbase');
const url = serverUrl('couchbase');
const prefix = (): string => `t-${randomBytes(5).toString('hex')}:`;

runStoreContract({
  name: 'couchbase',
  skip,
  create: (clock) => createStore(withParam(url!, 'prefix', prefix()), { clock }),
  lacks: {
    count: 'Couchbase lists keys only through the query service, which this store does not require',
    scan: 'Couchbase lists keys only through the query service, which this store does not require',
    gc: 'native expiry: each document expires with its session',
    watch: 'not offered (Couchbase has no change feed for SDK clients)',
    keyExpiry: 'per-key deadlines are not kept by the couchbase store',
  },
});

describe.skipIf(skip)('couchbase store on a live server', () => {
  const open = async (): Promise<Store> => createStore(withParam(url!, 'prefix', prefix()));

  it('keeps keys with dots, backticks and brackets as one member each', async () => {
    const store = await open();
    const key = newKey();
    const odd = { 'a.b': 1, 'c`d': 'x', 'e[0]': [1], '': true };
    await store.write(key, { create: true, set: odd }, Date.now() + 60_000);
    expect((await store.get(key))?.data).toEqual(odd);
    await store.write(key, { unset: ['a.b'], incr: { 'e.f': 2 } }, Date.now() + 60_000);
    expect((await store.get(key))?.data).toEqual({ 'c`d': 'x', 'e[0]': [1], '': true, 'e.f': 2 });
    await store.close();
  });

  it('adds fractions and whole numbers alike (the server counter takes whole numbers only)', async () => {
    const store = await open();
    const key = newKey();
    await store.write(key, { create: true, set: { n: 1.5, m: 1 } }, Date.now() + 60_000);
    const result = await store.write(key, { incr: { n: 1, m: 0.25 } }, Date.now() + 60_000);
    expect(result).toEqual({ existed: true, counters: { n: 2.5, m: 1.25 } });
    await store.close();
  });

  it('never brings back a destroyed session with a late write', async () => {
    const store = await open();
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    await store.destroy(key);
    expect(await store.write(key, { set: { a: 2 } }, Date.now() + 60_000)).toEqual({
      existed: false,
    });
    expect(await store.get(key)).toBeUndefined();
    await store.close();
  });
});
