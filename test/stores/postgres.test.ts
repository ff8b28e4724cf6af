import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/stores/registry.js';
import type { Store } from '../../src/core/store.js';
import { postgresStore } from '../../src/stores/postgres/index.js';
import { newKey, runStoreContract, testClock } from '../contract/store.js';
import { SERVICES, skipUnless } from '../support/services.js';
import { countingPgClient, freshTable } from '../support/sql-helpers.js';
import { runSqlStoreSuite } from '../support/sql-suite.js';

const skip = await skipUnless('PostgreSQL', 5499);
const pool = new pg.Pool({ connectionString: SERVICES.postgres.url, max: 30 });
pool.on('error', () => {});
afterAll(() => pool.end());

const tables = new WeakMap<Store, string>();
const dropTable = async (table: string, schema?: string): Promise<void> => {
  const prefix = schema === undefined ? '' : `"${schema}".`;
  await pool.query(
    `DROP TABLE IF EXISTS ${prefix}"${table}", ${prefix}"${table}_schema", ${prefix}"${table}_locks"`,
  );
};

runStoreContract({
  name: 'postgres',
  skip,
  create(clock) {
    const table = freshTable('pg');
    const store = postgresStore({ client: pool, clock, table });
    tables.set(store, table);
    return store;
  },
  async dispose(store) {
    const table = tables.get(store);
    if (table) await dropTable(table);
  },
});

runSqlStoreSuite({
  name: 'postgres',
  skip,
  open({ clock, table, timeout, createTable }) {
    const { client, log } = countingPgClient(pool);
    const store = postgresStore({
      client,
      clock,
      table,
      ...(timeout === undefined ? {} : { timeout }),
      ...(createTable === undefined ? {} : { createTable }),
    });
    return { store, statements: () => log.statements.length, reset: log.reset };
  },
  raw: async (sql) => (await pool.query(sql)).rows as Array<Record<string, unknown>>,
  setVersionSql: (table, version) => `UPDATE "${table}_schema" SET version = ${version}`,
  async indexedColumns(table) {
    const { rows } = await pool.query(
      `SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] WHERE c.relname = $1`,
      [table],
    );
    return rows.map((r: { attname: string }) => r.attname);
  },
  drop: (table) => dropTable(table),
  async lockRow(table, key) {
    const client = await pool.connect();
    await client.query('BEGIN');
    await client.query(`SELECT 1 FROM "${table}" WHERE id_hash = $1 FOR UPDATE`, [key]);
    return async () => {
      await client.query('ROLLBACK');
      client.release();
    };
  },
  blockedCode: 'STORE_TIMEOUT',
  expected: {
    get: 1,
    create: 1,
    write: 1,
    increment: 1,
    incrementRefused: 2,
    incrementMissing: 2,
    touch: 1,
    rename: 1,
    destroy: 1,
  },
  report: (line) => console.log(line),
});

describe.skipIf(skip)('postgres store', () => {
  it('is made from a postgres:// URL with table and schema, in its own pool that close() ends', async () => {
    const table = freshTable('pg');
    const schema = freshTable('s');
    const clock = testClock();
    const store = await createStore(
      `${SERVICES.postgres.url}?table=${table}&schema=${schema}&timeout=1500&application_name=tessera-test`,
      { clock },
    );
    try {
      const key = newKey();
      await store.write(key, { create: true, set: { via: 'url' } }, clock.now() + 60_000);
      const { rows } = await pool.query<{ data: unknown }>(
        `SELECT data FROM "${schema}"."${table}" WHERE id_hash = $1`,
        [key],
      );
      expect(rows[0]?.data).toEqual({ via: 'url' });
      const apps = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tessera-test'`,
      );
      expect(apps.rows[0]!.n).toBeGreaterThan(0);
    } finally {
      await store.close();
      await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    }
    const after = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tessera-test'`,
    );
    expect(after.rows[0]!.n).toBe(0);
    const alias = await createStore(`postgresql://postgres@127.0.0.1:5499/postgres?table=${table}`);
    expect(alias.name).toBe('postgres');
    await alias.close();
    await expect(createStore(`${SERVICES.postgres.url}?schema=bad-name`)).rejects.toMatchObject({
      code: 'CONFIG',
    });
  });

  it('works on a single pg Client too', async () => {
    const table = freshTable('pg');
    const clock = testClock();
    const client = new pg.Client({ connectionString: SERVICES.postgres.url });
    await client.connect();
    const store = postgresStore({ client, clock, table });
    try {
      const key = newKey();
      await store.write(key, { create: true, set: { a: 1 } }, clock.now() + 60_000);
      await Promise.all([
        store.write(key, { incr: { n: 1 } }, clock.now() + 60_000),
        store.write(key, { set: { b: 2 } }, clock.now() + 60_000),
      ]);
      expect((await store.get(key))?.data).toEqual({ a: 1, b: 2, n: 1 });
      await store.close();
      expect(await client.query('SELECT 1 AS one')).toMatchObject({ rows: [{ one: 1 }] });
    } finally {
      await client.end();
      await dropTable(table);
    }
  });

  it('creates the schema once when several instances start together', async () => {
    const table = freshTable('pg');
    const clock = testClock();
    const stores = Array.from({ length: 6 }, () => postgresStore({ client: pool, clock, table }));
    try {
      await Promise.all(
        stores.map((s) => s.write(newKey(), { create: true }, clock.now() + 60_000)),
      );
      expect(await stores[0]!.count!()).toBe(6);
    } finally {
      await dropTable(table);
    }
  });

  it('refuses at once when too many calls wait for a connection', async () => {
    const table = freshTable('pg');
    const clock = testClock();
    const small = new pg.Pool({ connectionString: SERVICES.postgres.url, max: 1 });
    small.on('error', () => {});
    const store = postgresStore({ client: small, clock, table, queueLimit: 2, timeout: 1000 });
    try {
      const key = newKey();
      await store.write(key, { create: true }, clock.now() + 60_000);
      const blocker = await pool.connect();
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM "${table}" WHERE id_hash = $1 FOR UPDATE`, [key]);
      const held = store.touch(key, clock.now() + 90_000).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => store.get(key)));
      const refused = results.filter(
        (r) =>
          r.status === 'rejected' &&
          /waiting for a connection/.test(String((r.reason as Error).message)),
      );
      expect(refused.length).toBe(3);
      expect(Date.now() - started).toBeLessThan(1500);
      await blocker.query('ROLLBACK');
      blocker.release();
      await held;
    } finally {
      await small.end();
      await dropTable(table);
    }
  });

  it('says clearly that jsonb cannot hold U+0000', async () => {
    const table = freshTable('pg');
    const clock = testClock();
    const store = postgresStore({ client: pool, clock, table });
    try {
      await expect(
        store.write(newKey(), { create: true, set: { bad: 'a\u0000b' } }, clock.now() + 60_000),
      ).rejects.toMatchObject({ code: 'INVALID_DATA' });
    } finally {
      await dropTable(table);
    }
  });
});
