/**
 * @module Where a run's results go: bench/results/<mode>.json, and for a full run also
 * bench/results/latest.json, bench/results/chart.svg and BENCHMARKS.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { renderChart } from './chart.js';
import { judge } from './_goals.js';
import { renderReport } from './_report.js';
import type { ICountRun } from './_icount.js';
import type { Results } from './_results.js';

const RESULTS = new URL('./results/', import.meta.url);
const DOCUMENT = new URL('../BENCHMARKS.md', import.meta.url);

/** Writes the files of a run and returns what it wrote, for the log. */
export function writeResults(results: Results): string {
  mkdirSync(RESULTS, { recursive: true });
  const json = JSON.stringify(results, null, 2) + '\n';
  if (results.mode !== 'full') {
    writeFileSync(new URL(`${results.mode}.json`, RESULTS), json);
    return `bench/results/${results.mode}.json`;
  }
  writeFileSync(new URL('latest.json', RESULTS), json);
  writeFileSync(new URL('chart.svg', RESULTS), renderChart(results));
  writeFileSync(DOCUMENT, renderReport(results, { document: true }));
  return 'BENCHMARKS.md, bench/results/latest.json and bench/results/chart.svg';
}

/**
 * Re-writes BENCHMARKS.md and the chart from the latest full run (after editing _notes.ts). A run
 * from before the instruction counts existed takes them from the latest `--icount` run
 * (bench/results/icount.json), whose date the report shows: counts do not depend on the load.
 */
export function rerender(): void {
  const saved = JSON.parse(readFileSync(new URL('latest.json', RESULTS), 'utf8')) as Results;
  const icount = new URL('icount.json', RESULTS);
  if (!saved.icount && existsSync(icount))
    saved.icount = JSON.parse(readFileSync(icount, 'utf8')) as ICountRun;
  saved.goals = judge(saved);
  writeFileSync(new URL('chart.svg', RESULTS), renderChart(saved));
  writeFileSync(DOCUMENT, renderReport(saved, { document: true }));
}
