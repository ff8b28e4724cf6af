/**
 * @module Instructions per request: each server process runs under `valgrind --tool=callgrind`
 * and this process drives it with sequential requests on one keep-alive connection, so the count
 * does not depend on how busy the machine is (seconds on this shared machine spread 0.5–2x).
 *
 * Differential, in one process per contender: after an uncounted warm-up (the server starts with
 * `--instr-atstart=no`, so start-up and warm-up run without instrumentation, about twice as fast),
 * counting is switched on and `callgrind_control --dump` ends each phase; a dump zeroes the
 * counters, so each dump holds exactly one phase. A phase of N requests and one of 2N follow each
 * other and the result is (I(2N) − I(N)) / N: whatever a phase costs once (the dump, a timer that
 * fires once) cancels out. Two processes with totals at exit would each carry start-up and
 * the JIT's warm-up (hundreds of millions of instructions, which vary from run to run), so their
 * difference would be noisier than what it measures.
 *
 * Node runs with `--single-threaded`: V8's compiler and GC helper threads do their work on the
 * main thread instead, so it is counted in the same order on every run (valgrind serializes the
 * threads anyway, and their share of the work would otherwise depend on scheduling). The total
 * work is the same as with helpers; only where it runs changes. `--no-flush-bytecode`: V8 drops
 * the bytecode of functions that sat unused through a few full collections and compiles them
 * again on their next call; in Express that re-compiling (`Builtins_CompileLazy`) was over half
 * of some phases and made two processes differ by 15%, with it off they agree within 0.5%.
 * (Starting each phase after a forced full collection was tried and dropped: code runs slower for
 * hundreds of requests after one, so it inflated every count.)
 *
 * Returning clients (read, write) share one warm-up, alternating, as they share one process in
 * the load runs; new visitors warm up and are measured last, so the sessions they create do not
 * weigh on the returning clients' counts. Redis (for the Redis contenders) runs in its own
 * process and is not counted.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { returningClients, verify } from './_checks.js';
import { get } from './_client.js';
import { kindsOf, type Contender, type Kind } from './_contenders.js';
import { startServer, unpin, type ServerProcess } from './_procs.js';

const run = promisify(execFile);

/**
 * The contenders counted by default: the bare servers and the memory-store sessions on node:http,
 * Express and Fastify, the two Redis contenders (Redis runs in its own, uncounted process), Koa
 * and koa-session, and the cookie stores (tessera's and iron-session) against bare node:http.
 */
export const ICOUNT_CONTENDERS: readonly string[] = [
  'bare-node',
  'tessera-node',
  'bare-express',
  'tessera-express',
  'express-session',
  'bare-fastify',
  'tessera-fastify',
  'fastify-session',
  'tessera-redis',
  'express-session-redis',
  'bare-koa',
  'koa-session',
  'tessera-cookie',
  'iron-session',
];

/**
 * Warm-up requests per kind and N in a full run and in `--icount`. node:http needs about 10 000
 * warm-up requests: after 6 000 a deterministic event still falls into the 2N phase (bare
 * node:http counts 70k instead of 60k).
 */
export const ICOUNT_FULL = { warmup: 10000, requests: 300 } as const;
/** How many times N the servers other than Express's count (see `countContender`). */
export const LIGHT_SCALE = 5;
/** The same in a `--quick` run: indicative only, the phases are short. */
export const ICOUNT_QUICK = { warmup: 2000, requests: 100 } as const;

/** Node flags of a counted server (see the module comment). */
export const ICOUNT_NODE_FLAGS: readonly string[] = ['--single-threaded', '--no-flush-bytecode'];

/** How a count is taken. */
export interface ICountSettings {
  /** Uncounted warm-up requests per kind before counting. */
  warmup: number;
  /** N: the phases are N and 2N requests. */
  requests: number;
  /** Returning clients whose cookies the requests cycle through (as in the load runs). */
  clients: number;
  /** Servers counted at the same time (instruction counts do not depend on load). */
  parallel: number;
  /** Flags node ran with. */
  nodeFlags: readonly string[];
  /** `valgrind --version` */
  valgrind: string;
}

/** The instructions per request of one contender and kind. */
export interface ICountCell {
  contender: string;
  kind: Kind;
  /** (I(2N) − I(N)) / N */
  perRequest: number;
  /** Instructions counted in the phase of N requests and in the phase of 2N. */
  phases: [number, number];
  /** N for this contender (see `LIGHT_SCALE`); absent in older results: the run's N. */
  requests?: number;
}

