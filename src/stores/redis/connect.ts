/**
 * @module Creating a Redis client for a store: ioredis or node-redis, loaded on demand.
 *
 * The client is configured so that nothing can hang or queue without bound: no offline queue,
 * quick reconnects, a connection with calls waiting and no data for twice `commandTimeout`
 * dropped and made again, and an `error` listener on everything created. It gets no command
 * timeout of its own: the store bounds each call.
 */
import type * as IoRedisModule from 'ioredis';
import type * as NodeRedisModule from 'redis';
import { TesseraError } from '../../core/errors.js';
import { replyCode, type RedisClient } from './commands.js';
import type { RedisDriver, RedisTarget } from './url.js';

/** How to create the client. */
export interface RedisConnectOptions {
  /** The library to load; without it, ioredis when installed, else node-redis. */
  driver?: RedisDriver;
  /** The store's bound on each call; the socket guards below are set from it. */
  commandTimeout: number;
  /** Bound on connecting (and on asking the sentinels or the cluster where to connect). */
  connectTimeout: number;
  /** Background errors: called once per outage (again after the client was ready once more). */
  onError: (error: unknown) => void;
  /** Driver options merged over ours. */
  clientOptions?: Record<string, unknown>;
}

/** Loads a driver, or throws the CONFIG error naming the package to install. */
async function load(
  driver: RedisDriver | undefined,
): Promise<{ driver: RedisDriver; module: unknown }> {
  const order: RedisDriver[] = driver === undefined ? ['ioredis', 'redis'] : [driver];
  for (const name of order) {
    try {
      return { driver: name, module: await import(name) };
    } catch {
      // try the next one
    }
  }
  const names = order.map((n) => `\`${n}\``).join(' or ');
  throw new TesseraError(
    'CONFIG',
    `Cannot import ${names}. Install it (npm install ${order[0]}) or pass a ready client via the \`client\` option.`,
  );
}

/** A client the store created, and what the store needs to know of its start. */
export interface RedisConnection {
  client: RedisClient;
  /**
   * Resolves once the first connection attempt ended: the client is ready, its first attempt
   * failed (it goes on reconnecting by itself; calls fail at once meanwhile), or `connectTimeout`
   * passed. Never rejects.
   */
  ready: Promise<void>;
  /** Stops trying to connect again (before the store closes the client). */
  stop: () => void;
}

/** Creates a client for `target` (see {@link RedisConnection}). */
export async function connectRedis(
  target: RedisTarget,
  options: RedisConnectOptions,
): Promise<RedisConnection> {
  const loaded = await load(options.driver);
  const client =
    loaded.driver === 'ioredis'
      ? createIoRedis(loaded.module as typeof IoRedisModule, target, options)
      : createNodeRedis(loaded.module as typeof NodeRedisModule, target, options);
  const emitter = client as unknown as NodeJS.EventEmitter;
  let isReported = false;
  const report = (error: unknown): void => {
    if (isReported) return;
    isReported = true;
    options.onError(error);
  };
  const recovered = (): void => {
    isReported = false;
  };
  // ioredis: error, node error, ready. node-redis: error, node-error (cluster), ready, node-ready.
  for (const event of ['error', 'node error', 'node-error']) emitter.on(event, report);
  for (const event of ['ready', 'node-ready']) emitter.on(event, recovered);
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  const timer = setTimeout(resolveReady, options.connectTimeout);
  timer.unref();
  const settle = (): void => {
    clearTimeout(timer);
    resolveReady();
  };
  // A first attempt that failed ends the wait: the client now knows it is disconnected.
  emitter.once('error', settle);
  let isStopped = false;
  let retry: NodeJS.Timeout | undefined;
  if (loaded.driver === 'redis') {
    // node-redis connects on request. Its promise settles on the first success, or rejects when
    // the client gave up: a cluster that reached no seed node, a sentinel set that named no
    // master, is then closed for good, so the store asks it to connect again until it is closed.
    const node = client as unknown as { connect(): Promise<unknown>; readonly isOpen?: boolean };
    const connect = (attempt: number): void => {
      node.connect().then(settle, (error: unknown) => {
        settle();
        report(error);
        if (isStopped || node.isOpen === true) return;
        retry = setTimeout(() => connect(attempt + 1), backoff(attempt + 1));
        retry.unref();
      });
    };
    connect(0);
  } else {
    emitter.once('ready', settle);
  }
  return {
    client,
    ready,
    stop: () => {
      isStopped = true;
      clearTimeout(retry);
    },
  };
}

