/**
 * @module The command line's grammar: commands, their flags, the help text and usage errors.
 */
import { parseArgs } from 'node:util';

/** Exit codes of the command line. */
export const EXIT = {
  OK: 0,
  /** The store failed, or the work did not finish (a copy with failures). */
  ERROR: 1,
  /** Wrong command, flag or argument, or a configuration error (bad store URL, variable). */
  USAGE: 2,
  /** `show`/`revoke` of a session that does not exist (or expired). */
  NOT_FOUND: 3,
} as const;

/** A mistake in how the command was called: exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Flag = { type: 'string' | 'boolean'; short?: string };

const GLOBAL: Record<string, Flag> = {
  store: { type: 'string' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

interface CommandSpec {
  readonly summary: string;
  readonly usage: string;
  readonly flags: Record<string, Flag>;
  /** Positional arguments after the command. */
  readonly args: number;
  /** Whether it works on the one store named by `--store`/`TESSERA_STORE`. */
  readonly usesStore: boolean;
}

/** Every command. */
export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  count: {
    summary: 'How many live sessions the store holds.',
    usage: 'count',
    flags: {},
    args: 0,
    usesStore: true,
  },
  list: {
    summary: 'Sessions page by page (store keys and metadata, never ids or values).',
    usage: 'list [--limit N] [--cursor C] [--user ID]',
    flags: { limit: { type: 'string' }, cursor: { type: 'string' }, user: { type: 'string' } },
    args: 0,
    usesStore: true,
  },
  show: {
    summary: "One session's metadata and key sizes; values only with --data.",
    usage: 'show <id|hash|-> [--id | --hash] [--data]',
    flags: { data: { type: 'boolean' }, id: { type: 'boolean' }, hash: { type: 'boolean' } },
    args: 1,
    usesStore: true,
  },
  revoke: {
    summary: 'End one session.',
    usage: 'revoke <id|hash|-> [--id | --hash]',
    flags: { id: { type: 'boolean' }, hash: { type: 'boolean' } },
    args: 1,
    usesStore: true,
  },
  'revoke-user': {
    summary: 'End every session of a user (log out everywhere).',
    usage: 'revoke-user <user>',
    flags: {},
    args: 1,
    usesStore: true,
  },
  purge: {
    summary: 'Remove expired records within a time budget (SQL, file stores).',
    usage: 'purge [--budget DURATION]',
    flags: { budget: { type: 'string' } },
    args: 0,
    usesStore: true,
  },
  check: {
    summary: 'Write, read back and delete a probe record.',
    usage: 'check',
    flags: {},
    args: 0,
    usesStore: true,
  },
  copy: {
    summary: 'Copy live sessions, with their deadlines, from one store to another.',
    usage: 'copy --from URL --to URL [--delete-source]',
    flags: {
      from: { type: 'string' },
      to: { type: 'string' },
      'delete-source': { type: 'boolean' },
    },
    args: 0,
    usesStore: false,
  },
};

/** A parsed command line. */
export interface Parsed {
  command: string | undefined;
  args: string[];
  flags: Record<string, string | boolean | undefined>;
}

const ALL_FLAGS: Record<string, Flag> = Object.assign(
  {},
  GLOBAL,
  ...Object.values(COMMANDS).map((c) => c.flags),
) as Record<string, Flag>;

/** Parses `argv` (without node and the script); throws {@link UsageError}. */
export function parse(argv: readonly string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: ALL_FLAGS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify .*$/s, '.'));
  }
  const [command, ...args] = parsed.positionals;
  const flags = parsed.values as Parsed['flags'];
  if (command === undefined || flags['help'] === true) return { command, args, flags };
  const spec = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (spec === undefined)
    throw new UsageError(`Unknown command "${command}". Run tessera-session --help.`);
  for (const name of Object.keys(flags)) {
    if (!Object.hasOwn(GLOBAL, name) && !Object.hasOwn(spec.flags, name))
      throw new UsageError(`${command} takes no --${name}. Usage: tessera-session ${spec.usage}`);
  }
  if (args.length !== spec.args)
    throw new UsageError(
      `${command} takes ${spec.args === 0 ? 'no argument' : `${spec.args} argument`}; got ${args.length}. Usage: tessera-session ${spec.usage}`,
    );
  if (!spec.usesStore && flags['store'] !== undefined)
    throw new UsageError(`${command} takes --from and --to, not --store.`);
  return { command, args, flags };
}

/** The help text of the whole command line, or of one command. */
export function help(command?: string): string {
  const spec = command === undefined ? undefined : COMMANDS[command];
  const exits = [
    'Exit codes:',
    '  0  done',
    '  1  the store failed (unreachable, timed out), or a copy left sessions behind',
    '  2  usage or configuration error (unknown command or flag, bad store URL or variable)',
    '  3  not found: show/revoke of a session that does not exist or has expired',
  ];
  if (spec !== undefined)
    return [
      `Usage: tessera-session ${spec.usage} [--store URL] [--json] [--debug]`,
      '',
      spec.summary,
      '',
      ...exits,
      '',
    ].join('\n');
  return [
    'Usage: tessera-session <command> [flags]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`),
    '',
    'Flags:',
    '  --store URL   the store (default: TESSERA_STORE, or SESSION_PROVIDER + SESSION_PROVIDER_CONFIG)',
    '  --json        print one JSON document on stdout',
    '  --debug       print stack traces with errors',
    '  -h, --help    this text; <command> --help for one command',
    '',
    'show and revoke take a session id (hashed to its store key) or a 43-character store key as',
    '`list` prints it: the id is tried first, then the key. --id or --hash says which it is; "-"',
    'reads it from stdin, which keeps it out of the shell history and the process list.',
    'Durations: milliseconds, or with a unit: 500ms, 30s, 10m, 12h, 7d.',
    '',
    ...exits,
    '',
  ].join('\n');
}
