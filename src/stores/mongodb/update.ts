/**
 * @module The MongoDB store's documents, filters and update pipelines: pure functions.
 *
 * One document per session, `_id` the store key. Deadlines are BSON dates, so the TTL index on
 * `expiresAt` removes a record once it passed its deadline, while every read and write also
 * filters on `expiresAt > now` (the TTL monitor runs about once a minute). Writes are update
 * pipelines (MongoDB 4.2+): one `findOneAndUpdate` per write, atomic on the one document, that
 * can read the document's own fields (the absolute deadline for the cap, the old value for an
 * increment).
 */
import type { Document } from 'mongodb';
import type { Delta, SessionMeta, StoreRecord, UserSession } from '../../core/store.js';
import type { DeltaPlan } from '../_sql/delta-plan.js';
import { dataPath, fieldName, readData, storedValue, type StoredValue } from './fields.js';

/** A session as the MongoDB store keeps it. */
export interface MongoSessionDocument {
  /** The store key: `base64url(sha256(session id))`. */
  _id: string;
  /** Session keys (escaped, see `fields.ts`) to their values. */
  data: Record<string, StoredValue>;
  createdAt: Date;
  /** The idle deadline, capped at `absoluteExpiresAt`. The TTL index is on this field. */
  expiresAt: Date;
  absoluteExpiresAt?: Date;
  userId?: string;
  meta?: SessionMeta;
  /** Bumped by every write and touch, so a rename can tell that the record changed under it. */
  rev: number;
}

/** A lease as the MongoDB store keeps it, in the `<collection>_locks` collection. */
export interface MongoLeaseDocument {
  /** The leased store key. */
  _id: string;
  token: string;
  /** When the lease ends, by the server's clock. A TTL index on it removes old leases. */
  until: Date;
}

/** A transient field of the create pipeline: whether a live record was there before. */
const LIVE = '_tesseraLive';

/** The filter of a live record at `now`. */
export function liveFilter(key: string, now: number): Document {
  return { _id: key, expiresAt: { $gt: new Date(now) } };
}

/**
 * The guard that makes a write with increments of keys the delta leaves alone match only while
 * each of those keys holds a number or nothing (see `_sql/refusal.ts` for how a miss is read).
 * Query operators, not `$expr`: MongoDB refuses `$expr` in the filter of an upsert (code 224).
 * The store keeps every value but a number as a string, so `$type: 'number'` never meets an array.
 */
export function numericGuard(plan: DeltaPlan): Document | undefined {
  if (plan.readIncr.length === 0) return undefined;
  const each = plan.readIncr.map(([key]) => ({
    $or: [{ [dataPath(key)]: { $exists: false } }, { [dataPath(key)]: { $type: 'number' } }],
  }));
  return each.length === 1 ? each[0] : { $and: each };
}

/**
 * The filter of a write. Without `create` it matches a live record only, so a write after a
 * logout or expiry matches nothing and changes nothing. With `create` it matches the key
 * whatever is there (the upsert creates a missing one); an increment guard then applies only to
 * a live record, since an expired one is replaced.
 */
export function writeFilter(key: string, delta: Delta, plan: DeltaPlan, now: number): Document {
  const guard = numericGuard(plan);
  if (delta.create !== true)
    return guard ? { ...liveFilter(key, now), ...guard } : liveFilter(key, now);
  if (guard === undefined) return { _id: key };
  return { _id: key, $or: [{ expiresAt: { $lte: new Date(now) } }, guard] };
}

/** Stages that set the deadline, capped at the stored absolute deadline, and bump `rev`. */
function deadlineStages(expiresAt: number): Document[] {
  return [
    {
      $set: {
        // `$min` ignores a missing field: with no absolute deadline, `expiresAt` is used as is.
        expiresAt: { $min: [new Date(expiresAt), '$absoluteExpiresAt'] },
        rev: { $add: [{ $ifNull: ['$rev', 0] }, 1] },
      },
    },
  ];
}

/**
 * The update pipeline of a write, in the contract's order: replace, unset, set, incr. With
 * `create`, a record that is missing or expired (by `now`) starts afresh: no data, no user, the
 * delta's creation time and absolute deadline.
 */
