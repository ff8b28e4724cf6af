/**
 * @module The req/s chart of a run, as a hand-written SVG: one group of bars per contender (read,
 * write, new visitor), each bar the median with a min–max whisker.
 * Run alone to redraw from saved results: tsx bench/chart.ts [bench/results/latest.json]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { KINDS, type Kind } from './_contenders.js';
import type { Results } from './_results.js';

const COLORS: Record<Kind, string> = { read: '#2b6cb0', write: '#c05621', new: '#2f855a' };
const NAMES: Record<Kind, string> = {
  read: 'returning, reads',
  write: 'returning, writes',
  new: 'new visitor',
};

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A round step for about `ticks` ticks up to `max`. */
function step(max: number, ticks: number): number {
  const raw = max / ticks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const n = raw / pow;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * pow;
}

/** Renders the chart of `results` as an SVG document. */
export function renderChart(results: Results): string {
  const rows = results.contenders
    .filter((c) => !c.skipped)
    .map((c) => ({
      contender: c,
      bars: KINDS.map((kind) => ({
        kind,
        cell: results.cells.find((x) => x.contender === c.id && x.kind === kind),
      })).filter((b) => b.cell !== undefined),
    }))
    .filter((r) => r.bars.length > 0);
  const max = Math.max(1, ...results.cells.map((c) => c.rps.max));
  const tick = step(max, 6);
  const axisMax = Math.ceil(max / tick) * tick;

  const left = 240;
  const plot = 600;
  const width = left + plot + 90;
  const bar = 11;
  const gap = 12;
  const top = 96;
  const x = (v: number): number => left + (v / axisMax) * plot;
  let y = top;
  const body: string[] = [];
  for (const row of rows) {
    const height = row.bars.length * (bar + 2);
    const label =
      row.contender.store === 'none' ? `${row.contender.label} (no sessions)` : row.contender.label;
    body.push(
      `<text x="${left - 10}" y="${y + height / 2 + 4}" text-anchor="end" class="label">${esc(label)}</text>`,
    );
    for (const { kind, cell } of row.bars) {
      const { median, min, max: hi } = cell!.rps;
      const w = Math.max(1, x(median) - left);
      const mid = y + bar / 2;
      body.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${COLORS[kind]}"><title>${esc(`${row.contender.label}, ${NAMES[kind]}: ${Math.round(median)} req/s (min ${Math.round(min)}, max ${Math.round(hi)})`)}</title></rect>`,
        `<line x1="${x(min).toFixed(1)}" x2="${x(hi).toFixed(1)}" y1="${mid}" y2="${mid}" class="whisker"/>`,
        `<text x="${(x(hi) + 5).toFixed(1)}" y="${y + bar - 2}" class="value">${Math.round(median).toLocaleString('en-US')}</text>`,
      );
      y += bar + 2;
    }
    y += gap;
  }
  const bottom = y;
  const axis: string[] = [];
  for (let v = 0; v <= axisMax + tick / 2; v += tick) {
    axis.push(
      `<line x1="${x(v)}" x2="${x(v)}" y1="${top - 6}" y2="${bottom - gap + 4}" class="grid"/>`,
      `<text x="${x(v)}" y="${bottom + 8}" text-anchor="middle" class="tick">${v.toLocaleString('en-US')}</text>`,
    );
  }
  const legend = KINDS.map(
    (kind, i) =>
      `<rect x="${left + i * 160}" y="62" width="12" height="12" fill="${COLORS[kind]}"/><text x="${left + i * 160 + 18}" y="72" class="tick">${NAMES[kind]}</text>`,
  );
  const m = results.machine;
  const subtitle = `${results.date.slice(0, 10)} (${results.mode} run) · ${m.cores} cores, ${m.cpu} · Node ${m.node}`;
  const method = `${results.settings.connections} connections, server pinned to 1 core, load on the other · median of ${results.settings.rounds} rounds of ${results.settings.duration} s, whiskers min–max`;
  const height = bottom + 40;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">
<style>
.label { font-size: 12px; fill: #1a202c; }
.value { font-size: 10px; fill: #2d3748; }
.tick { font-size: 11px; fill: #4a5568; }
.grid { stroke: #e2e8f0; stroke-width: 1; }
.whisker { stroke: #1a202c; stroke-width: 1.2; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="${left}" y="20" font-size="15" font-weight="600" fill="#1a202c">Requests per second (higher is better)</text>
<text x="${left}" y="36" class="tick">${esc(subtitle)}</text>
<text x="${left}" y="52" class="tick">${esc(method)}</text>
${legend.join('\n')}
${axis.join('\n')}
${body.join('\n')}
<text x="${left + plot / 2}" y="${bottom + 26}" text-anchor="middle" class="tick">req/s</text>
</svg>
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2] ?? new URL('./results/latest.json', import.meta.url).pathname;
  const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
  const out = new URL('./results/chart.svg', import.meta.url);
  writeFileSync(out, renderChart(results));
  console.log(`wrote ${out.pathname}`);
}
