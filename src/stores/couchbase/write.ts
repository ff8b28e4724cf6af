/**
 * @module The Couchbase store's writes and touches: a `lookupIn` of what the change depends on,
 * then one `mutateIn` under its CAS (see `plan.ts`), or the whole document under CAS; retried
 * when another process got in between.
 */
import { applyDelta } from '../../core/delta.js';
import { TesseraError } from '../../core/errors.js';
import { capExpiry } from '../../core/expiry.js';
import type { Delta, WriteResult } from '../../core/store.js';
import { planDelta } from '../_sql/delta-plan.js';
import { mutateSpecs, pause, toDocument, toRecord, type CouchbaseContext } from './context.js';
import { isCouchbaseError, isRace } from './errors.js';
import { documentExpiry } from './paths.js';
import { HEAD_PATHS, lookupPaths, subdocWrite, type CouchbaseSessionDocument } from './plan.js';
import type { CouchbaseUsers } from './users.js';

/** Writes and touches of one store. */
export interface CouchbaseWrites {
  write: (key: string, delta: Delta, expiresAt: number) => Promise<WriteResult>;
  touch: (key: string, expiresAt: number) => Promise<void>;
}

/** Writes and touches over `ctx`, keeping `users` in step with the bindings. */
export function couchbaseWrites(ctx: CouchbaseContext, users: CouchbaseUsers): CouchbaseWrites {
  const { open, keys, timeout, now, casAttempts } = ctx;
  const { addToUser, removeFromUser } = users;
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
        await collection.mutateIn(id, mutateSpecs(sdk, planned.ops), {
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

  return { write, touch };
}
