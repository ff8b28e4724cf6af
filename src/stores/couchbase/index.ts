/**
 * @module The Couchbase store (SDK `couchbase` 4.x, Couchbase Server 7.x): one JSON document
 * per session, expiring with the session.
 *
 * A write to a live session is a `lookupIn` of the fields it depends on and a `mutateIn` of
 * sub-document upserts, removes and counters under the CAS of that lookup (see `plan.ts`); a
 * create inserts the whole document. Each document carries the session's deadline as its expiry,
 * and reads also check the deadline by the store's clock. The user index is one document per
 * user listing its sessions (kept by sub-document writes; stale entries are dropped when read).
 * Couchbase offers no key listing without the query service, so this store has no count or scan.
 *
 * Round trips: get 1; write 2 (lookupIn + mutateIn), create 2 (lookupIn + insert), plus 1 or 2
 * when the user binding changes; touch 2; destroy 3; rename 4; lock 1 (3 over a lapsed lease);
 * unlock 2.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Collection, ConnectOptions } from 'couchbase';
import { TesseraError } from '../../core/errors.js';
import { probeStore } from '../../core/probe.js';
import type { StoreFactory } from '../../core/store-url.js';
import { systemClock, type Clock, type Store, type UserSession } from '../../core/store.js';
import { checkDuration } from '../../core/time.js';
import { withDeadline, type CallScope, type Deadline } from '../_shared/deadline.js';
import { createLanes } from '../_shared/lanes.js';
import { fetchSession, pause, toRecord, type CouchbaseContext, type Sdk } from './context.js';
import { classifyCouchbaseError, isCouchbaseError, isRace } from './errors.js';
import { couchbaseLeases } from './lease.js';
import { MAX_KEY_BYTES, documentExpiry, documentKeys } from './paths.js';
import { liveDocument } from './plan.js';
import { parseCouchbaseUrl } from './url.js';
import { couchbaseUsers } from './users.js';
import { couchbaseWrites } from './write.js';

export { classifyCouchbaseError } from './errors.js';
export { dataPath, documentExpiry, documentKeys } from './paths.js';
export type { CouchbaseSessionDocument, SubdocOp } from './plan.js';
export { parseCouchbaseUrl, type CouchbaseUrlOptions } from './url.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'couchbase';

/** Options of {@link couchbaseStore}. Pass `collection`, `cluster` or `url`. */
export interface CouchbaseStoreOptions {
  /** A ready collection for the store's documents; the store never closes its cluster. */
  collection?: Collection;
  /** A connected `Cluster` the application already has; the store never closes it. */
  cluster?: Cluster;
  /**
   * A connection string (`couchbase://host` or `couchbases://host`) when neither `collection`
   * nor `cluster` is given: the store connects and closes the connection on `close()`.
   */
  url?: string;
  /** The user name, with `url`. */
  username?: string;
  /** The password, with `url`. */
  password?: string;
  /** The bucket, with `cluster` or `url`. */
  bucket?: string;
  /** The scope, with `cluster` or `url`. @default '_default' */
  scope?: string;
  /** The collection name, with `cluster` or `url`. @default '_default' */
  collectionName?: string;
  /** Prefix of every document key the store writes. @default 'tessera:' */
  prefix?: string;
  /**
   * The bound on each call, in milliseconds: a call that takes longer rejects with
   * `STORE_TIMEOUT`. Also given to each SDK operation as its own timeout, and as the key-value
   * and connect timeouts of a connection the store opens.
   * @default 2000
   */
  timeout?: number;
  /**
   * How many times a write re-reads and retries when another writer changed the session between
   * its read and its CAS, before failing with `STORE_CONFLICT`.
   * @default 10
   */
  casAttempts?: number;
  /** The clock deciding expiry; tests pass one they can move. @default Date.now */
  clock?: Clock;
}

function driverMissing(cause: unknown): TesseraError {
  return new TesseraError(
    'CONFIG',
    'Cannot import `couchbase`. Install it (npm install couchbase).',
    { cause },
  );
}

async function loadSdk(): Promise<Sdk> {
  try {
    return await import('couchbase');
  } catch (cause) {
    throw driverMissing(cause);
  }
}

/**
 * Creates a Couchbase store.
 *
 * @example
 * import { connect } from 'couchbase'
 * const cluster = await connect('couchbase://127.0.0.1', { username: 'app', password: 'secret' })
 * const store = couchbaseStore({ collection: cluster.bucket('sessions').defaultCollection() })
 */
