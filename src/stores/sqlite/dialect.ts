/**
 * @module The SQL of the SQLite store: schema, and one statement per operation.
 *
 * Deltas are applied by json_set/json_remove inside one UPDATE (or one INSERT … ON CONFLICT for
 * creates).
 */
import type { Delta } from '../../core/store.js';
import { capExpiry } from '../../core/expiry.js';
import { freshData, jsonPath, metaJson, ownerSets, type DeltaPlan } from '../_sql/delta-plan.js';
import { RECORD_COLUMNS } from '../_sql/rows.js';
import { SQL_SCHEMA_VERSION } from '../_sql/schema.js';

/** A statement and its parameters (positional `?`). */
export interface LiteQuery {
  sql: string;
  values: unknown[];
}

/** The schema, run inside one `BEGIN IMMEDIATE` transaction. */
export function liteSchemaSql(table: string): string {
  const t = `"${table}"`;
  const v = `"${table}_schema"`;
  return `CREATE TABLE IF NOT EXISTS ${t} (
  id_hash TEXT NOT NULL PRIMARY KEY,
  data TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  absolute_expires_at INTEGER,
  user_id TEXT,
  meta TEXT
);
CREATE INDEX IF NOT EXISTS "${table}_expires_at_idx" ON ${t} (expires_at);
CREATE INDEX IF NOT EXISTS "${table}_user_id_idx" ON ${t} (user_id, created_at) WHERE user_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS "${table}_locks" (
  id_hash TEXT NOT NULL PRIMARY KEY,
  token TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ${v} (version INTEGER NOT NULL);
INSERT INTO ${v} (version) SELECT ${SQL_SCHEMA_VERSION} WHERE NOT EXISTS (SELECT 1 FROM ${v});`;
}

