/**
 * Outage behaviour of a server-backed SQL store, on a dedicated server the test owns: with the
 * server stopped every call fails fast with STORE_UNAVAILABLE and the process survives the idle
 * connections dying; with the server frozen calls end in STORE_TIMEOUT within the timeout; once
 * the server is back the same store works again, with nothing lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTesseraError } from '../../src/index.js';
import type { Store } from '../../src/core/store.js';
import { newKey } from '../contract/store.js';
import type { DedicatedServer } from './sql-servers.js';

export interface OutageSuiteOptions {
  name: string;
  skip: string | false;
  /** Starts the dedicated server (not yet running) and returns it. */
  server(): Promise<DedicatedServer>;
  /** Prepares the running server (a database) and returns the URL stores connect to. */
  prepare(server: DedicatedServer): Promise<string>;
  /** A store making its own pool from `url`, reporting idle-connection errors to `onError`. */
  open(
    url: string,
    options: { table: string; timeout: number; onError: (error: Error) => void },
  ): Store;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function codeOf(call: Promise<unknown>): Promise<{ code: string | undefined; ms: number }> {
  const started = Date.now();
  try {
    await call;
    return { code: undefined, ms: Date.now() - started };
  } catch (error) {
    return {
      code: isTesseraError(error) ? error.code : `not a TesseraError: ${String(error)}`,
      ms: Date.now() - started,
    };
  }
}

async function recover(store: Store, key: string, bound: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      await store.get(key);
      return Date.now() - started;
    } catch {
      if (Date.now() - started > bound)
        throw new Error(`the store did not recover within ${bound} ms`);
      await sleep(100);
    }
  }
}

export function runOutageSuite(o: OutageSuiteOptions): void {
  describe.skipIf(Boolean(o.skip))(`outage: ${o.name} on a dedicated server`, () => {
    let server: DedicatedServer;
    let url: string;
    beforeAll(async () => {
      server = await o.server();
      await server.start();
      url = await o.prepare(server);
    }, 120_000);
    afterAll(async () => {
      await server?.remove();
    }, 60_000);

    it('fails fast while the server is down, survives its idle connections dying, and recovers', async () => {
      const errors: Error[] = [];
      const store = o.open(url, { table: 'outage', timeout: 1000, onError: (e) => errors.push(e) });
      const keys = Array.from({ length: 20 }, newKey);
      const hour = () => Date.now() + 3_600_000;
      for (const key of keys) await store.write(key, { create: true, set: { key } }, hour());
      await Promise.all(keys.map((key) => store.get(key))); // several idle connections in the pool

      await server.crash();
      await sleep(300);
      const late = o.open(url, { table: 'late', timeout: 1000, onError: (e) => errors.push(e) });
      const calls: Record<string, () => Promise<unknown>> = {
        get: () => store.get(keys[0]!),
        write: () => store.write(keys[0]!, { set: { b: 1 } }, hour()),
        increment: () => store.write(keys[0]!, { incr: { n: 1 } }, hour()),
        touch: () => store.touch(keys[0]!, hour()),
        destroy: () => store.destroy(keys[1]!),
        rename: () => store.rename!(keys[2]!, newKey()),
        byUser: () => store.byUser!('u'),
        count: () => store.count!(),
        gc: () => store.gc!(),
        check: () => store.check!(),
        'first call of a store made during the outage': () => late.get(keys[0]!),
      };
      for (const [name, call] of Object.entries(calls)) {
        const { code, ms } = await codeOf(call());
        expect({ name, code }).toEqual({ name, code: 'STORE_UNAVAILABLE' });
        expect(ms, name).toBeLessThan(1100);
      }
      const started = Date.now();
      const burst = await Promise.allSettled(
        Array.from({ length: 500 }, () => store.get(keys[3]!)),
      );
      expect(burst.every((r) => r.status === 'rejected')).toBe(true);
      expect(Date.now() - started).toBeLessThan(2500);

      await server.start();
      const recovery = await recover(store, keys[0]!, 5000);
      console.log(
        `${o.name}: first success ${recovery} ms after the server accepted connections again`,
      );
      for (const key of keys) expect((await store.get(key))?.data).toEqual({ key });
      const fresh = newKey();
      await late.write(fresh, { create: true, set: { ok: true } }, hour());
      expect((await late.get(fresh))?.data).toEqual({ ok: true });
      expect(errors.length).toBeGreaterThan(0);
      await store.close();
      await late.close();
    }, 60_000);

    it('ends each call with STORE_TIMEOUT within its timeout while the server hangs, then recovers', async () => {
      const store = o.open(url, { table: 'frozen', timeout: 500, onError: () => {} });
      const key = newKey();
      await store.write(key, { create: true, set: { a: 1 } }, Date.now() + 3_600_000);
      await server.freeze();
      try {
        for (const call of [
          () => store.get(key),
          () => store.write(key, { set: { a: 2 } }, Date.now() + 3_600_000),
          () => store.touch(key, Date.now() + 3_600_000),
        ]) {
          const { code, ms } = await codeOf(call());
          expect(code).toBe('STORE_TIMEOUT');
          expect(ms).toBeGreaterThanOrEqual(450);
          expect(ms).toBeLessThan(900);
        }
      } finally {
        server.thaw();
      }
      await recover(store, key, 5000);
      expect((await store.get(key))?.data['a']).toBeDefined();
      await store.close();
    }, 60_000);
  });
}
