/**
 * @module What the Couchbase store's parts share: the SDK's runtime pieces, the collection, the
 * document keys, the bound on each SDK call, and reading one session document whole.
 */
import type { Collection, LookupInSpec, MutateInSpec, StoreSemantics, connect } from 'couchbase';
import type { StoreRecord } from '../../core/store.js';
import { isCouchbaseError } from './errors.js';
import type { DocumentKeys } from './paths.js';
import type { CouchbaseSessionDocument, SubdocOp } from './plan.js';

/** What the store uses of the SDK's runtime: loaded on first use, so installing it stays optional. */
export interface Sdk {
  connect: typeof connect;
  LookupInSpec: typeof LookupInSpec;
  MutateInSpec: typeof MutateInSpec;
  StoreSemantics: typeof StoreSemantics;
}

/** One store's connection and settings, as its parts use them. */
export interface CouchbaseContext {
  /** The SDK and the collection, connecting on first use. */
  open: () => Promise<{ sdk: Sdk; collection: Collection }>;
  keys: DocumentKeys;
  /** Each SDK call's own timeout (ms). */
  timeout: number;
  casAttempts: number;
  /** The store's clock, in whole milliseconds. */
  now: () => number;
}

/** The whole document of session `key` with its CAS, or `undefined` when there is none. */
export async function fetchSession(
  ctx: CouchbaseContext,
  key: string,
): Promise<{ doc: CouchbaseSessionDocument; cas: unknown } | undefined> {
  const { collection } = await ctx.open();
  try {
    const got = await collection.get(ctx.keys.session(key), { timeout: ctx.timeout });
    return { doc: got.content as CouchbaseSessionDocument, cas: got.cas };
  } catch (error) {
    if (isCouchbaseError(error, 'DocumentNotFoundError')) return undefined;
    throw error;
  }
}

/** The SDK's specs for planned operations. */
export function mutateSpecs(sdk: Sdk, ops: readonly SubdocOp[]): MutateInSpec[] {
  return ops.map((op) =>
    op.kind === 'remove'
      ? sdk.MutateInSpec.remove(op.path)
      : op.kind === 'increment'
        ? sdk.MutateInSpec.increment(op.path, op.by, { createPath: true })
        : sdk.MutateInSpec.upsert(op.path, op.value, { createPath: true }),
  );
}

/** A short random pause before try `attempt` (none before the first), so racing processes fall out of step. */
export function pause(attempt: number): Promise<void> {
  return attempt === 1
    ? Promise.resolve()
    : new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 20)));
}

/** A stored document as a record. */
export function toRecord(doc: CouchbaseSessionDocument): StoreRecord {
  const record: StoreRecord = {
    data: doc.data ?? {},
    createdAt: doc.createdAt,
    expiresAt: doc.expiresAt,
  };
  if (doc.absoluteExpiresAt !== undefined) record.absoluteExpiresAt = doc.absoluteExpiresAt;
  if (doc.userId !== undefined) record.userId = doc.userId;
  if (doc.meta !== undefined) record.meta = doc.meta;
  return record;
}

/** A record as a stored document. */
export function toDocument(record: StoreRecord): CouchbaseSessionDocument {
  const { keyExpiresAt: _, ...doc } = record;
  return doc;
}
