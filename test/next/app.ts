/**
 * The fixture app of test/fixtures/next-app, built and served for real: tessera is built into the
 * copy's node_modules (as the package a user installs), then `next build` and `next start` run on a
 * free port on 127.0.0.1. The copy lives in the gitignored .scratch/ folder: inside the repository,
 * so Next resolves `next`, `react` and `cookie` from its node_modules.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const fixture = join(root, 'test/fixtures/next-app');
const nextBin = join(root, 'node_modules/next/dist/bin/next');
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' };

/** A served build of the fixture. */
export interface NextApp {
  /** `http://127.0.0.1:<port>`. */
  readonly base: string;
  /** What `next start` printed so far. */
  readonly output: () => string;
  /** Stops the server and removes the copy. */
  stop(): Promise<void>;
}

function run(command: string, args: string[], cwd: string, what: string): void {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`${what} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

const scratch = join(root, '.scratch');
const OWNER = '.owner-pid';

/** Whether process `pid` is alive. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the copies left by runs that were killed before they could clean up. */
function sweep(): void {
  for (const name of readdirSync(scratch)) {
    if (!name.startsWith('next-app-')) continue;
    const dir = join(scratch, name);
    const owner = Number(existsSync(join(dir, OWNER)) ? readFileSync(join(dir, OWNER), 'utf8') : 0);
    if (!(owner > 0 && isAlive(owner))) rmSync(dir, { recursive: true, force: true });
  }
}

/** The copy of the fixture, with tessera built into its node_modules as `tessera-session`. */
function prepare(): string {
  mkdirSync(scratch, { recursive: true });
  sweep();
  const dir = mkdtempSync(join(scratch, 'next-app-'));
  writeFileSync(join(dir, OWNER), String(process.pid));
  cpSync(fixture, dir, {
    recursive: true,
    filter: (source) => !/[/\\](node_modules|\.next)$/.test(source),
  });
  // The fixture's tsconfig maps tessera-session to the sources (for editors and ESLint); the copy
  // uses the package as published: its exports, its built JavaScript and declarations.
  const tsconfigPath = join(dir, 'tsconfig.json');
  const tsconfig = JSON.parse(readFileSync(tsconfigPath, 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  tsconfig.compilerOptions.paths = { '@/*': ['./*'] };
  writeFileSync(tsconfigPath, JSON.stringify(tsconfig, null, 2));
  const pkg = join(dir, 'node_modules', 'tessera-session');
  mkdirSync(pkg, { recursive: true });
  copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
  // --noCheck: the emit only (the typecheck is `npm run typecheck`'s job), in seconds.
  spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      ...['-p', join(root, 'tsconfig.build.json'), '--noCheck', '--outDir', join(pkg, 'dist')],
    ],
    { cwd: root, encoding: 'utf8' },
  );
  for (const file of ['index.js', 'adapters/next.js', 'adapters/next.d.ts'])
    if (!existsSync(join(pkg, 'dist', file))) throw new Error(`tsc did not emit dist/${file}`);
  return dir;
}

/** Waits until the server answers, or its process ends. */
async function ready(base: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`next start exited:\n${output()}`);
    try {
      if ((await fetch(`${base}/api/control`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`next start did not answer within 30 s:\n${output()}`);
}

/** Builds the fixture and serves it. */
export async function startNextApp(): Promise<NextApp> {
  const dir = prepare();
  try {
    run(process.execPath, [nextBin, 'build'], dir, 'next build');
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // Its own process group, so stopping it stops whatever it started, and nothing else.
  const child = spawn(process.execPath, [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: dir,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let printed = '';
  const collect = (chunk: Buffer): void => void (printed += chunk.toString());
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const output = (): string => printed;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    if (process.env['TESSERA_KEEP_NEXT'] !== '1') rmSync(dir, { recursive: true, force: true });
  };
  try {
    await ready(base, child, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { base, output, stop };
}

/** A browser without JavaScript: keeps its cookies, follows no redirect, submits forms. */
export interface Visitor {
  /** The cookies it holds, by name. */
  readonly cookies: Map<string, string>;
  /** A request with the cookies held; keeps what the answer sets. */
  go(path: string, init?: RequestInit): Promise<Response>;
  /**
   * Opens the page at `path` and returns how to submit its Server Action form as a browser does
   * before hydration: a multipart POST to the page, carrying the action's id in its hidden
   * `$ACTION_ID_…` field.
   */
  form(
    path: string,
  ): Promise<
    (fields?: Record<string, string>, headers?: Record<string, string>) => Promise<Response>
  >;
  /** {@link Visitor.form}, submitted at once. */
  submit(
    path: string,
    fields?: Record<string, string>,
    headers?: Record<string, string>,
  ): Promise<Response>;
}

/** A new visitor of `base`, with no cookie. */
export function visitor(base: string): Visitor {
  const cookies = new Map<string, string>();
  const go = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (cookies.size > 0)
      headers.set('cookie', [...cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(base + path, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';', 1)[0]!;
      const name = pair.slice(0, pair.indexOf('='));
      if (/;\s*max-age=0(;|$)/i.test(line)) cookies.delete(name);
      else cookies.set(name, pair.slice(name.length + 1));
    }
    return response;
  };
  const form: Visitor['form'] = async (path) => {
    const page = await (await go(path)).text();
    const action = /name="(\$ACTION_ID_[0-9a-f]+)"/.exec(page)?.[1];
    if (action === undefined) throw new Error(`no Server Action form on ${path}`);
    return (fields = {}, headers = {}) => {
      const body = new FormData();
      body.append(action, '');
      for (const [name, value] of Object.entries(fields)) body.append(name, value);
      // What a browser sends with a same-origin form post.
      const sent = new Headers({ origin: base, 'sec-fetch-site': 'same-origin' });
      for (const [name, value] of new Headers(headers)) sent.set(name, value);
      return go(path, { method: 'POST', body, headers: sent });
    };
  };
  return {
    cookies,
    go,
    form,
    submit: async (path, fields, headers) => (await form(path))(fields, headers),
  };
}

/** The text of the element with `id` in a page, or `undefined`. */
export function textOf(html: string, id: string): string | undefined {
  return new RegExp(`id="${id}">([^<]*)<`).exec(html)?.[1];
}
