/**
 * @module The Couchbase store's user index: one document per user, `<prefix>u:<sha256(userId)>`,
 * mapping each of its session keys to the session's creation time.
 *
 * Entries are added and removed by sub-document writes, each touching one entry, so no CAS is
 * needed. A session is added to its user's list before it is bound and removed after it is
 * unbound or destroyed, so a live session is never missing from its list; entries of sessions
 * that are gone or bound elsewhere are dropped when the list is read.
 */
import { isCouchbaseError } from './errors.js';
import { fetchSession, type CouchbaseContext } from './context.js';
import { liveDocument, type CouchbaseSessionDocument } from './plan.js';
import { userEntryPath } from './paths.js';

/** The user index of one store. */
export interface CouchbaseUsers {
  addToUser: (userId: string, key: string, createdAt: number) => Promise<void>;
  removeFromUser: (userId: string, key: string) => Promise<void>;
  /** The live sessions of `userId`, oldest first. */
  sessionsOf: (userId: string) => Promise<Array<{ key: string; doc: CouchbaseSessionDocument }>>;
}

/** The user index over `ctx`. */
export function couchbaseUsers(ctx: CouchbaseContext): CouchbaseUsers {
  const { open, keys, timeout, now } = ctx;
  const fetch = (key: string) => fetchSession(ctx, key);
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

  return { addToUser, removeFromUser, sessionsOf };
}
