/**
 * @module One memcached server: a lazily opened connection, its FIFO of calls, the reply parser.
 */
import { connect, type Socket } from 'node:net';
import { memcachedError } from './errors.js';

/** What a connection needs of the client's options (see `MemcachedClientOptions`). */
export interface ConnectionOptions {
  /** Drop the connection after this long (ms) without data while calls wait. */
  timeout: number;
  /** After a connection fails, calls fail at once for this long (ms). */
  retryDelay: number;
  /** Calls that may wait on the connection; more fail at once. */
  maxPending: number;
  /** Connection errors, once per outage. */
  onError: (error: Error) => void;
}

/** A reply: one status line, or the values of a retrieval. */
export type Reply = { line: string } | { items: { value: Buffer; cas: string }[] };

interface Pending {
  isRetrieval: boolean;
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

// memcached's text protocol names no error codes: an error reply is `ERROR`, `CLIENT_ERROR <text>`
// or `SERVER_ERROR <text>`, and a refused large item is told only by the words of its text.
const ERROR_REPLY = /^(ERROR|CLIENT_ERROR|SERVER_ERROR)\b/;
const TOO_LARGE_REPLY = /^SERVER_ERROR .*too large/;

/** One server's connection, as the client uses it. */
export interface ServerConnection {
  /** `host:port`, which also places the server on the hash ring. */
  readonly name: string;
  /** Sends one request; resolves with its reply (values for a retrieval, else a status line). */
  call(request: Buffer, isRetrieval: boolean): Promise<Reply>;
  /** Ends the connection, failing the calls still waiting. */
  close(): void;
}

/** One server: a lazily opened connection and the FIFO of calls waiting for its replies. */
export function serverConnection(
  host: string,
  port: number,
  o: ConnectionOptions,
): ServerConnection {
  const name = `${host}:${port}`;
  let socket: Socket | undefined;
  let buffer: Buffer = Buffer.alloc(0);
  const pending: Pending[] = [];
  let downUntil = 0;
  let isReported = false;
  /** Runs while calls wait, from the first call sent or the last data heard. */
  let silence: NodeJS.Timeout | undefined;

  function fail(error: Error): void {
    clearTimeout(silence);
    silence = undefined;
    socket?.destroy();
    socket = undefined;
    buffer = Buffer.alloc(0);
    for (const p of pending.splice(0)) p.reject(error);
  }

  // A call that gets no reply may leave its reply in the stream: the connection can then no
  // longer pair replies with calls, so it is dropped with everything on it.
  const hung = (): void =>
    fail(
      memcachedError(
        'MEMCACHED_TIMEOUT',
        `memcached ${name} sent nothing for ${o.timeout} ms while calls waited; dropped the connection`,
      ),
    );

  function open(): Socket {
    const s = connect({ host, port });
    s.setNoDelay(true);
    s.setKeepAlive(true, 30_000);
    s.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      drain();
      clearTimeout(silence);
      silence = pending.length > 0 ? setTimeout(hung, o.timeout) : undefined;
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
      fail(
        memcachedError(
          'MEMCACHED_UNREACHABLE',
          `memcached ${name} failed: ${error.message}`,
          error,
        ),
      );
    });
    s.on('close', () => {
      if (socket === s)
        fail(memcachedError('MEMCACHED_CLOSED', `memcached ${name} closed the connection`));
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
      const reply = parsed.reply;
      if ('line' in reply && ERROR_REPLY.test(reply.line)) {
        const code = TOO_LARGE_REPLY.test(reply.line) ? 'MEMCACHED_TOO_LARGE' : 'MEMCACHED_ERROR';
        p.reject(memcachedError(code, `memcached ${name}: ${reply.line}`));
      } else {
        p.resolve(reply);
      }
    }
  }

  return {
    name,
    call(request: Buffer, isRetrieval: boolean): Promise<Reply> {
      return new Promise((resolve, reject) => {
        if (socket === undefined && Date.now() < downUntil) {
          reject(
            memcachedError(
              'MEMCACHED_UNREACHABLE',
              `memcached ${name} is unreachable; retrying in ${downUntil - Date.now()} ms`,
            ),
          );
          return;
        }
        if (pending.length >= o.maxPending) {
          reject(
            memcachedError(
              'MEMCACHED_BUSY',
              `memcached ${name} has ${pending.length} calls waiting; refusing more`,
            ),
          );
          return;
        }
        pending.push({ isRetrieval, resolve, reject });
        silence ??= setTimeout(hung, o.timeout);
        socket ??= open();
        socket.write(request);
      });
    },
    close(): void {
      const s = socket;
      socket = undefined;
      if (s) s.end();
      fail(memcachedError('MEMCACHED_CLOSED', `memcached ${name}: the client was closed`));
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
