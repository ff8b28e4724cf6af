/**
 * The pieces of the adapter contract (test/contract/adapter.ts): the routes every framework's test
 * app serves, a store wrapper that counts calls and can fail or hang on demand, and a small HTTP
 * client that keeps cookies.
 */
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { memoryStore, type Session, type SessionManager, type Store } from '../../src/index.js';

/** The contract's session data: a counter and any string keys. */
export type ContractData = { count: number } & Record<string, unknown>;

/** What a route answers; each framework's app turns it into its own kind of reply. */
export interface Reply {
  status?: number;
  json?: unknown;
  text?: string;
  /** Answer 302 with this `Location`. */
  redirect?: string;
  /** Stream these chunks (the framework's own streaming reply). */
  chunks?: AsyncIterable<string>;
}

/** One route of the contract app. `run` throwing is the framework's "handler failed". */
export interface Route {
  method: 'GET' | 'POST';
  path: string;
  run(session: Session<ContractData>, query: URLSearchParams): Promise<Reply>;
}

const param = (query: URLSearchParams, name: string): string => query.get(name) ?? '';

async function* lateChange(session: Session<ContractData>): AsyncGenerator<string> {
  yield 'a|';
  await new Promise((resolve) => setTimeout(resolve, 20));
  try {
    session.set('late', 'x');
    yield 'late:allowed|';
  } catch (error) {
    yield `late:${(error as { code?: string }).code ?? 'error'}|`;
  }
  yield 'c';
}

/** The routes; every framework's test app registers each one with its own router. */
export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/unused', run: () => Promise.resolve({ text: 'ok' }) },
  {
    method: 'GET',
    path: '/get',
    run: async (s, q) => ({ json: { value: (await s.get(param(q, 'key'))) ?? null } }),
  },
  { method: 'GET', path: '/all', run: async (s) => ({ json: await s.all() }) },
  {
    method: 'POST',
    path: '/set',
    run: (s, q) => {
      s.set(param(q, 'key'), param(q, 'value'));
      return Promise.resolve({ json: { ok: true } });
    },
  },
  {
    method: 'POST',
    path: '/incr',
    run: async (s) => ({ json: { count: await s.increment('count') } }),
  },
  {
    method: 'GET',
    path: '/whoami',
    run: async (s) => {
      await s.load();
      return {
        json: {
          user: s.userId ?? null,
          isNew: s.isNew,
          greeting: (await s.get('greeting')) ?? null,
        },
      };
    },
  },
  {
    method: 'POST',
    path: '/login-redirect',
    run: async (s, q) => {
      await s.login(param(q, 'user'));
      s.set('greeting', `hello ${param(q, 'user')}`);
      return { redirect: '/whoami' };
    },
  },
  {
    method: 'POST',
    path: '/set-redirect',
    run: (s, q) => {
      s.set(param(q, 'key'), param(q, 'value'));
      return Promise.resolve({ redirect: `/get?key=${encodeURIComponent(param(q, 'key'))}` });
    },
  },
  { method: 'POST', path: '/regenerate', run: async (s) => (await s.regenerate(), { json: {} }) },
  { method: 'POST', path: '/destroy', run: async (s) => (await s.destroy(), { json: {} }) },
  {
    method: 'POST',
    path: '/flash',
    run: (s, q) => {
      s.flash('info', param(q, 'message'));
      return Promise.resolve({ json: {} });
    },
  },
  {
    method: 'GET',
    path: '/flash',
    run: async (s) => ({ json: { messages: await s.consumeFlash('info') } }),
  },
  {
    method: 'POST',
    path: '/throw',
    run: (s, q) => {
      s.set(param(q, 'key'), param(q, 'value'));
      return Promise.reject(new Error('boom (thrown on purpose by the contract)'));
    },
  },
  {
    method: 'GET',
    path: '/stream',
    run: (s, q) => {
      s.set(param(q, 'key'), param(q, 'value'));
      return Promise.resolve({ chunks: lateChange(s) });
    },
  },
];

/** A store wrapper for the contract: counts calls, delays writes, fails or hangs on demand. */
export interface ProbeStore extends Store {
  /** Calls per operation since the last `reset`. */
  readonly calls: Record<string, number>;
  /** `'reject'`: every call fails; `'hang'`: no call ever answers. */
  mode: 'ok' | 'reject' | 'hang';
  /** Delay of each write, rename and destroy (ms), to catch answers sent before the commit. */
  writeDelayMs: number;
  /** The wrapped store, read by tests without counting. */
  readonly inner: Store;
  /** Total calls since the last `reset`. */
  total(): number;
  reset(): void;
}

