/**
 * The `tessera-session` command run as a child process (as a user runs it) against the shared
 * Redis and PostgreSQL servers, with sessions made through a real manager.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSessionManager,
  createStore,
  storeKey,
  type SessionManager,
  type Store,
} from '../../src/index.js';
import { browser } from '../support/requests.js';
import { SERVICES, skipUnless } from '../support/services.js';

const root = new URL('../../', import.meta.url).pathname;
const run = (args: string[], input?: string, extraEnv: Record<string, string> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    // The child sees no TESSERA_* or SESSION_* variable of this process: only what a test passes.
    const env = {
      ...Object.fromEntries(
        Object.entries(process.env).filter(
          ([n]) => !n.startsWith('TESSERA_') && !n.startsWith('SESSION_'),
        ),
      ),
      ...extraEnv,
    };
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: root, env, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
const json = async (args: string[], input?: string) => {
  const out = await run([...args, '--json'], input);
  return { ...out, doc: JSON.parse(out.stdout) as Record<string, unknown> };
};

const skip =
  (await skipUnless('Redis', SERVICES.redis.port)) || (await skipUnless('PostgreSQL', 5499));
const tag = randomBytes(4).toString('hex');
const redisUrl = `redis://127.0.0.1:${SERVICES.redis.port}/0?prefix=cli-${tag}:`;
const pgUrl = `${SERVICES.postgres.url}?table=cli_${tag}`;
const pgCopyUrl = `${SERVICES.postgres.url}?table=cli_copy_${tag}`;

/** A manager on `url` and helpers to make sessions through it. */
async function open(url: string, absoluteTimeout = 3_600_000) {
  const manager: SessionManager = createSessionManager({
    store: await createStore(url),
    absoluteTimeout,
    gcInterval: false,
  });
  return {
    manager,
    store: manager.store,
    /** A new session with `data`, logged in as `user` when given; returns its id. */
    async make(data: Record<string, string>, user?: string): Promise<string> {
      const b = browser(manager);
      await b.visit(async (s) => {
        for (const [k, v] of Object.entries(data)) s.set(k, v);
        if (user !== undefined) await s.login(user, { userAgent: 'cli-test' });
      });
      return b.cookie!;
    },
    /** What a browser with cookie `id` reads back. */
    async read(id: string, key: string): Promise<unknown> {
      const b = browser(manager);
      b.cookie = id;
      return (await b.visit((s) => s.get(key))).result;
    },
  };
}

/** A record that expires `ms` from now, written straight to the store. */
async function shortLived(store: Store, ms: number): Promise<string> {
  const id = randomBytes(32).toString('base64url');
  await store.write(storeKey(id), { create: true, set: { n: 1 } }, Date.now() + ms);
  return id;
}

