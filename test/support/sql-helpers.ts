/**
 * Helpers for the SQL store tests: fresh table names, and clients that count the statements a
 * store sends, so tests can assert "one statement per operation".
 */
import { randomBytes } from 'node:crypto';
import type { Pool, QueryResult } from 'pg';
import type { Pool as MysqlPool } from 'mysql2/promise';
import type { Database as SqliteDatabase } from 'better-sqlite3';

/** A table name no other test uses. */
export const freshTable = (prefix = 't'): string => `${prefix}_${randomBytes(6).toString('hex')}`;

/** Statements sent through a counting client, newest last. */
export interface StatementLog {
  statements: string[];
  reset(): void;
}

/** A `pg` pool wrapper that records each statement the store sends. */
export function countingPgClient(pool: Pool): {
  client: Pick<Pool, 'query'> & { waitingCount: number };
  log: StatementLog;
} {
  const statements: string[] = [];
  const client = {
    get waitingCount() {
      return pool.waitingCount;
    },
    query(text: string, values?: unknown[]): Promise<QueryResult> {
      statements.push(text);
      return pool.query(text, values);
    },
  } as unknown as Pick<Pool, 'query'> & { waitingCount: number };
  return { client, log: { statements, reset: () => void statements.splice(0) } };
}

/** Wraps a mysql2 promise pool so every statement it runs (on the pool or a connection taken from it) is recorded. */
export function countingMysqlPool(pool: MysqlPool): { pool: MysqlPool; log: StatementLog } {
  const statements: string[] = [];
  const record = (sql: unknown): void =>
    void statements.push(typeof sql === 'string' ? sql : String((sql as { sql?: unknown }).sql));
  const wrapConnection = <C extends object>(conn: C): C =>
    new Proxy(conn, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if ((prop === 'query' || prop === 'execute') && typeof value === 'function') {
          return (sql: unknown, values?: unknown) => {
            record(sql);
            return (value as (s: unknown, v?: unknown) => unknown).call(target, sql, values);
          };
        }
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  const wrapped = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'getConnection') {
        return async () => wrapConnection(await target.getConnection());
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      if ((prop === 'query' || prop === 'execute') && typeof value === 'function') {
        return (sql: unknown, values?: unknown) => {
          record(sql);
          return (value as (s: unknown, v?: unknown) => unknown).call(target, sql, values);
        };
      }
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
  return { pool: wrapped, log: { statements, reset: () => void statements.splice(0) } };
}

/** A better-sqlite3 database wrapper that counts each execution of a prepared statement. */
export function countingSqlite(db: SqliteDatabase): { db: SqliteDatabase; log: StatementLog } {
  const statements: string[] = [];
  const wrapStatement = (statement: object, text: string): object =>
    new Proxy(statement, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        if (prop === 'run' || prop === 'get' || prop === 'all' || prop === 'iterate') {
          return (...args: unknown[]) => {
            statements.push(text);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
  const wrapped = new Proxy(db, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (prop === 'prepare') return (text: string) => wrapStatement(target.prepare(text), text);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
  return { db: wrapped, log: { statements, reset: () => void statements.splice(0) } };
}
