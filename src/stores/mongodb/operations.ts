/**
 * @module The MongoDB store's reads, writes and renames of session documents.
 *
 * A write is one `findOneAndUpdate` (see `update.ts`); a write that matches nothing while it
 * carries an increment guard is read once to tell a missing record from a refused increment
 * (`_sql/refusal.ts`). A rename copies the document, then deletes the old one only if its `rev`
 * is unchanged, undoing the copy and starting again when a change slipped in between.
 */
import type { Collection } from 'mongodb';
import { TesseraError } from '../../core/errors.js';
import type { Delta, StoreRecord, WriteResult } from '../../core/store.js';
import { planDelta } from '../_sql/delta-plan.js';
import { writeGuarded } from '../_sql/refusal.js';
import { isDuplicateKey } from './errors.js';
import {
  liveFilter,
  toRecord,
  writeFilter,
  writeOutcome,
  writePipeline,
  writeProjection,
  type MongoSessionDocument,
} from './update.js';

/** Tries of a rename whose record changed between its copy and its delete. */
const RENAME_ATTEMPTS = 3;

/** The document operations of one store. */
export interface MongoOperations {
  /** The live record of `key` at `at`, or `undefined`. */
  readLive: (key: string, at: number) => Promise<StoreRecord | undefined>;
  /** Applies `delta` as seen at `at` (see the module comment). */
  write: (key: string, delta: Delta, expiresAt: number, at: number) => Promise<WriteResult>;
  /** Moves the live record of `oldKey` to `newKey`; `false` when there is none at `at`. */
  rename: (oldKey: string, newKey: string, at: number) => Promise<boolean>;
}

/** Operations on the collection `sessions` gives, sending `maxTimeMS` with each command. */
export function mongoOperations(
  sessions: () => Promise<Collection<MongoSessionDocument>>,
  maxTimeMS: number,
): MongoOperations {
  async function readLive(key: string, at: number): Promise<StoreRecord | undefined> {
    const doc = await (await sessions()).findOne(liveFilter(key, at), { maxTimeMS });
    return doc === null ? undefined : toRecord(doc);
  }

  async function write(
    key: string,
    delta: Delta,
    expiresAt: number,
    at: number,
  ): Promise<WriteResult> {
    const plan = planDelta(delta);
    const until = Math.floor(expiresAt);
    const collection = await sessions();
    const filter = writeFilter(key, delta, plan, at);
    const pipeline = writePipeline(delta, plan, until, at);
    const projection = writeProjection(plan);
    return writeGuarded({
      plan,
      delta,
      expiresAt: until,
      now: at,
      async write() {
        // Two creates of one key at once: the server retries a plain `_id` upsert that lost the
        // insert race, but not one with a guard; the guarded one reports a miss and is explained.
        for (let attempt = 1; ; attempt++) {
          try {
            const result = await collection.findOneAndUpdate(filter, pipeline, {
              upsert: delta.create === true,
              returnDocument: 'before',
              projection,
              includeResultMetadata: true,
              maxTimeMS,
            });
            const matched = Number(result.lastErrorObject?.['n'] ?? 0) > 0;
            if (!matched) return undefined;
            return writeOutcome(result.value ?? undefined, plan, at);
          } catch (error) {
            if (!isDuplicateKey(error)) throw error;
            if (plan.readIncr.length > 0) return undefined;
            if (attempt >= 3) throw error;
          }
        }
      },
      read: () => readLive(key, at),
    });
  }

  async function rename(oldKey: string, newKey: string, at: number): Promise<boolean> {
    const collection = await sessions();
    for (let attempt = 1; attempt <= RENAME_ATTEMPTS; attempt++) {
      const doc = await collection.findOne(liveFilter(oldKey, at), { maxTimeMS });
      if (doc === null) return false;
      const { _id, ...copy } = doc;
      await collection.replaceOne({ _id: newKey }, copy, { upsert: true, maxTimeMS });
      const removed = await collection.deleteOne({ _id: oldKey, rev: doc.rev }, { maxTimeMS });
      if (removed.deletedCount === 1) return true;
      // The old record was written, touched or destroyed since it was read: undo the copy and
      // read it again, so no change made meanwhile is lost.
      await collection.deleteOne({ _id: newKey }, { maxTimeMS });
    }
    throw new TesseraError(
      'STORE_CONFLICT',
      `A rename kept meeting a session that changed under it (${RENAME_ATTEMPTS} tries). Retry the request.`,
    );
  }

  return { readLive, write, rename };
}
