/**
 * @module The command layer under the Redis store: one interface over ioredis and node-redis.
 *
 * ioredis (single, Sentinel, Cluster) and node-redis (client, cluster, sentinel) look alike from
 * here, so the store speaks raw commands and scripts and never cares which library the application
 * chose. The layer sets no timer per command: the store bounds each of its calls as a whole.
 */
import type { Cluster as IoRedisCluster, Redis as IoRedis } from 'ioredis';
import { TesseraError } from '../../core/errors.js';
import { bounded } from '../../core/store-call.js';
import type { LuaScript } from './scripts.js';

/**
 * Options of one node-redis command: an abort signal, which drops the command if it is not yet
 * written to a socket (`abortSignal` since v5, `signal` in v4).
 */
export interface NodeRedisCommandOptions {
  abortSignal?: AbortSignal;
  signal?: AbortSignal;
}

/** A node-redis client (`createClient`, v4 to v6), as far as the store uses it. */
export interface NodeRedisClientLike {
  sendCommand(args: ReadonlyArray<string>, options?: NodeRedisCommandOptions): Promise<unknown>;
  readonly isReady: boolean;
  close?(): Promise<void>;
  quit?(): Promise<unknown>;
  destroy?(): unknown;
}

/** A node of a node-redis cluster. */
export interface NodeRedisShardLike {
  readonly host: string;
  readonly port: number;
}

/** A node-redis cluster (`createCluster`), as far as the store uses it. */
export interface NodeRedisClusterLike {
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
    options?: NodeRedisCommandOptions,
  ): Promise<unknown>;
  readonly masters: ReadonlyArray<NodeRedisShardLike>;
  nodeClient(node: NodeRedisShardLike): Promise<NodeRedisClientLike>;
  readonly isReady: boolean;
  close?(): Promise<void>;
  quit?(): Promise<unknown>;
  destroy?(): unknown;
}

/** A node-redis sentinel client (`createSentinel`), as far as the store uses it. */
export interface NodeRedisSentinelLike {
  sendCommand(
    isReadonly: boolean | undefined,
    args: string[],
    options?: NodeRedisCommandOptions,
  ): Promise<unknown>;
  getMasterNode(): unknown;
  readonly isReady: boolean;
  close?(): Promise<void>;
  destroy?(): unknown;
}

/** Any client the Redis store accepts: ioredis `Redis` or `Cluster`, node-redis client, cluster or sentinel. */
export type RedisClient =
  IoRedis | IoRedisCluster | NodeRedisClientLike | NodeRedisClusterLike | NodeRedisSentinelLike;

/** Runs one command on one node. */
export type NodeCommand = (args: readonly string[]) => Promise<unknown>;

