/**
 * @module The SQL of the PostgreSQL store: schema, and one statement per operation.
 *
 * Deltas are applied by `jsonb` operators inside one UPDATE (or one INSERT … ON CONFLICT for
 * creates), so concurrent writes of different keys both survive and an increment is never lost.
 */
import { createHash } from 'node:crypto';
import type { Delta } from '../../core/store.js';
import { capExpiry } from '../../core/expiry.js';
import { freshData, metaJson, type DeltaPlan } from '../_sql/delta-plan.js';
import { RECORD_COLUMNS } from '../_sql/rows.js';
import { SQL_SCHEMA_VERSION } from '../_sql/schema.js';

/** Quoted names of the store's objects. */
export interface PgNames {
  /** `"schema"."table"` or `"table"`. */
  table: string;
  /** The schema-version table. */
  version: string;
  /** The lease table (see `lease.ts`). */
  leases: string;
  schema: string | undefined;
  /** The bare table name (indexes are named after it). */
  bare: string;
  /** The NOTIFY channel of the change feed (see `feed.ts`), safe inside quotes. */
  channel: string;
}

/** The quoted names of `table` (in `schema`, when given) and its schema-version table. */
export function pgNames(table: string, schema: string | undefined): PgNames {
  const prefix = schema === undefined ? '' : `"${schema}".`;
  return {
    table: `${prefix}"${table}"`,
    version: `${prefix}"${table}_schema"`,
    leases: `${prefix}"${table}_locks"`,
    schema,
    bare: table,
    channel: pgChannel(table, schema),
  };
}

/**
 * The change feed's channel for a table: `tessera:<schema>.<table>`, or its hash when that passes
 * PostgreSQL's 63-byte limit on channel names. Identifiers are checked, so it needs no escaping.
 */
export function pgChannel(table: string, schema: string | undefined): string {
  const name = `tessera:${schema ?? ''}.${table}`;
  return name.length <= 63
    ? name
    : `tessera:${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

/**
 * The schema, as one multi-statement string: PostgreSQL runs it as one implicit transaction, and
 * an advisory lock keeps several instances starting at once from racing on `CREATE … IF NOT EXISTS`.
 */
export function pgSchemaSql(n: PgNames): string {
  const lock = createHash('sha256')
    .update(`${n.schema ?? ''}.${n.bare}`)
    .digest()
    .readInt32BE(0);
  return [
    `SELECT pg_advisory_xact_lock(1952805748, ${lock})`,
    n.schema === undefined ? '' : `CREATE SCHEMA IF NOT EXISTS "${n.schema}"`,
    `CREATE TABLE IF NOT EXISTS ${n.table} (
  id_hash text COLLATE "C" PRIMARY KEY,
  data jsonb NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  absolute_expires_at bigint,
  user_id text,
  meta jsonb
)`,
    `CREATE INDEX IF NOT EXISTS "${n.bare}_expires_at_idx" ON ${n.table} (expires_at)`,
    `CREATE INDEX IF NOT EXISTS "${n.bare}_user_id_idx" ON ${n.table} (user_id, created_at) WHERE user_id IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${n.leases} (
  id_hash text COLLATE "C" PRIMARY KEY,
  token text NOT NULL,
  expires_at bigint NOT NULL
)`,
    `CREATE TABLE IF NOT EXISTS ${n.version} (version integer NOT NULL)`,
    `INSERT INTO ${n.version} (version) SELECT ${SQL_SCHEMA_VERSION} WHERE NOT EXISTS (SELECT 1 FROM ${n.version})`,
    `SELECT max(version) AS version FROM ${n.version}`,
  ]
    .filter(Boolean)
    .join(';\n');
}

/** The fixed statements. Every time comparison takes "now" as a parameter (the store's clock). */
export function pgStatements(n: PgNames) {
  const t = n.table;
  // Every statement that writes or destroys a row notifies the feed in the same statement, so
  // no change commits without its notice (PostgreSQL delivers it at commit).
  const tell = (kind: 'w' | 'd', key: string): string =>
    `pg_notify('${n.channel}', '${kind}:' || ${key})`;
  return {
    version: `SELECT max(version) AS version FROM ${n.version}`,
    get: `SELECT ${RECORD_COLUMNS} FROM ${t} WHERE id_hash = $1 AND expires_at > $2`,
    touch: `UPDATE ${t} SET expires_at = LEAST($2::bigint, COALESCE(absolute_expires_at, $2::bigint)) WHERE id_hash = $1 AND expires_at > $3`,
    destroy: `WITH gone AS (DELETE FROM ${t} WHERE id_hash = $1 RETURNING id_hash) SELECT ${tell('d', 'id_hash')} FROM gone`,
    rename: `WITH moved AS (UPDATE ${t} SET id_hash = $2 WHERE id_hash = $1 AND expires_at > $3 RETURNING id_hash)
SELECT ${tell('d', '$1::text')}, ${tell('w', 'id_hash')} FROM moved`,
    byUser: `SELECT id_hash, created_at, expires_at, meta FROM ${t} WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, id_hash`,
    destroyByUser: `WITH gone AS (DELETE FROM ${t} WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2 RETURNING id_hash, expires_at),
told AS (SELECT ${tell('d', 'id_hash')} FROM gone)
SELECT count(*) FILTER (WHERE expires_at > $3)::int AS n, (SELECT count(*) FROM told) AS told FROM gone`,
    count: `SELECT count(*)::int AS n FROM ${t} WHERE expires_at > $1`,
    scan: `SELECT id_hash FROM ${t} WHERE id_hash > $1 AND expires_at > $2 ORDER BY id_hash LIMIT $3`,
    // SKIP LOCKED: instances collecting at once take disjoint rows and never wait on each other,
    // nor on a request that is re-creating one of these rows.
    gc: `DELETE FROM ${t} WHERE id_hash IN (SELECT id_hash FROM ${t} WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  };
}