describe.skipIf(skip)('tessera-session on real stores', () => {
  let redis: Awaited<ReturnType<typeof open>>;
  let postgres: Awaited<ReturnType<typeof open>>;

  beforeAll(async () => {
    redis = await open(redisUrl);
    postgres = await open(pgUrl);
  });
  afterAll(async () => {
    await redis?.manager.close();
    await postgres?.manager.close();
    const client = new Redis({ port: SERVICES.redis.port, lazyConnect: true });
    await client.connect();
    const keys = [
      ...(await client.keys(`cli-${tag}:*`)),
      ...(await client.keys(`cli-copy-${tag}:*`)),
      ...(await client.keys(`cli-to-${tag}:*`)),
    ];
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
    const pool = new pg.Pool({ connectionString: SERVICES.postgres.url });
    // The store keeps `<table>_schema` and `<table>_locks` beside each table.
    const { rows } = await pool.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE tablename LIKE $1`,
      [`cli\\_%${tag}%`],
    );
    for (const { name } of rows) await pool.query(`DROP TABLE IF EXISTS "${name}" CASCADE`);
    await pool.end();
  });

  it('counts the live sessions (text and --json)', async () => {
    const before = (await json(['count', '--store', pgUrl])).doc['count'] as number;
    await postgres.make({ a: '1' });
    await postgres.make({ a: '2' });
    const after = await json(['count', '--store', pgUrl]);
    expect(after.code).toBe(0);
    expect(after.doc).toEqual({ count: before + 2 });
    const text = await run(['count', '--store', pgUrl]);
    expect(text.stdout.trim()).toBe(String(before + 2));
  });

  it('reads the store from TESSERA_STORE when --store is absent', async () => {
    const out = await run(['count', '--json'], undefined, { TESSERA_STORE: pgUrl });
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toHaveProperty('count');
    const beego = await run(['count', '--json'], undefined, {
      SESSION_PROVIDER: 'redis',
      SESSION_PROVIDER_CONFIG: `127.0.0.1:${SERVICES.redis.port},100,,0`,
    });
    expect(beego.code).toBe(0);
    const typo = await run(['count'], undefined, { TESSERA_STORE: pgUrl, TESSERA_STOR: 'x' });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean TESSERA_STORE');
  });

  it('lists sessions page by page, with metadata and without ids or values', async () => {
    const ids = await Promise.all([1, 2, 3, 4, 5].map((n) => redis.make({ secret: `value-${n}` })));
    const keys = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await json([
        'list',
        '--store',
        redisUrl,
        '--limit',
        '2',
        ...(cursor ? ['--cursor', cursor] : []),
      ]);
      expect(page.code).toBe(0);
      for (const s of page.doc['sessions'] as {
        key: string;
        createdAt: number;
        expiresAt: number;
      }[]) {
        expect(s.expiresAt).toBeGreaterThan(s.createdAt);
        keys.add(s.key);
      }
      expect(page.stdout).not.toContain('value-');
      cursor = page.doc['cursor'] as string | undefined;
      pages++;
    } while (cursor !== undefined && pages < 50);
    for (const id of ids) {
      expect(keys).toContain(storeKey(id));
      expect([...keys].join()).not.toContain(id);
    }
    expect(pages).toBeGreaterThan(1);
  });

  it("lists one user's sessions with --user, paged", async () => {
    const user = `alice-${tag}`;
    const mine = await Promise.all([1, 2, 3].map(() => postgres.make({ x: 'y' }, user)));
    await postgres.make({ x: 'y' }, `bob-${tag}`);
    const first = await json(['list', '--store', pgUrl, '--user', user, '--limit', '2']);
    expect(first.code).toBe(0);
    const second = await json([
      'list',
      '--store',
      pgUrl,
      '--user',
      user,
      '--limit',
      '2',
      '--cursor',
      first.doc['cursor'] as string,
    ]);
    expect(second.doc['cursor']).toBeUndefined();
    const rows = [
      ...(first.doc['sessions'] as object[]),
      ...(second.doc['sessions'] as object[]),
    ] as {
      key: string;
      userId: string;
      meta: { userAgent: string };
    }[];
    expect(rows.map((r) => r.key).sort()).toEqual(mine.map(storeKey).sort());
    expect(rows.every((r) => r.userId === user && r.meta.userAgent === 'cli-test')).toBe(true);
  });

  it('shows metadata and key sizes, and values only with --data', async () => {
    const id = await redis.make({ token: 'tok-secret-123' }, `carol-${tag}`);
    const shown = await json(['show', id, '--store', redisUrl]);
    expect(shown.code).toBe(0);
    const session = shown.doc['session'] as Record<string, unknown>;
    expect(session).toMatchObject({
      key: storeKey(id),
      matched: 'id',
      userId: `carol-${tag}`,
      meta: { userAgent: 'cli-test' },
      keys: [{ name: 'token', bytes: JSON.stringify('tok-secret-123').length }],
    });
    expect(session['absoluteExpiresAt']).toBeGreaterThanOrEqual(session['expiresAt'] as number);
    expect(shown.stdout).not.toContain('tok-secret-123');
    expect(shown.stdout).not.toContain(id);
    const text = await run(['show', id, '--store', redisUrl]);
    expect(text.stdout).toContain('token (16 B)');
    expect(text.stdout).not.toContain('tok-secret-123');

    const withData = await json(['show', storeKey(id), '--store', redisUrl, '--data']);
    expect(withData.doc['session']).toMatchObject({
      matched: 'hash',
      data: { token: 'tok-secret-123' },
    });
    const fromStdin = await json(['show', '-', '--store', redisUrl], `${id}\n`);
    expect(fromStdin.doc['session']).toMatchObject({ key: storeKey(id), matched: 'id' });
    const forcedId = await json(['show', storeKey(id), '--id', '--store', redisUrl]);
    expect(forcedId.code).toBe(3);
  });

  it('revokes one session by id or key; an unknown one exits 3', async () => {
    const id = await postgres.make({ a: 'b' });
    const gone = await json(['revoke', id, '--store', pgUrl]);
    expect(gone).toMatchObject({ code: 0, doc: { revoked: true, key: storeKey(id) } });
    expect(await postgres.store.get(storeKey(id))).toBeUndefined();
    expect(await postgres.read(id, 'a')).toBeUndefined();
    const again = await json(['revoke', id, '--store', pgUrl]);
    expect(again.code).toBe(3);
    expect(again.doc).toMatchObject({ error: { code: 'NOT_FOUND' } });

    const other = await redis.make({ a: 'b' });
    expect((await run(['revoke', storeKey(other), '--store', redisUrl])).code).toBe(0);
    expect(await redis.store.get(storeKey(other))).toBeUndefined();
    expect((await run(['show', storeKey(other), '--store', redisUrl])).code).toBe(3);
  });

  it('revokes every session of a user, and only theirs', async () => {
    const user = `dave-${tag}`;
    const ids = await Promise.all([1, 2].map(() => redis.make({ a: 'b' }, user)));
    const kept = await redis.make({ a: 'b' }, `erin-${tag}`);
    const out = await json(['revoke-user', user, '--store', redisUrl]);
    expect(out).toMatchObject({ code: 0, doc: { userId: user, revoked: 2 } });
    for (const id of ids) expect(await redis.store.get(storeKey(id))).toBeUndefined();
    expect(await redis.store.get(storeKey(kept))).toBeDefined();
  });

  it('purges expired rows from PostgreSQL and keeps live ones', async () => {
    const expired = await Promise.all([1, 2, 3].map(() => shortLived(postgres.store, 200)));
    const live = await postgres.make({ a: 'b' });
    await new Promise((r) => setTimeout(r, 400));
    const pool = new pg.Pool({ connectionString: SERVICES.postgres.url });
    const rows = async (): Promise<number> => {
      const result = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM cli_${tag} WHERE expires_at <= $1`,
        [Date.now()],
      );
      return Number(result.rows[0]!.n);
    };
    try {
      expect(await rows()).toBeGreaterThanOrEqual(3);
      const out = await json(['purge', '--store', pgUrl, '--budget', '10s']);
      expect(out.code).toBe(0);
      expect(out.doc).toMatchObject({ done: true });
      expect(out.doc['removed']).toBeGreaterThanOrEqual(3);
      expect(await rows()).toBe(0);
      expect(await postgres.store.get(storeKey(live))).toBeDefined();
      for (const id of expired) expect(await postgres.store.get(storeKey(id))).toBeUndefined();
      const text = await run(['purge', '--store', pgUrl]);
      expect(text.stdout).toMatch(/^removed=0 done=true batches=\d+ elapsedMs=\d+\n$/);
    } finally {
      await pool.end();
    }
  });

  it('checks a working store (exit 0) and a dead one (exit 1)', async () => {
    expect(await json(['check', '--store', redisUrl])).toMatchObject({
      code: 0,
      doc: { ok: true, store: 'redis' },
    });
    expect(await json(['check', '--store', pgUrl])).toMatchObject({
      code: 0,
      doc: { ok: true, store: 'postgres' },
    });
    const dead = await json(['check', '--store', 'redis://127.0.0.1:1/0']);
    expect(dead.code).toBe(1);
    expect(dead.doc).toMatchObject({ error: { code: 'STORE_UNAVAILABLE' } });
    expect(dead.stderr).not.toMatch(/\n\s+at /);
    const deadPg = await json([
      'check',
      '--store',
      `postgres://postgres@127.0.0.1:1/postgres?table=cli_dead_${tag}`,
    ]);
    expect(deadPg.code).toBe(1);
    expect((await run(['check', '--store', 'redis://127.0.0.1:1/0', '--debug'])).stderr).toMatch(
      /\n\s+at /,
    );
  });

  it('copies Redis to PostgreSQL without logging anyone out, skipping expired sessions', async () => {
    const source = await open(`redis://127.0.0.1:${SERVICES.redis.port}/0?prefix=cli-copy-${tag}:`);
    const from = `redis://127.0.0.1:${SERVICES.redis.port}/0?prefix=cli-copy-${tag}:`;
    try {
      const users = await Promise.all(
        [1, 2, 3].map((n) => source.make({ cart: `items-${n}` }, `u${n}-${tag}`)),
      );
      const anonymous = await source.make({ theme: 'dark' });
      const dying = await shortLived(source.store, 300);
      await new Promise((r) => setTimeout(r, 500));

      const out = await json(['copy', '--from', from, '--to', pgCopyUrl]);
      expect(out.code).toBe(0);
      expect(out.doc).toMatchObject({ copied: 4, skipped: 0, failed: 0 });

      const target = await open(pgCopyUrl);
      try {
        for (const [n, id] of users.entries()) {
          const before = (await source.store.get(storeKey(id)))!;
          const after = (await target.store.get(storeKey(id)))!;
          expect(after).toMatchObject({
            createdAt: before.createdAt,
            expiresAt: before.expiresAt,
            absoluteExpiresAt: before.absoluteExpiresAt,
            userId: before.userId,
            meta: before.meta,
            data: before.data,
          });
          expect(await target.read(id, 'cart')).toBe(`items-${n + 1}`);
          expect(
            (await target.manager.sessionsOf(`u${n + 1}-${tag}`)).map((d) => d.handle),
          ).toEqual([storeKey(id)]);
        }
        expect(await target.read(anonymous, 'theme')).toBe('dark');
        expect(await target.store.get(storeKey(dying))).toBeUndefined();

        // A second run adds nothing and overwrites nothing.
        const again = await json(['copy', '--from', from, '--to', pgCopyUrl]);
        expect(again.doc).toMatchObject({ copied: 0, existing: 4, failed: 0 });

        const moved = await json(['copy', '--from', from, '--to', pgCopyUrl, '--delete-source']);
        expect(moved.doc).toMatchObject({ copied: 0, deleted: 4, failed: 0 });
        expect(await source.store.get(storeKey(users[0]!))).toBeUndefined();
        expect(await target.read(users[0]!, 'cart')).toBe('items-1');
      } finally {
        await target.manager.close();
      }
    } finally {
      await source.manager.close();
    }
  });

  it('never copies a session that expired in PostgreSQL but was not purged yet', async () => {
    const from = `${SERVICES.postgres.url}?table=cli_src_${tag}`;
    const to = `redis://127.0.0.1:${SERVICES.redis.port}/0?prefix=cli-to-${tag}:`;
    const source = await open(from);
    const target = await open(to);
    try {
      const dead = await shortLived(source.store, 200);
      const live = await source.make({ a: 'b' }, `frank-${tag}`);
      await new Promise((r) => setTimeout(r, 400));
      const out = await json(['copy', '--from', from, '--to', to]);
      expect(out).toMatchObject({ code: 0, doc: { copied: 1, failed: 0 } });
      expect(await target.store.get(storeKey(dead))).toBeUndefined();
      expect(await target.read(live, 'a')).toBe('b');
      expect((await target.manager.sessionsOf(`frank-${tag}`)).map((d) => d.handle)).toEqual([
        storeKey(live),
      ]);
    } finally {
      await source.manager.close();
      await target.manager.close();
    }
  });

  it('refuses to copy a store onto itself under another spelling of its URL', async () => {
    const id = await postgres.make({ a: 'b' });
    const sameTable = pgUrl.replace('127.0.0.1', 'localhost');
    const out = await json(['copy', '--from', pgUrl, '--to', sameTable, '--delete-source']);
    expect(out.code).toBe(2);
    expect(out.doc).toMatchObject({ error: { code: 'CONFIG' } });
    expect(await postgres.read(id, 'a')).toBe('b');
  });

  it('refuses usage errors with exit 2 and a JSON error', async () => {
    const cases = [
      ['frobnicate'],
      ['count', '--frob'],
      ['show', '--store', redisUrl],
      ['list', '--store', redisUrl, '--limit', 'ten'],
      ['revoke', 'x', 'y', '--store', redisUrl],
      ['count'],
      ['count', '--store', 'nope://x'],
      ['copy', '--from', redisUrl],
      ['show', 'short', '--hash', '--store', redisUrl],
      ['purge', '--store', pgUrl, '--budget', 'soon'],
    ];
    const outs = await Promise.all(cases.map((args) => json(args)));
    for (const [i, out] of outs.entries()) {
      const args = cases[i]!.join(' ');
      expect(out.code, args).toBe(2);
      expect(out.doc, args).toHaveProperty('error.message');
    }
    const bare = await run([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Exit codes');
    const helped = await run(['--help']);
    expect(helped).toMatchObject({ code: 0 });
    expect(helped.stdout).toContain('revoke-user');
  });

  it('never prints the password of a store URL', async () => {
    const out = await run(['check', '--store', 'redis://:hunter2-secret@127.0.0.1:1/0']);
    expect(out.code).toBe(1);
    expect(out.stdout + out.stderr).not.toContain('hunter2-secret');
  });
});