const backoff = (attempt: number): number => Math.min(100 * 2 ** Math.max(attempt - 1, 0), 1000);

function createIoRedis(
  io: typeof IoRedisModule,
  t: RedisTarget,
  o: RedisConnectOptions,
): RedisClient {
  const auth = {
    ...(t.username === undefined ? {} : { username: t.username }),
    ...(t.password === undefined ? {} : { password: t.password }),
  };
  const perNode = {
    ...auth,
    // A connection that has calls waiting but hears nothing for this long is dropped and made
    // again, so a hung server cannot hold replies (and memory) forever.
    socketTimeout: o.commandTimeout * 2,
    connectTimeout: o.connectTimeout,
    // Commands never wait in a queue for a connection, nor get resent after one dropped: the
    // caller hears of the outage at once, and memory stays flat however long it lasts.
    maxRetriesPerRequest: 0,
    ...(t.isTls ? { tls: {} } : {}),
  };
  if (t.mode === 'cluster') {
    return new io.Cluster(t.hosts, {
      enableOfflineQueue: false,
      clusterRetryStrategy: backoff,
      slotsRefreshTimeout: o.connectTimeout,
      redisOptions: perNode,
      ...o.clientOptions,
    });
  }
  const common = {
    ...perNode,
    enableOfflineQueue: false,
    retryStrategy: backoff,
    ...(t.db === undefined ? {} : { db: t.db }),
  };
  if (t.mode === 'sentinel') {
    return new io.Redis({
      ...common,
      sentinels: t.hosts,
      name: t.masterName!,
      role: 'master',
      ...(t.sentinelPassword === undefined ? {} : { sentinelPassword: t.sentinelPassword }),
      ...(t.isTls ? { enableTLSForSentinelMode: true } : {}),
      sentinelRetryStrategy: backoff,
      sentinelCommandTimeout: o.connectTimeout,
      // No `failoverDetector`: in ioredis 5–6 its +switch-master handler can cancel a reconnection
      // in flight, which ends the client for good ("Connection is closed." on every call after the
      // failover; redis/ioredis#1683, and seen here under load). A killed master drops our socket;
      // a hung one is dropped by `socketTimeout`; a demoted one answers READONLY (below). Each
      // makes the client ask the sentinels again.
      // A demoted master answers writes with READONLY: reconnect, asking the sentinels again.
      reconnectOnError: (error: Error) => replyCode(error) === 'READONLY',
      ...o.clientOptions,
    });
  }
  return new io.Redis({
    ...common,
    host: t.hosts[0]!.host,
    port: t.hosts[0]!.port,
    ...o.clientOptions,
  });
}

function createNodeRedis(
  redis: typeof NodeRedisModule,
  t: RedisTarget,
  o: RedisConnectOptions,
): RedisClient {
  const socket = {
    connectTimeout: o.connectTimeout,
    // node-redis drops a socket idle this long; the PINGs below keep a healthy one busy, so only
    // a hung server trips it.
    socketTimeout: Math.max(o.commandTimeout * 2, 5000),
    reconnectStrategy: (retries: number) => backoff(retries + 1),
    ...(t.isTls ? { tls: true as const } : {}),
  };
  const node = {
    ...(t.username === undefined ? {} : { username: t.username }),
    ...(t.password === undefined ? {} : { password: t.password }),
    disableOfflineQueue: true,
    pingInterval: Math.max(o.commandTimeout * 2, 5000) / 2,
  };
  if (t.mode === 'cluster') {
    return redis.createCluster({
      rootNodes: t.hosts.map((h) => ({ socket: { ...socket, host: h.host, port: h.port } })),
      defaults: { ...node, socket },
      ...o.clientOptions,
    });
  }
  const db = t.db === undefined ? {} : { database: t.db };
  if (t.mode === 'sentinel') {
    return redis.createSentinel({
      name: t.masterName!,
      sentinelRootNodes: t.hosts,
      nodeClientOptions: { ...node, ...db, socket },
      sentinelClientOptions: {
        ...(t.sentinelPassword === undefined ? {} : { password: t.sentinelPassword }),
        socket,
      },
      ...o.clientOptions,
    });
  }
  return redis.createClient({
    ...node,
    ...db,
    socket: { ...socket, host: t.hosts[0]!.host, port: t.hosts[0]!.port },
    ...o.clientOptions,
  });
}
