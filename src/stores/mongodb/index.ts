/**
 * @module The MongoDB store (driver `mongodb`, server 4.2+): one document per session.
 *
 * Each write is one `findOneAndUpdate` with an update pipeline, atomic on its document: it only
 * matches a live record unless the delta says `create` (then it upserts), caps the deadline at the
 * absolute one with `$min`, and adds increments with `$add`. A TTL index on `expiresAt` removes
 * expired records; reads also filter on the deadline, so an expired record is never returned in
 * the minute before the TTL monitor gets to it.
 *
 * Round trips: get 1; write 1 (2 when an increment meets a non-number, to report it); touch 1;
 * destroy 1; rename 3 (read, copy, guarded delete); lock 1; unlock 1.
 */
import { randomBytes } from 'node:crypto';
import type { Collection, Db, Document, MongoClient, MongoClientOptions } from 'mongodb';
import { TesseraError } from '../../core/errors.js';
import { probeStore } from '../../core/probe.js';
import type { StoreFactory } from '../../core/store-url.js';
import {
  systemClock,
  type Clock,
  type Delta,
  type Store,
  type WriteResult,
} from '../../core/store.js';
import { checkDuration } from '../../core/time.js';
import { withDeadline, type Deadline } from '../_shared/deadline.js';
import { planDelta } from '../_sql/delta-plan.js';
import { writeGuarded } from '../_sql/refusal.js';
import { classifyMongoError, isDuplicateKey } from './errors.js';
import { mongoLeases } from './lease.js';
import {
  liveFilter,
  toRecord,
  toUserSession,
  touchPipeline,
  writeFilter,
  writeOutcome,
  writePipeline,
  writeProjection,
  type MongoLeaseDocument,
  type MongoSessionDocument,
} from './update.js';
import { parseMongoUrl } from './url.js';

export { classifyMongoError } from './errors.js';
export { fieldName, keyOfField } from './fields.js';
export { parseMongoUrl, type MongoUrlOptions } from './url.js';
export type { MongoLeaseDocument, MongoSessionDocument } from './update.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'mongodb';

/** The default collection name. */
export const DEFAULT_COLLECTION = 'tessera_sessions';

/** Options of {@link mongodbStore}. Pass one of `collection`, `client` or `url`. */
export interface MongodbStoreOptions {
  /**
   * A ready collection for the sessions; the store never closes its client.
   */
  collection?: Collection<MongoSessionDocument>;
  /**
   * The collection for leases (`lock`/`unlock`).
   * @default `<collection name>_locks` in the sessions' database
   */
  leases?: Collection<MongoLeaseDocument>;
  /** A `MongoClient` the application already has; the store never closes it. */
  client?: MongoClient;
  /**
   * A connection string (`mongodb://…` or `mongodb+srv://…`) when neither `collection` nor
   * `client` is given: the store makes its own client and closes it on `close()`.
   */
  url?: string;
  /** Options for the store's own client (from `url`). */
  clientOptions?: MongoClientOptions;
  /** The database, with `client` or `url`. @default the URL's database, else 'tessera' */
  database?: string;
  /** The collection name, with `client` or `url`. @default 'tessera_sessions' */
  collectionName?: string;
  /**
   * Create the TTL index on `expiresAt`, the user index on `userId` and the leases' TTL index on
   * first use. Turn off when the application's user may not create indexes; then create them as
   * the README shows (without the TTL index, expired records are never removed).
   * @default true
   */
  createIndexes?: boolean;
  /**
   * The bound on each call, in milliseconds: a call that takes longer rejects with
   * `STORE_TIMEOUT`. Also sent as `maxTimeMS` with each command (a server-side guard), and, for
   * the store's own client, as its server selection and connect timeouts.
   * @default 2000
   */
  timeout?: number;
  /** The clock deciding expiry; tests pass one they can move. @default Date.now */
  clock?: Clock;
}

/** Tries of a rename whose record changed between its copy and its delete. */
const RENAME_ATTEMPTS = 3;

