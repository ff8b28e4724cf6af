/**
 * @module A small memcached client for the text protocol over `node:net`: get, gets, add, set,
 * cas, delete and version, over several servers with consistent hashing.
 *
 * Why not memjs: its 1.3 API has no `gets`/`cas` (its own source says "TODO: support flags,
 * support version (CAS)"), so concurrent delta writes could not be made safe, and it spreads keys
 * by `hash % servers`, which moves nearly every key when a server is added. This client keeps one
 * connection per server, answers every call within `timeout`, queues at most `maxPending` calls per
 * server, and fails at once while a server is known to be down.
 */
import { connect, type Socket } from 'node:net';
import { hashRing } from './ring.js';

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
  /** Bound on each call, in milliseconds. @default 2000 */
  timeout?: number;
  /** After a connection fails, calls to that server fail at once for this long. @default 1000 */
  retryDelay?: number;
  /** Calls that may wait on one server's connection; more fail at once. @default 1000 */
  maxPending?: number;
  /** Connection errors, once per outage of a server. @default ignored */
  onError?: (error: Error) => void;
}

type Reply = { line: string } | { items: { value: Buffer; cas: string }[] };

interface Pending {
  isRetrieval: boolean;
  resolve(reply: Reply): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** One server: a lazily opened connection and the FIFO of calls waiting for its replies. */
function serverConnection(
  host: string,
  port: number,
  o: Required<Omit<MemcachedClientOptions, 'servers'>>,
) {
  const name = `${host}:${port}`;
  let socket: Socket | undefined;
  let buffer: Buffer = Buffer.alloc(0);
  const pending: Pending[] = [];
  let downUntil = 0;
  let isReported = false;

  function fail(error: Error): void {
    socket?.destroy();
    socket = undefined;
    buffer = Buffer.alloc(0);
    for (const p of pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  function open(): Socket {
    const s = connect({ host, port });
    s.setNoDelay(true);
    s.setKeepAlive(true, 30_000);
    s.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      drain();
    });
    s.once('connect', () => {
      isReported = false;
    });
    s.on('error', (error) => {
      if (socket !== s) return;
      downUntil = Date.now() + o.retryDelay;
      if (!isReported) {
        isReported = true;
        o.onError(error);
      }
      fail(new Error(`memcached ${name} failed: ${error.message}`));
    });
    s.on('close', () => {
      if (socket === s) fail(new Error(`memcached ${name} closed the connection`));
    });
    return s;
  }

  /** Settles as many waiting calls as the buffer holds complete replies for. */
  function drain(): void {
    while (pending.length > 0) {
      const parsed = parse(buffer, pending[0]!.isRetrieval);
      if (parsed === undefined) return;
      buffer = buffer.subarray(parsed.end);
      const p = pending.shift()!;
      clearTimeout(p.timer);
      if (
        'line' in parsed.reply &&
        /^(ERROR|CLIENT_ERROR|SERVER_ERROR)\b/.test(parsed.reply.line)
      ) {
        p.reject(new Error(`memcached ${name}: ${parsed.reply.line}`));
      } else {
        p.resolve(parsed.reply);
      }
    }
  }

  return {
    name,
    call(request: Buffer, isRetrieval: boolean): Promise<Reply> {
      return new Promise((resolve, reject) => {
        if (socket === undefined && Date.now() < downUntil) {
          reject(
            new Error(`memcached ${name} is unreachable; retrying in ${downUntil - Date.now()} ms`),
          );
          return;
        }
        if (pending.length >= o.maxPending) {
          reject(new Error(`memcached ${name} has ${pending.length} calls waiting; refusing more`));
          return;
        }
        // A call that gets no reply in time may leave its reply in the stream: the connection
        // can no longer pair replies with calls, so it is dropped with everything on it.
        const timer = setTimeout(
          () => fail(new Error(`memcached ${name} timed out after ${o.timeout} ms`)),
          o.timeout,
        );
        pending.push({ isRetrieval, resolve, reject, timer });
        socket ??= open();
        socket.write(request);
      });
    },
    close(): void {
      const s = socket;
      socket = undefined;
      if (s) s.end();
      fail(new Error(`memcached ${name}: the client was closed`));
    },
  };
}

/** One complete reply at the start of `buf`, or undefined when more bytes are needed. */
function parse(buf: Buffer, isRetrieval: boolean): { reply: Reply; end: number } | undefined {
  let at = 0;
  const items: { value: Buffer; cas: string }[] = [];
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol === -1) return undefined;
    const line = buf.toString('latin1', at, eol);
    if (!isRetrieval || !line.startsWith('VALUE ')) {
      if (isRetrieval && line === 'END') return { reply: { items }, end: eol + 2 };
      return { reply: { line }, end: eol + 2 };
    }
    // VALUE <key> <flags> <bytes> [<cas unique>]
    const [, , , bytes, cas] = line.split(' ');
    const start = eol + 2;
    const stop = start + Number(bytes);
    if (buf.length < stop + 2) return undefined;
    items.push({ value: Buffer.from(buf.subarray(start, stop)), cas: cas ?? '' });
    at = stop + 2;
  }
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
      throw new Error('memcached sent values where a status line was expected');
    return reply.line;
  };
  const retrieve = async (key: string, command: 'get' | 'gets') => {
    const reply = await ring.pick(key).call(Buffer.from(`${command} ${key}\r\n`), true);
    if (!('items' in reply)) throw new Error(`memcached answered ${command} with "${reply.line}"`);
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
    if (!ok.includes(reply)) throw new Error(`memcached answered "${reply}"`);
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
