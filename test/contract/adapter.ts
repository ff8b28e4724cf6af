/**
 * The adapter contract: one list of HTTP behaviours, run against every framework adapter on a real
 * server listening on 127.0.0.1. Each `test/adapters/<framework>.test.ts` builds the contract app
 * (the routes of ./adapter-app.ts, in that framework's own idiom) and calls `runAdapterContract`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS, faultyStore } from '../support/faults.js';
import {
  createSessionManager,
  memoryStore,
  storeKey,
  type SessionManager,
  type SessionManagerOptions,
} from '../../src/index.js';
import {
  Client,
  probeStore,
  type ContractData,
  type ProbeStore,
  type RunningApp,
  type StartApp,
} from './adapter-app.js';

export {
  ROUTES,
  appOf,
  listen,
  routeOf,
  writeReply,
  type ContractData,
  type Reply,
  type Route,
  type RunningApp,
  type StartApp,
} from './adapter-app.js';

/** How one framework runs the contract. */
export interface AdapterContract {
  /** The framework, as test names show it. */
  name: string;
  /** Starts the contract app with the given manager on 127.0.0.1. */
  start: StartApp;
  /** A reason to skip the whole suite (e.g. a framework that is not installed). */
  skip?: string | false | undefined;
}

const STORE_TIMEOUT = 250;
const SID = /^sid=[A-Za-z0-9_-]{43}$/;

function attributes(setCookie: string): string[] {
  return setCookie
    .split(';')
    .slice(1)
    .map((part) => part.trim().toLowerCase())
    .sort();
}

function sidOf(setCookie: string | undefined): string {
  return (setCookie ?? '').split(';')[0]!.slice('sid='.length);
}

