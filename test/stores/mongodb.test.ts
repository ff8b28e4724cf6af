/**
 * The MongoDB store against a live server named by MONGODB_URL (none runs on these machines:
 * without it every test here is skipped with that reason; see test/support/url-servers.ts).
 */
import { randomBytes } from 'node:crypto';
import type { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/store.js';
import { mongodbStore } from '../../src/stores/mongodb/index.js';
import { createStore } from '../../src/stores/registry.js';
import { newKey, runStoreContract, testClock } from '../contract/store.js';
import { serverUrl, skipUnlessUrl, withParam } from '../support/url-servers.js';

const skip = skipUnlessUrl('mongodb');
const url = serverUrl('mongodb');
let client: MongoClient | undefined;
async function shared(): Promise<MongoClient> {
  if (client === undefined) {
    const { MongoClient } = await import('mongodb');
    client = new MongoClient(url!, { serverSelectionTimeoutMS: 5000 });
  }
  return client;
}
afterAll(async () => {
  await client?.close();
});

const collections = new WeakMap<Store, string>();
const fresh = (): string => `t_${randomBytes(5).toString('hex')}`;
async function drop(name: string): Promise<void> {
  const db = (await shared()).db();
  await db.dropCollection(name).catch(() => undefined);
  await db.dropCollection(`${name}_locks`).catch(() => undefined);
}

runStoreContract({
  name: 'mongodb',
  skip,
  async create(clock) {
    const collectionName = fresh();
    const store = mongodbStore({ client: await shared(), collectionName, clock });
    collections.set(store, collectionName);
    return store;
  },
  async dispose(store) {
    const name = collections.get(store);
    if (name) await drop(name);
  },
  lacks: {
    gc: 'MongoDB removes expired records itself (the TTL index on `expiresAt`)',
    watch: 'not offered yet (a change stream needs a replica set)',
    keyExpiry: 'per-key deadlines are not kept by the mongodb store',
  },
});

describe.skipIf(skip)('mongodb store on a live server', () => {
  const opened: Array<[Store, string]> = [];
  afterAll(async () => {
    for (const [store, name] of opened) {
      await store.close();
      await drop(name);
    }
  });
  async function open(clock = testClock()) {
    const collectionName = fresh();
    const store = mongodbStore({ client: await shared(), collectionName, clock });
    opened.push([store, collectionName]);
    return { store, clock, collection: (await shared()).db().collection(collectionName) };
  }

  it('creates a TTL index on expiresAt and a partial index on userId', async () => {
    const { store, collection } = await open();
    await store.write(newKey(), { create: true, set: { a: 1 } }, Date.now() + 60_000);
    const indexes = await collection.indexes();
    const ttl = indexes.find((index) => index.name === 'tessera_expiry');
    expect(ttl?.key).toEqual({ expiresAt: 1 });
    expect(ttl?.expireAfterSeconds).toBe(0);
    const user = indexes.find((index) => index.name === 'tessera_user');
    expect(user?.key).toEqual({ userId: 1, createdAt: 1 });
  });

  it('keeps one document per session, each key one field, whatever the key holds', async () => {
    const { store, collection } = await open();
    const key = newKey();
    const odd = { 'a.b': 1, $x: 'y', '': [1, { 'c.d': null }], '%2E': true };
    await store.write(key, { create: true, set: odd }, Date.now() + 60_000);
    expect((await store.get(key))?.data).toEqual(odd);
    const doc = await collection.findOne({ _id: key as never });
    expect(Object.keys(doc?.['data'] as object).sort()).toEqual(['%', '%24x', '%252E', 'a%2Eb']);
  });

  it('never brings back a destroyed session with a late write', async () => {
    const { store } = await open();
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    await store.destroy(key);
    expect(await store.write(key, { set: { a: 2 }, incr: { n: 1 } }, Date.now() + 60_000)).toEqual({
      existed: false,
    });
    expect(await store.get(key)).toBeUndefined();
  });

  it('refuses an increment of text whole, in one atomic update', async () => {
    const { store } = await open();
    const key = newKey();
    await store.write(key, { create: true, set: { n: 'x', m: 1 } }, Date.now() + 60_000);
    const result = await store.write(
      key,
      { set: { a: 1 }, incr: { n: 1, m: 1 } },
      Date.now() + 60_000,
    );
    expect(result).toEqual({ existed: true, nonNumeric: ['n'] });
    expect((await store.get(key))?.data).toEqual({ n: 'x', m: 1 });
  });

  it('is created from a mongodb:// URL', async () => {
    const store = await createStore(withParam(url!, 'collection', fresh()));
    const key = newKey();
    await store.write(key, { create: true, set: { a: 1 } }, Date.now() + 60_000);
    expect((await store.get(key))?.data).toEqual({ a: 1 });
    await store.close();
  });
});
