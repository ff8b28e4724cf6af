/**
 * @module The contenders: one server file each under bench/servers, what it needs to run, and the
 * bare server it is compared with.
 */

/** Kinds of traffic. */
export type Kind = 'read' | 'write' | 'new';

/** All kinds, in table order. */
export const KINDS: readonly Kind[] = ['read', 'write', 'new'];

/** What each kind of traffic is. */
export const KIND_LABELS: Record<Kind, string> = {
  read: 'returning client, reads its session (GET /read with its cookie)',
  write: 'returning client, writes its session (GET /write with its cookie)',
  new: 'new visitor, no cookie (GET /write without a cookie: every request creates a session)',
};

/** One contender. */
export interface Contender {
  /** Also the server file: bench/servers/<id>.ts */
  id: string;
  label: string;
  framework: 'node:http' | 'Express' | 'Fastify' | 'Koa';
  /** Where sessions live; `none` for the bare servers. */
  store: 'none' | 'memory' | 'redis' | 'cookie';
  /** The bare server of the same framework, for ratios. */
  bare?: string;
  /** Files of this repository the server imports that other work may not have finished. */
  needsFiles?: readonly string[];
  needsRedis?: boolean;
  /** Counts Redis commands per request. */
  redisCommands?: boolean;
  /** Checks lost updates under concurrent increments of one session. */
  lostUpdates?: boolean;
}

/** Every contender, in table order. */
export const CONTENDERS: readonly Contender[] = [
  { id: 'bare-node', label: 'bare node:http', framework: 'node:http', store: 'none' },
  { id: 'bare-express', label: 'bare Express', framework: 'Express', store: 'none' },
  { id: 'bare-fastify', label: 'bare Fastify', framework: 'Fastify', store: 'none' },
  { id: 'bare-koa', label: 'bare Koa', framework: 'Koa', store: 'none' },
  {
    id: 'tessera-node',
    label: 'tessera memory, node:http',
    framework: 'node:http',
    store: 'memory',
    bare: 'bare-node',
    lostUpdates: true,
  },
  {
    id: 'tessera-express',
    label: 'tessera memory, Express',
    framework: 'Express',
    store: 'memory',
    bare: 'bare-express',
    needsFiles: ['src/adapters/express.ts'],
    lostUpdates: true,
  },
  {
    id: 'tessera-fastify',
    label: 'tessera memory, Fastify',
    framework: 'Fastify',
    store: 'memory',
    bare: 'bare-fastify',
    needsFiles: ['src/adapters/fastify.ts'],
    lostUpdates: true,
  },
  {
    id: 'express-session',
    label: 'express-session + MemoryStore',
    framework: 'Express',
    store: 'memory',
    bare: 'bare-express',
    lostUpdates: true,
  },
  {
    id: 'fastify-session',
    label: '@fastify/session (memory)',
    framework: 'Fastify',
    store: 'memory',
    bare: 'bare-fastify',
    lostUpdates: true,
  },
  {
    id: 'koa-session',
    label: 'koa-session (cookie)',
    framework: 'Koa',
    store: 'cookie',
    bare: 'bare-koa',
  },
  {
    id: 'tessera-redis',
    label: 'tessera Redis, Express',
    framework: 'Express',
    store: 'redis',
    bare: 'bare-express',
    needsFiles: ['src/stores/redis/index.ts', 'src/adapters/express.ts'],
    needsRedis: true,
    redisCommands: true,
    lostUpdates: true,
  },
  {
    id: 'express-session-redis',
    label: 'express-session + connect-redis',
    framework: 'Express',
    store: 'redis',
    bare: 'bare-express',
    needsRedis: true,
    redisCommands: true,
    lostUpdates: true,
  },
  {
    id: 'tessera-cookie',
    label: 'tessera cookie store, node:http',
    framework: 'node:http',
    store: 'cookie',
    bare: 'bare-node',
    needsFiles: ['src/stores/cookie/index.ts'],
  },
  {
    id: 'iron-session',
    label: 'iron-session, node:http',
    framework: 'node:http',
    store: 'cookie',
    bare: 'bare-node',
  },
];

/** The kinds of traffic a contender is measured with (bare servers: one, they have no sessions). */
export function kindsOf(contender: Contender): readonly Kind[] {
  return contender.store === 'none' ? ['read'] : KINDS;
}