/** The same contender counted in two processes, to show how repeatable a count is. */
export interface ICountRepeat {
  contender: string;
  kind: Kind;
  first: number;
  second: number;
  /** |second − first| / first */
  difference: number;
}

/** One set of counts (bench/results/icount.json, and `icount` in a run's results). */
export interface ICountRun {
  date: string;
  elapsedSeconds: number;
  settings: ICountSettings;
  cells: ICountCell[];
  repeats: ICountRepeat[];
  /** Why a contender was not counted, by id. */
  skipped: Record<string, string>;
}

/** What to count, and how. */
export interface ICountOptions {
  contenders: readonly Contender[];
  /** Kinds to count, where the contender has them (`kindsOf`). @default all */
  kinds?: readonly Kind[] | undefined;
  /** The server file of a contender (compiled JavaScript, as the load runs use). */
  fileOf(contender: Contender): string;
  env: Record<string, string>;
  warmup: number;
  requests: number;
  /** @default 10 */
  clients?: number;
  /** @default 2 */
  parallel?: number;
  /** Counts this contender a second time in its own process (`ICountRun.repeats`). */
  repeat?: string | undefined;
  /** Keeps the callgrind dumps in this folder, one folder per process (for `callgrind_annotate`). */
  keepDumps?: string | undefined;
  /** Cores of the machine: servers may run on any of them. */
  cores: number;
  log(line: string): void;
}

