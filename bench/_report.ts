/**
 * @module The human-readable report of a run: the console summary and BENCHMARKS.md.
 */
import { CONTENDERS, KIND_LABELS, KINDS } from './_contenders.js';
import { icountOf } from './_icount.js';
import { icountSection, kilo } from './_icount-report.js';
import { CLOSING_NOTES } from './_notes.js';
import {
  cellKey,
  pairedDiff,
  pairedRatio,
  type Cell,
  type Results,
  type Sample,
} from './_results.js';
import { round, thousands, type Spread } from './_stats.js';

function table(headers: string[], rows: string[][]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map((_h, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

const range = (s: Spread, digits = 0): string =>
  `${round(s.min, digits).toLocaleString('en-US')}–${round(s.max, digits).toLocaleString('en-US')}`;
const pct = (v: number): string => `${Math.round(v * 100)}%`;
const labelOf = (r: Results, id: string): string =>
  r.contenders.find((c) => c.id === id)?.label ?? id;
const byName = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '–';

const isBare = (r: Results, id: string): boolean =>
  r.contenders.find((c) => c.id === id)?.store === 'none';

function throughput(r: Results, kind: (typeof KINDS)[number]): string {
  const rows = r.cells
    // Bare servers have no sessions: their one measurement is the reference in every table.
    .filter((c) => c.kind === kind || (c.kind === 'read' && isBare(r, c.contender)))
    .map((c: Cell) => {
      const contender = r.contenders.find((x) => x.id === c.contender);
      const bare = contender?.bare
        ? pairedRatio(r.samples, cellKey(c.contender, kind), cellKey(contender.bare, 'read'))
        : undefined;
      return [
        contender?.store === 'none' ? `${contender.label} (no sessions)` : labelOf(r, c.contender),
        `**${thousands(c.rps.median)}**`,
        range(c.rps),
        bare ? `${round(bare.median, 2)}x` : '–',
        `${round(c.p50.median, 1)} / ${round(c.p99.median, 1)}`,
        `${round(c.cpuUs.median, 1)} (${round(c.userUs.median, 1)})`,
        kilo(icountOf(r.icount, c.contender, c.kind) ?? NaN),
        pct(c.busy.median),
        `${pct(c.otherLoad.median)} / ${pct(c.loadCoreOther.median)}`,
        String(c.non2xx + c.errors),
      ];
    });
  return table(
    [
      'contender',
      'req/s (median)',
      'min–max',
      'vs bare framework',
      'latency p50 / p99 (ms)',
      'server CPU µs/req (user part)',
      'instr/req',
      'server core busy',
      'other processes on server / load core',
      'errors',
    ],
    rows,
  );
}

function sessionCpu(r: Results): string {
  const rows: string[][] = [];
  for (const c of r.contenders) {
    if (!c.bare || c.skipped) continue;
    const diff = (kind: (typeof KINDS)[number], pick: (s: Sample) => number) =>
      pairedDiff(r.samples, cellKey(c.id, kind), cellKey(c.bare!, 'read'), pick);
    const cells = KINDS.map((kind) => [diff(kind, (s) => s.cpuUs), diff(kind, (s) => s.userUs)]);
    if (cells.every(([x]) => x === undefined)) continue;
    rows.push([
      c.label,
      labelOf(r, c.bare),
      ...cells.map(([d, u]) =>
        d && u ? `${round(d.median, 1)} (${range(d, 1)}); user ${round(u.median, 1)}` : '–',
      ),
    ]);
  }
  return table(['contender', 'minus', 'read', 'write', 'new visitor'], rows);
}

function redis(r: Results): string {
  const rows: string[][] = [];
  for (const [id, value] of Object.entries(r.redisCommands)) {
    if (!Array.isArray(value)) {
      rows.push([labelOf(r, id), '–', `skipped: ${value.skipped}`, '', '', '']);
      continue;
    }
    for (const row of value)
      rows.push([
        labelOf(r, id),
        row.route === 'none'
          ? 'never touches the session'
          : row.route === 'new'
            ? 'new visitor'
            : row.route,
        `**${round(row.sent, 2)}**`,
        byName(row.sentByName),
        byName(row.scriptedByName),
        String(round(row.commandstats, 2)),
      ]);
  }
  return table(
    [
      'contender',
      'route',
      'commands sent per request',
      'sent, by command',
      'run inside Lua scripts, per request',
      'INFO commandstats per request (all)',
    ],
    rows,
  );
}

function lost(r: Results): string {
  const rows = Object.entries(r.lostUpdates).map(([id, v]) =>
    'skipped' in v
      ? [labelOf(r, id), '–', '–', `skipped: ${v.skipped}`]
      : [
          labelOf(r, id),
          String(v.increments),
          String(v.final - 1),
          `**${round(v.lostPercent, 1)}%**`,
        ],
  );
  return table(['contender', 'increments answered 200', 'counted', 'lost'], rows);
}

function memory(r: Results): string {
  if (!Array.isArray(r.memory))
    return `Not measured: ${(r.memory as { skipped?: string })?.skipped ?? 'unknown'}.`;
  const rows = (r.memory as Array<Record<string, number>>).map((m) => [
    thousands(m['sessions'] ?? NaN),
    String(m['bytesPerSession']),
    `${m['gcMs']} ms for ${thousands(m['gcRemoved'] ?? NaN)}`,
    String(m['gcUsPerRemoved']),
  ]);
  return table(['sessions', 'bytes per session (heap)', 'GC pass', 'GC µs per removed'], rows);
}

function seal(r: Results): string {
  const s = r.seal as { skipped?: string } | undefined;
  if (!s || s.skipped) return `Not measured: ${s?.skipped ?? 'unknown'}.`;
  const rows = Array.isArray(r.seal)
    ? (r.seal as Array<{ name?: unknown; opsPerSec?: unknown; timesIron?: unknown }>).filter(
        (row) => typeof row.name === 'string' && typeof row.opsPerSec === 'number',
      )
    : [];
  if (rows.length === 0) return '```json\n' + JSON.stringify(r.seal, null, 2) + '\n```';
  return table(
    ['what', 'seal+open per second', 'vs iron-session'],
    rows.map((row) => [
      String(row.name),
      `**${thousands(row.opsPerSec as number)}**`,
      typeof row.timesIron === 'number' ? `${row.timesIron}x` : '–',
    ]),
  );
}

function sql(r: Results): string {
  if (!Array.isArray(r.sql)) {
    const why = (r.sql as { skipped?: string } | undefined)?.skipped;
    return `Not measured${why ? `: ${why}` : ' in this run'}.`;
  }
  const rows = r.sql as Array<{
    store: string;
    perRequest?: Record<string, number>;
    skipped?: string;
  }>;
  const kinds = Object.keys(rows.find((row) => row.perRequest)?.perRequest ?? {});
  return table(
    ['store', ...kinds],
    rows.map((row) =>
      row.perRequest
        ? [row.store, ...kinds.map((k) => String(row.perRequest![k] ?? '–'))]
        : [row.store, `not measured: ${row.skipped ?? 'unknown'}`, ...kinds.slice(1).map(() => '')],
    ),
  );
}

function goals(r: Results): string {
  return table(
    ['goal', 'target', 'measured', 'result'],
    r.goals.map((g) => [
      g.title,
      g.target,
      g.measured,
      (g.pass === null
        ? `not measured (${g.note ?? ''})`
        : g.pass
          ? '**pass**'
          : '**falls short**') + (g.informational ? ' (informational)' : ''),
    ]),
  );
}

/** The whole report, as Markdown (also what the console shows). */
export function renderReport(r: Results, options: { document: boolean }): string {
  const m = r.machine;
  const middle = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1] ?? 0;
  const otherLoad = middle(r.cells.map((c) => c.otherLoad.median));
  const loadCoreOther = middle(r.cells.map((c) => c.loadCoreOther.median));
  const retries = Object.values(r.samples)
    .flat()
    .reduce((a, s) => a + s.retries, 0);
  const out: string[] = [];
  if (options.document) {
    out.push(
      '# Benchmarks',
      '',
      '_Written by `npm run bench` from its latest full run; do not edit by hand. Raw numbers: `bench/results/latest.json`._',
      '',
    );
  }
  if (r.mode !== 'full')
    out.push(
      `> A ${r.mode} run (${r.settings.rounds} round(s) of ${r.settings.duration} s, no repeats of disturbed measurements): its ratios are indicative only. BENCHMARKS.md comes from full runs.`,
      '',
    );
  out.push(
    `**Run:** ${r.date} (${r.mode}, ${Math.round(r.elapsedSeconds)} s). **Machine:** ${m.cores} cores (\`nproc\`), ${m.cpu}, ${m.memoryGiB} GiB, Linux ${m.kernel}. **Node** ${m.node}, redis-server ${m.redisServer ?? 'not installed'}.`,
    '',
    `**Load average** before ${r.loadBefore.map((v) => v.toFixed(2)).join(' / ')}, after ${r.loadAfter.map((v) => v.toFixed(2)).join(' / ')}; median share taken by other processes during a measurement: ${pct(otherLoad)} of the server core, ${pct(loadCoreOther)} of the load generator's core (${retries} measurements repeated for it). The machine is shared: compare ratios within this run, not absolute numbers across runs.`,
    '',
    `**Versions:** ${Object.entries(m.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    `**Method:** each server in its own process on 127.0.0.1, ${r.settings.pinned ? 'pinned to core 0 (`taskset`); autocannon in the harness pinned to core 1' : 'NOT pinned (fewer than 2 cores or no taskset)'}; ${r.settings.connections} connections, no pipelining; ${r.settings.rounds} rounds of ${r.settings.duration} s per measurement after a warm-up (${r.settings.warmup ? `${r.settings.warmup} s` : '500 requests'} each), every round running every contender and traffic kind once in the same order (so drift shows as a spread, and ratios are taken per round, then the median). Returning clients: ${r.settings.clients} sessions, each cookie taken from that client's first visit, sent back on every request. New visitors hit a second process of the same server, so the sessions they create do not weigh on the returning clients' numbers${r.mode === 'quick' ? '' : '; it is restarted and warmed again before each round, so every round starts from the same state'}. The Redis contenders share one dedicated redis-server (127.0.0.1:${r.settings.redisPort}, no persistence) pinned to the load generator's core, so Redis's own work is not charged to the server's core (in production it is another machine). A measurement during which other processes took more than 15% of the server's or the load generator's core is repeated (up to twice, the cleanest kept; not in --quick runs). Server CPU is utime+stime from /proc/<pid>/stat over the run, divided by the requests. Servers are compiled to plain JavaScript first (${r.settings.compiled === 'esbuild' ? 'esbuild, no `keepNames`, as published code runs' : r.settings.compiled}).`,
    '',
    '## Goals',
    '',
    goals(r),
    '',
  );
  if (options.document) out.push('![req/s per contender](bench/results/chart.svg)', '');
  for (const kind of KINDS) out.push(`## ${KIND_LABELS[kind]}`, '', throughput(r, kind), '');
  out.push(
    '## Instructions per request',
    '',
    icountSection(r.icount, r.contenders),
    '',
    "## The session's server CPU per request (µs, minus the bare server's, median and range over rounds)",
    '',
    "Server CPU (user + system) per request minus the bare server's in the same round; `user` is the user-space part alone. The system part is mostly the loopback network stack, whose cost per request changes with the request rate (at a lower rate the load generator sleeps more and each response costs a wake-up), so the user part is the steadier measure of what the session code itself costs.",
    '',
    sessionCpu(r),
    '',
    '## Redis commands per request',
    '',
    'Counted around sequential requests by `MONITOR` (commands the server sent, and those Lua scripts ran) and by `INFO commandstats` (every command Redis ran).',
    '',
    redis(r),
    '',
    '## Lost updates: 10 connections incrementing one session at once',
    '',
    'tessera uses `session.increment`; the others `count = (count || 0) + 1` on the loaded session.',
    '',
    lost(r),
    '',
    '## Memory store: memory per session (bench/memory.ts)',
    '',
    memory(r),
    '',
    '## Seal + open operations per second (bench/seal.ts)',
    '',
    seal(r),
    '',
    '## SQL statements per request (bench/sql.ts)',
    '',
    "A browser's requests through the session manager, in this order, each store's driver wrapped to count the statements it sends (the schema is created before).",
    '',
    sql(r),
    '',
  );
  const skipped = r.contenders.filter((c) => c.skipped);
  if (skipped.length) {
    out.push(
      '## Skipped',
      '',
      ...skipped.map((c) => `- ${c.label} (\`bench/servers/${c.id}.ts\`): ${c.skipped}`),
      '',
    );
  }
  const short = r.goals.filter((g) => g.pass === false || g.pass === null);
  if (short.length && options.document) {
    out.push('## Where a goal falls short, and what would close it', '');
    for (const g of short) {
      const note = CLOSING_NOTES[g.id];
      out.push(
        `- **${g.title}** (${g.pass === null ? 'not measured' : g.measured}): ${note ?? g.note ?? 'no analysis yet.'}`,
      );
    }
    out.push('');
  }
  if (!options.document) {
    const missing = CONTENDERS.filter((c) => !r.contenders.some((x) => x.id === c.id));
    if (missing.length) out.push(`(not selected: ${missing.map((c) => c.id).join(', ')})`, '');
  }
  return out.join('\n');
}
