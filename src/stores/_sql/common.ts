/**
 * @module Helpers shared by the SQL stores (PostgreSQL, MySQL/MariaDB, SQLite): options, name
 * checks, delta planning, row decoding, bounded calls and the GC loop.
 */
import { TesseraError, isTesseraError, storeFailure } from '../../core/errors.js';
import { bounded } from '../../core/store-call.js';
import type {
  Clock,
  Delta,
  GcOptions,
  GcResult,
  JsonValue,
  SessionMeta,
  StoreRecord,
  UserSession,
} from '../../core/store.js';

/**
 * The schema version these stores create and read. Each store keeps it in a one-row table
 * `<table>_schema`, so a later release can tell what it finds and migrate it.
 */
export const SQL_SCHEMA_VERSION = 1;

/** The default table name. */
export const DEFAULT_TABLE = 'tessera_sessions';

/** The default bound on every query, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 2000;

/** The longest user id the SQL stores keep (MySQL indexes `VARCHAR(255)`). */
export const MAX_USER_ID_LENGTH = 255;

/** Options every SQL store takes. */
export interface SqlStoreOptions {
  /**
   * The table holding sessions: letters, digits and `_`, starting with a letter or `_`, at most
   * 48 characters. The store also uses `<table>_schema` for the schema version.
   * @default 'tessera_sessions'
   */
  table?: string;
  /**
   * Create the tables and indexes on first use when they are missing. Turn off when the
   * application's database user may not run DDL; then create them from the README.
   * @default true
   */
  createTable?: boolean;
  /** The clock deciding expiry; tests pass one they can move. @default Date.now */
  clock?: Clock;
  /** The bound on every query and on waiting for a connection, in milliseconds. @default 2000 */
  timeout?: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/**
 * Checks a table or schema name. Names are also quoted in SQL, but only names matching a strict
 * pattern are accepted, so no option value can ever reach SQL as code.
 */
export function checkIdentifier(value: string, option: string): string {
  if (!IDENTIFIER.test(value)) {
    throw new TesseraError(
      'CONFIG',
      `Option \`${option}\` must be 1 to 48 letters, digits or "_", starting with a letter or "_"; got ${JSON.stringify(value.slice(0, 60))}.`,
    );
  }
  return value;
}

/** Checks the `timeout` option and returns it or the default. */
export function checkTimeout(value: number | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(value) || value <= 0) {
    throw new TesseraError(
      'CONFIG',
      `Option \`timeout\` must be a positive number of milliseconds; got ${String(value)}.`,
    );
  }
  return value;
}

/**
 * A delta split into what the database must compute and what is known beforehand. Counters of
 * keys the same delta sets, unsets or replaces are computed here and folded into `set`; only
 * `readIncr` (keys the delta leaves alone) needs the stored value.
 */
export interface DeltaPlan {
  replace: boolean;
  /** Keys to remove (none when `replace`). */
  unset: string[];
  /** Keys to write, including precomputed counters. */
  set: Record<string, JsonValue>;
  /** `[key, by]` pairs added to the stored number inside the statement. */
  readIncr: Array<[string, number]>;
  /** Every key of `delta.incr`, whose value after the write is reported. */
  incrKeys: string[];
  /** Whether the data changes at all. */
  touchesData: boolean;
}

/** Validates a delta and splits it (see {@link DeltaPlan}). */
export function planDelta(delta: Delta): DeltaPlan {
  const replace = delta.replace === true;
  const set: Record<string, JsonValue> = { ...delta.set };
  const unset = replace ? [] : [...(delta.unset ?? [])].filter((key) => !Object.hasOwn(set, key));
  const removed = new Set(unset);
  const readIncr: Array<[string, number]> = [];
  const incrKeys: string[] = [];
  for (const [key, by] of Object.entries(delta.incr ?? {})) {
    if (typeof by !== 'number' || !Number.isFinite(by)) {
      throw new TesseraError('INVALID_DATA', 'An increment must be a finite number.');
    }
    incrKeys.push(key);
    if (Object.hasOwn(set, key)) {
      const before = set[key];
      set[key] = (typeof before === 'number' ? before : 0) + by;
    } else if (replace || removed.has(key)) {
      set[key] = by;
      removed.delete(key);
    } else {
      readIncr.push([key, by]);
    }
  }
  checkUserId(delta.userId);
  return {
    replace,
    unset: [...removed],
    set,
    readIncr,
    incrKeys,
    touchesData: replace || removed.size > 0 || Object.keys(set).length > 0 || readIncr.length > 0,
  };
}