/** Wraps a fresh memory store. Not `isLocal`, so the manager bounds every call by `storeTimeout`. */
export function probeStore(): ProbeStore {
  const inner = memoryStore();
  const calls: Record<string, number> = {};
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const probe = {
    name: 'probe',
    inner,
    calls,
    mode: 'ok' as ProbeStore['mode'],
    writeDelayMs: 0,
    total: () => Object.values(calls).reduce((a, b) => a + b, 0),
    reset() {
      for (const key of Object.keys(calls)) delete calls[key];
      probe.mode = 'ok';
      probe.writeDelayMs = 0;
    },
  };
  const wrap =
    <A extends unknown[], R>(op: string, run: (...args: A) => Promise<R>, slow = false) =>
    async (...args: A): Promise<R> => {
      calls[op] = (calls[op] ?? 0) + 1;
      if (probe.mode === 'reject')
        throw new Error('connection refused (the contract took the store down)');
      if (probe.mode === 'hang') return new Promise<R>(() => {});
      if (slow && probe.writeDelayMs > 0) await sleep(probe.writeDelayMs);
      return run(...args);
    };
  return Object.assign(probe, {
    get: wrap('get', inner.get.bind(inner)),
    write: wrap('write', inner.write.bind(inner), true),
    touch: wrap('touch', inner.touch.bind(inner)),
    destroy: wrap('destroy', inner.destroy.bind(inner), true),
    rename: wrap('rename', inner.rename!.bind(inner), true),
    byUser: wrap('byUser', inner.byUser!.bind(inner)),
    destroyByUser: wrap('destroyByUser', inner.destroyByUser!.bind(inner)),
    count: wrap('count', inner.count!.bind(inner)),
    close: () => inner.close(),
  });
}

/** A server the contract talks to. */
export interface RunningApp {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 on a free port; `close` also ends kept-alive connections. */
export async function listen(server: Server): Promise<RunningApp> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return appOf(server);
}

/** The RunningApp of a server that is already listening. */
export function appOf(server: Server): RunningApp {
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Starts the contract app of one framework around a manager. */
export type StartApp = (manager: SessionManager<ContractData>) => Promise<RunningApp>;

/** An answer as the contract reads it. */
export interface Answer {
  status: number;
  headers: Headers;
  body: string;
  setCookies: string[];
  ms: number;
}

/** A browser-like client: keeps the cookies it is given, follows no redirect by itself. */
export class Client {
  readonly cookies: Map<string, string>;
  readonly base: string;
  /** `cookies` may be shared with another client: one browser talking to two servers of one site. */
  constructor(base: string, cookies = new Map<string, string>()) {
    this.base = base;
    this.cookies = cookies;
  }
  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
  async send(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    payload?: string,
  ): Promise<Answer> {
    const started = performance.now();
    const cookie = this.cookieHeader();
    const response = await fetch(this.base + path, {
      method,
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...headers },
      ...(payload === undefined ? {} : { body: payload }),
    });
    const body = await response.text();
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return {
      status: response.status,
      headers: response.headers,
      body,
      setCookies,
      ms: performance.now() - started,
    };
  }
  get = (path: string): Promise<Answer> => this.send('GET', path);
  post = (path: string): Promise<Answer> => this.send('POST', path);
}

/** Writes a reply on a plain node:http response (the node adapter's and Connect's idiom). */
export function writeReply(res: ServerResponse, reply: Reply): void {
  if (reply.redirect !== undefined) {
    res.writeHead(302, { location: reply.redirect }).end();
  } else if (reply.chunks !== undefined) {
    res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain' });
    Readable.from(reply.chunks).pipe(res);
  } else if (reply.text !== undefined) {
    res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain' }).end(reply.text);
  } else {
    res
      .writeHead(reply.status ?? 200, { 'content-type': 'application/json' })
      .end(JSON.stringify(reply.json));
  }
}

/** The route of a method and path, and the query of a request target. */
export function routeOf(
  method: string | undefined,
  target: string | undefined,
): { route: Route | undefined; query: URLSearchParams } {
  const url = new URL(target ?? '/', 'http://contract.invalid');
  const route = ROUTES.find((r) => r.method === method && r.path === url.pathname);
  return { route, query: url.searchParams };
}
