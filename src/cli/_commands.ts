/**
 * @module The commands that work on one store: count, list, show, revoke, revoke-user, purge
 * and check.
 */
import { purgeExpired } from '../adapters/purge.js';
import { TesseraError } from '../core/errors.js';
import { isLive } from '../core/expiry.js';
import type { SessionManager } from '../core/manager/index.js';
import type { SessionMeta, Store, StoreRecord } from '../core/store.js';
import { parseDuration } from '../config/_values.js';
import { EXIT, UsageError } from './_args.js';
import type { StoreCall } from './_call.js';
import { findSession } from './_key.js';
import { iso, progress, type Io, type Outcome } from './_output.js';

/** What a command works with. */
export interface Context {
  manager: SessionManager;
  store: Store;
  call: StoreCall;
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  io: Io;
}

/** One row of `list`. */
interface Row {
  key: string;
  userId?: string;
  createdAt: number;
  expiresAt: number;
  absoluteExpiresAt?: number;
  meta?: SessionMeta;
}

function unsupported(store: Store, what: string): TesseraError {
  return new TesseraError('UNSUPPORTED', `The ${store.name} store cannot ${what}.`);
}

const text = (flags: Context['flags'], name: string): string | undefined => {
  const value = flags[name];
  return typeof value === 'string' ? value : undefined;
};

function limitOf(flags: Context['flags']): number {
  const raw = text(flags, 'limit');
  if (raw === undefined) return 50;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new UsageError(
      `--limit must be a whole number from 1 to 1000; got ${JSON.stringify(raw)}.`,
    );
  return n;
}

const rowText = (r: Row): string =>
  `${r.key}  user=${r.userId ?? '-'}  created=${iso(r.createdAt)}  expires=${iso(r.expiresAt)}`;

function rowOf(key: string, record: StoreRecord): Row {
  return {
    key,
    ...(record.userId === undefined ? {} : { userId: record.userId }),
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    ...(record.absoluteExpiresAt === undefined
      ? {}
      : { absoluteExpiresAt: record.absoluteExpiresAt }),
    ...(record.meta === undefined ? {} : { meta: record.meta }),
  };
}

async function count(ctx: Context): Promise<Outcome> {
  const n = await ctx.manager.activeCount();
  return { code: EXIT.OK, doc: { count: n }, text: String(n) };
}

async function list(ctx: Context): Promise<Outcome> {
  const { store, call, flags } = ctx;
  const limit = limitOf(flags);
  const cursor = text(flags, 'cursor');
  const user = text(flags, 'user');
  let rows: Row[];
  let next: string | undefined;
  if (user !== undefined) {
    if (!store.byUser)
      throw unsupported(store, 'list the sessions of a user (it has no user index)');
    const from = cursor === undefined ? 0 : /^\d+$/.test(cursor) ? Number(cursor) : NaN;
    if (!Number.isSafeInteger(from))
      throw new UsageError('--cursor must be one that `list --user` printed.');
    const now = Date.now();
    const all = (await call('byUser', () => store.byUser!(user)))
      .filter((s) => s.expiresAt > now)
      .sort((a, b) => a.createdAt - b.createdAt || (a.key < b.key ? -1 : 1));
    rows = all.slice(from, from + limit).map((s) => ({
      key: s.key,
      userId: user,
      createdAt: s.createdAt,
      expiresAt: s.expiresAt,
      ...(s.meta === undefined ? {} : { meta: s.meta }),
    }));
    next = from + limit < all.length ? String(from + limit) : undefined;
  } else {
    if (!store.scan) throw unsupported(store, 'list its sessions (it has no scan)');
    const page = await call('scan', () => store.scan!(cursor, limit));
    const keys = [...new Set(page.keys)];
    const now = Date.now();
    const records = await Promise.all(keys.map((key) => call('get', () => store.get(key))));
    rows = [];
    records.forEach((record, i) => {
      if (record !== undefined && isLive(record, now)) rows.push(rowOf(keys[i]!, record));
    });
    next = page.cursor;
  }
  const lines = rows.map(rowText);
  if (next !== undefined) lines.push(`more: --cursor ${next}`);
  return {
    code: EXIT.OK,
    doc: { sessions: rows, ...(next === undefined ? {} : { cursor: next }) },
    text: lines.length === 0 ? 'no sessions' : lines.join('\n'),
  };
}

async function lookUp(ctx: Context): ReturnType<typeof findSession> {
  return findSession(ctx.args[0]!, ctx.flags, ctx.io, (key) =>
    ctx.call('get', () => ctx.store.get(key)),
  );
}

