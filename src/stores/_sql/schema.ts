/**
 * @module The schema bookkeeping of the SQL stores: its version, a retried set-up, missing tables.
 */
import { TesseraError } from '../../core/errors.js';

/**
 * The schema version these stores create and read. Each store keeps it in a one-row table
 * `<table>_schema`, so a later release can tell what it finds and migrate it.
 */
export const SQL_SCHEMA_VERSION = 1;

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
  const version = Number(found);
  if (version > SQL_SCHEMA_VERSION) {
    throw new TesseraError(
      'CONFIG',
      `Table ${table} has schema version ${version}, made by a newer tessera (this one knows ${SQL_SCHEMA_VERSION}). Upgrade tessera or use another table.`,
    );
  }
}

/** The message when the session table is missing and the store may not create it. */
export function missingTable(table: string, cause?: unknown): TesseraError {
  return new TesseraError(
    'CONFIG',
    `Table ${table} (or ${table}_schema) does not exist and option \`createTable\` is false. Create the tables as the README shows, or set createTable: true.`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * The message when the lease table `<table>_locks` is missing: tables made by hand before leases
 * existed lack it (a store that creates its tables makes it with the others).
 */
export function missingLeaseTable(table: string, cause?: unknown): TesseraError {
  return new TesseraError(
    'CONFIG',
    `Table ${table}_locks (the leases of lock/unlock) does not exist. Create it as the README shows, or let the store create its tables (createTable: true).`,
    cause === undefined ? {} : { cause },
  );
}
