/**
 * @module What the command line prints: one JSON document or text on stdout, errors on stderr,
 * progress on a terminal's stderr.
 */
import type { Readable, Writable } from 'node:stream';
import { isTesseraError } from '../core/errors.js';
import { EXIT, UsageError } from './_args.js';

/** The streams the command line uses. */
export interface Io {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable;
}

/** What a command answers: its exit code, its JSON document and its text form. */
export interface Outcome {
  code: number;
  doc: Record<string, unknown>;
  text: string;
}

/** An epoch-ms time as text. */
export const iso = (at: number | undefined): string =>
  at === undefined ? '-' : new Date(at).toISOString();

/** Prints an outcome. */
export function print(io: Io, isJson: boolean, outcome: Outcome): void {
  if (!isJson && outcome.code === EXIT.NOT_FOUND) {
    io.stderr.write(`tessera-session: ${outcome.text}\n`);
    return;
  }
  io.stdout.write(
    isJson
      ? `${JSON.stringify(outcome.doc)}\n`
      : outcome.text.endsWith('\n')
        ? outcome.text
        : `${outcome.text}\n`,
  );
}

/** The exit code of an error. */
export function exitOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT.USAGE;
  if (
    isTesseraError(error) &&
    (error.code === 'CONFIG' || error.code === 'BAD_ID' || error.code === 'INSECURE_KEY')
  )
    return EXIT.USAGE;
  return EXIT.ERROR;
}

/**
 * Reports an error: its message (and code) on stderr, stack traces only with `--debug`; with
 * `--json` also `{"error":{code,message}}` on stdout, so the output always parses.
 */
export function printError(io: Io, isJson: boolean, isDebug: boolean, error: unknown): number {
  const code = exitOf(error);
  const kind =
    error instanceof UsageError ? 'USAGE' : isTesseraError(error) ? error.code : 'INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`tessera-session: ${message}${kind === 'USAGE' ? '' : ` (${kind})`}\n`);
  if (isDebug) {
    let e: unknown = error;
    while (e instanceof Error) {
      io.stderr.write(`${e.stack ?? e.message}\n`);
      e = e.cause;
      if (e !== undefined) io.stderr.write('Caused by: ');
    }
  }
  if (isJson) io.stdout.write(`${JSON.stringify({ error: { code: kind, message } })}\n`);
  return code;
}

/** A progress line on a terminal's stderr (rewritten in place); nothing when stderr is no TTY. */
export function progress(io: Io): { update(text: string): void; end(): void } {
  if (io.stderr.isTTY !== true) return { update() {}, end() {} };
  let shown = false;
  return {
    update(text) {
      io.stderr.write(`\r\x1b[2K${text}`);
      shown = true;
    },
    end() {
      if (shown) io.stderr.write('\n');
    },
  };
}
