import { createPool as createCallbackPool } from 'mysql2';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/stores/registry.js';
import type { Store } from '../../src/core/store.js';
import { mysqlStore } from '../../src/stores/mysql/index.js';
import { newKey, runStoreContract, testClock } from '../contract/store.js';
import { SERVICES, skipUnless } from '../support/services.js';
import { countingMysqlPool, freshTable } from '../support/sql-helpers.js';
import { runSqlStoreSuite } from '../support/sql-suite.js';

const skip = await skipUnless('MariaDB', 3399);
const DATABASE = 'tessera_test';
const URL_BASE = SERVICES.mariadb.url.replace(/\/mysql$/, `/${DATABASE}`);
if (!skip) {
  const admin = await mysql.createConnection(SERVICES.mariadb.url);
  await admin.query(`CREATE DATABASE IF NOT EXISTS ${DATABASE}`);
  await admin.end();
}
const pool = mysql.createPool({ uri: URL_BASE, connectionLimit: 30, queueLimit: 1000 });
afterAll(() => pool.end());

const tables = new WeakMap<Store, string>();
const dropTable = async (table: string): Promise<void> => {
  await pool.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_schema\`, \`${table}_locks\``);
};

runStoreContract({
  name: 'mysql (MariaDB)',
  skip,
  create(clock) {
    const table = freshTable('my');
    const store = mysqlStore({ client: pool, clock, table });
    tables.set(store, table);
    return store;
  },
  async dispose(store) {
    const table = tables.get(store);
    if (table) await dropTable(table);
  },
});

runSqlStoreSuite({
  name: 'mysql (MariaDB)',
  skip,
  open({ clock, table, timeout, createTable }) {
    const counted = countingMysqlPool(pool);
    const store = mysqlStore({
      client: counted.pool,
      clock,
      table,
      ...(timeout === undefined ? {} : { timeout }),
      ...(createTable === undefined ? {} : { createTable }),
    });
    return { store, statements: () => counted.log.statements.length, reset: counted.log.reset };
  },
  raw: async (sql) => (await pool.query(sql))[0] as Array<Record<string, unknown>>,
  setVersionSql: (table, version) => `UPDATE \`${table}_schema\` SET version = ${version}`,
  async indexedColumns(table) {
    const [rows] = await pool.query(
      `SELECT column_name AS c FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND seq_in_index = 1`,
      [table],
    );
    return (rows as Array<{ c: string }>).map((r) => r.c);
  },
  drop: dropTable,
  async lockRow(table, key) {
    const connection = await pool.getConnection();
    await connection.query('START TRANSACTION');
    await connection.query(`SELECT 1 FROM \`${table}\` WHERE id_hash = ? FOR UPDATE`, [key]);
    return async () => {
      await connection.query('ROLLBACK');
      connection.release();
      // The server still runs the timed-out statement once the lock is free; let it finish first.
      await new Promise((r) => setTimeout(r, 200));
    };
  },
  blockedCode: 'STORE_TIMEOUT',
  expected: {
    get: 1,
    create: 1,
    write: 1,
    increment: 4,
    incrementRefused: 4,
    incrementMissing: 3,
    touch: 1,
    rename: 1,
    destroy: 1,
  },
  report: (line) => console.log(line),
});

