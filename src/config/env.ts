/**
 * @module Manager options from environment variables (`TESSERA_STORE`, `TESSERA_IDLE_TIMEOUT`, …,
 * and beego's `SESSION_*` names), checked at start-up with errors that name the variable.
 */
import { isTesseraError, TesseraError } from '../core/errors.js';
import { createManager } from '../core/manager/index.js';
import { resolveOptions, type SessionManagerOptions } from '../core/options.js';
import type { Store } from '../core/store.js';
import { createStore } from '../stores/registry.js';
import { beegoSettings, type Setting } from './_aliases.js';
import { envError, nearest, parseBoolean } from './_values.js';
import { ENV_VARIABLES, type Draft } from './_variables.js';

/** Options of {@link fromEnv}. */
export interface FromEnvOptions {
  /**
   * Check the store once before returning (write, read back and delete a probe record, bounded
   * by `storeTimeout`), so a wrong or unreachable `TESSERA_STORE` stops the start-up instead of
   * failing the first request. `TESSERA_CHECK=true` asks for the same. @default false
   */
  check?: boolean | undefined;
  /**
   * More `TESSERA_*` names your own app reads. fromEnv refuses every other `TESSERA_*` variable
   * it does not know (a typo would otherwise be ignored silently). @default []
   */
  known?: readonly string[] | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Variables of tessera's own test and bench scripts: not settings, never refused. */
const TOOLING = new Set([
  'TESSERA_SERVICES',
  'TESSERA_KEEP_SERVICES',
  'TESSERA_SERVICES_DIR',
  'TESSERA_SERVICE_DEFS',
  'TESSERA_CRASH_ROUNDS',
]);

/** The settings of `env`: every `TESSERA_*` and beego variable, with the variable it came from. */
function settingsOf(env: Env, known: readonly string[]): Map<string, Setting> {
  const settings = beegoSettings(env);
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('TESSERA_') || text === undefined || text.trim() === '') continue;
    if (!Object.hasOwn(ENV_VARIABLES, name)) {
      if (known.includes(name) || TOOLING.has(name)) continue;
      const near = nearest(name, Object.keys(ENV_VARIABLES));
      throw new TesseraError(
        'CONFIG',
        `Unknown environment variable ${name}${near === undefined ? '' : `; did you mean ${near}`}? The variables are listed in the README (Configuration from the environment).`,
      );
    }
    const alias = settings.get(name);
    if (alias !== undefined)
      throw new TesseraError(
        'CONFIG',
        `Environment variables ${name} and ${alias.from} both set ${ENV_VARIABLES[name]!.option}; keep one.`,
      );
    settings.set(name, { from: name, text });
  }
  return settings;
}

/** The manager's own check message, prefixed with the variables whose options it names. */
function blame(error: unknown, settings: Map<string, Setting>): unknown {
  if (!isTesseraError(error) || error.code !== 'CONFIG') return error;
  const named = [...settings]
    .filter(([name]) =>
      new RegExp(`\\b${ENV_VARIABLES[name]?.option ?? '-'}\\b`).test(error.message),
    )
    .map(([, s]) => s.from);
  const from = named.length > 0 ? named : [...settings.values()].map((s) => s.from);
  return new TesseraError('CONFIG', `Environment variable ${from.join(', ')}: ${error.message}`, {
    cause: error,
  });
}

/**
 * Reads manager options from the environment: every `TESSERA_*` variable (see the README,
 * Configuration from the environment) and beego's `SESSION_*` names. Durations are milliseconds,
 * or a number with a unit (`30m`, `12h`, `7d`). Empty variables count as unset. Throws `CONFIG`
 * naming the variable for a wrong value, an unknown `TESSERA_*` name (with the nearest known
 * one), or a variable set twice (a `TESSERA_*` name and its beego alias); `INSECURE_KEY` for a
 * weak `TESSERA_SECRET`. With `TESSERA_STORE` set, the returned options own a store that is
 * connected already: pass them to one manager, whose `close()` closes it.
 *
 * @example
 * import { createSessionManager, fromEnv } from 'tessera-session'
 *
 * const sessions = createSessionManager({ ...(await fromEnv(process.env, { check: true })) })
 */
export async function fromEnv(
  env: Env = process.env,
  options: FromEnvOptions = {},
): Promise<SessionManagerOptions> {
  const settings = settingsOf(env, options.known ?? []);
  const draft: Draft = { options: {}, cookie: {}, transport: {} };
  for (const [name, { from, text }] of settings) ENV_VARIABLES[name]?.read?.(draft, text, from);
  const out = draft.options;
  if (Object.keys(draft.cookie).length > 0) out.cookie = draft.cookie;
  if (Object.keys(draft.transport).length > 0) out.transport = draft.transport;
  if (draft.isCrossOriginOff === true) {
    if (draft.trustedOrigins !== undefined)
      throw envError(
        'TESSERA_TRUSTED_ORIGINS',
        'means nothing with TESSERA_CROSS_ORIGIN=off; drop one.',
      );
    out.crossOrigin = false;
  } else if (draft.trustedOrigins !== undefined) {
    out.crossOrigin = { trustedOrigins: draft.trustedOrigins };
  }
  const check = settings.get('TESSERA_CHECK');
  const isCheck =
    options.check ?? (check === undefined ? false : parseBoolean(check.from, check.text));
  try {
    resolveOptions(out);
  } catch (error) {
    throw blame(error, settings);
  }

  const url = settings.get('TESSERA_STORE');
  if (url === undefined) {
    const secret = settings.get('TESSERA_SECRET');
    if (secret !== undefined)
      throw envError(
        secret.from,
        'is set, but without TESSERA_STORE the memory store is used, which takes no secret (session ids need none). Set TESSERA_STORE (cookie:), or drop TESSERA_SECRET.',
      );
    return out;
  }
  const secret = settings
    .get('TESSERA_SECRET')
    ?.text.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  let store: Store;
  try {
    store = await createStore(url.text.trim(), secret === undefined ? {} : { secret });
  } catch (error) {
    if (!isTesseraError(error) || error.code !== 'CONFIG') throw error;
    throw new TesseraError('CONFIG', `Environment variable ${url.from}: ${error.message}`, {
      cause: error,
    });
  }
  out.store = store;
  try {
    const manager = createManager({ ...out, gcInterval: false }, () => store);
    if (isCheck) await manager.check();
  } catch (error) {
    await store.close().catch(() => {});
    throw blame(error, settings);
  }
  return out;
}
