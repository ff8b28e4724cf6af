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
import { randomBytes, randomUUID } from 'node:crypto';
import type {
  Cluster,
  Collection,
  ConnectOptions,
  LookupInSpec,
  MutateInSpec,
  StoreSemantics,
  connect,
} from 'couchbase';
import { applyDelta } from '../../core/delta.js';
import { TesseraError } from '../../core/errors.js';
import { capExpiry } from '../../core/expiry.js';
import { probeStore } from '../../core/probe.js';
import type { StoreFactory } from '../../core/store-url.js';
import {
  systemClock,
  type Clock,
  type Delta,
  type Store,
  type StoreRecord,
  type UserSession,
  type WriteResult,
} from '../../core/store.js';
import { checkDuration } from '../../core/time.js';
import { withDeadline, type CallScope, type Deadline } from '../_shared/deadline.js';
import { createLanes } from '../_shared/lanes.js';
import { planDelta } from '../_sql/delta-plan.js';
import { classifyCouchbaseError, isCouchbaseError, isRace } from './errors.js';
import { MAX_KEY_BYTES, documentExpiry, documentKeys, userEntryPath } from './paths.js';
import {
  HEAD_PATHS,
  liveDocument,
  lookupPaths,
  subdocWrite,
  type CouchbaseSessionDocument,
  type SubdocOp,
} from './plan.js';
import { parseCouchbaseUrl } from './url.js';

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

