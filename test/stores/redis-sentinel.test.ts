import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/stores/registry.js';
import { newKey } from '../contract/store.js';
import {
  ioredisSentinel,
  nodeRedisSentinel,
  runRedisContract,
  testPrefix,
} from '../support/redis-clients.js';
import { SERVICES, skipUnless } from '../support/services.js';

const skip = await skipUnless('Redis Sentinel', SERVICES.redisSentinel.sentinels[0]);

runRedisContract('redis sentinel (ioredis)', ioredisSentinel, skip);
runRedisContract('redis sentinel (node-redis)', nodeRedisSentinel, skip);

describe.skipIf(skip)('redis store through Sentinel', () => {
  it.each(['ioredis', 'redis'])(
    'is created from a redis+sentinel:// URL naming every sentinel (client=%s)',
    async (client) => {
      const s = SERVICES.redisSentinel;
      const hosts = s.sentinels.map((p) => `127.0.0.1:${p}`).join(',');
      const store = await createStore(
        `redis+sentinel://${hosts}/${s.master}/0?client=${client}&prefix=${testPrefix()}`,
      );
      try {
        const key = newKey();
        await store.write(key, { create: true, set: { via: 'sentinel' } }, Date.now() + 60_000);
        expect((await store.get(key))?.data).toEqual({ via: 'sentinel' });
        await store.destroy(key);
        expect(await store.get(key)).toBeUndefined();
      } finally {
        await store.close();
      }
    },
  );
});