/** The feed's notice of a write of the row `$1` (one per row the write returns). */
const notifyWrite = (n: PgNames): string =>
  `pg_notify('${n.channel}', 'w:' || $1::text) AS notified`;

/** A statement and its parameters. */
export interface PgQuery {
  text: string;
  values: unknown[];
}

function numberOf(json: string): string {
  return `COALESCE(CASE WHEN jsonb_typeof(${json}) = 'number' THEN (${json})::numeric END, 0)`;
}

/** The new `data` of a live row, computed from `column` in SQL. */
function liveData(plan: DeltaPlan, column: string, p: (value: unknown) => string): string {
  let x = column;
  if (plan.replace) x = `${p(JSON.stringify(plan.set))}::jsonb`;
  else {
    if (plan.unset.length > 0) x = `(${x} - ${p(plan.unset)}::text[])`;
    if (Object.keys(plan.set).length > 0) x = `(${x} || ${p(JSON.stringify(plan.set))}::jsonb)`;
  }
  if (plan.readIncr.length > 0) {
    // Keys the delta leaves alone: add to the stored number, read from the row being updated.
    const pairs = plan.readIncr.map(([key, by]) => {
      const k = `${p(key)}::text`;
      return `${k}, ${numberOf(`${column} -> ${k}`)} + ${p(String(by))}::numeric`;
    });
    x = `(${x} || jsonb_build_object(${pairs.join(', ')}))`;
  }
  return x;
}

/**
 * Whether every key of `plan.readIncr` holds a number or nothing in `column`: the write's guard
 * (see `_sql/refusal.ts`), or `undefined` when it needs none.
 */
function incrGuard(
  plan: DeltaPlan,
  column: string,
  p: (value: unknown) => string,
): string | undefined {
  if (plan.readIncr.length === 0) return undefined;
  return plan.readIncr
    .map(([key]) => `COALESCE(jsonb_typeof(${column} -> ${p(key)}::text), 'number') = 'number'`)
    .join(' AND ');
}

function counters(plan: DeltaPlan, column: string, p: (value: unknown) => string): string {
  return plan.incrKeys.map((key, i) => `${column} -> ${p(key)}::text AS c${i}`).join(', ');
}

