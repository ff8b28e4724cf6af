/**
 * @module beego's session settings as environment variables (`SESSION_PROVIDER`,
 * `SESSION_PROVIDER_CONFIG`, `SESSION_GC_MAX_LIFETIME`, …), each read as the `TESSERA_*` variable
 * it stands for, so an app moving from beego keeps its deployment's settings.
 */
import { envError, parseBoolean, parseWhole } from './_values.js';

/** An environment value and the variable it was read from (named in errors). */
export interface Setting {
  readonly from: string;
  readonly text: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const value = (env: Env, name: string): string | undefined => {
  const text = env[name];
  return text === undefined || text.trim() === '' ? undefined : text;
};

/** beego's `host:port,pool,password,db` (redis), with `;` between hosts for sentinel and cluster. */
function redisUrl(scheme: string, name: string, config: string): string {
  const [hosts = '', , password = '', db = '', master = ''] = config
    .split(',')
    .map((s) => s.trim());
  if (hosts === '')
    throw envError(name, 'names no Redis address (beego: "127.0.0.1:6379,100,password,0").');
  const auth = password === '' ? '' : `:${encodeURIComponent(password)}@`;
  const list = hosts.split(';').join(',');
  if (scheme === 'redis+sentinel')
    return `${scheme}://${auth}${list}/${encodeURIComponent(master === '' ? 'mymaster' : master)}${db === '' ? '' : `?db=${db}`}`;
  if (scheme === 'redis+cluster') return `${scheme}://${auth}${list}`;
  return `${scheme}://${auth}${list}${db === '' ? '' : `/${db}`}`;
}

/** lib/pq's `user=… password=… host=… port=… dbname=…` form; other keys become URL parameters. */
function postgresUrl(name: string, config: string): string {
  const pairs = new Map<string, string>();
  for (const part of config.trim().split(/\s+/)) {
    const at = part.indexOf('=');
    if (at <= 0) throw envError(name, 'must be a postgres:// URL or "user=… host=… dbname=…".');
    pairs.set(part.slice(0, at), part.slice(at + 1));
  }
  const user = pairs.get('user');
  const password = pairs.get('password');
  const auth =
    user === undefined
      ? ''
      : `${encodeURIComponent(user)}${password === undefined ? '' : `:${encodeURIComponent(password)}`}@`;
  const port = pairs.get('port');
  const url = `postgres://${auth}${pairs.get('host') ?? '127.0.0.1'}${port === undefined ? '' : `:${port}`}/${encodeURIComponent(pairs.get('dbname') ?? 'postgres')}`;
  // The other keys (sslmode, table, schema, …) become URL parameters.
  const params = new URLSearchParams();
  for (const [key, text] of pairs)
    if (!['user', 'password', 'host', 'port', 'dbname'].includes(key)) params.set(key, text);
  return params.size === 0 ? url : `${url}?${params.toString()}`;
}

/** go-sql-driver's `user:password@tcp(host:port)/db`. */
function mysqlUrl(name: string, config: string): string {
  const match = /^(?:([^:@]*)(?::([^@]*))?@)?(?:tcp\(([^)]*)\))?\/([^?]*)/.exec(config.trim());
  if (!match) throw envError(name, 'must be a mysql:// URL or "user:password@tcp(host:port)/db".');
  const [, user, password, host, db] = match;
  const auth =
    user === undefined || user === ''
      ? ''
      : `${encodeURIComponent(user)}${password === undefined ? '' : `:${encodeURIComponent(password)}`}@`;
  return `mysql://${auth}${host === undefined || host === '' ? '127.0.0.1:3306' : host}/${db ?? ''}`;
}

