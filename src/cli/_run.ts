/**
 * @module Runs one command line: parses it, opens the store(s) from `--store`/`TESSERA_STORE`
 * (the same environment reading as `fromEnv`), runs the command and prints what it did.
 */
import { isTesseraError } from '../core/errors.js';
import type { SessionManagerOptions } from '../core/options.js';
import type { Store } from '../core/store.js';
import { createStore } from '../stores/registry.js';
import { createSessionManager } from '../index.js';
import { fromEnv } from '../config/env.js';
import { COMMANDS, EXIT, help, parse, UsageError, type Parsed } from './_args.js';
import { storeCall } from './_call.js';
import { STORE_COMMANDS } from './_commands.js';
import { copySessions } from './_copy.js';
import { print, printError, type Io, type Outcome } from './_output.js';

type Env = Readonly<Record<string, string | undefined>>;

const STORE_VARIABLES = ['TESSERA_STORE', 'SESSION_PROVIDER', 'SESSION_PROVIDER_CONFIG'];
const DEFAULT_TIMEOUT = 2000;

/** The environment without the variables that name a store. */
const withoutStore = (env: Env): Env =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !STORE_VARIABLES.includes(name)));

async function onStore(parsed: Parsed, env: Env, io: Io): Promise<Outcome> {
  const url = parsed.flags['store'];
  const named = typeof url === 'string' ? { ...withoutStore(env), TESSERA_STORE: url } : env;
  let options: SessionManagerOptions;
  try {
    options = await fromEnv(named);
  } catch (error) {
    if (isTesseraError(error) && typeof url === 'string')
      throw Object.assign(error, {
        message: error.message.replace('Environment variable TESSERA_STORE', '--store'),
      });
    throw error;
  }
  if (options.store === undefined)
    throw new UsageError(
      'Name the store: --store URL, or set TESSERA_STORE (e.g. redis://127.0.0.1:6379/0).',
    );
  const store = options.store;
  const manager = createSessionManager({ ...options, gcInterval: false });
  try {
    const call = storeCall(store, options.storeTimeout ?? DEFAULT_TIMEOUT);
    return await STORE_COMMANDS[parsed.command!]!({
      manager,
      store,
      call,
      args: parsed.args,
      flags: parsed.flags,
      io,
    });
  } finally {
    await manager.close().catch(() => {});
  }
}

async function copy(parsed: Parsed, env: Env, io: Io): Promise<Outcome> {
  const from = parsed.flags['from'];
  const to = parsed.flags['to'];
  if (typeof from !== 'string' || typeof to !== 'string')
    throw new UsageError(
      `copy needs --from URL and --to URL. Usage: tessera-session ${COMMANDS['copy']!.usage}`,
    );
  if (from === to) throw new UsageError('copy: --from and --to name the same store.');
  const options = await fromEnv(withoutStore(env));
  const secret = env['TESSERA_SECRET']
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const urlOptions = secret === undefined || secret.length === 0 ? {} : { secret };
  const timeout = options.storeTimeout ?? DEFAULT_TIMEOUT;
  const opened: Store[] = [];
  const open = async (flag: string, url: string): Promise<Store> => {
    try {
      const store = await createStore(url, urlOptions);
      opened.push(store);
      return store;
    } catch (error) {
      if (isTesseraError(error)) error.message = `--${flag}: ${error.message}`;
      throw error;
    }
  };
  try {
    const source = await open('from', from);
    const target = await open('to', to);
    return await copySessions(
      source,
      target,
      { source: storeCall(source, timeout), target: storeCall(target, timeout) },
      { deleteSource: parsed.flags['delete-source'] === true, io },
    );
  } finally {
    await Promise.all(opened.map((s) => s.close().catch(() => {})));
  }
}

/** Runs the command line `argv` (without node and the script) and returns its exit code. */
export async function run(argv: readonly string[], env: Env, io: Io): Promise<number> {
  const isJson = argv.includes('--json');
  const isDebug = argv.includes('--debug');
  try {
    const parsed = parse(argv);
    if (parsed.command === undefined || parsed.flags['help'] === true) {
      if (parsed.flags['help'] === true) {
        io.stdout.write(help(parsed.command));
        return EXIT.OK;
      }
      io.stderr.write(help());
      return EXIT.USAGE;
    }
    const outcome =
      parsed.command === 'copy' ? await copy(parsed, env, io) : await onStore(parsed, env, io);
    print(io, isJson, outcome);
    return outcome.code;
  } catch (error) {
    return printError(io, isJson, isDebug, error);
  }
}
