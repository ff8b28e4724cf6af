/**
 * @module The options every SQL store takes, and their URL form.
 */
import { TesseraError } from '../../core/errors.js';
import type { Clock } from '../../core/store.js';
import { checkDuration } from '../../core/time.js';

/** The default table name. */
export const DEFAULT_TABLE = 'tessera_sessions';

/** The default bound on every call, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 2000;

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
  /**
   * The bound on each call, waiting for a connection included, in milliseconds: a call that takes
   * longer rejects with `STORE_TIMEOUT`. For SQLite it is the busy timeout of a file it opens.
   * @default 2000
   */
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

/** The `timeout` option of the SQL store `store`, checked, or the default. */
export function sqlTimeout(value: number | undefined, store: string): number {
  return checkDuration('timeout', value, DEFAULT_TIMEOUT_MS, `the ${store} store`);
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