/**
 * One statement applying `delta` to a live row (`UPDATE … WHERE id_hash = $1 AND expires_at > now`),
 * or, for a delta marked `create`, inserting the row or replacing an expired one
 * (`INSERT … ON CONFLICT DO UPDATE` choosing per row whether the old one was live).
 * Returns one row when something was written, with `c0…` holding the counters; none when the row
 * is missing or a key of `plan.readIncr` holds something other than a number (the guard).
 */
export function pgWrite(
  n: PgNames,
  key: string,
  delta: Delta,
  plan: DeltaPlan,
  expiresAt: number,
  now: number,
): PgQuery {
  const values: unknown[] = [key];
  const p = (value: unknown): string => `$${values.push(value)}`;
  const $now = p(now);
  const $exp = p(expiresAt);
  if (!delta.create) {
    const sets: string[] = [];
    if (plan.touchesData) sets.push(`data = ${liveData(plan, 'data', p)}`);
    if (delta.userId !== undefined) sets.push(`user_id = ${p(delta.userId)}::text`);
    if (delta.meta !== undefined) sets.push(`meta = ${p(metaJson(delta.meta))}::jsonb`);
    sets.push(
      `expires_at = LEAST(${$exp}::bigint, COALESCE(absolute_expires_at, ${$exp}::bigint))`,
    );
    const returning = plan.incrKeys.length > 0 ? counters(plan, 'data', p) : '1 AS ok';
    const guard = incrGuard(plan, 'data', p);
    return {
      text: `WITH w AS (UPDATE ${n.table} SET ${sets.join(', ')} WHERE id_hash = $1 AND expires_at > ${$now}::bigint${guard === undefined ? '' : ` AND ${guard}`} RETURNING ${returning})
SELECT w.*, ${notifyWrite(n)} FROM w`,
      values,
    };
  }
  const absolute = delta.absoluteExpiresAt ?? null;
  const live = `s.expires_at > ${$now}::bigint`;
  const pick = (whenLive: string, column: string): string =>
    `${column} = CASE WHEN ${live} THEN ${whenLive} ELSE EXCLUDED.${column} END`;
  const insertValues = [
    '$1',
    `${p(JSON.stringify(freshData(plan)))}::jsonb`,
    `${p(delta.createdAt ?? now)}::bigint`,
    `${p(capExpiry(expiresAt, absolute ?? undefined))}::bigint`,
    `${p(absolute)}::bigint`,
    `${p(delta.userId ?? null)}::text`,
    `${p(metaJson(delta.meta))}::jsonb`,
  ];
  const updates = [
    pick(plan.touchesData ? liveData(plan, 's.data', p) : 's.data', 'data'),
    pick('s.created_at', 'created_at'),
    pick('s.absolute_expires_at', 'absolute_expires_at'),
    pick(delta.userId === undefined ? 's.user_id' : 'EXCLUDED.user_id', 'user_id'),
    pick(delta.meta === undefined ? 's.meta' : 'EXCLUDED.meta', 'meta'),
    pick(`LEAST(${$exp}::bigint, COALESCE(s.absolute_expires_at, ${$exp}::bigint))`, 'expires_at'),
  ];
  const guard = incrGuard(plan, 's.data', p);
  const returning = ['(SELECT live FROM prior) AS prior_live', `s.xmax::text <> '0' AS updated`];
  if (plan.incrKeys.length > 0) returning.push(counters(plan, 's.data', p));
  return {
    text: `WITH prior AS (SELECT expires_at > ${$now}::bigint AS live FROM ${n.table} WHERE id_hash = $1),
w AS (INSERT INTO ${n.table} AS s (id_hash, data, created_at, expires_at, absolute_expires_at, user_id, meta)
VALUES (${insertValues.join(', ')})
ON CONFLICT (id_hash) DO UPDATE SET ${updates.join(', ')}${guard === undefined ? '' : `\nWHERE NOT (${live}) OR (${guard})`}
RETURNING ${returning.join(', ')})
SELECT w.*, ${notifyWrite(n)} FROM w`,
    values,
  };
}
