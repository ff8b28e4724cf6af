/**
 * @module The Redis store's user index reads (list, revoke) and its key listing (count, scan).
 *
 * On one server or Sentinel each is one script; in a cluster see `cluster.ts`.
 */
import type { ScanPage, UserSession } from '../../core/store.js';
import type { RedisCommands } from './commands.js';
import { byUserAcrossSlots, destroyByUserAcrossSlots } from './cluster.js';
import { keyOfSession, sessionPattern, text, userKey, userSession } from './record.js';
import { BY_USER, DESTROY_BY_USER } from './scripts.js';

/** The live sessions of `userId`, oldest first. */
export async function listUserSessions(
  c: RedisCommands,
  prefix: string,
  now: number,
  userId: string,
): Promise<UserSession[]> {
  let list: UserSession[];
  if (c.isCluster) {
    list = await byUserAcrossSlots(c, prefix, now, userId);
  } else {
    const flat = (await c.run(
      BY_USER,
      [userKey(prefix, userId)],
      [String(now), prefix, userId],
    )) as unknown[];
    list = [];
    for (let i = 0; i + 3 < flat.length; i += 4)
      list.push(userSession(text(flat[i]), flat[i + 1], flat[i + 2], flat[i + 3]));
  }
  return list.sort((a, b) => a.createdAt - b.createdAt || (a.key < b.key ? -1 : 1));
}

/** Destroys the sessions of `userId` but `exceptKey`; returns how many live ones went. */
export async function destroyUserSessions(
  c: RedisCommands,
  prefix: string,
  now: number,
  userId: string,
  exceptKey: string | undefined,
): Promise<number> {
  if (c.isCluster) return destroyByUserAcrossSlots(c, prefix, now, userId, exceptKey);
  return Number(
    await c.run(
      DESTROY_BY_USER,
      [userKey(prefix, userId)],
      [String(now), prefix, userId, exceptKey ?? ''],
    ),
  );
}

/** How many session hashes exist under `prefix`, by SCAN on every master (never KEYS). */
export async function countSessions(c: RedisCommands, prefix: string): Promise<number> {
  let total = 0;
  for (const node of await c.masters()) {
    let cursor = '0';
    do {
      const [next, keys] = (await node([
        'SCAN',
        cursor,
        'MATCH',
        sessionPattern(prefix),
        'COUNT',
        '1000',
      ])) as [unknown, unknown[]];
      total += keys.length;
      cursor = text(next);
    } while (cursor !== '0');
  }
  return total;
}

/**
 * A page of session keys. The cursor is "<master index>:<SCAN cursor on that master>", masters
 * sorted by address; `limit` is passed to SCAN as COUNT, so a page may hold a few more keys.
 */
export async function scanSessions(
  c: RedisCommands,
  prefix: string,
  cursor: string | undefined,
  limit: number,
): Promise<ScanPage> {
  const nodes = await c.masters();
  const [at, from] = (cursor ?? '0:0').split(':');
  let node = Number(at);
  let position = from ?? '0';
  const keys: string[] = [];
  while (node < nodes.length && keys.length < limit) {
    const [next, found] = (await nodes[node]!([
      'SCAN',
      position,
      'MATCH',
      sessionPattern(prefix),
      'COUNT',
      String(limit - keys.length),
    ])) as [unknown, unknown[]];
    for (const k of found) keys.push(keyOfSession(prefix, text(k)));
    position = text(next);
    if (position === '0') node++;
  }
  return node < nodes.length ? { keys, cursor: `${node}:${position}` } : { keys };
}