export function writePipeline(
  delta: Delta,
  plan: DeltaPlan,
  expiresAt: number,
  now: number,
): Document[] {
  const stages: Document[] = [];
  const empty = { $literal: {} };
  if (delta.create === true) {
    stages.push({ $set: { [LIVE]: { $gt: ['$expiresAt', new Date(now)] } } });
    const keep = (field: string, fresh: unknown): Document => ({
      $cond: [`$${LIVE}`, `$${field}`, fresh],
    });
    stages.push({
      $set: {
        data: plan.replace ? empty : keep('data', empty),
        createdAt: keep('createdAt', new Date(delta.createdAt ?? now)),
        absoluteExpiresAt: keep(
          'absoluteExpiresAt',
          delta.absoluteExpiresAt === undefined ? '$$REMOVE' : new Date(delta.absoluteExpiresAt),
        ),
        userId: keep('userId', '$$REMOVE'),
        meta: keep('meta', '$$REMOVE'),
      },
    });
  } else if (plan.replace) {
    stages.push({ $set: { data: empty } });
  }
  if (plan.unset.length > 0) stages.push({ $unset: plan.unset.map(dataPath) });
  const sets: Document = {};
  for (const [key, value] of Object.entries(plan.set))
    sets[dataPath(key)] = { $literal: storedValue(value) };
  for (const [key, by] of plan.readIncr)
    sets[dataPath(key)] = { $add: [{ $ifNull: [`$${dataPath(key)}`, 0] }, by] };
  const owner: Document = {};
  if (delta.userId !== undefined)
    owner['userId'] = delta.userId === null ? '$$REMOVE' : { $literal: delta.userId };
  if (delta.meta !== undefined) owner['meta'] = { $literal: delta.meta };
  if (Object.keys(sets).length > 0) stages.push({ $set: sets });
  if (Object.keys(owner).length > 0) stages.push({ $set: owner });
  stages.push(...deadlineStages(expiresAt));
  if (delta.create === true) stages.push({ $unset: [LIVE] });
  return stages;
}

/** The update pipeline of a touch: the deadline alone. */
export function touchPipeline(expiresAt: number): Document[] {
  return deadlineStages(expiresAt);
}

/** What a write asks back of the document as it was before: its deadline and the counters read. */
export function writeProjection(plan: DeltaPlan): Document {
  const projection: Document = { expiresAt: 1 };
  for (const [key] of plan.readIncr) projection[dataPath(key)] = 1;
  return projection;
}

/**
 * The outcome of a write from the document as it was before the update (`undefined` when the
 * upsert inserted it): whether a live record was there, and each counter's new value.
 */
export function writeOutcome(
  before: Partial<MongoSessionDocument> | undefined,
  plan: DeltaPlan,
  now: number,
): { existed: boolean; counters?: Record<string, number> } {
  const existed = before?.expiresAt !== undefined && before.expiresAt.getTime() > now;
  if (plan.incrKeys.length === 0) return { existed };
  const counters: Record<string, number> = {};
  const read = new Map(plan.readIncr);
  for (const key of plan.incrKeys) {
    const by = read.get(key);
    if (by === undefined) {
      counters[key] = plan.set[key] as number;
      continue;
    }
    const old = existed ? before?.data?.[fieldName(key)] : undefined;
    counters[key] = (typeof old === 'number' ? old : 0) + by;
  }
  return { existed, counters };
}

/** A stored document as a {@link StoreRecord}. */
export function toRecord(doc: MongoSessionDocument): StoreRecord {
  const record: StoreRecord = {
    data: readData(doc.data),
    createdAt: doc.createdAt.getTime(),
    expiresAt: doc.expiresAt.getTime(),
  };
  if (doc.absoluteExpiresAt) record.absoluteExpiresAt = doc.absoluteExpiresAt.getTime();
  if (typeof doc.userId === 'string') record.userId = doc.userId;
  if (doc.meta) record.meta = doc.meta;
  return record;
}

/** A stored document as an entry of a user's session list. */
export function toUserSession(doc: MongoSessionDocument): UserSession {
  const session: UserSession = {
    key: doc._id,
    createdAt: doc.createdAt.getTime(),
    expiresAt: doc.expiresAt.getTime(),
  };
  if (doc.meta) session.meta = doc.meta;
  return session;
}