const notFound = (): Outcome => ({
  code: EXIT.NOT_FOUND,
  doc: { error: { code: 'NOT_FOUND', message: 'No live session has that id or key.' } },
  text: 'No live session has that id or key.',
});

async function show(ctx: Context): Promise<Outcome> {
  const found = await lookUp(ctx);
  if (found === undefined) return notFound();
  const { key, matched, record } = found;
  const keys = Object.entries(record.data).map(([name, value]) => ({
    name,
    bytes: Buffer.byteLength(JSON.stringify(value)),
    ...(record.keyExpiresAt?.[name] === undefined ? {} : { expiresAt: record.keyExpiresAt[name] }),
  }));
  const session = {
    ...rowOf(key, record),
    matched,
    keys,
    ...(ctx.flags['data'] === true ? { data: record.data } : {}),
  };
  const lines = [
    `key         ${key} (matched as ${matched === 'id' ? 'a session id' : 'a store key'})`,
    `user        ${record.userId ?? '-'}`,
    `created     ${iso(record.createdAt)}`,
    `expires     ${iso(record.expiresAt)}`,
    `absolute    ${iso(record.absoluteExpiresAt)}`,
  ];
  if (record.meta?.userAgent !== undefined) lines.push(`user agent  ${record.meta.userAgent}`);
  if (record.meta?.ip !== undefined) lines.push(`ip          ${record.meta.ip}`);
  if (record.meta?.loggedInAt !== undefined)
    lines.push(`logged in   ${iso(record.meta.loggedInAt)}`);
  lines.push(
    `keys        ${keys.length === 0 ? '-' : keys.map((k) => `${k.name} (${k.bytes} B)`).join(', ')}`,
  );
  if (ctx.flags['data'] === true) lines.push(`data        ${JSON.stringify(record.data, null, 2)}`);
  return { code: EXIT.OK, doc: { session }, text: lines.join('\n') };
}

async function revoke(ctx: Context): Promise<Outcome> {
  const found = await lookUp(ctx);
  if (found === undefined) return notFound();
  await ctx.manager.revoke(found.key);
  return { code: EXIT.OK, doc: { revoked: true, key: found.key }, text: `revoked ${found.key}` };
}

async function revokeUser(ctx: Context): Promise<Outcome> {
  const user = ctx.args[0]!;
  const n = await ctx.manager.revokeUser(user);
  return {
    code: EXIT.OK,
    doc: { userId: user, revoked: n },
    text: `revoked ${n} session${n === 1 ? '' : 's'}`,
  };
}

async function purge(ctx: Context): Promise<Outcome> {
  const budget = text(ctx.flags, 'budget');
  const budgetMs = budget === undefined ? 60_000 : parseDurationFlag('--budget', budget);
  const bar = progress(ctx.io);
  let removed = 0;
  const manager: SessionManager = {
    ...ctx.manager,
    async gc(options) {
      const result = await ctx.manager.gc(options);
      removed += result.removed;
      bar.update(`purge: ${removed} removed${result.done ? ', done' : ''}`);
      return result;
    },
  };
  try {
    const result = await purgeExpired(manager, { budgetMs });
    return {
      code: EXIT.OK,
      doc: { ...result },
      text: `removed=${result.removed} done=${result.done} batches=${result.batches} elapsedMs=${result.elapsedMs}`,
    };
  } finally {
    bar.end();
  }
}

/** A duration flag (`--budget 30s`). */
export function parseDurationFlag(flag: string, raw: string): number {
  try {
    return parseDuration(flag, raw);
  } catch {
    throw new UsageError(
      `${flag} must be a duration: milliseconds, or with a unit (500ms, 30s, 10m); got ${JSON.stringify(raw)}.`,
    );
  }
}

async function check(ctx: Context): Promise<Outcome> {
  const started = performance.now();
  await ctx.manager.check();
  const elapsedMs = Math.round(performance.now() - started);
  return {
    code: EXIT.OK,
    doc: { ok: true, store: ctx.store.name, elapsedMs },
    text: `ok: the ${ctx.store.name} store answered in ${elapsedMs} ms`,
  };
}

/** The commands that work on one store. */
export const STORE_COMMANDS: Readonly<Record<string, (ctx: Context) => Promise<Outcome>>> = {
  count,
  list,
  show,
  revoke,
  'revoke-user': revokeUser,
  purge,
  check,
};