/** What the store uses of the SDK's runtime: loaded on first use, so installing it stays optional. */
interface Sdk {
  connect: typeof connect;
  LookupInSpec: typeof LookupInSpec;
  MutateInSpec: typeof MutateInSpec;
  StoreSemantics: typeof StoreSemantics;
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

const toRecord = (doc: CouchbaseSessionDocument): StoreRecord => {
  const record: StoreRecord = {
    data: doc.data ?? {},
    createdAt: doc.createdAt,
    expiresAt: doc.expiresAt,
  };
  if (doc.absoluteExpiresAt !== undefined) record.absoluteExpiresAt = doc.absoluteExpiresAt;
  if (doc.userId !== undefined) record.userId = doc.userId;
  if (doc.meta !== undefined) record.meta = doc.meta;
  return record;
};

const toDocument = (record: StoreRecord): CouchbaseSessionDocument => {
  const { keyExpiresAt: _, ...doc } = record;
  return doc;
};

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
  /** A short random pause before another try, so racing processes fall out of step. */
  const pause = (attempt: number): Promise<void> =>
    attempt === 1
      ? Promise.resolve()
      : new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 20)));
  const now = (): number => Math.floor(clock.now());

  /** The whole document of `key` with its CAS, or `undefined` when there is none. */
  async function fetch(
    key: string,
  ): Promise<{ doc: CouchbaseSessionDocument; cas: unknown } | undefined> {
    const { collection } = await open();
    try {
      const got = await collection.get(keys.session(key), { timeout });
      return { doc: got.content as CouchbaseSessionDocument, cas: got.cas };
    } catch (error) {
      if (isCouchbaseError(error, 'DocumentNotFoundError')) return undefined;
      throw error;
    }
  }

  function specs(sdk: Sdk, ops: readonly SubdocOp[]): MutateInSpec[] {
    return ops.map((op) =>
      op.kind === 'remove'
        ? sdk.MutateInSpec.remove(op.path)
        : op.kind === 'increment'
          ? sdk.MutateInSpec.increment(op.path, op.by, { createPath: true })
          : sdk.MutateInSpec.upsert(op.path, op.value, { createPath: true }),
    );
  }

  async function addToUser(userId: string, key: string, createdAt: number): Promise<void> {
    const { sdk, collection } = await open();
    await collection.mutateIn(
      keys.user(userId),
      [
        sdk.MutateInSpec.upsert('userId', userId),
        sdk.MutateInSpec.upsert(userEntryPath(key), createdAt, { createPath: true }),
      ],
      { storeSemantics: sdk.StoreSemantics.Upsert, timeout },
    );
  }

  async function removeFromUser(userId: string, key: string): Promise<void> {
    const { sdk, collection } = await open();
    try {
      await collection.mutateIn(keys.user(userId), [sdk.MutateInSpec.remove(userEntryPath(key))], {
        timeout,
      });
    } catch (error) {
      if (isCouchbaseError(error, 'DocumentNotFoundError')) return;
      if (isCouchbaseError(error, 'PathNotFoundError')) return;
      throw error;
    }
  }

  /**
   * One try of a write: `undefined` when another writer got in between (retry), else the result
   * and the user bindings before and after.
   */
  async function tryWrite(
    key: string,
    delta: Delta,
    until: number,
  ): Promise<
    { result: WriteResult; before?: string | undefined; after?: string | undefined } | undefined
  > {
    const { sdk, collection } = await open();
    const plan = planDelta(delta);
    const at = now();
    const paths = lookupPaths(plan);
    const id = keys.session(key);
    // Read what the write depends on: a few paths, or the whole document.
    let looked: Map<string, unknown> | undefined;
    let whole: CouchbaseSessionDocument | undefined;
    let cas: unknown;
    try {
      if (paths !== undefined) {
        const found = await collection.lookupIn(
          id,
          paths.map((path) => sdk.LookupInSpec.get(path)),
          { timeout },
        );
        looked = new Map(paths.map((path, i) => [path, found.content[i]?.value as unknown]));
        cas = found.cas;
      } else {
        const got = await collection.get(id, { timeout });
        whole = got.content as CouchbaseSessionDocument;
        cas = got.cas;
      }
    } catch (error) {
      if (!isCouchbaseError(error, 'DocumentNotFoundError')) throw error;
    }
    const isThere = cas !== undefined;
    const expiresAtBefore = looked ? looked.get('expiresAt') : whole?.expiresAt;
    const absoluteBefore = looked ? looked.get('absoluteExpiresAt') : whole?.absoluteExpiresAt;
    const isLive =
      typeof expiresAtBefore === 'number' &&
      expiresAtBefore > at &&
      (typeof absoluteBefore !== 'number' || absoluteBefore > at);
    const userBefore = (looked ? looked.get('userId') : whole?.userId) as string | undefined;
    if (!isLive && delta.create !== true) return { result: { existed: false } };

    const userAfter =
      delta.userId === undefined ? (isLive ? userBefore : undefined) : (delta.userId ?? undefined);
    if (typeof delta.userId === 'string') {
      const createdAt = isLive
        ? ((looked ? looked.get('createdAt') : whole?.createdAt) as number)
        : (delta.createdAt ?? at);
      await addToUser(delta.userId, key, createdAt);
    }
    const bindings = { before: userBefore, after: userAfter };

    if (isLive && looked !== undefined) {
      const planned = subdocWrite(delta, plan, looked, until);
      if (planned.nonNumeric !== undefined)
        return { result: { existed: true, nonNumeric: planned.nonNumeric } };
      if (planned.ops !== undefined) {
        await collection.mutateIn(id, specs(sdk, planned.ops), {
          cas: cas as never,
          expiry: documentExpiry(planned.expiresAt, at),
          timeout,
        });
        const result: WriteResult = { existed: true };
        if (planned.counters !== undefined) result.counters = planned.counters;
        return { result, ...bindings };
      }
      // Too many specs: go by the whole document.
      const again = await collection.get(id, { timeout });
      whole = again.content as CouchbaseSessionDocument;
      cas = again.cas;
    }
    // A live record was read whole (above, or by the first read); applyDelta checks it again.
    const current = isLive && whole !== undefined ? toRecord(whole) : undefined;
    const applied = applyDelta(current, delta, until, at);
    if (applied === undefined) return { result: { existed: false } };
    if (applied.nonNumeric !== undefined)
      return { result: { existed: isLive, nonNumeric: applied.nonNumeric } };
    const doc = toDocument(applied.record);
    const expiry = documentExpiry(doc.expiresAt, at);
    if (!isThere) await collection.insert(id, doc, { expiry, timeout });
    else await collection.replace(id, doc, { cas: cas as never, expiry, timeout });
    const result: WriteResult = { existed: isLive };
    if (applied.counters !== undefined) result.counters = applied.counters;
    return { result, ...bindings };
  }

  async function write(key: string, delta: Delta, expiresAt: number): Promise<WriteResult> {
    const until = Math.floor(expiresAt);
    for (let attempt = 1; attempt <= casAttempts; attempt++) {
      await pause(attempt);
      let outcome;
      try {
        outcome = await tryWrite(key, delta, until);
      } catch (error) {
        if (isRace(error)) continue;
        throw error;
      }
      if (outcome === undefined) continue;
      if (outcome.before !== undefined && outcome.before !== outcome.after)
        await removeFromUser(outcome.before, key);
      return outcome.result;
    }
    throw new TesseraError(
      'STORE_CONFLICT',
      `A couchbase write kept losing to concurrent writers (${casAttempts} tries). Retry the request.`,
    );
  }

  async function touch(key: string, expiresAt: number): Promise<void> {
    const { sdk, collection } = await open();
    const id = keys.session(key);
    for (let attempt = 1; attempt <= casAttempts; attempt++) {
      await pause(attempt);
      const at = now();
      let found;
      try {
        found = await collection.lookupIn(
          id,
          HEAD_PATHS.slice(0, 2).map((path) => sdk.LookupInSpec.get(path)),
          { timeout },
        );
      } catch (error) {
        if (isCouchbaseError(error, 'DocumentNotFoundError')) return;
        throw error;
      }
      const before = found.content[0]?.value as unknown;
      const absolute = found.content[1]?.value as unknown;
      if (typeof before !== 'number' || before <= at) return;
      const capped = capExpiry(
        Math.floor(expiresAt),
        typeof absolute === 'number' ? absolute : undefined,
      );
      try {
        await collection.mutateIn(id, [sdk.MutateInSpec.upsert('expiresAt', capped)], {
          cas: found.cas,
          expiry: documentExpiry(capped, at),
          timeout,
        });
        return;
      } catch (error) {
        if (isRace(error)) continue;
        throw error;
      }
    }
    throw new TesseraError(
      'STORE_CONFLICT',
      `A couchbase touch kept losing to concurrent writers (${casAttempts} tries). Retry the request.`,
    );
  }

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

  /** The live sessions of `userId`, dropping index entries of sessions gone or rebound. */
  async function sessionsOf(
    userId: string,
  ): Promise<Array<{ key: string; doc: CouchbaseSessionDocument }>> {
    const { collection } = await open();
    let entries: Record<string, number>;
    try {
      const got = await collection.get(keys.user(userId), { timeout });
      entries = (got.content as { sessions?: Record<string, number> }).sessions ?? {};
    } catch (error) {
      if (isCouchbaseError(error, 'DocumentNotFoundError')) return [];
      throw error;
    }
    const at = now();
    const found = await Promise.all(
      Object.keys(entries).map(async (key) => ({
        key,
        doc: liveDocument((await fetch(key))?.doc, at),
      })),
    );
    const live = found.filter(
      (s): s is { key: string; doc: CouchbaseSessionDocument } => s.doc?.userId === userId,
    );
    const dead = found.filter((s) => s.doc?.userId !== userId);
    await Promise.all(dead.map((s) => removeFromUser(userId, s.key)));
    return live.sort((a, b) => a.doc.createdAt - b.doc.createdAt || (a.key < b.key ? -1 : 1));
  }

  async function lock(key: string, ttlMs: number): Promise<string | undefined> {
    const { collection } = await open();
    const token = randomUUID();
    const at = now();
    const lease = { token, until: at + Math.max(1, Math.ceil(ttlMs)) };
    const options = { expiry: documentExpiry(lease.until, at), timeout };
    try {
      await collection.insert(keys.lease(key), lease, options);
      return token;
    } catch (error) {
      if (!isCouchbaseError(error, 'DocumentExistsError')) throw error;
    }
    // Held, or lapsed but not yet expired by the server: take it over only if lapsed, under CAS.
    try {
      const got = await collection.get(keys.lease(key), { timeout });
      if ((got.content as { until?: number }).until! > at) return undefined;
      await collection.replace(keys.lease(key), lease, { ...options, cas: got.cas });
      return token;
    } catch (error) {
      if (isRace(error)) return undefined;
      throw error;
    }
  }

  async function unlock(key: string, token: string): Promise<boolean> {
    const { collection } = await open();
    try {
      const got = await collection.get(keys.lease(key), { timeout });
      const held = got.content as { token?: string; until?: number };
      if (held.token !== token || !(held.until! > now())) return false;
      await collection.remove(keys.lease(key), { cas: got.cas, timeout });
      return true;
    } catch (error) {
      if (isRace(error)) return false;
      throw error;
    }
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