function driverMissing(cause: unknown): TesseraError {
  return new TesseraError(
    'CONFIG',
    'Cannot import `mongodb`. Install it (npm install mongodb) or pass a ready `collection` or `client`.',
    { cause },
  );
}

/**
 * Creates a MongoDB store.
 *
 * @example
 * import { MongoClient } from 'mongodb'
 * const client = new MongoClient(process.env.MONGODB_URL!)
 * const sessions = createSessionManager({ store: mongodbStore({ client, database: 'app' }) })
 */
export function mongodbStore(options: MongodbStoreOptions): Store {
  const clock = options.clock ?? systemClock;
  const timeoutMs = checkDuration('timeout', options.timeout, 2000, 'the mongodb store');
  const collectionName = options.collectionName ?? DEFAULT_COLLECTION;
  if (
    !/^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/.test(collectionName) ||
    collectionName.startsWith('system.')
  )
    throw new TesseraError(
      'CONFIG',
      'Option `collectionName` of the mongodb store must be 1 to 100 letters, digits, "_", "-" or ".", start with a letter or "_", and not start with "system.".',
    );
  if (options.collection === undefined && options.client === undefined && options.url === undefined)
    throw new TesseraError(
      'CONFIG',
      'The mongodb store needs `collection`, `client` or `url` (such as "mongodb://127.0.0.1:27017/app").',
    );
  const maxTimeMS = timeoutMs;
  let owned: MongoClient | undefined;
  let isClosed = false;

  async function database(): Promise<Db> {
    if (options.client !== undefined) return options.client.db(options.database);
    let driver: { MongoClient: typeof MongoClient };
    try {
      driver = await import('mongodb');
    } catch (cause) {
      throw driverMissing(cause);
    }
    owned ??= new driver.MongoClient(options.url!, {
      serverSelectionTimeoutMS: timeoutMs,
      connectTimeoutMS: timeoutMs,
      appName: 'tessera-session',
      ...options.clientOptions,
    });
    return owned.db(options.database);
  }

  let opening:
    | Promise<{
        sessions: Collection<MongoSessionDocument>;
        leases: Collection<MongoLeaseDocument>;
      }>
    | undefined;
  function open(): Promise<{
    sessions: Collection<MongoSessionDocument>;
    leases: Collection<MongoLeaseDocument>;
  }> {
    if (isClosed)
      return Promise.reject(new TesseraError('STORE_UNAVAILABLE', 'The mongodb store is closed.'));
    opening ??= (async () => {
      const sessions =
        options.collection ?? (await database()).collection<MongoSessionDocument>(collectionName);
      const leases =
        options.leases ??
        sessions.db.collection<MongoLeaseDocument>(`${sessions.collectionName}_locks`);
      if (options.createIndexes !== false) {
        await sessions.createIndexes(
          [
            { key: { expiresAt: 1 }, name: 'tessera_expiry', expireAfterSeconds: 0 },
            {
              key: { userId: 1, createdAt: 1 },
              name: 'tessera_user',
              partialFilterExpression: { userId: { $exists: true } },
            },
          ],
          { maxTimeMS },
        );
        await leases.createIndex(
          { until: 1 },
          { name: 'tessera_lease_expiry', expireAfterSeconds: 0, maxTimeMS },
        );
      }
      return { sessions, leases };
    })().catch((error: unknown) => {
      opening = undefined;
      throw error;
    });
    return opening;
  }
  const sessions = async (): Promise<Collection<MongoSessionDocument>> => (await open()).sessions;

  const deadline: Deadline = {
    store: STORE_NAME,
    timeoutMs,
    setting: '`timeout`',
    classify: classifyMongoError,
  };
  const run = <T>(op: string, fn: () => Promise<T>): Promise<T> => withDeadline(deadline, op, fn);
  const now = (): number => Math.floor(clock.now());
  const leases = mongoLeases(async () => (await open()).leases, maxTimeMS);

  async function readLive(key: string, at: number) {
    const doc = await (await sessions()).findOne(liveFilter(key, at), { maxTimeMS });
    return doc === null ? undefined : toRecord(doc);
  }

  async function write(key: string, delta: Delta, expiresAt: number): Promise<WriteResult> {
    const plan = planDelta(delta);
    const at = now();
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

  async function rename(oldKey: string, newKey: string): Promise<boolean> {
    const collection = await sessions();
    for (let attempt = 1; attempt <= RENAME_ATTEMPTS; attempt++) {
      const doc = await collection.findOne(liveFilter(oldKey, now()), { maxTimeMS });
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

  const store: Store = {
    name: STORE_NAME,
    timeoutMs,
    get: (key) => run('get', () => readLive(key, now())),
    write: (key, delta, expiresAt) => run('write', () => write(key, delta, expiresAt)),
    touch: (key, expiresAt) =>
      run('touch', async () => {
        await (
          await sessions()
        ).updateOne(liveFilter(key, now()), touchPipeline(Math.floor(expiresAt)), { maxTimeMS });
      }),
    destroy: (key) =>
      run('destroy', async () => {
        await (await sessions()).deleteOne({ _id: key }, { maxTimeMS });
      }),
    async close() {
      isClosed = true;
      const client = owned;
      owned = undefined;
      if (client !== undefined) await client.close();
    },
    // Copy, then delete the old document only if it is unchanged (`rev`): see the README for
    // why this and not a transaction.
    rename: (oldKey, newKey) => run('rename', () => rename(oldKey, newKey)),
    byUser: (userId) =>
      run('byUser', async () => {
        const docs = await (
          await sessions()
        )
          .find(
            { userId, expiresAt: { $gt: new Date(now()) } },
            {
              sort: { createdAt: 1, _id: 1 },
              projection: { createdAt: 1, expiresAt: 1, meta: 1 },
              maxTimeMS,
            },
          )
          .toArray();
        return docs.map((doc) => toUserSession(doc));
      }),
    destroyByUser: (userId, exceptKey) =>
      run('destroyByUser', async () => {
        const filter: Document = { userId, expiresAt: { $gt: new Date(now()) } };
        if (exceptKey !== undefined) filter['_id'] = { $ne: exceptKey };
        return (await (await sessions()).deleteMany(filter, { maxTimeMS })).deletedCount;
      }),
    count: () =>
      run('count', async () =>
        (await sessions()).countDocuments({ expiresAt: { $gt: new Date(now()) } }, { maxTimeMS }),
      ),
    scan: (cursor, limit = 100) =>
      run('scan', async () => {
        const docs = await (
          await sessions()
        )
          .find(
            { _id: { $gt: cursor ?? '' }, expiresAt: { $gt: new Date(now()) } },
            { sort: { _id: 1 }, limit, projection: { _id: 1 }, maxTimeMS },
          )
          .toArray();
        const keys = docs.map((doc) => doc._id);
        return keys.length === limit ? { keys, cursor: keys.at(-1)! } : { keys };
      }),
    check: () =>
      probeStore(store, `probe_${randomBytes(30).toString('base64url')}`.slice(0, 43), clock.now()),
    lock: (key, ttlMs) => run('lock', () => leases.lock(key, ttlMs)),
    unlock: (key, token) => run('unlock', () => leases.unlock(key, token)),
  };
  return store;
}

/**
 * `mongodb://` and `mongodb+srv://` URLs for `createStore`, e.g.
 * `mongodb://127.0.0.1:27017/app?collection=sessions&timeout=2000&createIndexes=false`.
 * Other parameters (`replicaSet`, `authSource`, `tls`, …) go to the driver as they are.
 */
export const storeFromUrl: StoreFactory = async (url, options) => {
  try {
    await import('mongodb');
  } catch (cause) {
    throw driverMissing(cause);
  }
  const parsed = parseMongoUrl(options.url ?? url.href);
  const storeOptions: MongodbStoreOptions = { url: parsed.connection, database: parsed.database };
  if (parsed.collection !== undefined) storeOptions.collectionName = parsed.collection;
  if (parsed.timeout !== undefined) storeOptions.timeout = parsed.timeout;
  if (parsed.createIndexes !== undefined) storeOptions.createIndexes = parsed.createIndexes;
  if (options.clock !== undefined) storeOptions.clock = options.clock;
  return mongodbStore(storeOptions);
};