/** The store URL `SESSION_PROVIDER` and `SESSION_PROVIDER_CONFIG` stand for. */
function providerUrl(env: Env): Setting | undefined {
  const provider = value(env, 'SESSION_PROVIDER')?.trim().toLowerCase();
  const config = value(env, 'SESSION_PROVIDER_CONFIG');
  if (provider === undefined) {
    if (config === undefined) return undefined;
    throw envError(
      'SESSION_PROVIDER_CONFIG',
      'is set without SESSION_PROVIDER; set both, or TESSERA_STORE alone.',
    );
  }
  const from = 'SESSION_PROVIDER_CONFIG';
  if (
    config !== undefined &&
    /^(?:[a-z][a-z0-9+.-]*:\/\/|(?:memory|cookie|file|sqlite):)/i.test(config)
  )
    return { from, text: config.trim() };
  const need = (what: string): string => {
    if (config === undefined)
      throw envError(from, `must be set for SESSION_PROVIDER=${provider}: ${what}.`);
    return config;
  };
  switch (provider) {
    case 'memory':
      return { from: 'SESSION_PROVIDER', text: 'memory:' };
    case 'file':
      return { from, text: `file:${need('the folder that holds the sessions')}` };
    case 'redis':
      return { from, text: redisUrl('redis', from, need('"host:port,pool,password,db"')) };
    case 'redis_sentinel':
      return {
        from,
        text: redisUrl('redis+sentinel', from, need('"h1:p1;h2:p2,pool,password,db,master"')),
      };
    case 'redis_cluster':
      return { from, text: redisUrl('redis+cluster', from, need('"h1:p1;h2:p2,pool,password"')) };
    case 'postgresql':
    case 'postgres':
      return { from, text: postgresUrl(from, need('"user=… host=… dbname=…"')) };
    case 'mysql':
      return { from, text: mysqlUrl(from, need('"user:password@tcp(host:port)/db"')) };
    case 'memcache':
    case 'memcached':
      return {
        from,
        text: `memcached://${need('"host:port;host:port"').trim().split(';').join(',')}`,
      };
    case 'cookie':
      if (config !== undefined)
        throw envError(
          from,
          "beego's cookie provider config (securityKey, blockKey) does not carry over: drop it and set TESSERA_SECRET (one secret of 32+ random bytes, or several comma-separated, newest first).",
        );
      return { from: 'SESSION_PROVIDER', text: 'cookie:' };
    default:
      throw envError(
        'SESSION_PROVIDER',
        `names no provider tessera knows (memory, file, redis, redis_sentinel, redis_cluster, postgresql, mysql, memcache, cookie); got ${JSON.stringify(provider)}. Or set TESSERA_STORE to a store URL.`,
      );
  }
}

/** The `TESSERA_*` settings the beego variables of `env` stand for. */
export function beegoSettings(env: Env): Map<string, Setting> {
  const out = new Map<string, Setting>();
  const put = (to: string, setting: Setting | undefined): void => {
    if (setting !== undefined) out.set(to, setting);
  };
  put('TESSERA_STORE', providerUrl(env));
  const plain = (from: string, to: string): void => {
    const text = value(env, from);
    if (text !== undefined) out.set(to, { from, text });
  };
  plain('SESSION_NAME', 'TESSERA_COOKIE_NAME');
  plain('SESSION_DOMAIN', 'TESSERA_COOKIE_DOMAIN');
  plain('SESSION_COOKIE_SAME_SITE', 'TESSERA_COOKIE_SAME_SITE');
  plain('SESSION_AUTO_SET_COOKIE', 'TESSERA_SET_COOKIE');
  plain('SESSION_ID_LENGTH', 'TESSERA_ID_BYTES');
  plain('SESSION_ID_PREFIX', 'TESSERA_ID_PREFIX');
  const seconds = (from: string, to: string, zero?: string): void => {
    const text = value(env, from);
    if (text === undefined) return;
    const n = parseWhole(from, text, zero === undefined ? 1 : 0, 10 * 365 * 86_400);
    out.set(to, { from, text: n === 0 && zero !== undefined ? zero : `${n}s` });
  };
  seconds('SESSION_GC_MAX_LIFETIME', 'TESSERA_IDLE_TIMEOUT');
  seconds('SESSION_COOKIE_LIFETIME', 'TESSERA_COOKIE_MAX_AGE', 'session');
  const noHttpOnly = value(env, 'SESSION_DISABLE_HTTP_ONLY');
  if (noHttpOnly !== undefined)
    out.set('TESSERA_COOKIE_HTTP_ONLY', {
      from: 'SESSION_DISABLE_HTTP_ONLY',
      text: String(!parseBoolean('SESSION_DISABLE_HTTP_ONLY', noHttpOnly)),
    });
  const inHeader = value(env, 'SESSION_ENABLE_SID_IN_HTTP_HEADER');
  const headerName = value(env, 'SESSION_NAME_IN_HTTP_HEADER');
  if (inHeader !== undefined && parseBoolean('SESSION_ENABLE_SID_IN_HTTP_HEADER', inHeader)) {
    if (headerName === undefined)
      throw envError(
        'SESSION_NAME_IN_HTTP_HEADER',
        'must name the header when SESSION_ENABLE_SID_IN_HTTP_HEADER is true.',
      );
    out.set('TESSERA_HEADER', {
      from: 'SESSION_NAME_IN_HTTP_HEADER',
      text: headerName.trim().toLowerCase(),
    });
  }
  const inQuery = value(env, 'SESSION_ENABLE_SID_IN_URL_QUERY');
  if (inQuery !== undefined && parseBoolean('SESSION_ENABLE_SID_IN_URL_QUERY', inQuery))
    out.set('TESSERA_QUERY', {
      from: 'SESSION_ENABLE_SID_IN_URL_QUERY',
      text: value(env, 'SESSION_NAME') ?? 'sid',
    });
  return out;
}