/** The data of a record made from nothing by `plan` (every counter starts at 0). */
export function freshData(plan: DeltaPlan): Record<string, JsonValue> {
  const data: Record<string, JsonValue> = { ...plan.set };
  for (const [key, by] of plan.readIncr) data[key] = by;
  return data;
}

function checkUserId(userId: string | null | undefined): void {
  if (typeof userId === 'string' && (userId.length === 0 || userId.length > MAX_USER_ID_LENGTH)) {
    throw new TesseraError(
      'INVALID_DATA',
      `A user id must be 1 to ${MAX_USER_ID_LENGTH} characters long for the SQL stores.`,
    );
  }
}

/** A JSON path naming one top-level member, safe for any key (`$."k"` with JSON escapes). */
export function jsonPath(key: string): string {
  return `$.${JSON.stringify(key)}`;
}

/** A row as the SQL stores select it; drivers hand back JSON as text or parsed, numbers as text or numbers. */
export interface SessionRow {
  data: unknown;
  created_at: unknown;
  expires_at: unknown;
  absolute_expires_at: unknown;
  user_id: unknown;
  meta: unknown;
}

/** The columns a record is read from, in the order of {@link SessionRow}. */
export const RECORD_COLUMNS = 'data, created_at, expires_at, absolute_expires_at, user_id, meta';

/** A number column as a number (pg returns BIGINT as text). */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** A JSON column as a value: parsed already (jsonb, MySQL JSON) or text (MariaDB, SQLite). */
export function toJson(value: unknown): unknown {
  if (typeof value === 'string') return JSON.parse(value) as unknown;
  if (Buffer.isBuffer(value)) return JSON.parse(value.toString('utf8')) as unknown;
  return value;
}

/** Decodes a row into a record. */
export function toRecord(row: SessionRow): StoreRecord {
  const record: StoreRecord = {
    data: toJson(row.data) as StoreRecord['data'],
    createdAt: toNumber(row.created_at),
    expiresAt: toNumber(row.expires_at),
  };
  if (row.absolute_expires_at !== null && row.absolute_expires_at !== undefined)
    record.absoluteExpiresAt = toNumber(row.absolute_expires_at);
  if (typeof row.user_id === 'string') record.userId = row.user_id;
  const meta = row.meta === null || row.meta === undefined ? undefined : toJson(row.meta);
  if (meta !== undefined && meta !== null) record.meta = meta;
  return record;
}

/** Decodes a row of a user listing (`id_hash, created_at, expires_at, meta`). */
export function toUserSession(row: {
  id_hash: unknown;
  created_at: unknown;
  expires_at: unknown;
  meta: unknown;
}): UserSession {
  const session: UserSession = {
    key: String(row.id_hash),
    createdAt: toNumber(row.created_at),
    expiresAt: toNumber(row.expires_at),
  };
  const meta = row.meta === null || row.meta === undefined ? undefined : toJson(row.meta);
  if (meta !== undefined && meta !== null) session.meta = meta;
  return session;
}

/** `meta` as stored: JSON text or SQL NULL. */
export function metaJson(meta: SessionMeta | undefined): string | null {
  return meta === undefined ? null : JSON.stringify(meta);
}

/**
 * Runs one store operation within `timeoutMs`: a late answer becomes `STORE_TIMEOUT`, a driver
 * timeout too, and any other failure `STORE_UNAVAILABLE` naming the store and the operation.
 */
export function runBounded<T>(
  storeName: string,
  op: string,
  timeoutMs: number,
  run: () => Promise<T>,
): Promise<T> {
  return bounded(storeName, op, timeoutMs + 50, run).catch((error: unknown) => {
    throw toStoreError(storeName, op, timeoutMs, error);
  });
}

/** A failure as a store error: `STORE_TIMEOUT` for a driver's timeout (or SQLite's busy timeout), else `STORE_UNAVAILABLE`. */
export function toStoreError(
  storeName: string,
  op: string,
  timeoutMs: number,
  error: unknown,
): TesseraError {
  const cause =
    isTesseraError(error) && error.code === 'STORE_UNAVAILABLE' && error.cause !== undefined
      ? error.cause
      : error;
  const timedOut = isTesseraError(cause) ? cause.code === 'STORE_TIMEOUT' : isDriverTimeout(cause);
  if (isTesseraError(cause) && !timedOut) return cause;
  if (timedOut) {
    return new TesseraError(
      'STORE_TIMEOUT',
      `The ${storeName} store did not answer ${op} within ${timeoutMs} ms. Check the server's load and network, or raise \`timeout\`.`,
      { cause },
    );
  }
  return storeFailure(storeName, op, cause);
}

