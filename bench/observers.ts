/**
 * What observers cost per request on the memory store: none, metrics (prom-client), tracing (the
 * OpenTelemetry API with no SDK, and with the SDK recording every span), diagnostics channels with
 * nobody subscribed, and debug logs into a no-op sink.
 * Run: npx tsx bench/observers.ts [--json] [--requests=N] [--rounds=N]
 * Each request is a browser's second visit: its cookie is read, the session loaded and one key
 * changed (a store `get` and a `write`, a commit). Rounds alternate the variants, so drift shows
 * in every one; the median and the fastest round are reported (on a busy machine the fastest is
 * the better estimate). A second table times the hooks alone: the events of one such request
 * (two store calls and a commit) sent to the combined observers, a million times.
 */
import { parseArgs } from 'node:util';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import * as client from 'prom-client';
import { combineObservers } from '../src/core/observer.js';
import { createSessionManager, type Observer } from '../src/index.js';
import type { SessionRequest } from '../src/core/transport/index.js';
import { debugObserver } from '../src/observe/debug.js';
import { prometheusObserver } from '../src/observe/metrics.js';
import { diagnosticsObserver, tracingObserver } from '../src/observe/tracing.js';

const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    requests: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '15' },
  },
});
const requests = Number(flags.requests);
const rounds = Number(flags.rounds);

/** Drops every span: the cost measured is recording and batching, not a network. */
const discard: SpanExporter = {
  export: (_spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]) =>
    done({ code: 0 }),
  shutdown: async () => undefined,
};
const sdk = new BasicTracerProvider({
  spanProcessors: [new BatchSpanProcessor(discard, { maxQueueSize: 1 << 16 })],
});

const variants: Record<string, () => Observer[]> = {
  none: () => [],
  metrics: () => [prometheusObserver({ client, registry: new client.Registry() })],
  'tracing (API only, no SDK)': () => [tracingObserver()],
  'tracing (SDK, every span recorded)': () => [tracingObserver({ tracer: sdk.getTracer('bench') })],
  'diagnostics (no subscriber)': () => [diagnosticsObserver()],
  'debug (no-op sink)': () => [debugObserver({ log: () => undefined })],
};

function requestWith(cookie: string): SessionRequest {
  const header = `sid=${cookie}`;
  return {
    header: (name) => (name === 'cookie' ? header : undefined),
    isSecure: false,
    url: '/',
    ip: '127.0.0.1',
  };
}

async function run(observers: Observer[]): Promise<number> {
  const manager = createSessionManager({ observers, gcInterval: false });
  const first = manager.load(requestWith(''));
  first.set('n', 0);
  const headers = await manager.commit(first);
  const cookie = headers
    .find(([name]) => name === 'set-cookie')![1]
    .split(';')[0]!
    .slice(4);
  const request = requestWith(cookie);
  const once = async (i: number): Promise<void> => {
    const s = manager.load(request);
    await s.get('n');
    s.set('n', i);
    await manager.commit(s);
  };
  for (let i = 0; i < 2000; i++) await once(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < requests; i++) await once(i);
  const ns = Number(process.hrtime.bigint() - started) / requests;
  await manager.close();
  return ns;
}

const samples: Record<string, number[]> = Object.fromEntries(
  Object.keys(variants).map((name) => [name, []]),
);
for (let round = 0; round < rounds; round++)
  for (const [name, observers] of Object.entries(variants))
    samples[name]!.push(await run(observers()));

/** The events of one request sent straight to the observers: the hooks' own cost. */
function hooks(observers: Observer[], n = 1_000_000): number {
  const o = combineObservers(observers);
  const event = (op: 'get' | 'write'): void => {
    const end = o.onStoreCall?.({ store: 'memory', op });
    if (end) end({ outcome: 'ok', durationMs: 0.01, error: undefined });
  };
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    event('get');
    event('write');
    o.onCommit?.({ kind: 'write', isIdSent: false, isCookieCleared: false });
  }
  return Number(process.hrtime.bigint() - started) / n;
}
const hookRows = Object.entries(variants).map(([variant, observers]) => {
  const list = observers();
  hooks(list, 100_000);
  const xs = [hooks(list), hooks(list), hooks(list)];
  return { variant, 'hook ns/request': Math.round(Math.min(...xs)) };
});
await sdk.shutdown();

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(samples['none']!);
const fastest = Math.min(...samples['none']!);
const rows = Object.entries(samples).map(([variant, xs]) => ({
  variant,
  'ns/request': Math.round(median(xs)),
  'added ns (median)': Math.round(median(xs) - base),
  'fastest round': Math.round(Math.min(...xs)),
  'added ns (fastest)': Math.round(Math.min(...xs) - fastest),
}));
if (flags.json)
  console.log(JSON.stringify({ requests, rounds, node: process.version, rows, hooks: hookRows }));
else {
  console.table(rows);
  console.table(hookRows);
}