/** The installed valgrind's version, or undefined when it (or callgrind_control) is missing. */
export async function valgrindVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await run('valgrind', ['--version']);
    await run('callgrind_control', ['--version']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

const live = new Set<ServerProcess>();

/** Stops every server still being counted (on SIGINT/SIGTERM of the harness). */
export async function stopCounting(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
  live.clear();
}

const pathOf = (kind: Kind): string => (kind === 'read' ? '/read' : '/write');

/** Counts one contender's kinds in one server process under callgrind. */
async function countContender(
  contender: Contender,
  kinds: readonly Kind[],
  options: ICountOptions,
): Promise<ICountCell[]> {
  const dir = options.keepDumps
    ? join(options.keepDumps, `${contender.id}-${Date.now().toString(36)}`)
    : mkdtempSync(join(tmpdir(), 'tessera-icount-'));
  mkdirSync(dir, { recursive: true });
  // N per contender: servers that cost little per request get longer phases, so a young-generation
  // collection or a timer landing in one phase moves the difference less (Express's ~700k per
  // request keeps N, or a run would take several times as long).
  const requests = options.requests * (contender.framework === 'Express' ? 1 : LIGHT_SCALE);
  const server = await startServer(
    options.fileOf(contender),
    { ...options.env, BENCH_STORE_TIMEOUT: '60000' },
    false,
    ICOUNT_NODE_FLAGS,
    {
      wrapper: [
        'valgrind',
        '--tool=callgrind',
        '--instr-atstart=no',
        `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
      ],
      readyMs: 300_000,
    },
  );
  live.add(server);
  // Always with the pid: without one, callgrind_control acts on every callgrind run of the machine.
  const control = async (arg: string): Promise<void> => {
    await run('callgrind_control', [arg, String(server.pid)]);
  };
  // One socket, so every request travels the same way (no new connection in the middle of a phase).
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    unpin(server.pid, options.cores);
    await verify(contender, server.origin, agent);
    const cookies = await returningClients(contender, server.origin, options.clients ?? 10, agent);
    let sent = 0;
    const send = async (kind: Kind, n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const cookie = kind === 'new' ? undefined : cookies[sent++ % cookies.length];
        const reply = await get(server.origin, pathOf(kind), cookie, agent, 300_000);
        if (reply.status !== 200) throw new Error(`GET ${pathOf(kind)} answered ${reply.status}`);
      }
    };
    const phases = async (kind: Kind): Promise<void> => {
      await control('--dump=zero');
      await send(kind, requests);
      await control(`--dump=${kind}-n`);
      await send(kind, 2 * requests);
      await control(`--dump=${kind}-2n`);
    };
    const returning = kinds.filter((k) => k !== 'new');
    for (let i = 0; i < options.warmup; i++) for (const kind of returning) await send(kind, 1);
    if (returning.length) {
      await control('--instr=on');
      for (const kind of returning) await phases(kind);
    }
    if (kinds.includes('new')) {
      if (returning.length) await control('--instr=off');
      await send('new', options.warmup);
      await control('--instr=on');
      await phases('new');
    }
  } finally {
    agent.destroy();
    await server.stop();
    live.delete(server);
  }
  const totals = readDumps(dir);
  if (!options.keepDumps) rmSync(dir, { recursive: true, force: true });
  return kinds.map((kind) => {
    const n = totals.get(`${kind}-n`);
    const n2 = totals.get(`${kind}-2n`);
    if (n === undefined || n2 === undefined) throw new Error(`no callgrind dump for ${kind}`);
    return {
      contender: contender.id,
      kind,
      perRequest: (n2 - n) / requests,
      phases: [n, n2],
      requests,
    };
  });
}

/** The instruction total of each dump in `dir`, by the description it was dumped with. */
function readDumps(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of readdirSync(dir)) {
    if (!name.startsWith('callgrind.out')) continue;
    const text = readFileSync(join(dir, name), 'utf8');
    const hint = /^desc: Trigger: (?:Client Request: |dump )(\S+)/m.exec(text)?.[1];
    const total = /^totals: (\d+)/m.exec(text)?.[1] ?? /^summary: (\d+)/m.exec(text)?.[1];
    if (hint && total) out.set(hint, Number(total));
  }
  return out;
}

/**
 * Counts the instructions per request of every contender and kind, `parallel` servers at a time,
 * heaviest first. A contender whose server does not start or misbehaves is reported in `skipped`.
 */
export async function countInstructions(options: ICountOptions): Promise<ICountRun> {
  const started = performance.now();
  const version = await valgrindVersion();
  const parallel = options.parallel ?? 2;
  const settings: ICountSettings = {
    warmup: options.warmup,
    requests: options.requests,
    clients: options.clients ?? 10,
    parallel,
    nodeFlags: ICOUNT_NODE_FLAGS,
    valgrind: version ?? 'not installed',
  };
  const result: ICountRun = {
    date: new Date().toISOString(),
    elapsedSeconds: 0,
    settings,
    cells: [],
    repeats: [],
    skipped: {},
  };
  const kindsFor = (c: Contender): Kind[] =>
    kindsOf(c).filter((k) => !options.kinds || options.kinds.includes(k));
  const jobs = options.contenders
    .map((contender) => ({ contender, kinds: kindsFor(contender), repeat: false }))
    .filter((job) => job.kinds.length > 0);
  if (!version) {
    for (const { contender } of jobs)
      result.skipped[contender.id] = 'valgrind (with callgrind_control) is not installed';
    return result;
  }
  const repeated = jobs.find((job) => job.contender.id === options.repeat);
  if (repeated) jobs.push({ ...repeated, repeat: true });
  // Longest first, so the last job to finish is a short one; the framework tells the weight.
  const weight = (c: Contender): number =>
    (c.framework === 'Express' ? 4 : c.framework === 'Fastify' ? 2 : 1) *
    (c.store === 'none' ? 1 : 3);
  jobs.sort((a, b) => weight(b.contender) * b.kinds.length - weight(a.contender) * a.kinds.length);
  const second: ICountCell[] = [];
  const worker = async (): Promise<void> => {
    for (let job = jobs.shift(); job; job = jobs.shift()) {
      const { contender, kinds, repeat } = job;
      const t0 = performance.now();
      try {
        const cells = await countContender(contender, kinds, options);
        (repeat ? second : result.cells).push(...cells);
        options.log(
          `icount ${contender.id}${repeat ? ' (again)' : ''}: ${cells.map((c) => `${c.kind} ${Math.round(c.perRequest).toLocaleString('en-US')}`).join(', ')} instructions/request (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
        );
      } catch (error) {
        if (!repeat) result.skipped[contender.id] = (error as Error).message.split('\n')[0]!;
        options.log(`icount ${contender.id}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  for (const again of second) {
    const first = result.cells.find(
      (c) => c.contender === again.contender && c.kind === again.kind,
    );
    if (first)
      result.repeats.push({
        contender: again.contender,
        kind: again.kind,
        first: first.perRequest,
        second: again.perRequest,
        difference: Math.abs(again.perRequest - first.perRequest) / first.perRequest,
      });
  }
  const order = (c: ICountCell): number =>
    options.contenders.findIndex((x) => x.id === c.contender) * 10 +
    ['read', 'write', 'new'].indexOf(c.kind);
  result.cells.sort((a, b) => order(a) - order(b));
  result.elapsedSeconds = (performance.now() - started) / 1000;
  return result;
}

/** The instructions per request of `contender` and `kind` in `run`, when counted. */
export function icountOf(
  run: ICountRun | undefined,
  contender: string,
  kind: Kind,
): number | undefined {
  return run?.cells.find((c) => c.contender === contender && c.kind === kind)?.perRequest;
}
