/**
 * @module The Redis store's operations that span hash slots in a Redis Cluster.
 *
 * There one script cannot reach both a session and its user's index, nor two sessions.
 *
 * Rename: the new key comes from a fresh random id, so it hashes to another slot than the old one
 * (no hash tag can fix that while a read stays one command on the key alone). The store copies
 * instead: snapshot the old hash, write the copy, add the copy to the user index, then delete the
 * old hash only if its version is still the one copied; if a write slipped in, it copies again.
 * Both keys hold the session during the copy, never neither, and no write to the old key is lost.
 */
import { TesseraError } from '../../core/errors.js';
import type { UserSession } from '../../core/store.js';
import type { RedisCommands } from './commands.js';
import { hashEntries, sessionKey, text, userKey, userSession } from './record.js';
import {
  DELETE_IF_VERSION,
  DESTROY_COPY,
  DESTROY_IF_USER,
  INDEX_ADD,
  INDEX_PRUNE,
  INDEX_READ,
  PUT,
  SNAPSHOT,
} from './cluster-scripts.js';

const RENAME_ATTEMPTS = 5;

/**
 * After a write, touch or destroy in a cluster: the index changes the session script reported
 * (`reply` = `{existed, index deadline, user to drop, user to add, ...}`), sent to the users' slots.
 * Most writes and touches report none (see the padded deadline in `scripts.ts`).
 */
export async function followIndex(
  c: RedisCommands,
  prefix: string,
  member: string,
  reply: readonly unknown[],
): Promise<void> {
  const deadline = text(reply[1]);
  const drop = text(reply[2]);
  const add = text(reply[3]);
  const calls: Promise<unknown>[] = [];
  if (drop !== '')
    calls.push(c.send(['ZREM', userKey(prefix, drop), member], userKey(prefix, drop)));
  if (add !== '') {
    const indexed = c
      .run(INDEX_ADD, [userKey(prefix, add)], [member, deadline])
      .catch(async (error: unknown) => {
        // The session now claims an index entry it may not have: forget the claim, so the next
        // write or touch sends it again.
        const hash = sessionKey(prefix, member);
        await c.send(['HDEL', hash, '~i'], hash).catch(() => undefined);
        throw error;
      });
    calls.push(indexed);
  }
  await Promise.all(calls);
}

/** Moves a live record from `oldKey` to `newKey` across slots (see the module comment). */
export async function renameAcrossSlots(
  c: RedisCommands,
  prefix: string,
  now: () => number,
  oldKey: string,
  newKey: string,
): Promise<boolean> {
  const from = sessionKey(prefix, oldKey);
  const to = sessionKey(prefix, newKey);
  let user = '';
  const undo = async (): Promise<void> => {
    // A copy removed again: tell the feed, so no near cache keeps it.
    await c.run(DESTROY_COPY, [to], [prefix, newKey]);
    if (user !== '') await c.send(['ZREM', userKey(prefix, user), newKey], userKey(prefix, user));
  };
  for (let attempt = 0; attempt < RENAME_ATTEMPTS; attempt++) {
    const snapshot = hashEntries(await c.run(SNAPSHOT, [from], [String(now())]));
    if (snapshot.length === 0) {
      if (attempt > 0) await undo();
      return false;
    }
    const fields = new Map(snapshot);
    const expiresAt = fields.get('~e') ?? '';
    user = fields.get('~u') ?? '';
    const replaced = text(await c.run(PUT, [to], [prefix, newKey, expiresAt, ...snapshot.flat()]));
    if (replaced !== '' && replaced !== user)
      await c.send(['ZREM', userKey(prefix, replaced), newKey], userKey(prefix, replaced));
    if (user !== '')
      await c.run(INDEX_ADD, [userKey(prefix, user)], [newKey, fields.get('~i') ?? expiresAt]);
    const outcome = Number(
      await c.run(DELETE_IF_VERSION, [from], [fields.get('~v') ?? '', prefix, oldKey]),
    );
    if (outcome === 1) {
      if (user !== '') await c.send(['ZREM', userKey(prefix, user), oldKey], userKey(prefix, user));
      return true;
    }
    if (outcome === -1) {
      await undo();
      return false;
    }
  }
  await undo();
  throw new TesseraError(
    'STORE_CONFLICT',
    `The redis store could not rename a session: it changed during ${RENAME_ATTEMPTS} copy attempts. Retry the request.`,
  );
}

/** Members of a user index with their scores, after dropping those whose deadline passed. */
async function readIndex(
  c: RedisCommands,
  index: string,
  now: number,
): Promise<[string, string][]> {
  return hashEntries(await c.run(INDEX_READ, [index], [String(now)]));
}

/** A user's live sessions in a cluster: index read, one HMGET per member (in parallel), prune. */
export async function byUserAcrossSlots(
  c: RedisCommands,
  prefix: string,
  now: number,
  userId: string,
): Promise<UserSession[]> {
  const index = userKey(prefix, userId);
  const members = await readIndex(c, index, now);
  const rows = await Promise.all(
    members.map(
      ([m]) =>
        c.send(
          ['HMGET', sessionKey(prefix, m), '~c', '~e', '~m', '~u'],
          sessionKey(prefix, m),
        ) as Promise<(string | null)[]>,
    ),
  );
  const out: UserSession[] = [];
  const prune: string[] = [];
  rows.forEach((row, i) => {
    const [member, score] = members[i]!;
    const [createdAt, expiresAt, meta, owner] = row;
    if (expiresAt && Number(expiresAt) > now && owner === userId) {
      out.push(userSession(member, createdAt, expiresAt, meta));
    } else {
      prune.push(member, score);
    }
  });
  // Only members whose score is unchanged go: one re-added meanwhile by a write has a later score.
  if (prune.length > 0) await c.run(INDEX_PRUNE, [index], prune);
  return out;
}

/** Destroys a user's sessions but `exceptKey` in a cluster; returns how many live ones went. */
export async function destroyByUserAcrossSlots(
  c: RedisCommands,
  prefix: string,
  now: number,
  userId: string,
  exceptKey: string | undefined,
): Promise<number> {
  const index = userKey(prefix, userId);
  const members = (await readIndex(c, index, now)).filter(([m]) => m !== exceptKey);
  const outcomes = await Promise.all(
    members.map(([m]) =>
      c.run(DESTROY_IF_USER, [sessionKey(prefix, m)], [userId, String(now), prefix, m]),
    ),
  );
  if (members.length > 0) await c.run(INDEX_PRUNE, [index], members.flat());
  return outcomes.filter((o) => Number(o) === 1).length;
}
