/**
 * @module A small memcached client for the text protocol over `node:net`, on consistent hashing.
 *
 * It speaks get, gets, add, set, cas, delete and version, over several servers with consistent
 * hashing. Why not memjs: its 1.3 API has no `gets`/`cas` (its own source says "TODO: support
 * flags, support version (CAS)"), so concurrent delta writes could not be made safe, and it
 * spreads keys by `hash % servers`, which moves nearly every key when a server is added. This
 * client keeps one connection per server, queues at most `maxPending` calls per server, fails at
 * once while a server is known to be down, and drops a connection that has calls waiting but
 * hears nothing for `timeout`. It has no timer per call: the store bounds each of its calls.
 * Every error a call rejects with carries a {@link MemcachedErrorCode} in `code`.
 */
import { serverConnection } from './connection.js';
import { memcachedError } from './errors.js';
import { hashRing } from './ring.js';

export { memcachedErrorCode } from './errors.js';
export type { MemcachedError, MemcachedErrorCode } from './errors.js';

/** A value read with `gets`, and its compare-and-swap token. */
export interface MemcachedItem {
  value: Buffer;
  cas: string;
}

/** How a `cas` ended: written, lost to another writer, or the key was gone. */
export type CasOutcome = 'stored' | 'exists' | 'not-found';

/** The calls the memcached store makes. */
export interface MemcachedClient {
  get(key: string): Promise<Buffer | undefined>;
  gets(key: string): Promise<MemcachedItem | undefined>;
  /** Stores only if the key is absent; `false` when it exists. */
  add(key: string, value: Buffer, exptime: number): Promise<boolean>;
  set(key: string, value: Buffer, exptime: number): Promise<void>;
  cas(key: string, value: Buffer, exptime: number, cas: string): Promise<CasOutcome>;
  /** `false` when there was nothing to delete. */
  delete(key: string): Promise<boolean>;
  /** The version of every server, in the order given. */
  versions(): Promise<string[]>;
  close(): Promise<void>;
}

/** Options of {@link memcachedClient}. */
export interface MemcachedClientOptions {
  /** `host:port` of each server (port 11211 when left out). */
  servers: readonly string[];
  /**
   * A connection that has calls waiting and receives nothing for this long (ms) is dropped,
   * failing its calls with `MEMCACHED_TIMEOUT`, so a hung server cannot hold them for ever.
   * @default 2000
   */
  timeout?: number;
  /** After a connection fails, calls to that server fail at once for this long. @default 1000 */
  retryDelay?: number;
  /** Calls that may wait on one server's connection; more fail at once. @default 1000 */
  maxPending?: number;
  /** Connection errors, once per outage of a server. @default ignored */
  onError?: (error: Error) => void;
}

/** Creates a client over `servers` (keys spread by consistent hashing). */
export function memcachedClient(options: MemcachedClientOptions): MemcachedClient {
  const o = {
    timeout: options.timeout ?? 2000,
    retryDelay: options.retryDelay ?? 1000,
    maxPending: options.maxPending ?? 1000,
    onError: options.onError ?? (() => undefined),
  };
  const servers = options.servers.map((entry) => {
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
    if (!match) throw new Error(`"${entry}" is not host[:port]`);
    return serverConnection(
      match[1]!.replace(/^\[|\]$/g, ''),
      match[2] === undefined ? 11211 : Number(match[2]),
      o,
    );
  });
  const ring = hashRing(servers, (s) => s.name);

  const line = async (key: string, request: string | Buffer): Promise<string> => {
    const reply = await ring
      .pick(key)
      .call(typeof request === 'string' ? Buffer.from(request) : request, false);
    if (!('line' in reply))
      throw memcachedError(
        'MEMCACHED_ERROR',
        'memcached sent values where a status line was expected',
      );
    return reply.line;
  };
  const retrieve = async (key: string, command: 'get' | 'gets') => {
    const reply = await ring.pick(key).call(Buffer.from(`${command} ${key}\r\n`), true);
    if (!('items' in reply))
      throw memcachedError('MEMCACHED_ERROR', `memcached answered ${command} with "${reply.line}"`);
    return reply.items[0];
  };
  const storage = (
    command: string,
    key: string,
    value: Buffer,
    exptime: number,
    extra = '',
  ): Buffer =>
    Buffer.concat([
      Buffer.from(`${command} ${key} 0 ${exptime} ${value.length}${extra}\r\n`),
      value,
      Buffer.from('\r\n'),
    ]);
  const expect = (reply: string, ...ok: string[]): string => {
    if (!ok.includes(reply))
      throw memcachedError('MEMCACHED_ERROR', `memcached answered "${reply}"`);
    return reply;
  };

  return {
    async get(key) {
      return (await retrieve(key, 'get'))?.value;
    },
    async gets(key) {
      return retrieve(key, 'gets');
    },
    async add(key, value, exptime) {
      return (
        expect(await line(key, storage('add', key, value, exptime)), 'STORED', 'NOT_STORED') ===
        'STORED'
      );
    },
    async set(key, value, exptime) {
      expect(await line(key, storage('set', key, value, exptime)), 'STORED');
    },
    async cas(key, value, exptime, cas) {
      const reply = expect(
        await line(key, storage('cas', key, value, exptime, ` ${cas}`)),
        'STORED',
        'EXISTS',
        'NOT_FOUND',
      );
      return reply === 'STORED' ? 'stored' : reply === 'EXISTS' ? 'exists' : 'not-found';
    },
    async delete(key) {
      return expect(await line(key, `delete ${key}\r\n`), 'DELETED', 'NOT_FOUND') === 'DELETED';
    },
    async versions() {
      return Promise.all(
        servers.map(async (s) => {
          const reply = await s.call(Buffer.from('version\r\n'), false);
          return 'line' in reply ? reply.line.replace(/^VERSION /, '') : '';
        }),
      );
    },
    async close() {
      for (const s of servers) s.close();
    },
  };
}
