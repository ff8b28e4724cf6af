import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/stores/registry.js';
import { sqliteStore } from '../../src/stores/sqlite/index.js';
import { newKey, runStoreContract, testClock } from '../contract/store.js';
import { countingSqlite, freshTable } from '../support/sql-helpers.js';
import { runSqlStoreSuite } from '../support/sql-suite.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'));
const shared = join(dir, 'shared.db');
const open = (path = shared, timeout = 2000): Database.Database => {
  const db = new Database(path, { timeout });
  db.pragma('journal_mode = WAL');
  return db;
};
const admin = open();
afterAll(() => {
  admin.close();
  rmSync(dir, { recursive: true, force: true });
});

runStoreContract({
  name: 'sqlite',
  create: (clock) => sqliteStore({ path: join(dir, `${freshTable('db')}.db`), clock }),
});

runSqlStoreSuite({
  name: 'sqlite',
  skip: false,
  open({ clock, table, timeout, createTable }) {
    // A database passed in keeps its own busy timeout: open it with the one the test asks for.
    const counted = countingSqlite(open(shared, timeout));
    const store = sqliteStore({
      client: counted.db,
      clock,
      table,
      ...(timeout === undefined ? {} : { timeout }),
      ...(createTable === undefined ? {} : { createTable }),
    });
    const close = store.close.bind(store);
    store.close = async () => {
      await close();
      counted.db.close();
    };
    return { store, statements: () => counted.log.statements.length, reset: counted.log.reset };
  },
  raw: async (sql) => {
    const statement = admin.prepare(sql);
    if (statement.reader) return statement.all() as Array<Record<string, unknown>>;
    statement.run();
    return [];
  },
  setVersionSql: (table, version) => `UPDATE "${table}_schema" SET version = ${version}`,
  indexedColumns: async (table) => {
    const indexes = admin.prepare(`SELECT name FROM pragma_index_list(?)`).all(table) as Array<{
      name: string;
    }>;
    return indexes.map(
      (i) =>
        (
          admin.prepare(`SELECT name FROM pragma_index_info(?) WHERE seqno = 0`).get(i.name) as {
            name: string;
          }
        ).name,
    );
  },
  drop: async (table) => {
    admin.exec(`DROP TABLE IF EXISTS "${table}"; DROP TABLE IF EXISTS "${table}_schema";`);
  },
  async lockRow() {
    const locker = open();
    locker.exec('BEGIN IMMEDIATE');
    return async () => {
      locker.exec('ROLLBACK');
      locker.close();
    };
  },
  blockedCode: 'STORE_TIMEOUT',
  expected: {
    get: 1,
    create: 2,
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

describe('sqlite store', () => {
  it('keeps leases in <table>_locks, and names that table when tables made without it lack it', async () => {
    const path = join(dir, `${freshTable('lease')}.db`);
    const table = freshTable('t');
    const first = sqliteStore({ path, table });
    const key = newKey();
    const token = await first.lock!(key, 5000);
    await first.close();
    const db = open(path);
    const row = db
      .prepare(`SELECT token, expires_at FROM "${table}_locks" WHERE id_hash = ?`)
      .get(key) as { token: string; expires_at: number } | undefined;
    expect(row?.token).toBe(token);
    expect(row!.expires_at - Date.now()).toBeGreaterThan(4000);
    db.exec(`DROP TABLE "${table}_locks"`);
    db.close();
    const old = sqliteStore({ path, table, createTable: false });
    await expect(old.lock!(key, 5000)).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining(`${table}_locks`),
    });
    await old.close();
  });

  it('needs a path or a client', () => {
    expect(() => sqliteStore({})).toThrow(/path/);
  });

  it('opens sqlite: URLs (relative, absolute, triple slash) in WAL mode, and keeps data across reopening', async () => {
    const clock = testClock();
    const file = join(dir, `${freshTable('url')}.db`);
    const key = newKey();
    const forms = [`sqlite:${relative(process.cwd(), file)}`, `sqlite:${file}`, `sqlite://${file}`];
    for (const [i, url] of forms.entries()) {
      const store = await createStore(`${url}?table=sessions_url`, { clock });
      if (i === 0)
        await store.write(key, { create: true, set: { kept: true } }, clock.now() + 60_000);
      expect((await store.get(key))?.data).toEqual({ kept: true });
      await store.close();
    }
    const check = new Database(file, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    check.close();
    await expect(createStore('sqlite://host/x.db')).rejects.toMatchObject({ code: 'CONFIG' });
    await expect(createStore(`sqlite:${file}?table=x%3B`)).rejects.toMatchObject({
      code: 'CONFIG',
    });
    await expect(
      createStore(`sqlite:${join(dir, 'missing-folder', 'x.db')}`),
    ).rejects.toMatchObject({ code: 'CONFIG' });
  });
});
