/**
 * Sentinel failover with a Sentinel set of this test's own (master, replica, three sentinels):
 * the master is killed, the sentinels promote the replica, and the store carries on by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createStore } from '../../src/stores/registry.js';
import { isTesseraError } from '../../src/core/errors.js';
import type { Store } from '../../src/core/store.js';
import { newKey } from '../contract/store.js';
import {
  hasRedisServer,
  redisProcess,
  waitFor,
  type RedisProcess,
} from '../support/redis-servers.js';

const skip = (await hasRedisServer())
  ? false
  : 'redis-server is not installed (run `npm run services -- start redis` as root)';
if (skip && process.env['CI'] === 'true') throw new Error(`CI=true and ${skip}`);
if (skip) console.warn(`[tessera] SKIPPED: ${skip}`);
const TIMEOUT = 1000;
const NAME = 'failover';
/**
 * Sentinels need down-after (1 s) plus an election to promote; a lost election waits twice the
 * failover timeout (6 s) before the next, so a loaded machine may need a few rounds.
 */
const RECOVERY_LIMIT = 45_000;

async function sentinelSays(port: number, command: string[]): Promise<unknown> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call('SENTINEL', ...command);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

describe.skipIf(skip).each([
  ['ioredis', 6480, 6481, [26480, 26481, 26482]],
  ['redis', 6483, 6484, [26483, 26484, 26485]],
] as const)(
  'redis store through a Sentinel failover (client=%s)',
  (client, masterPort, replicaPort, sentinelPorts) => {
    describe.each(['killed', 'frozen'] as const)('master %s', (how) => {
      let master: RedisProcess;
      let replica: RedisProcess;
      let sentinels: RedisProcess[];
      let store: Store | undefined;
      beforeAll(async () => {
        master = redisProcess(masterPort);
        replica = redisProcess(replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]);
        const conf = [
          `sentinel monitor ${NAME} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${NAME} 1000`,
          `sentinel failover-timeout ${NAME} 3000`,
        ].join('\n');
        sentinels = sentinelPorts.map((port) => redisProcess(port, [], conf));
        await master.start();
        await replica.start();
        for (const s of sentinels) await s.start();
        const probe = new Redis({ port: replicaPort, host: '127.0.0.1' });
        await waitFor('the replica to sync', 20_000, async () =>
          (await probe.info('replication')).includes('master_link_status:up'),
        );
        probe.disconnect();
        await waitFor('the sentinels to reach quorum', 30_000, async () => {
          for (const port of sentinelPorts) {
            if (!String(await sentinelSays(port, ['CKQUORUM', NAME])).startsWith('OK 3'))
              return false;
          }
          return true;
        });
        // Sentinels learn of replicas from the master's INFO, polled every 10 s: a master killed
        // before every sentinel knows the replica cannot be failed over, whatever the client does.
        await waitFor('the sentinels to see the replica', 30_000, async () => {
          for (const port of sentinelPorts) {
            const replicas = await sentinelSays(port, ['REPLICAS', NAME]);
            if (!Array.isArray(replicas) || replicas.length === 0) return false;
          }
          return true;
        });
      });
      afterAll(async () => {
        try {
          await store?.close();
        } finally {
          for (const p of [...(sentinels ?? []), replica, master]) await p?.dispose();
        }
      });

      it('keeps replicated sessions, answers every call during the failover within the timeout, and recovers by itself', async () => {
        const hosts = sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',');
        store = await createStore(
          `redis+sentinel://${hosts}/${NAME}?client=${client}&timeout=${TIMEOUT}&connectTimeout=2000&prefix=fo:`,
        );
        const keys = Array.from({ length: 50 }, newKey);
        for (const [i, key] of keys.entries())
          await store.write(
            key,
            { create: true, set: { i }, userId: 'fo-user' },
            Date.now() + 600_000,
          );
        const direct = new Redis({ port: masterPort, host: '127.0.0.1' });
        expect(await direct.call('WAIT', '1', '2000')).toBe(1);
        direct.disconnect();

        // Killed: its connections drop at once. Frozen (SIGSTOP): they hang, as behind a partition.
        if (how === 'killed') await master.stop(true);
        else await master.pause();
        const killedAt = Date.now();
        // A write at once: it ends within its 1 s timeout, long before the new master is there.
        const early = store.write(keys[5]!, { incr: { early: 1 } }, Date.now() + 600_000).then(
          () => 'applied',
          (error: unknown) => (isTesseraError(error) ? error.code : String(error)),
        );
        const failures: { code: unknown; ms: number; message: string; isWrite: boolean }[] = [];
        /** Increments that succeeded: what the counters must hold at least. */
        let counted = 0;
        let successes = 0;
        let recoveredAt: number | undefined;
        let isForced = false;
        while (Date.now() - killedAt < RECOVERY_LIMIT && successes < 10) {
          // Sentinels on a machine this loaded sometimes fail election after election (seen in CI:
          // still naming the dead master after 45 s). This test is about the client, not about
          // Sentinel's elections: past 15 s without a promotion, one sentinel is asked to fail over.
          if (!isForced && Date.now() - killedAt > 15_000) {
            const named = (await sentinelSays(sentinelPorts[0], [
              'GET-MASTER-ADDR-BY-NAME',
              NAME,
            ])) as string[] | undefined;
            if (named?.[1] === String(masterPort)) {
              isForced = true;
              console.warn('[tessera] the sentinels elected no new master in 15 s: forcing it');
              await sentinelSays(sentinelPorts[0], ['FAILOVER', NAME]);
            }
          }
          const calls = await Promise.all(
            Array.from({ length: 5 }, async (_, j) => {
              const started = Date.now();
              const isWrite = j % 2 === 1;
              try {
                await (isWrite
                  ? store!.write(keys[j]!, { incr: { writes: 1 } }, Date.now() + 600_000)
                  : store!.get(keys[j]!));
                if (isWrite) counted++;
                return {
                  ok: true,
                  ms: Date.now() - started,
                  code: undefined,
                  message: '',
                  isWrite,
                };
              } catch (error) {
                return {
                  ok: false,
                  ms: Date.now() - started,
                  code: isTesseraError(error) ? error.code : String(error),
                  message: error instanceof Error ? error.message : String(error),
                  isWrite,
                };
              }
            }),
          );
          for (const call of calls) {
            if (call.ok) {
              successes++;
              recoveredAt ??= Date.now();
            } else {
              failures.push({
                code: call.code,
                ms: call.ms,
                message: call.message,
                isWrite: call.isWrite,
              });
              successes = 0;
              recoveredAt = undefined;
            }
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        console.log(
          `[tessera] sentinel failover (${client}, master ${how}): ${failures.length} calls failed (slowest answer ${Math.max(0, ...failures.map((f) => f.ms))} ms, codes ${[...new Set(failures.map((f) => String(f.code)))].join('/')}), recovered ${recoveredAt === undefined ? 'never' : `${recoveredAt - killedAt} ms`} after the master went down`,
        );
        if (recoveredAt === undefined) {
          // Say why, so a failure on a loaded CI machine can be told apart from a client bug.
          const views = await Promise.all(
            sentinelPorts.map((port) => sentinelSays(port, ['GET-MASTER-ADDR-BY-NAME', NAME])),
          );
          const messages = [...new Set(failures.slice(-20).map((f) => f.message))];
          expect.fail(
            `no recovery within ${RECOVERY_LIMIT} ms; sentinels name ${JSON.stringify(views)} as master; last errors: ${messages.join(' | ')}`,
          );
        }
        expect(failures.length).toBeGreaterThan(0);
        for (const failure of failures) {
          expect(['STORE_UNAVAILABLE', 'STORE_TIMEOUT']).toContain(failure.code);
          expect(failure.ms).toBeLessThan(TIMEOUT + 500);
        }
        const promoted = (await sentinelSays(sentinelPorts[0], [
          'GET-MASTER-ADDR-BY-NAME',
          NAME,
        ])) as string[];
        expect(promoted[1]).toBe(String(replicaPort));
        for (const [i, key] of keys.entries()) expect((await store.get(key))?.data['i']).toBe(i);
        // The outcome of a call that timed out is unknown: a write answered STORE_TIMEOUT may
        // still be applied (node-redis holds calls while it looks for the new master and sends
        // them once it has it), so an increment retried after a 503 can count twice. A write
        // refused at once (STORE_UNAVAILABLE: the client knew it was disconnected) never is.
        let stored = 0;
        for (const j of [1, 3]) stored += Number((await store.get(keys[j]!))?.data['writes'] ?? 0);
        const timedOut = failures.filter((f) => f.isWrite && f.code === 'STORE_TIMEOUT').length;
        const applied503 = stored - counted;
        console.log(
          `[tessera] sentinel failover (${client}, master ${how}): ${applied503} of ${timedOut} writes answered STORE_TIMEOUT were applied anyway (${failures.filter((f) => f.isWrite).length - timedOut} refused with STORE_UNAVAILABLE)`,
        );
        expect(applied503).toBeGreaterThanOrEqual(0);
        expect(applied503).toBeLessThanOrEqual(timedOut);
        // Regression: node-redis sent the held write to the new master seconds after it had
        // ended in STORE_TIMEOUT; the store now aborts what the driver has not written yet.
        expect(['STORE_UNAVAILABLE', 'STORE_TIMEOUT']).toContain(await early);
        expect((await store.get(keys[5]!))?.data['early']).toBeUndefined();
        expect((await store.byUser!('fo-user')).length).toBe(50);
        const fresh = newKey();
        await store.write(fresh, { create: true, set: { after: true } }, Date.now() + 60_000);
        expect((await store.get(fresh))?.data).toEqual({ after: true });
      }, 90_000);
    });
  },
);
