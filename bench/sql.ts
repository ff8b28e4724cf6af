/**
 * SQL statements per request for the SQL stores (issue 7): a browser's requests through the
 * session manager, each store's driver wrapped to count what it sends. SQLite always; PostgreSQL
 * and MariaDB on the test servers (scripts/services.sh), started here when they are not running
 * and stopped again afterwards.
 *
 *   npx tsx bench/sql.ts          a table
 *   npx tsx bench/sql.ts --json   the results as JSON on the last line
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSessionManager, type Store } from '../src/index.js';
import { postgresStore } from '../src/stores/postgres/index.js';
import { mysqlStore } from '../src/stores/mysql/index.js';
import { sqliteStore } from '../src/stores/sqlite/index.js';
import { browser } from '../test/support/requests.js';
import { isListening, SERVICES } from '../test/support/services.js';
import {
  countingMysqlPool,
  countingPgClient,
  countingSqlite,
  freshTable,
  type StatementLog,
} from '../test/support/sql-helpers.js';

/** Statements per request of one store, by kind of request. */
export interface SqlStatements {
  store: string;
  perRequest?: Record<string, number>;
  skipped?: string;
}

const ROOT = new URL('..', import.meta.url).pathname;

/** The requests measured, each as a handler run against the browser's session. */
const REQUESTS: Array<[string, Parameters<ReturnType<typeof browser>['visit']>[0]]> = [
  ['new visitor, one set', (s) => s.set('cart', ['apple'])],
  ['never touches the session', () => undefined],
  ['read only', (s) => s.get('cart')],
  ['read and set', async (s) => s.set('cart', [...((await s.get('cart')) as string[]), 'pear'])],
  ['increment', (s) => s.increment('visits')],
  ['login (id renewed)', (s) => s.login('user-1')],
  ['logout', (s) => s.logout()],
];

async function measure(store: Store, log: StatementLog): Promise<Record<string, number>> {
  const manager = createSessionManager<Record<string, unknown>>({ store, gcInterval: false });
  const b = browser(manager);
  await store.get('x'.repeat(43)); // the schema is created on the first call
  const per: Record<string, number> = {};
  for (const [name, handler] of REQUESTS) {
    log.reset();
    await b.visit(handler);
    per[name] = log.statements.length;
  }
  await manager.close();
  return per;
}

/** Starts a test server with scripts/services.sh when nothing listens on its port. */
function ensure(name: string, port: number, started: string[]): Promise<string | undefined> {
  return isListening(port).then((up) => {
    if (up) return undefined;
    const run = spawnSync('bash', [`${ROOT}scripts/services.sh`, 'start', name], {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    if (run.status !== 0)
      return `could not start ${name} (scripts/services.sh start ${name}): ${run.stderr.trim().split('\n').pop() ?? ''}`;
    started.push(name);
    return undefined;
  });
}

async function sqlite(): Promise<SqlStatements> {
  const { default: Database } = await import('better-sqlite3');
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-sql-'));
  const counted = countingSqlite(new Database(join(dir, 'sessions.db')));
  try {
    return {
      store: 'sqlite',
      perRequest: await measure(sqliteStore({ client: counted.db }), counted.log),
    };
  } finally {
    counted.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgres(started: string[]): Promise<SqlStatements> {
  const problem = await ensure('postgres', 5499, started);
  if (problem) return { store: 'postgres', skipped: problem };
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: SERVICES.postgres.url });
  const table = freshTable('bench');
  try {
    const { client, log } = countingPgClient(pool);
    return { store: 'postgres', perRequest: await measure(postgresStore({ client, table }), log) };
  } finally {
    await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_schema"`);
    await pool.end();
  }
}

async function mariadb(started: string[]): Promise<SqlStatements> {
  const problem = await ensure('mariadb', 3399, started);
  if (problem) return { store: 'mysql (MariaDB)', skipped: problem };
  const { default: mysql } = await import('mysql2/promise');
  const admin = await mysql.createConnection(SERVICES.mariadb.url);
  await admin.query('CREATE DATABASE IF NOT EXISTS tessera_bench');
  await admin.end();
  const pool = mysql.createPool({
    uri: SERVICES.mariadb.url.replace(/\/mysql$/, '/tessera_bench'),
  });
  const table = freshTable('bench');
  try {
    const counted = countingMysqlPool(pool);
    const store = mysqlStore({ client: counted.pool, table });
    return { store: 'mysql (MariaDB)', perRequest: await measure(store, counted.log) };
  } finally {
    await pool.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_schema\``);
    await pool.end();
  }
}

const started: string[] = [];
const results: SqlStatements[] = [];
try {
  const runs: Array<[string, () => Promise<SqlStatements>]> = [
    ['sqlite', sqlite],
    ['postgres', () => postgres(started)],
    ['mysql (MariaDB)', () => mariadb(started)],
  ];
  for (const [store, run] of runs) {
    try {
      results.push(await run());
    } catch (error) {
      results.push({ store, skipped: (error as Error).message });
    }
  }
} finally {
  if (started.length) spawnSync('bash', [`${ROOT}scripts/services.sh`, 'stop', ...started]);
}

if (process.argv.includes('--json')) console.log(JSON.stringify(results));
else
  for (const r of results)
    console.log(r.store.padEnd(18), r.skipped ?? JSON.stringify(r.perRequest));