/** What the store needs from a client. */
export interface RedisCommands {
  /** The client under the layer (the change feed duplicates it for its subscription). */
  readonly client: RedisClient;
  /** Whether keys are spread over several nodes: a script may then touch one slot only. */
  readonly isCluster: boolean;
  /** Runs one command; `key` routes it in a cluster. */
  send(args: readonly string[], key?: string): Promise<unknown>;
  /** Runs a script by EVALSHA, sending its source (EVAL) when the node does not know it yet. */
  run(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** One runner per master (one server: itself), for SCAN. */
  masters(): Promise<NodeCommand[]>;
  /** Closes the client when the store created it; leaves a client it was given alone. */
  close(): Promise<void>;
  /**
   * The same layer with `signal` on every command, for drivers that drop a command not yet
   * written when its signal aborts (node-redis). Absent for ioredis, which cannot.
   */
  withSignal?(signal: AbortSignal): RedisCommands;
}

/** Options of {@link redisCommands}. */
export interface RedisCommandsOptions {
  /** How long closing a client the store created waits for the replies in flight. */
  closeTimeoutMs: number;
  /** Whether the store created the client (and so closes it). */
  isOwned: boolean;
  /** Calls that may wait on the client at once; more fail at once. @default 10000 */
  maxInFlight?: number;
  /** Resolves once a client the store created is first ready (or stopped waiting for it). */
  ready?: Promise<void>;
  /** Called once as the store starts closing a client it created. */
  onClose?: () => void;
}

const isIoRedis = (c: RedisClient): c is IoRedis | IoRedisCluster =>
  typeof (c as { call?: unknown }).call === 'function' &&
  typeof (c as { isCluster?: unknown }).isCluster === 'boolean';
const isNodeCluster = (c: RedisClient): c is NodeRedisClusterLike =>
  typeof (c as { nodeClient?: unknown }).nodeClient === 'function';
const isNodeSentinel = (c: RedisClient): c is NodeRedisSentinelLike =>
  typeof (c as { getMasterNode?: unknown }).getMasterNode === 'function';

/**
 * Whether `error` is of a class named `name` (or of a subclass). The store imports its drivers
 * as types only, so it tells their classes apart by name, not by `instanceof`.
 */
export function isOfClass(error: unknown, name: string): boolean {
  for (let p: unknown = error; p !== null && typeof p === 'object'; p = Object.getPrototypeOf(p))
    if ((p as { constructor?: { name?: unknown } }).constructor?.name === name) return true;
  return false;
}

/**
 * The code of an error reply of Redis (`NOSCRIPT` in `NOSCRIPT No matching script…`), or
 * `undefined` for any other error. Redis sends the code only as the reply's first word, and
 * neither ioredis's `ReplyError` nor node-redis's `ErrorReply` keeps it in a property of its own.
 */
export function replyCode(error: unknown): string | undefined {
  if (!isOfClass(error, 'ReplyError') && !isOfClass(error, 'ErrorReply')) return undefined;
  return /^([A-Z][A-Z0-9_]*)\b/.exec((error as Error).message)?.[1];
}

/** Wraps a client in the command layer. */
export function redisCommands(client: RedisClient, options: RedisCommandsOptions): RedisCommands {
  const { closeTimeoutMs } = options;
  const maxInFlight = options.maxInFlight ?? 10_000;
  let inFlight = 0;
  const settled = (): void => {
    inFlight--;
  };
  /**
   * Starts a call unless too many are waiting. A call counts until the driver settles it, not
   * just until the store's deadline gives up on it, so the cap bounds what the driver holds
   * (node-redis Sentinel, for one, keeps calls while it looks for a master).
   */
  function start<T>(call: () => Promise<T>): Promise<T> {
    const down = disconnected();
    if (down !== undefined) {
      return Promise.reject(
        new TesseraError(
          'STORE_UNAVAILABLE',
          `The redis store's client is not connected to Redis (${down}); calls fail at once until it reconnects by itself.`,
        ),
      );
    }
    if (inFlight >= maxInFlight) {
      return Promise.reject(
        new TesseraError(
          'STORE_UNAVAILABLE',
          `The redis store has ${inFlight} calls already waiting for Redis; refusing more until it answers.`,
        ),
      );
    }
    inFlight++;
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (error) {
      inFlight--;
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    pending.then(settled, settled);
    return pending;
  }
  /**
   * Why the client cannot take a call now (it knows it is disconnected), or `undefined`. A call
   * then fails at once, rather than waiting in a driver's queue until the deadline: the outcome
   * of a call that timed out is unknown, while one refused here surely changed nothing. Reading
   * the driver's own state never delays its reconnection, which needs no call to go on.
   */
  const disconnected = (): string | undefined => {
    if (isIoRedis(client)) {
      // `wait`: a lazy client, which the first call connects (it is refused by the driver if
      // it has no offline queue, as ioredis's Cluster does with its nodes).
      const status = client.status;
      return status === 'ready' || status === 'wait' ? undefined : `status ${status}`;
    }
    return client.isReady ? undefined : 'not ready';
  };
  let send: Send;
  let masters: () => Promise<NodeCommand[]>;
  let isCluster = false;
  let close: () => Promise<void>;

  if (isIoRedis(client)) {
    const io = client;
    const call = (node: IoRedis | IoRedisCluster, args: readonly string[]): Promise<unknown> =>
      start(() => node.call(args[0]!, ...args.slice(1)));
    isCluster = io.isCluster;
    send = (args) => call(io, args);
    masters = async () =>
      io.isCluster
        ? sortByAddress(
            (io as IoRedisCluster).nodes('master'),
            (n) => `${n.options.host}:${n.options.port}`,
          ).map((n) => (args: readonly string[]) => call(n, args))
        : [(args) => call(io, args)];
    close = async () => {
      // QUIT lets replies in flight arrive; a server that does not answer is cut off.
      await bounded('redis', 'close', closeTimeoutMs, () => io.quit()).catch(() => undefined);
      io.disconnect();
    };
  } else {
    // No per-command `timeout` for node-redis: it bounds only the wait before a command is
    // written, never the reply, so it would be a second timer beside the store's deadline. The
    // deadline aborts instead (see `withSignal`): node-redis Sentinel holds a command while it
    // looks for a new master and sends it once it has one, so without the abort a call that
    // already ended in STORE_TIMEOUT would still be applied, seconds later.
    const opts = (signal: AbortSignal | undefined): NodeRedisCommandOptions | undefined =>
      signal === undefined ? undefined : { abortSignal: signal, signal };
    if (isNodeCluster(client)) {
      isCluster = true;
      send = (args, key, signal) =>
        start(() => client.sendCommand(key, false, [...args], opts(signal)));
      masters = async () => {
        const nodes = sortByAddress(client.masters, (m) => `${m.host}:${m.port}`);
        const clients = await Promise.all(nodes.map((m) => client.nodeClient(m)));
        return clients.map((c) => (args: readonly string[]) => start(() => c.sendCommand(args)));
      };
    } else if (isNodeSentinel(client)) {
      send = (args, _key, signal) =>
        start(() => client.sendCommand(false, [...args], opts(signal)));
      masters = async () => [(args) => send(args, undefined, undefined)];
    } else {
      const c = client;
      send = (args, _key, signal) => start(() => c.sendCommand(args, opts(signal)));
      masters = async () => [(args) => send(args, undefined, undefined)];
    }
    close = () => closeNodeRedis(client, closeTimeoutMs);
  }

  const ready = options.ready;
  let closing: Promise<void> | undefined;
  const sendReady: Send =
    ready === undefined
      ? send
      : async (args, key, signal) => {
          await ready;
          return send(args, key, signal);
        };

  const layer = (signal: AbortSignal | undefined): RedisCommands => ({
    client,
    isCluster,
    send: (args, key) => sendReady(args, key, signal),
    async run(script, keys, args) {
      // One array for the whole command: EVALSHA, sha, numkeys, keys, args.
      const command = ['EVALSHA', script.sha, String(keys.length)];
      for (const key of keys) command.push(key);
      for (const arg of args) command.push(arg);
      try {
        return await sendReady(command, keys[0], signal);
      } catch (error) {
        if (replyCode(error) !== 'NOSCRIPT') throw error;
        command[0] = 'EVAL';
        command[1] = script.source;
        return sendReady(command, keys[0], signal);
      }
    },
    async masters() {
      if (ready !== undefined) await ready;
      return masters();
    },
    close() {
      // Idempotent: a manager closes its store, and so may the code that created both.
      if (!options.isOwned) return Promise.resolve();
      if (closing === undefined) options.onClose?.();
      return (closing ??= close());
    },
    ...(isIoRedis(client) ? {} : { withSignal: (next: AbortSignal) => layer(next) }),
  });
  return layer(undefined);
}

/** Sends one command: `key` routes it in a cluster, `signal` drops it if not yet written. */
type Send = (
  args: readonly string[],
  key: string | undefined,
  signal: AbortSignal | undefined,
) => Promise<unknown>;

async function closeNodeRedis(
  c: { close?(): Promise<unknown>; quit?(): Promise<unknown>; destroy?(): unknown },
  timeoutMs: number,
): Promise<void> {
  // close() waits for replies in flight: bound it, then cut the connection.
  await bounded('redis', 'close', timeoutMs, () =>
    c.close ? c.close() : c.quit ? c.quit() : Promise.resolve(),
  ).catch(() => undefined);
  await Promise.resolve(c.destroy?.()).catch(() => undefined);
}

function sortByAddress<T>(items: readonly T[], address: (item: T) => string): T[] {
  return [...items].sort((a, b) =>
    address(a) < address(b) ? -1 : address(a) > address(b) ? 1 : 0,
  );
}
