/**
 * The demo's operator view (issue 15, item 6): the same Prometheus metrics an operator scrapes,
 * sampled every few seconds into a short history and drawn on a page.
 *
 *   GET /ops       → the page: live sessions, store calls and their latency, errors, over time
 *   GET /api/ops   → { store, totals: { calls, errors, commits }, samples: [{ at, active, calls,
 *                     errors, p50Ms, p99Ms, commits }] }
 *   GET /metrics   → the Prometheus text format (what a scraper reads)
 *
 * None of them touches a session. Without an operator view (a manager made elsewhere, as in the
 * tests of the JSON API) they answer 404.
 */
import * as client from 'prom-client';
import type { Observer, SessionManager } from '../../src/index.js';
import { prometheusObserver } from '../../src/observe/metrics.js';

/** One point of the history. */
export interface OpsSample {
  at: number;
  /** Live sessions, when the store can count them. */
  active: number | null;
  /** Store calls and failed ones since the previous sample. */
  calls: number;
  errors: number;
  /** Store call latency since the previous sample, from the histogram's buckets. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Commits by kind since the previous sample. */
  commits: Record<string, number>;
}

/** The operator view of one manager. */
export interface Ops {
  readonly registry: client.Registry;
  readonly observer: Observer;
  /** Starts sampling `manager` every `everyMs`; returns the stop function. */
  start(manager: Watched, everyMs?: number): () => void;
  readonly samples: readonly OpsSample[];
  /** Takes one sample now. */
  sample(): Promise<void>;
  /** Store calls, failed calls and commits by kind since the start. */
  totals(): Promise<{ calls: number; errors: number; commits: Record<string, number> }>;
}

/** What the view reads of a manager. */
type Watched = Pick<SessionManager, 'activeCount' | 'store'>;

const HISTORY = 120;
const views = new WeakMap<object, Ops>();

/** The operator view a manager was given, if any. */
export const opsOf = (manager: object): Ops | undefined => views.get(manager);

interface Counts {
  buckets: Map<number, number>;
  calls: number;
  errors: number;
  commits: Record<string, number>;
}

/** The cumulative counts in the registry now. */
async function countsOf(registry: client.Registry): Promise<Counts> {
  const out: Counts = { buckets: new Map(), calls: 0, errors: 0, commits: {} };
  for (const metric of await registry.getMetricsAsJSON()) {
    if (metric.name === 'tessera_store_call_duration_seconds') {
      for (const v of metric.values) {
        const name = (v as { metricName?: string }).metricName;
        if (name === 'tessera_store_call_duration_seconds_bucket') {
          const le = v.labels['le'];
          const bound = le === '+Inf' ? Infinity : Number(le);
          out.buckets.set(bound, (out.buckets.get(bound) ?? 0) + v.value);
        } else if (name === 'tessera_store_call_duration_seconds_count') {
          out.calls += v.value;
          if (v.labels['outcome'] !== 'ok') out.errors += v.value;
        }
      }
    }
    if (metric.name === 'tessera_commits_total')
      for (const v of metric.values) out.commits[String(v.labels['kind'])] = v.value;
  }
  return out;
}

/** A quantile of the calls between two cumulative histograms: the bucket bound it falls in. */
function quantile(now: Counts, before: Counts, q: number): number | null {
  const bounds = [...now.buckets.keys()].sort((a, b) => a - b);
  const total = (now.buckets.get(Infinity) ?? 0) - (before.buckets.get(Infinity) ?? 0);
  if (total <= 0) return null;
  for (const bound of bounds) {
    const below = (now.buckets.get(bound) ?? 0) - (before.buckets.get(bound) ?? 0);
    if (below >= q * total) return bound === Infinity ? null : bound * 1000;
  }
  return null;
}