describe.skipIf(skip)('mysql store', () => {
  it('is made from mysql:// and mariadb:// URLs, in its own pool that close() ends', async () => {
    const table = freshTable('my');
    const clock = testClock();
    for (const scheme of ['mysql', 'mariadb']) {
      const store = await createStore(
        `${URL_BASE.replace(/^mysql/, scheme)}?table=${table}&timeout=1500`,
        { clock },
      );
      const key = newKey();
      await store.write(key, { create: true, set: { via: scheme } }, clock.now() + 60_000);
      expect((await store.get(key))?.data).toEqual({ via: scheme });
      await store.close();
    }
    const [rows] = await pool.query(`SELECT COUNT(*) AS n FROM \`${table}\``);
    expect((rows as Array<{ n: number }>)[0]!.n).toBe(2);
    await dropTable(table);
    await expect(createStore(`${URL_BASE}?table=drop%20table`)).rejects.toMatchObject({
      code: 'CONFIG',
    });
  });

  it('costs the server one executed statement per read, write and touch (Com_* counters)', async () => {
    const table = freshTable('my');
    const clock = testClock();
    const single = mysql.createPool({ uri: URL_BASE, connectionLimit: 1 });
    const store = mysqlStore({ client: single, clock, table });
    const status = async (): Promise<Record<string, number>> => {
      const [rows] = await single.query(
        `SHOW SESSION STATUS WHERE Variable_name IN ('Com_stmt_execute', 'Com_stmt_prepare', 'Com_begin', 'Com_commit')`,
      );
      return Object.fromEntries(
        (rows as Array<{ Variable_name: string; Value: string }>).map((r) => [
          r.Variable_name,
          Number(r.Value),
        ]),
      );
    };
    try {
      const key = newKey();
      const exp = () => clock.now() + 60_000;
      const ops: Record<string, () => Promise<unknown>> = {
        get: () => store.get(key),
        write: () => store.write(key, { set: { a: 2 } }, exp()),
        touch: () => store.touch(key, exp()),
        increment: () => store.write(key, { incr: { n: 1 } }, exp()),
      };
      await store.write(key, { create: true, set: { a: 1 } }, exp());
      for (const op of Object.values(ops)) await op(); // statements are prepared once per connection
      const measured: Record<string, Record<string, number>> = {};
      for (const [name, op] of Object.entries(ops)) {
        const before = await status();
        await op();
        const after = await status();
        measured[name] = Object.fromEntries(
          Object.keys(after).map((k) => [k, after[k]! - before[k]!]),
        );
      }
      console.log(`MariaDB server counters per operation: ${JSON.stringify(measured)}`);
      for (const name of ['get', 'write', 'touch'])
        expect(measured[name]).toEqual({
          Com_stmt_execute: 1,
          Com_stmt_prepare: 0,
          Com_begin: 0,
          Com_commit: 0,
        });
      expect(measured['increment']).toEqual({
        Com_stmt_execute: 2,
        Com_stmt_prepare: 0,
        Com_begin: 1,
        Com_commit: 1,
      });
    } finally {
      await single.end();
      await dropTable(table);
    }
  });

  it('takes a callback-API mysql2 pool too, and never ends a pool it was given', async () => {
    const table = freshTable('my');
    const clock = testClock();
    const callbackPool = createCallbackPool({ uri: URL_BASE, connectionLimit: 2 });
    const store = mysqlStore({ client: callbackPool, clock, table });
    try {
      const key = newKey();
      await store.write(key, { create: true, set: { a: 1 } }, clock.now() + 60_000);
      expect((await store.write(key, { incr: { n: 2 } }, clock.now() + 60_000)).counters).toEqual({
        n: 2,
      });
      await store.close();
      const [rows] = await callbackPool.promise().query('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await callbackPool.promise().end();
      await dropTable(table);
    }
  });

  it('keeps keys case-sensitive (binary collation)', async () => {
    const table = freshTable('my');
    const clock = testClock();
    const store = mysqlStore({ client: pool, clock, table });
    try {
      const lower = 'a'.repeat(43);
      const upper = 'A'.repeat(43);
      await store.write(lower, { create: true, set: { v: 'lower' } }, clock.now() + 60_000);
      await store.write(upper, { create: true, set: { v: 'upper' } }, clock.now() + 60_000);
      expect((await store.get(lower))?.data).toEqual({ v: 'lower' });
      expect((await store.get(upper))?.data).toEqual({ v: 'upper' });
      expect(await store.count!()).toBe(2);
    } finally {
      await dropTable(table);
    }
  });

  it('refuses at once when its own pool has too many calls waiting', async () => {
    const table = freshTable('my');
    const clock = testClock();
    const store = mysqlStore({
      connection: URL_BASE,
      connectionLimit: 1,
      queueLimit: 2,
      clock,
      table,
      timeout: 1000,
    });
    try {
      const key = newKey();
      await store.write(key, { create: true }, clock.now() + 60_000);
      const blocker = await pool.getConnection();
      await blocker.query('START TRANSACTION');
      await blocker.query(`SELECT 1 FROM \`${table}\` WHERE id_hash = ? FOR UPDATE`, [key]);
      const held = store.touch(key, clock.now() + 90_000).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => store.get(key)));
      const refused = results.filter(
        (r) => r.status === 'rejected' && /Queue limit/.test(String((r.reason as Error).message)),
      );
      expect(refused.length).toBe(3);
      expect(Date.now() - started).toBeLessThan(1500);
      await blocker.query('ROLLBACK');
      blocker.release();
      await held;
    } finally {
      await store.close();
      await dropTable(table);
    }
  });
});