/** Runs the adapter contract against one framework. */
export function runAdapterContract(contract: AdapterContract): void {
  describe.skipIf(contract.skip)(`adapter contract: ${contract.name}`, () => {
    let store: ProbeStore;
    let manager: SessionManager<ContractData>;
    let app: RunningApp;
    const extra: Array<{ app: RunningApp; manager: SessionManager<ContractData> }> = [];

    async function startWith(options: SessionManagerOptions): Promise<Client> {
      const m = createSessionManager<ContractData>({ store: probeStore(), ...options });
      const a = await contract.start(m);
      extra.push({ app: a, manager: m });
      return new Client(a.url);
    }

    /** A client with a stored session holding `a=1`; the store's counters start at zero after it. */
    async function returning(): Promise<Client> {
      const c = new Client(app.url);
      expect((await c.post('/set?key=a&value=1')).status).toBe(200);
      store.reset();
      return c;
    }

    beforeAll(async () => {
      store = probeStore();
      manager = createSessionManager<ContractData>({ store, storeTimeout: STORE_TIMEOUT });
      app = await contract.start(manager);
    });
    afterEach(async () => {
      store.reset();
      for (const { app: a, manager: m } of extra.splice(0)) await a.close().then(() => m.close());
    });
    afterAll(async () => {
      await app.close();
      await manager.close();
    });

    it('a new visitor who only reads gets no cookie and costs no store call', async () => {
      const client = new Client(app.url);
      const answer = await client.get('/get?key=a');
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ value: null });
      expect(answer.setCookies).toEqual([]);
      expect(store.total()).toBe(0);
    });

    it('a route that never touches the session makes no store call, even with a session cookie', async () => {
      const client = await returning();
      const answer = await client.get('/unused');
      expect(answer.body).toBe('ok');
      expect(answer.setCookies).toEqual([]);
      expect(store.total()).toBe(0);
    });

    it('the first write sets a secure-by-default cookie with no-store and Vary: Cookie', async () => {
      const client = new Client(app.url);
      const answer = await client.post('/set?key=a&value=1');
      expect(answer.setCookies).toHaveLength(1);
      const [line] = answer.setCookies;
      expect(line!.split(';')[0]).toMatch(SID);
      expect(attributes(line!)).toEqual(['httponly', 'path=/', 'samesite=lax']);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('vary')?.toLowerCase()).toContain('cookie');
    });

    it("the manager's cookie options reach the header", async () => {
      const c = await startWith({
        cookie: { name: 'app_sid', maxAge: 3_600_000, sameSite: 'strict', secure: true },
      });
      const [line] = (await c.post('/set?key=a&value=1')).setCookies;
      expect(line).toMatch(/^app_sid=[A-Za-z0-9_-]{43};/);
      expect(attributes(line!)).toEqual([
        'httponly',
        'max-age=3600',
        'path=/',
        'samesite=strict',
        'secure',
      ]);
    });

    it('a returning client reads its data with one store read, no write and no cookie', async () => {
      const client = await returning();
      const answer = await client.get('/get?key=a');
      expect(JSON.parse(answer.body)).toEqual({ value: '1' });
      expect(answer.setCookies).toEqual([]);
      expect(store.calls).toEqual({ get: 1 });
    });

    it('strict mode: a well-formed id the server never issued is not adopted', async () => {
      const forged = 'A'.repeat(43);
      const client = new Client(app.url);
      client.cookies.set('sid', forged);
      const answer = await client.post('/set?key=a&value=1');
      const issued = sidOf(answer.setCookies[0]);
      expect(issued).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(issued).not.toBe(forged);
      expect(await store.inner.get(storeKey(forged))).toBeUndefined();
    });

    it('a malformed cookie is a new visitor and never reaches the store', async () => {
      const client = new Client(app.url);
      client.cookies.set('sid', '..%2F..%2Fetc%2Fpasswd');
      const answer = await client.get('/get?key=a');
      expect(JSON.parse(answer.body)).toEqual({ value: null });
      expect(store.total()).toBe(0);
    });

    it('regenerate issues a new id with the same data and retires the old id', async () => {
      const client = await returning();
      const before = client.cookies.get('sid')!;
      const answer = await client.post('/regenerate');
      const after = sidOf(answer.setCookies[0]);
      expect(after).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(after).not.toBe(before);
      expect(JSON.parse((await client.get('/get?key=a')).body)).toEqual({ value: '1' });
      const stale = new Client(app.url);
      stale.cookies.set('sid', before);
      expect(JSON.parse((await stale.get('/get?key=a')).body)).toEqual({ value: null });
    });

    it('destroy deletes the record and clears the cookie', async () => {
      const client = await returning();
      const before = client.cookies.get('sid')!;
      const answer = await client.post('/destroy');
      expect(answer.setCookies).toHaveLength(1);
      expect(answer.setCookies[0]).toMatch(/^sid=;/);
      expect(attributes(answer.setCookies[0]!)).toContain('max-age=0');
      expect(await store.inner.get(storeKey(before))).toBeUndefined();
      const stale = new Client(app.url);
      stale.cookies.set('sid', before);
      expect(JSON.parse((await stale.get('/whoami')).body)).toMatchObject({
        isNew: true,
        user: null,
      });
    });

    it('a flash message is shown once', async () => {
      const client = new Client(app.url);
      await client.post('/flash?message=saved');
      expect(JSON.parse((await client.get('/flash')).body)).toEqual({ messages: ['saved'] });
      expect(JSON.parse((await client.get('/flash')).body)).toEqual({ messages: [] });
    });

    it('redirect after login: the next request sees the login, even with a slow store', async () => {
      const client = new Client(app.url);
      store.writeDelayMs = 100;
      const answer = await client.post('/login-redirect?user=bob');
      expect(answer.status).toBe(302);
      expect(answer.headers.get('location')).toMatch(/\/whoami$/);
      expect(answer.setCookies[0]).toMatch(/^sid=[A-Za-z0-9_-]{43};/);
      expect(JSON.parse((await client.get('/whoami')).body)).toEqual({
        user: 'bob',
        isNew: false,
        greeting: 'hello bob',
      });
    });

    it('a redirect waits for the commit of what the handler set', async () => {
      const client = new Client(app.url);
      store.writeDelayMs = 150;
      const answer = await client.post('/set-redirect?key=next&value=checkout');
      expect(answer.status).toBe(302);
      expect(answer.ms).toBeGreaterThanOrEqual(140);
      expect(JSON.parse((await client.get('/get?key=next')).body)).toEqual({ value: 'checkout' });
    });

    it('a streamed response commits before its first byte; later changes throw ALREADY_COMMITTED', async () => {
      const client = new Client(app.url);
      store.writeDelayMs = 100;
      const answer = await client.get('/stream?key=s&value=1');
      expect(answer.status).toBe(200);
      expect(answer.body).toBe('a|late:ALREADY_COMMITTED|c');
      expect(answer.setCookies[0]).toMatch(/^sid=/);
      expect(JSON.parse((await client.get('/get?key=s')).body)).toEqual({ value: '1' });
    });

    it('a handler that throws saves none of its changes and sends no cookie', async () => {
      const client = await returning();
      const failed = await client.post('/throw?key=a&value=2');
      expect(failed.status).toBe(500);
      expect(failed.setCookies).toEqual([]);
      expect(store.calls['write']).toBeUndefined();
      expect(JSON.parse((await client.get('/get?key=a')).body)).toEqual({ value: '1' });
      const stranger = new Client(app.url);
      expect((await stranger.post('/throw?key=a&value=2')).setCookies).toEqual([]);
    });

    it('store down: a read answers 503 with no cookie, and the session is intact afterwards', async () => {
      const client = await returning();
      store.mode = 'reject';
      const answer = await client.get('/get?key=a');
      expect(answer.status).toBe(503);
      expect(answer.setCookies).toEqual([]);
      store.mode = 'ok';
      expect(JSON.parse((await client.get('/get?key=a')).body)).toEqual({ value: '1' });
    });

    it('store down: a failed commit answers 503 with no cookie (plain, redirect and streamed answers)', async () => {
      store.mode = 'reject';
      for (const path of ['/set?key=a&value=1', '/set-redirect?key=a&value=1']) {
        const answer = await new Client(app.url).post(path);
        expect(answer.status, path).toBe(503);
        expect(answer.setCookies, path).toEqual([]);
      }
      const streamed = await new Client(app.url).get('/stream?key=a&value=1');
      expect(streamed.status).toBe(503);
      expect(streamed.setCookies).toEqual([]);
      store.mode = 'ok';
      expect((await new Client(app.url).get('/unused')).body).toBe('ok');
    });

    it('a store that never answers gives 503 within the store timeout, never a hang', async () => {
      const client = await returning();
      store.mode = 'hang';
      const read = await client.get('/get?key=a');
      expect(read.status).toBe(503);
      expect(read.setCookies).toEqual([]);
      expect(read.ms).toBeLessThan(STORE_TIMEOUT + 1500);
      const write = await new Client(app.url).post('/set?key=a&value=1');
      expect(write.status).toBe(503);
      expect(write.setCookies).toEqual([]);
    });

    it('20 parallel increments of one session all count', async () => {
      const client = await returning();
      const answers = await Promise.all(Array.from({ length: 20 }, () => client.post('/incr')));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(JSON.parse((await client.get('/get?key=count')).body)).toEqual({ value: 20 });
    });

    it('20 parallel writes of different keys to one session all survive', async () => {
      const client = await returning();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => client.post(`/set?key=k${i}&value=v${i}`)),
      );
      const all = JSON.parse((await client.get('/all')).body) as Record<string, unknown>;
      for (let i = 0; i < 20; i++) expect(all[`k${i}`]).toBe(`v${i}`);
      expect(all['a']).toBe('1');
    });

    it('an answer that read the session says Vary: Cookie and Cache-Control: private, no-store; one that never touched it says neither', async () => {
      const client = await returning();
      const read = await client.get('/get?key=a');
      expect(read.setCookies).toEqual([]);
      expect(read.headers.get('cache-control')).toBe('private, no-store');
      expect(read.headers.get('vary')?.toLowerCase()).toContain('cookie');
      const untouched = await client.get('/unused');
      expect(untouched.headers.get('cache-control') ?? '').not.toContain('no-store');
      expect((untouched.headers.get('vary') ?? '').toLowerCase()).not.toContain('cookie');
    });

    it('refuses a state-changing request from another site with 403 before the handler runs', async () => {
      for (const headers of [
        { 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site' },
        { origin: 'https://evil.example' },
      ]) {
        const client = new Client(app.url);
        const answer = await client.send('POST', '/set?key=a&value=1', headers);
        expect(answer.status, JSON.stringify(headers)).toBe(403);
        expect(answer.setCookies).toEqual([]);
        expect(store.total()).toBe(0);
      }
      const same = await new Client(app.url).send('POST', '/set?key=a&value=1', {
        'sec-fetch-site': 'same-origin',
      });
      expect(same.status).toBe(200);
      // Reads are never refused, whatever their origin.
      const read = await new Client(app.url).send('GET', '/get?key=a', {
        'sec-fetch-site': 'cross-site',
      });
      expect(read.status).toBe(200);
    });

    it.each(FAULTS)(
      'a login whose later step fails still hands out the new id: the user keeps a working session (%s)',
      async (fault) => {
        for (const n of [1, 2, 3]) {
          const faulty = faultyStore(memoryStore());
          const c = await startWith({ store: faulty, storeTimeout: 150 });
          expect((await c.post('/set?key=a&value=1')).status).toBe(200);
          const before = c.cookies.get('sid');
          faulty.arm(n, fault);
          const answer = await c.post('/login-redirect?user=ann');
          faulty.disarm();
          const label = `call ${n} (${faulty.ops.at(-1) ?? ''}) ${fault} → ${answer.status}`;
          expect([302, 503], label).toContain(answer.status);
          // Old id or new one, the client's next request finds its data.
          expect(JSON.parse((await c.get('/get?key=a')).body), label).toEqual({ value: '1' });
          if (answer.setCookies.some((line) => line.startsWith('sid=')))
            expect(c.cookies.get('sid'), label).not.toBe(before);
        }
      },
    );
  });
}
