/**
 * Every store tessera ships, opened fresh for a test on the real servers of services.md (each
 * with its own prefix or table), or skipped with the reason when its server is not up.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createStore, memoryStore, type Store } from '../../src/index.js';
import { cookieStore } from '../../src/stores/cookie/index.js';
import { fileStore } from '../../src/stores/file/index.js';
import { sqliteStore } from '../../src/stores/sqlite/index.js';
import { SERVICES, skipUnless } from './services.js';
import { serverUrl, skipUnlessUrl, withParam } from './url-servers.js';

export interface Backend {
  name: string;
  /** Why the store cannot be tested here, or `false`. */
  skip: string | false;
  /** A new, empty store. */
  open(): Promise<Store>;
}

const unique = (): string => randomBytes(5).toString('hex');
const MYSQL_DATABASE = 'tessera_test';
const COOKIE_SECRET = randomBytes(32).toString('base64url');

/** The stores, file-based ones under `folder`. */
export async function backends(folder: string): Promise<Backend[]> {
  return [
    {
      name: 'cookie',
      skip: false,
      open: async () => cookieStore({ secrets: [COOKIE_SECRET] }),
    },
    { name: 'memory', skip: false, open: async () => memoryStore() },
    { name: 'file', skip: false, open: async () => fileStore({ dir: join(folder, unique()) }) },
    {
      name: 'sqlite',
      skip: false,
      open: async () => sqliteStore({ path: join(folder, `${unique()}.db`) }),
    },
    {
      name: 'redis',
      skip: await skipUnless('Redis', SERVICES.redis.port),
      open: () => createStore(`redis://127.0.0.1:${SERVICES.redis.port}/0?prefix=t-${unique()}:`),
    },
    {
      name: 'memcached',
      skip: await skipUnless('Memcached', SERVICES.memcached.port),
      open: () =>
        createStore(`memcached://127.0.0.1:${SERVICES.memcached.port}?prefix=t-${unique()}:`),
    },
    {
      name: 'postgres',
      skip: await skipUnless('PostgreSQL', 5499),
      open: () => createStore(`${SERVICES.postgres.url}?table=t_${unique()}`),
    },
    {
      name: 'mysql',
      skip: await skipUnless('MariaDB', 3399),
      open: async () => {
        const mysql = await import('mysql2/promise');
        const admin = await mysql.createConnection(SERVICES.mariadb.url);
        await admin.query(`CREATE DATABASE IF NOT EXISTS ${MYSQL_DATABASE}`);
        await admin.end();
        const url = SERVICES.mariadb.url.replace(/\/mysql$/, `/${MYSQL_DATABASE}`);
        return createStore(`${url}?table=t_${unique()}`);
      },
    },
    {
      name: 'mongodb',
      skip: skipUnlessUrl('mongodb'),
      open: () => createStore(withParam(serverUrl('mongodb')!, 'collection', `t_${unique()}`)),
    },
    {
      name: 'couchbase',
      skip: skipUnlessUrl('couchbase'),
      open: () => createStore(withParam(serverUrl('couchbase')!, 'prefix', `t-${unique()}:`)),
    },
  ];
}
