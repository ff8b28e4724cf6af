/**
 * fromEnv: manager options from environment variables, their errors, and beego's aliases.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { beegoSettings } from '../../src/config/_aliases.js';
import { fromEnv } from '../../src/config/env.js';
import { createSessionManager, isTesseraError } from '../../src/index.js';
import { SERVICES, skipUnless } from '../support/services.js';

async function configError(env: Record<string, string>): Promise<string> {
  try {
    const options = await fromEnv(env);
    await options.store?.close();
  } catch (error) {
    if (isTesseraError(error) && error.code === 'CONFIG') return error.message;
    throw error;
  }
  throw new Error('fromEnv accepted the environment');
}

describe('fromEnv', () => {
  it('returns no options for an empty environment (the defaults apply)', async () => {
    expect(await fromEnv({})).toEqual({});
    expect(await fromEnv({ PATH: '/bin', HOME: '/root', TESSERA_COOKIE_NAME: '' })).toEqual({});
  });

  it('reads durations as milliseconds or with a unit', async () => {
    const options = await fromEnv({
      TESSERA_IDLE_TIMEOUT: '30m',
      TESSERA_ABSOLUTE_TIMEOUT: '12h',
      TESSERA_STORE_TIMEOUT: '1500',
      TESSERA_TOUCH_AFTER: '90s',
      TESSERA_GC_INTERVAL: 'off',
      TESSERA_COOKIE_MAX_AGE: '7d',
    });
    expect(options).toMatchObject({
      idleTimeout: 1_800_000,
      absoluteTimeout: 43_200_000,
      storeTimeout: 1500,
      touchAfter: 90_000,
      gcInterval: false,
      cookie: { maxAge: 604_800_000 },
    });
    expect(
      await fromEnv({ TESSERA_ABSOLUTE_TIMEOUT: 'off', TESSERA_IDLE_TIMEOUT: '1.5h' }),
    ).toEqual({
      absoluteTimeout: false,
      idleTimeout: 5_400_000,
    });
  });

  it('reads cookie, id, transport and limit settings', async () => {
    const options = await fromEnv({
      TESSERA_COOKIE_NAME: '__Host-app',
      TESSERA_COOKIE_SECURE: 'true',
      TESSERA_COOKIE_SAME_SITE: 'Strict',
      TESSERA_COOKIE_HTTP_ONLY: 'yes',
      TESSERA_COOKIE_MAX_AGE: 'session',
      TESSERA_SET_COOKIE: 'false',
      TESSERA_SAVE_NEW: '1',
      TESSERA_ID_BYTES: '24',
      TESSERA_ID_PREFIX: 'sess_',
      TESSERA_HEADER: 'x-session',
      TESSERA_MAX_SESSIONS_PER_USER: '5',
      TESSERA_SESSION_LIMIT_POLICY: 'refuse',
      TESSERA_TRUSTED_ORIGINS: 'https://a.example, https://b.example',
    });
    expect(options).toEqual({
      cookie: {
        name: '__Host-app',
        secure: true,
        sameSite: 'strict',
        httpOnly: true,
        maxAge: 'session',
      },
      setCookie: false,
      saveNew: true,
      idBytes: 24,
      idPrefix: 'sess_',
      transport: { header: 'x-session' },
      maxSessionsPerUser: 5,
      sessionLimitPolicy: 'refuse',
      crossOrigin: { trustedOrigins: ['https://a.example', 'https://b.example'] },
    });
    expect((await fromEnv({ TESSERA_CROSS_ORIGIN: 'off' })).crossOrigin).toBe(false);
  });

  it('names the variable of a wrong value', async () => {
    expect(await configError({ TESSERA_IDLE_TIMEOUT: 'soon' })).toMatch(
      /^Environment variable TESSERA_IDLE_TIMEOUT: .*30m/,
    );
    expect(await configError({ TESSERA_IDLE_TIMEOUT: '0' })).toContain('TESSERA_IDLE_TIMEOUT');
    expect(await configError({ TESSERA_COOKIE_SECURE: 'maybe' })).toContain(
      'TESSERA_COOKIE_SECURE',
    );
    expect(await configError({ TESSERA_ID_BYTES: '8' })).toContain('TESSERA_ID_BYTES');
    expect(await configError({ TESSERA_COOKIE_SAME_SITE: 'sometimes' })).toContain(
      '"lax", "strict", "none"',
    );
    // Checks that need several options name the variables involved.
    expect(await configError({ TESSERA_IDLE_TIMEOUT: '10m', TESSERA_TOUCH_AFTER: '20m' })).toMatch(
      /TESSERA_TOUCH_AFTER.*touchAfter/,
    );
    expect(await configError({ TESSERA_COOKIE_NAME: 'bad name' })).toMatch(
      /^Environment variable TESSERA_COOKIE_NAME: cookie:/,
    );
  });

  it('refuses an unknown TESSERA_ variable with the nearest name', async () => {
    expect(await configError({ TESSERA_IDLE_TIMOUT: '30m' })).toBe(
      'Unknown environment variable TESSERA_IDLE_TIMOUT; did you mean TESSERA_IDLE_TIMEOUT? The variables are listed in the README (Configuration from the environment).'.replace(
        'TESSERA_IDLE_TIMEOUT;',
        'TESSERA_IDLE_TIMOUT;',
      ),
    );
    expect(await configError({ TESSERA_WHATEVER: '1' })).toMatch(
      /^Unknown environment variable TESSERA_WHATEVER\?/,
    );
    expect(await fromEnv({ TESSERA_APP_MODE: 'x' }, { known: ['TESSERA_APP_MODE'] })).toEqual({});
  });

  it("reads beego's settings (seconds) as their TESSERA_ variables", async () => {
    expect(
      await fromEnv({
        SESSION_NAME: 'beegosessionID',
        SESSION_GC_MAX_LIFETIME: '3600',
        SESSION_COOKIE_LIFETIME: '0',
        SESSION_DOMAIN: 'example.com',
        SESSION_DISABLE_HTTP_ONLY: 'false',
        SESSION_AUTO_SET_COOKIE: 'true',
        SESSION_ENABLE_SID_IN_HTTP_HEADER: 'true',
        SESSION_NAME_IN_HTTP_HEADER: 'Beegosessionid',
        SESSION_ENABLE_SID_IN_URL_QUERY: 'true',
        SESSION_ID_LENGTH: '32',
        SESSION_ID_PREFIX: 'b_',
      }),
    ).toEqual({
      idleTimeout: 3_600_000,
      cookie: { name: 'beegosessionID', maxAge: 'session', domain: 'example.com', httpOnly: true },
      setCookie: true,
      transport: { header: 'beegosessionid', query: 'beegosessionID' },
      idBytes: 32,
      idPrefix: 'b_',
    });
    expect((await fromEnv({ SESSION_COOKIE_LIFETIME: '86400' })).cookie).toEqual({
      maxAge: 86_400_000,
    });
  });

  it('names the beego variable in its errors, and refuses a setting made twice', async () => {
    expect(await configError({ SESSION_GC_MAX_LIFETIME: '30m' })).toMatch(
      /^Environment variable SESSION_GC_MAX_LIFETIME: must be a whole number/,
    );
    expect(await configError({ SESSION_NAME: 'a', TESSERA_COOKIE_NAME: 'b' })).toBe(
      'Environment variables TESSERA_COOKIE_NAME and SESSION_NAME both set name; keep one.',
    );
    expect(
      await configError({ SESSION_PROVIDER: 'couchbase', SESSION_PROVIDER_CONFIG: 'x' }),
    ).toMatch(/^Environment variable SESSION_PROVIDER: names no provider/);
    expect(await configError({ SESSION_PROVIDER_CONFIG: 'x' })).toContain(
      'without SESSION_PROVIDER',
    );
    expect(await configError({ SESSION_PROVIDER: 'redis' })).toContain(
      'SESSION_PROVIDER_CONFIG: must be set',
    );
    expect(await configError({ SESSION_ENABLE_SID_IN_HTTP_HEADER: 'true' })).toContain(
      'SESSION_NAME_IN_HTTP_HEADER',
    );
  });

  it('makes the store of TESSERA_STORE, and names the variable when the URL is wrong', async () => {
    const options = await fromEnv({ TESSERA_STORE: 'memory:', TESSERA_IDLE_TIMEOUT: '5m' });
    expect(options.store?.name).toBe('memory');
    const manager = createSessionManager(options);
    expect(await manager.activeCount()).toBe(0);
    await manager.close();
    expect(await configError({ TESSERA_STORE: 'nope://x' })).toMatch(
      /^Environment variable TESSERA_STORE: No store is registered for "nope:"/,
    );
    expect(
      await configError({ SESSION_PROVIDER: 'file', SESSION_PROVIDER_CONFIG: 'nope://x' }),
    ).toMatch(/^Environment variable SESSION_PROVIDER_CONFIG: /);
  });

  it('passes TESSERA_SECRET to the cookie store, and refuses a weak one', async () => {
    const secret = randomBytes(32).toString('hex');
    const options = await fromEnv({
      TESSERA_STORE: 'cookie:',
      TESSERA_SECRET: `${secret},${randomBytes(32).toString('hex')}`,
    });
    expect(options.store?.name).toBe('cookie');
    await options.store?.close();
    expect(await configError({ TESSERA_STORE: 'cookie:' })).toContain('needs secrets');
    expect(await configError({ TESSERA_SECRET: secret })).toMatch(
      /^Environment variable TESSERA_SECRET: is set, but without TESSERA_STORE/,
    );
    await expect(
      fromEnv({ TESSERA_STORE: 'cookie:', TESSERA_SECRET: 'keyboard cat' }),
    ).rejects.toMatchObject({
      code: 'INSECURE_KEY',
    });
    const beego = await fromEnv({ SESSION_PROVIDER: 'cookie', TESSERA_SECRET: secret });
    expect(beego.store?.name).toBe('cookie');
    await beego.store?.close();
  });

  it('checks the store at start-up with check: true (or TESSERA_CHECK)', async () => {
    const ok = await fromEnv({ TESSERA_STORE: 'memory:' }, { check: true });
    await ok.store?.close();
    const viaEnv = await fromEnv({ TESSERA_STORE: 'memory:', TESSERA_CHECK: 'true' });
    await viaEnv.store?.close();
  });
});

const redisSkip = await skipUnless('Redis', SERVICES.redis.port);
const pgSkip = await skipUnless('PostgreSQL', 5499);

describe.skipIf(redisSkip)('fromEnv on Redis', () => {
  it("turns beego's redis provider config into a working store", async () => {
    const prefix = `env-${randomBytes(4).toString('hex')}:`;
    const options = await fromEnv(
      {
        SESSION_PROVIDER: 'redis',
        SESSION_PROVIDER_CONFIG: `127.0.0.1:${SERVICES.redis.port},100,,0`,
        TESSERA_STORE_TIMEOUT: '2s',
      },
      { check: true },
    );
    expect(options.store?.name).toBe('redis');
    await options.store?.close();
    const direct = await fromEnv({
      TESSERA_STORE: `redis://127.0.0.1:${SERVICES.redis.port}/0?prefix=${prefix}`,
      TESSERA_CHECK: 'on',
    });
    await direct.store?.close();
  });

  it('fails the start-up check on a dead server', async () => {
    await expect(
      fromEnv(
        { TESSERA_STORE: 'redis://127.0.0.1:1/0', TESSERA_STORE_TIMEOUT: '1s' },
        { check: true },
      ),
    ).rejects.toMatchObject({
      code: expect.stringMatching(/^STORE_(UNAVAILABLE|TIMEOUT)$/),
    });
  });
});

describe.skipIf(pgSkip)('fromEnv on PostgreSQL', () => {
  const table = `env_${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    const pool = new pg.Pool({ connectionString: SERVICES.postgres.url });
    for (const name of [table, `${table}_schema`, `${table}_locks`])
      await pool.query(`DROP TABLE IF EXISTS "${name}" CASCADE`);
    await pool.end();
  });

  it("turns beego's key=value postgresql config into a working store", async () => {
    const options = await fromEnv(
      {
        SESSION_PROVIDER: 'postgresql',
        SESSION_PROVIDER_CONFIG: `user=postgres host=127.0.0.1 port=5499 dbname=postgres sslmode=disable table=${table}`,
      },
      { check: true },
    );
    expect(options.store?.name).toBe('postgres');
    await options.store?.close();
  });
});

describe("beego's provider configs", () => {
  const url = (provider: string, config?: string): string | undefined =>
    beegoSettings({
      SESSION_PROVIDER: provider,
      ...(config === undefined ? {} : { SESSION_PROVIDER_CONFIG: config }),
    }).get('TESSERA_STORE')?.text;

  it('turns each provider config into the store URL it means', () => {
    expect(url('memory')).toBe('memory:');
    expect(url('file', './tmp/sessions')).toBe('file:./tmp/sessions');
    expect(url('redis', '127.0.0.1:6379,100,p@ss,2')).toBe('redis://:p%40ss@127.0.0.1:6379/2');
    expect(url('redis', 'cache:6379')).toBe('redis://cache:6379');
    expect(url('redis_sentinel', 'h1:26379;h2:26379,100,,0,main')).toBe(
      'redis+sentinel://h1:26379,h2:26379/main?db=0',
    );
    expect(url('redis_cluster', 'h1:7000;h2:7001,100,pw')).toBe(
      'redis+cluster://:pw@h1:7000,h2:7001',
    );
    expect(
      url('postgresql', 'user=app password=pw host=db port=5432 dbname=app sslmode=disable'),
    ).toBe('postgres://app:pw@db:5432/app?sslmode=disable');
    expect(url('mysql', 'app:pw@tcp(db:3306)/app')).toBe('mysql://app:pw@db:3306/app');
    expect(url('memcache', 'h1:11211;h2:11211')).toBe('memcached://h1:11211,h2:11211');
    expect(url('cookie')).toBe('cookie:');
    // A URL passes as it is, for any provider.
    expect(url('redis', 'rediss://cache:6380/1')).toBe('rediss://cache:6380/1');
  });

  it("refuses beego's cookie provider config, asking for TESSERA_SECRET", () => {
    expect(() => url('cookie', '{"securityKey":"x"}')).toThrow(/TESSERA_SECRET/);
  });
});