/** The fixed statements. Every time comparison takes "now" as a parameter (the store's clock). */
export function liteStatements(table: string) {
  const t = `"${table}"`;
  return {
    version: `SELECT max(version) AS version FROM "${table}_schema"`,
    hasTable: `SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?`,
    get: `SELECT ${RECORD_COLUMNS} FROM ${t} WHERE id_hash = ? AND expires_at > ?`,
    live: `SELECT expires_at > ? AS live FROM ${t} WHERE id_hash = ?`,
    touch: `UPDATE ${t} SET expires_at = MIN(?, COALESCE(absolute_expires_at, ?)) WHERE id_hash = ? AND expires_at > ?`,
    destroy: `DELETE FROM ${t} WHERE id_hash = ?`,
    rename: `UPDATE ${t} SET id_hash = ? WHERE id_hash = ? AND expires_at > ?`,
    byUser: `SELECT id_hash, created_at, expires_at, meta FROM ${t} WHERE user_id = ? AND expires_at > ? ORDER BY created_at, id_hash`,
    destroyByUser: `DELETE FROM ${t} WHERE user_id = ? AND id_hash IS NOT ? RETURNING expires_at`,
    count: `SELECT count(*) AS n FROM ${t} WHERE expires_at > ?`,
    scan: `SELECT id_hash FROM ${t} WHERE id_hash > ? AND expires_at > ? ORDER BY id_hash LIMIT ?`,
    gc: `DELETE FROM ${t} WHERE id_hash IN (SELECT id_hash FROM ${t} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
  };
}

/**
 * A number as SQLite should see it: better-sqlite3 binds every JS number as REAL, which would make
 * `7 + 1` come back as `8.0`; whole numbers go as BigInt, which it binds as INTEGER.
 */
export function liteNumber(n: number): number | bigint {
  return Number.isSafeInteger(n) ? BigInt(n) : n;
}

/** The new `data` of a live row, from `column`. Pushes parameters in order of appearance. */
function liveData(plan: DeltaPlan, column: string, values: unknown[]): string {
  if (plan.replace) {
    values.push(JSON.stringify(plan.set));
    return '?';
  }
  let x = column;
  if (plan.unset.length > 0) {
    x = `json_remove(${x}, ${plan.unset.map(() => '?').join(', ')})`;
    values.push(...plan.unset.map(jsonPath));
  }
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(plan.set)) {
    pairs.push('?, json(?)');
    values.push(jsonPath(key), JSON.stringify(value));
  }
  for (const [key, by] of plan.readIncr) {
    pairs.push(
      `?, (CASE WHEN json_type(${column}, ?) IN ('integer', 'real') THEN json_extract(${column}, ?) ELSE 0 END + ?)`,
    );
    const path = jsonPath(key);
    values.push(path, path, path, liteNumber(by));
  }
  return pairs.length === 0 ? x : `json_set(${x}, ${pairs.join(', ')})`;
}

/**
 * Whether every key of `plan.readIncr` holds a number or nothing in `column`: the write's guard
 * (see `_sql/refusal.ts`), or `undefined` when it needs none. Pushes its parameters.
 */
function incrGuard(plan: DeltaPlan, column: string, values: unknown[]): string | undefined {
  if (plan.readIncr.length === 0) return undefined;
  return plan.readIncr
    .map(([key]) => {
      values.push(jsonPath(key));
      return `COALESCE(json_type(${column}, ?), 'integer') IN ('integer', 'real')`;
    })
    .join(' AND ');
}

function returning(plan: DeltaPlan, values: unknown[]): string {
  if (plan.incrKeys.length === 0) return 'RETURNING 1 AS ok';
  values.push(...plan.incrKeys.map(jsonPath));
  return `RETURNING ${plan.incrKeys.map((_, i) => `json_extract(data, ?) AS c${i}`).join(', ')}`;
}

/**
 * One statement applying `delta` to the live row, or for a delta marked `create` inserting it or
 * replacing an expired one (INSERT … ON CONFLICT DO UPDATE choosing per row). Returns one row when
 * something was written, with `c0…` holding the counters; none when the row is missing or a key of
 * `plan.readIncr` holds something other than a number (the guard).
 */
export function liteWrite(
  table: string,
  key: string,
  delta: Delta,
  plan: DeltaPlan,
  expiresAt: number,
  now: number,
): LiteQuery {
  const t = `"${table}"`;
  const values: unknown[] = [];
  const exp = liteNumber(expiresAt);
  const at = liteNumber(now);
  if (!delta.create) {
    const sets = plan.touchesData ? [`data = ${liveData(plan, 'data', values)}`] : [];
    sets.push(...ownerSets(delta, values));
    sets.push('expires_at = MIN(?, COALESCE(absolute_expires_at, ?))');
    values.push(exp, exp, key, at);
    const guard = incrGuard(plan, 'data', values);
    const tail = returning(plan, values);
    return {
      sql: `UPDATE ${t} SET ${sets.join(', ')} WHERE id_hash = ? AND expires_at > ?${guard === undefined ? '' : ` AND ${guard}`} ${tail}`,
      values,
    };
  }
  const absolute = delta.absoluteExpiresAt ?? null;
  values.push(
    key,
    JSON.stringify(freshData(plan)),
    liteNumber(delta.createdAt ?? now),
    liteNumber(capExpiry(expiresAt, absolute ?? undefined)),
    absolute === null ? null : liteNumber(absolute),
    delta.userId ?? null,
    metaJson(delta.meta),
  );
  const updates: string[] = [];
  const pick = (column: string, whenLive: (values: unknown[]) => string): void => {
    values.push(at);
    updates.push(
      `${column} = CASE WHEN s.expires_at > ? THEN ${whenLive(values)} ELSE excluded.${column} END`,
    );
  };
  pick('data', (v) => (plan.touchesData ? liveData(plan, 's.data', v) : 's.data'));
  pick('created_at', () => 's.created_at');
  pick('absolute_expires_at', () => 's.absolute_expires_at');
  pick('user_id', () => (delta.userId === undefined ? 's.user_id' : 'excluded.user_id'));
  pick('meta', () => (delta.meta === undefined ? 's.meta' : 'excluded.meta'));
  pick('expires_at', (v) => {
    v.push(exp, exp);
    return 'MIN(?, COALESCE(s.absolute_expires_at, ?))';
  });
  let where = '';
  if (plan.readIncr.length > 0) {
    values.push(at);
    where = ` WHERE s.expires_at <= ? OR (${incrGuard(plan, 's.data', values)!})`;
  }
  const tail = returning(plan, values);
  return {
    sql: `INSERT INTO ${t} AS s (id_hash, data, created_at, expires_at, absolute_expires_at, user_id, meta) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id_hash) DO UPDATE SET ${updates.join(', ')}${where} ${tail}`,
    values,
  };
}
