/**
 * @module Reading a Redis store URL: its servers, credentials and database, and its query string.
 */
import { TesseraError } from '../../core/errors.js';
import { redact } from '../../core/store-url.js';
import { checkDuration } from '../../core/time.js';
import { checkUrlParams, numberParam } from '../_shared/url-params.js';

/** Where and how to connect, as read from a URL. */
export interface RedisTarget {
  mode: 'single' | 'sentinel' | 'cluster';
  /** Servers (single: one), sentinels or cluster seed nodes. */
  hosts: { host: string; port: number }[];
  isTls: boolean;
  username?: string;
  password?: string;
  /** Logical database (single and Sentinel). */
  db?: number;
  /** Sentinel: the master's name. */
  masterName?: string;
  /** Sentinel: the sentinels' own password. */
  sentinelPassword?: string;
}

/** The library used to create a client. */
export type RedisDriver = 'ioredis' | 'redis';

const DEFAULT_PORT = { single: 6379, sentinel: 26379, cluster: 6379 } as const;

/** Reads the host list, credentials and database of a `redis:`, `rediss:`, `redis+sentinel:` or `redis+cluster:` URL. */
export function parseRedisTarget(url: URL, hosts: readonly string[]): RedisTarget {
  const scheme = url.protocol.slice(0, -1);
  const mode =
    scheme === 'redis+sentinel' ? 'sentinel' : scheme === 'redis+cluster' ? 'cluster' : 'single';
  const bad = (what: string): TesseraError =>
    new TesseraError('CONFIG', `Redis URL ${JSON.stringify(redact(url.href))}: ${what}.`);
  const list = hosts.length > 0 ? hosts : [url.host];
  if (mode === 'single' && list.length > 1)
    throw bad(
      'a redis:// URL names one server; use redis+sentinel:// or redis+cluster:// for several',
    );
  const target: RedisTarget = {
    mode,
    hosts: list.map((entry) => {
      const match = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(entry);
      if (!match || match[1] === '') throw bad(`"${entry}" is not host[:port]`);
      return {
        host: match[1]!.replace(/^\[|\]$/g, ''),
        port: match[2] === undefined ? DEFAULT_PORT[mode] : Number(match[2]),
      };
    }),
    isTls: scheme === 'rediss' || url.searchParams.get('tls') === 'true',
  };
  if (url.username !== '') target.username = decodeURIComponent(url.username);
  if (url.password !== '') target.password = decodeURIComponent(url.password);
  const segments = url.pathname.split('/').filter((s) => s !== '');
  if (mode === 'sentinel') {
    const name = segments.shift();
    if (name === undefined)
      throw bad(
        'name the master after the sentinels, as in redis+sentinel://host:26379,host:26380/mymaster',
      );
    target.masterName = decodeURIComponent(name);
    const sentinelPassword = url.searchParams.get('sentinelPassword');
    if (sentinelPassword !== null) target.sentinelPassword = sentinelPassword;
  }
  const db = url.searchParams.get('db') ?? segments.shift();
  if (db !== undefined && db !== null) {
    if (mode === 'cluster') throw bad('a cluster has no numbered databases; drop the database');
    if (!/^\d+$/.test(db)) throw bad(`database "${db}" is not a number`);
    target.db = Number(db);
  }
  if (segments.length > 0) throw bad(`unexpected path "${url.pathname}"`);
  return target;
}

/** What a store URL says besides where to connect. */
export interface RedisUrlSettings {
  target: RedisTarget;
  prefix?: string;
  commandTimeout?: number;
  connectTimeout?: number;
  driver?: RedisDriver;
}

const URL_PARAMS = [
  'prefix',
  'timeout',
  'connectTimeout',
  'client',
  'db',
  'tls',
  'sentinelPassword',
];

/** Reads a redis store URL: its target and the query parameters of {@link URL_PARAMS}. */
export function readRedisUrl(url: URL, hosts: readonly string[]): RedisUrlSettings {
  checkUrlParams(url, URL_PARAMS, 'redis');
  const settings: RedisUrlSettings = { target: parseRedisTarget(url, hosts) };
  const driver = url.searchParams.get('client');
  if (driver !== null) {
    if (driver !== 'ioredis' && driver !== 'redis') {
      throw new TesseraError(
        'CONFIG',
        `Parameter "client" of a redis store URL must be "ioredis" or "redis"; got "${driver}".`,
      );
    }
    settings.driver = driver;
  }
  const prefix = url.searchParams.get('prefix');
  if (prefix !== null) settings.prefix = prefix;
  const owner = 'the redis store';
  const timeout = numberParam(url, 'timeout');
  if (timeout !== undefined) settings.commandTimeout = checkDuration('timeout', timeout, 0, owner);
  const connectTimeout = numberParam(url, 'connectTimeout');
  if (connectTimeout !== undefined)
    settings.connectTimeout = checkDuration('connectTimeout', connectTimeout, 0, owner);
  return settings;
}
