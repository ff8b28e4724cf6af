/**
 * @module The checks around the load runs: each server answers as the others do, returning
 * clients get real cookies, Redis commands per request, and updates lost under concurrency.
 */
import type { Agent } from 'node:http';
import { countOf, get, mergeCookies } from './_client.js';
import type { Contender } from './_contenders.js';
import { commandStats, diff, monitor, total, type Counts } from './_redis.js';

/**
 * Checks a server behaves like every other one: a new visitor's write starts at 1 and sets a
 * cookie, the returning client's write and read see it. Throws saying what differed. `through`:
 * the agent to send with (the shared one by default).
 */
export async function verify(contender: Contender, origin: string, through?: Agent): Promise<void> {
  const ask = (path: string, cookie?: string) => get(origin, path, cookie, through);
  const none = await ask('/none');
  if (none.status !== 200) throw new Error(`GET /none answered ${none.status}`);
  if (contender.store === 'none') {
    const read = await ask('/read');
    if (read.status !== 200 || countOf(read) !== 1)
      throw new Error(`GET /read answered ${read.status} ${read.body}`);
    return;
  }
  const first = await ask('/write');
  if (first.status !== 200 || countOf(first) !== 1)
    throw new Error(
      `a new visitor's GET /write answered ${first.status} ${first.body.slice(0, 200)}`,
    );
  let cookie = mergeCookies(undefined, first.cookies);
  if (!cookie) throw new Error("a new visitor's GET /write set no cookie");
  const second = await ask('/write', cookie);
  if (countOf(second) !== 2)
    throw new Error(`the second GET /write answered ${second.body.slice(0, 200)}`);
  cookie = mergeCookies(cookie, second.cookies);
  const read = await ask('/read', cookie);
  if (countOf(read) !== 2)
    throw new Error(`GET /read after two writes answered ${read.body.slice(0, 200)}`);
  const fresh = await ask('/read');
  if (countOf(fresh) !== null) throw new Error(`GET /read without a cookie answered ${fresh.body}`);
}

/** Cookie headers of `n` returning clients, each from its own first visit (a write: count 1). */
export async function returningClients(
  contender: Contender,
  origin: string,
  n: number,
  through?: Agent,
): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (contender.store === 'none') {
      // Bare servers parse the same size of Cookie header as the session servers.
      out.push(`sid=${'x'.repeat(40)}${String(i).padStart(3, '0')}`);
      continue;
    }
    const reply = await get(origin, '/write', undefined, through);
    const cookie = mergeCookies(undefined, reply.cookies);
    if (!cookie) throw new Error('GET /write set no cookie');
    out.push(cookie);
  }
  return out;
}

/** Redis commands per request for one route. */
export interface CommandsPerRequest {
  route: 'read' | 'write' | 'none' | 'new';
  requests: number;
  /** Commands the server sent (round trips), per request. */
  sent: number;
  sentByName: Counts;
  /** Commands Redis ran inside Lua scripts, per request. */
  scripted: number;
  scriptedByName: Counts;
  /** Every command Redis ran per `INFO commandstats` (sent and scripted), per request. */
  commandstats: number;
}

const perRequest = (counts: Counts, n: number): Counts =>
  Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Math.round((v / n) * 100) / 100]));

/**
 * Sends `n` sequential requests per route (a returning client reading, writing, hitting a route
 * that never touches the session, and a new visitor) and counts the Redis commands they caused.
 */
export async function redisCommands(
  origin: string,
  redisPort: number,
  n: number,
): Promise<CommandsPerRequest[]> {
  const out: CommandsPerRequest[] = [];
  const mon = await monitor(redisPort);
  try {
    const cookie = mergeCookies(undefined, (await get(origin, '/write')).cookies);
    for (const route of ['read', 'write', 'none', 'new'] as const) {
      const path = route === 'new' ? '/write' : `/${route}`;
      const send = route === 'new' ? undefined : cookie;
      // Warm: connections open, scripts loaded.
      for (let i = 0; i < 3; i++) await get(origin, path, send);
      await new Promise((r) => setTimeout(r, 50));
      const before = await commandStats(redisPort);
      mon.reset();
      for (let i = 0; i < n; i++) {
        const reply = await get(origin, path, send);
        if (reply.status !== 200) throw new Error(`GET ${path} answered ${reply.status}`);
      }
      await new Promise((r) => setTimeout(r, 100));
      const after = await commandStats(redisPort);
      out.push({
        route,
        requests: n,
        sent: total(mon.sent) / n,
        sentByName: perRequest(mon.sent, n),
        scripted: total(mon.scripted) / n,
        scriptedByName: perRequest(mon.scripted, n),
        commandstats: total(diff(before, after)) / n,
      });
    }
  } finally {
    mon.close();
  }
  return out;
}

/** Updates lost when 10 connections increment one session's counter at once. */
export interface LostUpdates {
  increments: number;
  final: number;
  lost: number;
  lostPercent: number;
}

/** Creates one session, sends `n` increments with its cookie from 10 concurrent clients, reads the count. */
export async function lostUpdates(origin: string, n: number): Promise<LostUpdates> {
  const first = await get(origin, '/write');
  const cookie = mergeCookies(undefined, first.cookies);
  if (!cookie || countOf(first) !== 1) throw new Error('could not start a session');
  let ok = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next++ < n) if ((await get(origin, '/write', cookie)).status === 200) ok++;
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  const final = countOf(await get(origin, '/read', cookie));
  if (typeof final !== 'number') throw new Error('could not read the count back');
  const lost = 1 + ok - final;
  return { increments: ok, final, lost, lostPercent: (lost / ok) * 100 };
}