/** Makes the operator view: pass its `observer` to the manager, then `start(manager)`. */
export function createOps(): Ops {
  const registry = new client.Registry();
  let manager: Watched | undefined;
  const observer = prometheusObserver({
    client,
    registry,
    activeSessions: {
      count: () => manager?.activeCount() ?? Promise.resolve(0),
      cacheMs: 2000,
    },
  });
  const samples: OpsSample[] = [];
  let previous: Counts = { buckets: new Map(), calls: 0, errors: 0, commits: {} };
  const ops: Ops = {
    registry,
    observer,
    samples,
    async sample() {
      const now = await countsOf(registry);
      let active: number | null = null;
      try {
        active = manager?.store.count ? await manager.activeCount() : null;
      } catch {
        active = null;
      }
      const commits: Record<string, number> = {};
      for (const [kind, n] of Object.entries(now.commits))
        commits[kind] = n - (previous.commits[kind] ?? 0);
      samples.push({
        at: Date.now(),
        active,
        calls: now.calls - previous.calls,
        errors: now.errors - previous.errors,
        p50Ms: quantile(now, previous, 0.5),
        p99Ms: quantile(now, previous, 0.99),
        commits,
      });
      if (samples.length > HISTORY) samples.shift();
      previous = now;
    },
    async totals() {
      const { calls, errors, commits } = await countsOf(registry);
      return { calls, errors, commits };
    },
    start(m, everyMs = 5000) {
      manager = m;
      views.set(m, ops);
      const timer = setInterval(() => void ops.sample().catch(() => undefined), everyMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
  return ops;
}

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The operator page: a small chart per series, refreshed from /api/ops. */
export function renderOpsPage(storeName: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tessera: operator view</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.3rem}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(17rem,1fr));gap:1rem}
figure{margin:0;border:1px solid #ddd;border-radius:8px;padding:.75rem}figcaption{font-weight:600}
.now{font-size:1.6rem}svg{width:100%;height:70px}polyline{fill:none;stroke:#2563eb;stroke-width:2}
.err polyline{stroke:#dc2626}small{color:#666}
</style></head><body>
<h1>Operator view <small>store: ${escape(storeName)} · <a href="/metrics">/metrics</a> · <a href="/">demo</a></small></h1>
<div class="grid" id="charts"></div>
<p><small>Sampled every 5 s from the manager's Prometheus metrics (the last 10 minutes).</small></p>
<script type="module">
const series = [
  ['active', 'Live sessions', (s) => s.active],
  ['calls', 'Store calls / sample', (s) => s.calls],
  ['p50Ms', 'Store latency p50 (ms, ≤ bucket)', (s) => s.p50Ms],
  ['p99Ms', 'Store latency p99 (ms, ≤ bucket)', (s) => s.p99Ms],
  ['errors', 'Failed store calls / sample', (s) => s.errors],
  ['writes', 'Commits that wrote / sample', (s) => (s.commits.write ?? 0) + (s.commits.create ?? 0)],
];
const root = document.getElementById('charts');
function chart(values) {
  const known = values.filter((v) => v !== null);
  if (known.length === 0) return '<svg viewBox="0 0 100 30"></svg>';
  const max = Math.max(...known, 1);
  const step = values.length > 1 ? 100 / (values.length - 1) : 0;
  const points = values.map((v, i) => v === null ? null : (i * step).toFixed(1) + ',' + (30 - (v / max) * 28).toFixed(1)).filter(Boolean).join(' ');
  return '<svg viewBox="0 0 100 30" preserveAspectRatio="none"><polyline points="' + points + '"/></svg>';
}
async function refresh() {
  const answer = await fetch('/api/ops');
  if (!answer.ok) return;
  const { samples } = await answer.json();
  root.innerHTML = series.map(([id, title, pick]) => {
    const values = samples.map(pick);
    const last = values.length ? values[values.length - 1] : null;
    return '<figure class="' + (id === 'errors' ? 'err' : '') + '" data-series="' + id + '"><figcaption>' + title +
      '</figcaption><div class="now">' + (last === null ? '–' : last) + '</div>' + chart(values) + '</figure>';
  }).join('');
}
refresh();
setInterval(refresh, 5000);
</script></body></html>`;
}
