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
import { systemClock, type Clock, type Store } from '../../core/store.js';
import { checkDuration } from '../../core/time.js';
import { withDeadline, type Deadline } from '../_shared/deadline.js';
import { classifyMongoError } from './errors.js';
import { mongoLeases } from './lease.js';
import { mongoOperations } from './operations.js';
import {
  liveFilter,
  toUserSession,
  touchPipeline,
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

  const ops = mongoOperations(sessions, maxTimeMS);
  const readLive = ops.readLive;

  const store: Store = {
    name: STORE_NAME,
    timeoutMs,
    get: (key) => run('get', () => readLive(key, now())),
    write: (key, delta, expiresAt) => run('write', () => ops.write(key, delta, expiresAt, now())),
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
    rename: (oldKey, newKey) => run('rename', () => ops.rename(oldKey, newKey, now())),
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
