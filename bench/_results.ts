/**
 * @module The shape of a run's results (bench/results/*.json) and the summaries built from the
 * raw samples.
 */
import type { CommandsPerRequest, LostUpdates } from './_checks.js';
import type { Contender, Kind } from './_contenders.js';
import type { Machine } from './_env.js';
import type { ICountRun } from './_icount.js';
import { spread, type Spread } from './_stats.js';

/** One load run of one contender with one kind of traffic. */
export interface Sample {
  round: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** Server CPU time (user + system, all threads) per request, in microseconds. */
  cpuUs: number;
  /** The user-space part of `cpuUs` (the kernel's part is mostly the network stack). */
  userUs: number;
  /** Share of the run's wall time the server was on the CPU (1 = its core was saturated). */
  busy: number;
  /** Share of the server core used by anything else during the run (other processes). */
  otherLoad: number;
  /** Share of the load generator's core used by other processes (not this one, not Redis). */
  loadCoreOther: number;
  /** How many times this measurement was repeated because other processes took the core. */
  retries: number;
}

/** The samples of one contender and kind, summarized. */
export interface Cell {
  contender: string;
  kind: Kind;
  rps: Spread;
  p50: Spread;
  p99: Spread;
  cpuUs: Spread;
  userUs: Spread;
  busy: Spread;
  otherLoad: Spread;
  loadCoreOther: Spread;
  non2xx: number;
  errors: number;
}

/** A goal of issue 7, judged. */
export interface Goal {
  id: string;
  title: string;
  target: string;
  /** What was measured, in words (`0.93x (0.91–0.95)`). */
  measured: string;
  /** `null`: could not be measured in this run (see `note`). */
  pass: boolean | null;
  note?: string;
  /** Reported alongside the goals of issue 7, not one of them. */
  informational?: boolean;
}

/** One run. */
export interface Results {
  version: 1;
  date: string;
  mode: 'full' | 'quick' | 'partial';
  elapsedSeconds: number;
  settings: {
    rounds: number;
    duration: number;
    warmup: number;
    connections: number;
    clients: number;
    pinned: boolean;
    redisPort: number;
    /** How the servers' TypeScript was turned into JavaScript (`esbuild`, or `tsx (why)`). */
    compiled: string;
  };
  machine: Machine;
  loadBefore: [number, number, number];
  loadAfter: [number, number, number];
  contenders: Array<Contender & { skipped?: string }>;
  cells: Cell[];
  samples: Record<string, Sample[]>;
  redisCommands: Record<string, CommandsPerRequest[] | { skipped: string }>;
  lostUpdates: Record<string, LostUpdates | { skipped: string }>;
  memory: unknown;
  seal: unknown;
  /** SQL statements per request (bench/sql.ts); absent in runs before it existed. */
  sql?: unknown;
  /** Instructions per request under callgrind (bench/_icount.ts); absent in runs before it existed. */
  icount?: ICountRun | undefined;
  goals: Goal[];
}

/** The key of a contender and kind in `samples`. */
export const cellKey = (contender: string, kind: Kind): string => `${contender}/${kind}`;

/** Summarizes the samples of one cell. */
export function summarize(contender: string, kind: Kind, samples: readonly Sample[]): Cell {
  const of = (pick: (s: Sample) => number): Spread => spread(samples.map(pick));
  return {
    contender,
    kind,
    rps: of((s) => s.rps),
    p50: of((s) => s.p50),
    p99: of((s) => s.p99),
    cpuUs: of((s) => s.cpuUs),
    userUs: of((s) => s.userUs),
    busy: of((s) => s.busy),
    otherLoad: of((s) => s.otherLoad),
    loadCoreOther: of((s) => s.loadCoreOther),
    non2xx: samples.reduce((a, s) => a + s.non2xx, 0),
    errors: samples.reduce((a, s) => a + s.errors, 0),
  };
}

/**
 * Per-round ratio of two cells' values (rounds are interleaved, so pairing them cancels drift),
 * summarized.
 */
export function pairedRatio(
  samples: Record<string, Sample[]>,
  a: string,
  b: string,
  pick: (s: Sample) => number = (s) => s.rps,
): Spread | undefined {
  const x = samples[a];
  const y = samples[b];
  if (!x?.length || !y?.length) return undefined;
  const ratios: number[] = [];
  for (const s of x) {
    const t = y.find((u) => u.round === s.round);
    if (t && pick(t) > 0) ratios.push(pick(s) / pick(t));
  }
  return ratios.length ? spread(ratios) : undefined;
}

/** Per-round difference of two cells' values, summarized. */
export function pairedDiff(
  samples: Record<string, Sample[]>,
  a: string,
  b: string,
  pick: (s: Sample) => number,
): Spread | undefined {
  const x = samples[a];
  const y = samples[b];
  if (!x?.length || !y?.length) return undefined;
  const diffs: number[] = [];
  for (const s of x) {
    const t = y.find((u) => u.round === s.round);
    if (t) diffs.push(pick(s) - pick(t));
  }
  return diffs.length ? spread(diffs) : undefined;
}
