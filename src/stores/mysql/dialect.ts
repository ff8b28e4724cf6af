/**
 * @module The SQL of the MySQL/MariaDB store: schema, and one statement per operation.
 *
 * Deltas are applied by JSON_SET/JSON_REMOVE inside one UPDATE (or one INSERT … ON DUPLICATE KEY
 * UPDATE for creates), so concurrent writes of different keys both survive.
 *
 * MySQL evaluates the assignments of an UPDATE from left to right, each seeing the columns already
 * assigned: `expires_at` is always assigned last, so every liveness test before it sees the old
 * deadline.
 */
import type { ResultSetHeader } from 'mysql2/promise';
import type { Delta } from '../../core/store.js';
import { capExpiry } from '../../core/expiry.js';
import { freshData, jsonPath, metaJson, ownerSets, type DeltaPlan } from '../_sql/delta-plan.js';
import { RECORD_COLUMNS } from '../_sql/rows.js';
import { SQL_SCHEMA_VERSION } from '../_sql/schema.js';

/** A statement and its parameters. */
export interface MyQuery {
  sql: string;
  values: unknown[];
}

/** The schema, one statement each (MySQL runs no multi-statement DDL without a flag). */
export function mySchemaSql(table: string): string[] {
  const t = `\`${table}\``;
  const v = `\`${table}_schema\``;
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (
  id_hash VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  data JSON NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  absolute_expires_at BIGINT NULL,
  user_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  meta JSON NULL,
  PRIMARY KEY (id_hash),
  KEY expires_at_idx (expires_at),
  KEY user_id_idx (user_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    `CREATE TABLE IF NOT EXISTS \`${table}_locks\` (
  id_hash VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  token VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (id_hash)
) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS ${v} (version INT NOT NULL) ENGINE=InnoDB`,
    `INSERT INTO ${v} (version) SELECT ${SQL_SCHEMA_VERSION} FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM ${v})`,
    `SELECT MAX(version) AS version FROM ${v}`,
  ];
}

/** The fixed statements. Every time comparison takes "now" as a parameter (the store's clock). */
export function myStatements(table: string) {
  const t = `\`${table}\``;
  return {
    version: `SELECT MAX(version) AS version FROM \`${table}_schema\``,
    get: `SELECT ${RECORD_COLUMNS} FROM ${t} WHERE id_hash = ? AND expires_at > ?`,
    touch: `UPDATE ${t} SET expires_at = LEAST(?, COALESCE(absolute_expires_at, ?)) WHERE id_hash = ? AND expires_at > ?`,
    destroy: `DELETE FROM ${t} WHERE id_hash = ?`,
    rename: `UPDATE ${t} SET id_hash = ? WHERE id_hash = ? AND expires_at > ?`,
    byUser: `SELECT id_hash, created_at, expires_at, meta FROM ${t} WHERE user_id = ? AND expires_at > ? ORDER BY created_at, id_hash`,
    destroyByUser: `DELETE FROM ${t} WHERE user_id = ? AND expires_at > ?`,
    destroyByUserExcept: `DELETE FROM ${t} WHERE user_id = ? AND id_hash <> ? AND expires_at > ?`,
    count: `SELECT COUNT(*) AS n FROM ${t} WHERE expires_at > ?`,
    // LIMIT takes a literal: prepared statements refuse a DOUBLE there, and mysql2 sends numbers as DOUBLE.
    scan: (limit: number) =>
      `SELECT id_hash FROM ${t} WHERE id_hash > ? AND expires_at > ? ORDER BY id_hash LIMIT ${Math.floor(limit)}`,
    gc: (limit: number) =>
      `DELETE FROM ${t} WHERE expires_at <= ? ORDER BY expires_at LIMIT ${Math.floor(limit)}`,
    counters: (keys: number) =>
      `SELECT ${Array.from({ length: keys }, (_, i) => `JSON_EXTRACT(data, ?) AS c${i}`).join(', ')} FROM ${t} WHERE id_hash = ?`,
  };
}

const NUMERIC_TYPES = `('INTEGER', 'UNSIGNED INTEGER', 'DOUBLE', 'DECIMAL')`;

/** The new `data` of a live row, from the `data` column. Pushes parameters in order of appearance. */
function liveData(plan: DeltaPlan, values: unknown[]): string {
  if (plan.replace && plan.readIncr.length === 0) {
    values.push(JSON.stringify(plan.set));
    return '?';
  }
  let x = 'data';
  if (plan.replace) {
    x = `JSON_EXTRACT(?, '$')`;
    values.push(JSON.stringify(plan.set));
  } else if (plan.unset.length > 0) {
    x = `JSON_REMOVE(${x}, ${plan.unset.map(() => '?').join(', ')})`;
    values.push(...plan.unset.map(jsonPath));
  }
  const pairs: string[] = [];
  if (!plan.replace) {
    for (const [key, value] of Object.entries(plan.set)) {
      pairs.push(`?, JSON_EXTRACT(?, '$')`);
      values.push(jsonPath(key), JSON.stringify(value));
    }
  }
  for (const [key, by] of plan.readIncr) {
    // Keys the delta leaves alone: add to the stored number, or count from 0 when missing. Any
    // other value becomes JSON null, which the store reads back as the refusal and rolls back.
    pairs.push(
      `?, CASE WHEN JSON_TYPE(JSON_EXTRACT(data, ?)) IN ${NUMERIC_TYPES} THEN JSON_EXTRACT(data, ?) + 0 + ? WHEN JSON_EXTRACT(data, ?) IS NULL THEN ? END`,
    );
    const path = jsonPath(key);
    values.push(path, path, path, by, path, by);
  }
  return pairs.length === 0 ? x : `JSON_SET(${x}, ${pairs.join(', ')})`;
}

/**
 * One statement applying `delta`: an UPDATE of the live row, or for a delta marked `create` an
 * INSERT … ON DUPLICATE KEY UPDATE that replaces an expired row and updates a live one. In the
 * latter, `LAST_INSERT_ID(expires_at > now)` makes the OK packet's insert id say whether the old
 * row was live (1) or not (0), so `existed` needs no second statement.
 */
export function myWrite(
  table: string,
  key: string,
  delta: Delta,
  plan: DeltaPlan,
  expiresAt: number,
  now: number,
): MyQuery {
  const t = `\`${table}\``;
  const values: unknown[] = [];
  if (!delta.create) {
    const sets = plan.touchesData ? [`data = ${liveData(plan, values)}`] : [];
    sets.push(...ownerSets(delta, values));
    sets.push('expires_at = LEAST(?, COALESCE(absolute_expires_at, ?))');
    values.push(expiresAt, expiresAt, key, now);
    return {
      sql: `UPDATE ${t} SET ${sets.join(', ')} WHERE id_hash = ? AND expires_at > ?`,
      values,
    };
  }
  const absolute = delta.absoluteExpiresAt ?? null;
  values.push(
    key,
    JSON.stringify(freshData(plan)),
    delta.createdAt ?? now,
    capExpiry(expiresAt, absolute ?? undefined),
    absolute,
    delta.userId ?? null,
    metaJson(delta.meta),
  );
  const updates: string[] = [];
  values.push(now);
  const live = plan.touchesData ? liveData(plan, values) : 'data';
  updates.push(`data = IF(LAST_INSERT_ID(expires_at > ?) <> 0, ${live}, VALUES(data))`);
  const keep = (column: string, whenLive: string, extra: unknown[] = []): void => {
    updates.push(`${column} = IF(expires_at > ?, ${whenLive}, VALUES(${column}))`);
    values.push(now, ...extra);
  };
  keep('created_at', 'created_at');
  keep('absolute_expires_at', 'absolute_expires_at');
  if (delta.userId === undefined) keep('user_id', 'user_id');
  else keep('user_id', '?', [delta.userId]);
  if (delta.meta === undefined) keep('meta', 'meta');
  else keep('meta', '?', [metaJson(delta.meta)]);
  keep('expires_at', 'LEAST(?, COALESCE(absolute_expires_at, ?))', [expiresAt, expiresAt]);
  return {
    sql: `INSERT INTO ${t} (id_hash, data, created_at, expires_at, absolute_expires_at, user_id, meta) VALUES (?, ?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE ${updates.join(', ')}`,
    values,
  };
}

/** Rows an UPDATE matched, whether or not the client set CLIENT_FOUND_ROWS (mysql2 does by default). */
export function rowsMatched(result: ResultSetHeader): number {
  const found = /Rows matched: (\d+)/.exec(result.info ?? '');
  return found ? Number(found[1]) : result.affectedRows;
}