function isDriverTimeout(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  // pg: query_timeout ("Query read timeout"), connectionTimeoutMillis ("timeout exceeded when trying
  // to connect"), statement_timeout (57014); mysql2: per-query `timeout`.
  // better-sqlite3: SQLITE_BUSY once the busy timeout ran out.
  if (
    code === '57014' ||
    code === 'PROTOCOL_SEQUENCE_TIMEOUT' ||
    code === 'ETIMEDOUT' ||
    code === 'SQLITE_BUSY'
  )
    return true;
  return (
    typeof message === 'string' &&
    /Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout/.test(
      message,
    )
  );
}

/**
 * A once-only async step (schema creation) that is tried again on the next call when it failed,
 * so a server that was down at start-up does not leave the store broken.
 */
export function once(step: () => Promise<void>): () => Promise<void> {
  let pending: Promise<void> | undefined;
  return () => {
    pending ??= step().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/** Checks the schema version read from `<table>_schema`. */
export function checkSchemaVersion(found: unknown, table: string): void {
  if (found === null || found === undefined) {
    throw new TesseraError(
      'CONFIG',
      `Table ${table}_schema holds no schema version. Create the tables as the README shows, or let the store create them (createTable: true).`,
    );
  }
  const version = toNumber(found);
  if (version > SQL_SCHEMA_VERSION) {
    throw new TesseraError(
      'CONFIG',
      `Table ${table} has schema version ${version}, made by a newer tessera (this one knows ${SQL_SCHEMA_VERSION}). Upgrade tessera or use another table.`,
    );
  }
}

/** The message when the session table is missing and the store may not create it. */
export function missingTable(table: string, cause: unknown): TesseraError {
  return new TesseraError(
    'CONFIG',
    `Table ${table} (or ${table}_schema) does not exist and option \`createTable\` is false. Create the tables as the README shows, or set createTable: true.`,
    { cause },
  );
}

/**
 * One GC pass: calls `batch(n)` (delete at most n expired rows, return how many went) until a
 * batch comes back short (done), `limit` rows went or the time budget is spent.
 */
export async function gcLoop(
  options: GcOptions,
  batch: (size: number) => Promise<number>,
  batchSize = 500,
): Promise<GcResult> {
  const limit = options.limit ?? 10_000;
  const deadline = Date.now() + (options.budgetMs ?? 100);
  let removed = 0;
  for (;;) {
    const size = Math.min(batchSize, limit - removed);
    if (size <= 0) return { removed, done: false };
    const n = await batch(size);
    removed += n;
    if (n < size) return { removed, done: true };
    if (Date.now() >= deadline) return { removed, done: false };
  }
}

/** The error for a driver that is not installed. */
export function driverMissing(pkg: string, cause: unknown): TesseraError {
  return new TesseraError(
    'CONFIG',
    `Cannot import \`${pkg}\`. Install it (npm install ${pkg}) or pass a ready client via the \`client\` option.`,
    { cause },
  );
}

/** Reads the SQL store options common to every URL form (`table`, `createTable`, `timeout`). */
export function optionsFromUrl(url: URL): {
  table?: string;
  createTable?: boolean;
  timeout?: number;
} {
  const out: { table?: string; createTable?: boolean; timeout?: number } = {};
  const table = url.searchParams.get('table');
  if (table !== null) out.table = table;
  const create = url.searchParams.get('createTable');
  if (create !== null) {
    if (create !== 'true' && create !== 'false')
      throw new TesseraError('CONFIG', 'URL parameter `createTable` must be true or false.');
    out.createTable = create === 'true';
  }
  const timeout = url.searchParams.get('timeout');
  if (timeout !== null) out.timeout = Number(timeout);
  return out;
}

/** The URL parameters {@link optionsFromUrl} reads, to strip before handing a URL to a driver. */
export const URL_OPTION_NAMES: readonly string[] = ['table', 'createTable', 'timeout', 'schema'];