export function couchbaseStore(options: CouchbaseStoreOptions): Store {
  const prefix = options.prefix ?? 'tessera:';
  if (Buffer.byteLength(prefix) > MAX_KEY_BYTES - 46)
    throw new TesseraError(
      'CONFIG',
      `Option \`prefix\` of the couchbase store must be at most ${MAX_KEY_BYTES - 46} bytes.`,
    );
  const timeout = checkDuration('timeout', options.timeout, 2000, 'the couchbase store');
  const casAttempts = options.casAttempts ?? 10;
  if (!Number.isInteger(casAttempts) || casAttempts < 1)
    throw new TesseraError(
      'CONFIG',
      'Option `casAttempts` of the couchbase store must be a whole number of at least 1.',
    );
  if (
    options.collection === undefined &&
    options.cluster === undefined &&
    options.url === undefined
  )
    throw new TesseraError(
      'CONFIG',
      'The couchbase store needs `collection`, `cluster` or `url` (such as "couchbase://127.0.0.1").',
    );
  if (options.collection === undefined && options.bucket === undefined)
    throw new TesseraError('CONFIG', 'The couchbase store needs `bucket` with `cluster` or `url`.');
  const clock = options.clock ?? systemClock;
  const keys = documentKeys(prefix);
  let owned: Cluster | undefined;
  let isClosed = false;
  let opening: Promise<{ sdk: Sdk; collection: Collection }> | undefined;

  function open(): Promise<{ sdk: Sdk; collection: Collection }> {
    if (isClosed)
      return Promise.reject(
        new TesseraError('STORE_UNAVAILABLE', 'The couchbase store is closed.'),
      );
    opening ??= (async () => {
      const sdk = await loadSdk();
      if (options.collection !== undefined) return { sdk, collection: options.collection };
      let cluster = options.cluster;
      if (cluster === undefined) {
        const connect: ConnectOptions = {
          timeouts: { kvTimeout: timeout, connectTimeout: timeout, bootstrapTimeout: timeout },
        };
        if (options.username !== undefined) connect.username = options.username;
        if (options.password !== undefined) connect.password = options.password;
        cluster = owned = await sdk.connect(options.url!, connect);
      }
      const collection = cluster
        .bucket(options.bucket!)
        .scope(options.scope ?? '_default')
        .collection(options.collectionName ?? '_default');
      return { sdk, collection };
    })().catch((error: unknown) => {
      opening = undefined;
      throw error;
    });
    return opening;
  }

  const deadline: Deadline = {
    store: STORE_NAME,
    timeoutMs: timeout,
    setting: '`timeout`',
    classify: classifyCouchbaseError,
  };
  const run = <T>(op: string, fn: () => Promise<T>): Promise<T> => withDeadline(deadline, op, fn);
  // Calls that change one session take turns within this process, so they never lose CAS races
  // to each other; the CAS only settles races between processes.
  const lanes = createLanes();
  const inLane = <T>(op: string, key: string, fn: () => Promise<T>): Promise<T> =>
    withDeadline(deadline, op, (scope: CallScope) =>
      lanes(key, () => (scope.isAbandoned ? Promise.reject(new Error('out of time')) : fn())),
    );
  const now = (): number => Math.floor(clock.now());
  const ctx: CouchbaseContext = { open, keys, timeout, casAttempts, now };
  const fetch = (key: string) => fetchSession(ctx, key);
  const users = couchbaseUsers(ctx);
  const { addToUser, removeFromUser, sessionsOf } = users;
  const { write, touch } = couchbaseWrites(ctx, users);
  const { lock, unlock } = couchbaseLeases(ctx);

  async function destroy(key: string): Promise<void> {
    const found = await fetch(key);
    if (found === undefined) return;
    const { collection } = await open();
    try {
      await collection.remove(keys.session(key), { timeout });
    } catch (error) {
      if (!isCouchbaseError(error, 'DocumentNotFoundError')) throw error;
    }
    if (found.doc.userId !== undefined) await removeFromUser(found.doc.userId, key);
  }

  async function rename(oldKey: string, newKey: string): Promise<boolean> {
    const { collection } = await open();
    for (let attempt = 1; attempt <= casAttempts; attempt++) {
      await pause(attempt);
      const at = now();
      const found = await fetch(oldKey);
      const doc = liveDocument(found?.doc, at);
      if (found === undefined || doc === undefined) return false;
      if (doc.userId !== undefined) await addToUser(doc.userId, newKey, doc.createdAt);
      await collection.upsert(keys.session(newKey), doc, {
        expiry: documentExpiry(doc.expiresAt, at),
        timeout,
      });
      try {
        await collection.remove(keys.session(oldKey), { cas: found.cas as never, timeout });
      } catch (error) {
        if (!isRace(error)) throw error;
        // Changed or destroyed since it was read: undo the copy and read it again.
        await collection.remove(keys.session(newKey), { timeout }).catch(() => undefined);
        continue;
      }
      if (doc.userId !== undefined) await removeFromUser(doc.userId, oldKey);
      return true;
    }
    throw new TesseraError(
      'STORE_CONFLICT',
      `A couchbase rename kept meeting a session that changed under it (${casAttempts} tries). Retry the request.`,
    );
  }

  const store: Store = {
    name: STORE_NAME,
    timeoutMs: timeout,
    get: (key) =>
      run('get', async () => {
        const doc = liveDocument((await fetch(key))?.doc, now());
        return doc === undefined ? undefined : toRecord(doc);
      }),
    write: (key, delta, expiresAt) => inLane('write', key, () => write(key, delta, expiresAt)),
    touch: (key, expiresAt) => inLane('touch', key, () => touch(key, expiresAt)),
    destroy: (key) => inLane('destroy', key, () => destroy(key)),
    async close() {
      isClosed = true;
      const cluster = owned;
      owned = undefined;
      if (cluster !== undefined) await cluster.close();
    },
    // Copy, then remove the old document under the CAS it was read with (see the README).
    rename: (oldKey, newKey) => inLane('rename', oldKey, () => rename(oldKey, newKey)),
    byUser: (userId) =>
      run('byUser', async (): Promise<UserSession[]> =>
        (await sessionsOf(userId)).map(({ key, doc }) => {
          const session: UserSession = { key, createdAt: doc.createdAt, expiresAt: doc.expiresAt };
          if (doc.meta !== undefined) session.meta = doc.meta;
          return session;
        }),
      ),
    destroyByUser: (userId, exceptKey) =>
      run('destroyByUser', async () => {
        const doomed = (await sessionsOf(userId)).filter(({ key }) => key !== exceptKey);
        const { collection } = await open();
        const removed = await Promise.all(
          doomed.map(async ({ key }) => {
            try {
              await collection.remove(keys.session(key), { timeout });
            } catch (error) {
              if (isCouchbaseError(error, 'DocumentNotFoundError')) return 0;
              throw error;
            }
            await removeFromUser(userId, key);
            return 1;
          }),
        );
        return removed.reduce<number>((sum, n) => sum + n, 0);
      }),
    check: () =>
      probeStore(store, `probe_${randomBytes(30).toString('base64url')}`.slice(0, 43), clock.now()),
    // A lease document holding a token and its end (by the store's clock), expiring by itself.
    lock: (key, ttlMs) => run('lock', () => lock(key, ttlMs)),
    unlock: (key, token) => run('unlock', () => unlock(key, token)),
  };
  return store;
}

/**
 * `couchbase://` and `couchbases://` URLs for `createStore`, e.g.
 * `couchbase://app:secret@127.0.0.1/sessions?scope=web&collection=sessions&timeout=2000`
 * (the path is the bucket). Other parameters go to the SDK's connection string as they are.
 */
export const storeFromUrl: StoreFactory = async (url, options) => {
  await loadSdk();
  const parsed = parseCouchbaseUrl(options.url ?? url.href);
  const storeOptions: CouchbaseStoreOptions = { url: parsed.connection, bucket: parsed.bucket };
  if (parsed.username !== undefined) storeOptions.username = parsed.username;
  if (parsed.password !== undefined) storeOptions.password = parsed.password;
  if (parsed.scope !== undefined) storeOptions.scope = parsed.scope;
  if (parsed.collection !== undefined) storeOptions.collectionName = parsed.collection;
  if (parsed.prefix !== undefined) storeOptions.prefix = parsed.prefix;
  if (parsed.timeout !== undefined) storeOptions.timeout = parsed.timeout;
  if (parsed.casAttempts !== undefined) storeOptions.casAttempts = parsed.casAttempts;
  if (options.clock !== undefined) storeOptions.clock = options.clock;
  return couchbaseStore(storeOptions);
};
