/**
 * @module The instructions-per-request tables: the console table of `--icount` and the section of
 * BENCHMARKS.md, each session's instructions beyond its bare server and that as a share of it.
 */
import type { Contender, Kind } from './_contenders.js';
import { icountOf, LIGHT_SCALE, type ICountRun } from './_icount.js';
import { round, thousands } from './_stats.js';

function table(headers: string[], rows: string[][]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map((_h, i) => (i === 0 || i === 1 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** Instructions in thousands: `89.4k`. */
export const kilo = (value: number): string =>
  Number.isFinite(value) ? `${round(value / 1000, 1).toLocaleString('en-US')}k` : '–';

/**
 * What a session adds to its bare server's read, in instructions per request, and that as a
 * share of the bare server's; undefined when either was not counted.
 */
export function sessionShare(
  run: ICountRun | undefined,
  contender: Contender,
  kind: Kind,
): { added: number; share: number } | undefined {
  if (!contender.bare) return undefined;
  const own = icountOf(run, contender.id, kind);
  const bare = icountOf(run, contender.bare, 'read');
  if (own === undefined || bare === undefined || bare <= 0) return undefined;
  return { added: own - bare, share: (own - bare) / bare };
}

/** One row per counted contender and kind. */
export function icountTable(run: ICountRun, contenders: readonly Contender[]): string {
  const rows = run.cells.map((cell) => {
    const contender = contenders.find((c) => c.id === cell.contender);
    const session = contender ? sessionShare(run, contender, cell.kind) : undefined;
    const bare = contender?.bare ? contenders.find((c) => c.id === contender.bare) : undefined;
    return [
      contender?.store === 'none'
        ? `${contender.label} (no sessions)`
        : (contender?.label ?? cell.contender),
      cell.kind === 'new' ? 'new visitor' : cell.kind,
      `**${thousands(cell.perRequest)}**`,
      session ? `${thousands(session.added)} (minus ${bare?.label ?? contender?.bare})` : '–',
      session ? `${Math.round(session.share * 100)}%` : '–',
      `${kilo(cell.phases[0] / (cell.requests ?? run.settings.requests))} / ${kilo(cell.phases[1] / (2 * (cell.requests ?? run.settings.requests)))}`,
    ];
  });
  const skipped = Object.entries(run.skipped).map(([id, why]) => `- ${id}: not counted (${why})`);
  return [
    table(
      [
        'contender',
        'kind',
        'instructions/request',
        "the session's instructions/request",
        "share of the bare server's",
        'per request in the N / 2N phase',
      ],
      rows,
    ),
    ...(skipped.length ? ['', ...skipped] : []),
    '',
    repeatability(run),
  ].join('\n');
}

/** How far two processes of the same contender agreed. */
export function repeatability(run: ICountRun): string {
  if (run.repeats.length === 0) return 'Repeatability: not checked in this run.';
  return `Repeatability (the same contender counted again in a second process): ${run.repeats
    .map(
      (r) =>
        `${r.contender} ${r.kind} ${thousands(r.first)} then ${thousands(r.second)} (${round(r.difference * 100, 2)}% apart)`,
    )
    .join('; ')}.`;
}

/** The section of BENCHMARKS.md (and of the console report). */
export function icountSection(
  run: ICountRun | undefined,
  contenders: readonly Contender[],
): string {
  if (!run) return 'Not counted in this run.';
  const s = run.settings;
  return [
    `Counted ${run.date.slice(0, 16).replace('T', ' ')} UTC. Instructions the server process executed per request, counted by \`valgrind --tool=callgrind\` (${s.valgrind}; node ${s.nodeFlags.join(' ')}), so unlike req/s they do not move with the machine's load. Each server runs alone under callgrind; this process sends it sequential requests on one keep-alive connection (returning clients cycle through ${s.clients} cookies, as in the load runs). After ${thousands(s.warmup)} uncounted warm-up requests per kind, a phase of N = ${thousands(s.requests)} requests (${thousands(s.requests * LIGHT_SCALE)} for the servers other than Express's, which cost far less per request) and one of 2N are counted (\`callgrind_control --dump\` between them) and the result is (I(2N) − I(N)) / N, so start-up, the JIT's warm-up and anything a phase costs once cancel out; the last column shows each phase's own average, and where the two differ a garbage collection or a compilation fell into one phase only (the counts of Express, whose old-generation collections are large and rare, move most). Redis runs in its own process and is not counted. The session's instructions are the contender's minus its bare server's read. ${s.parallel} servers were counted at a time; the counts took ${Math.round(run.elapsedSeconds)} s.`,
    '',
    icountTable(run, contenders),
  ].join('\n');
}
