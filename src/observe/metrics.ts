/**
 * @module Prometheus metrics for a session manager, as an observer, on the application's own
 * `prom-client`.
 */
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CommitKind, Observer, SessionEventType, StoreCallEnd } from '../core/observer.js';
import { boundedLabel } from './_shared.js';

/**
 * The parts of `prom-client` the observer uses: pass the module itself (`import * as client from
 * 'prom-client'`), so the metrics are built by the application's copy and land in its registry.
 */
export interface PromClient {
  Counter: typeof Counter;
  Gauge: typeof Gauge;
  Histogram: typeof Histogram;
  register: Registry;
}

/** How {@link prometheusObserver} reports the number of live sessions. */
export interface ActiveSessionsOptions {
  /** Counts the live sessions, typically `() => manager.activeCount()` (needs a store with `count`). */
  count: () => Promise<number>;
  /**
   * How long a count is reused by later scrapes, in milliseconds. A count may scan the store.
   * @default 15000
   */
  cacheMs?: number;
  /**
   * How long a scrape waits for a count; past that it reports the previous one.
   * @default 1000
   */
  timeoutMs?: number;
}

/** Options of {@link prometheusObserver}. */
export interface MetricsOptions {
  /** The application's `prom-client` module. */
  client: PromClient;
  /**
   * Where the metrics are registered.
   * @default client.register
   */
  registry?: Registry;
  /**
   * Prepended to every metric name.
   * @default 'tessera_'
   */
  prefix?: string;
  /**
   * Upper bounds of the store call latency buckets, in seconds.
   * @default [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
   */
  buckets?: readonly number[];
  /**
   * Reports `tessera_active_sessions` when given (off by default: counting may scan the store).
   * @default undefined
   */
  activeSessions?: ActiveSessionsOptions;
}

const DEFAULT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const COMMIT_KINDS: readonly CommitKind[] = ['none', 'touch', 'write', 'create'];
const SESSION_EVENTS: readonly SessionEventType[] = [
  'created',
  'renewed',
  'destroyed',
  'revoked',
  'expired',
  'invalid',
];

type Observe = (seconds: number) => void;
type Outcomes = Record<StoreCallEnd['outcome'], Observe>;

/**
 * An observer that records a manager's store calls, commits, session events, errors and GC passes
 * in Prometheus metrics. Labels are bounded (store, operation, outcome, kind, event, error code):
 * never an id, a user or data. Metrics already in the registry under the same names are reused,
 * so several managers may share one registry (each with its own observer, or one).
 *
 * @example
 * import * as client from 'prom-client'
 * import { prometheusObserver } from 'tessera-session/metrics'
 *
 * const sessions = createSessionManager({ observers: [prometheusObserver({ client })] })
 */
export function prometheusObserver(options: MetricsOptions): Observer {
  const { client } = options;
  const registry = options.registry ?? client.register;
  const prefix = options.prefix ?? 'tessera_';
  const registers = [registry];

  function metric<M>(name: string, build: (name: string) => M): M {
    const full = prefix + name;
    return (registry.getSingleMetric(full) as M | undefined) ?? build(full);
  }

  const calls = metric(
    'store_call_duration_seconds',
    (name) =>
      new client.Histogram({
        name,
        help: 'Store calls made by the session manager, by store, operation and outcome (ok, error, timeout), in seconds.',
        labelNames: ['store', 'operation', 'outcome'] as const,
        buckets: [...(options.buckets ?? DEFAULT_BUCKETS)],
        registers,
      }),
  );
  const commits = metric('commits_total', (name) => {
    const counter = new client.Counter({
      name,
      help: 'Session commits, by what they stored: none, touch, write or create.',
      labelNames: ['kind'] as const,
      registers,
    });
    for (const kind of COMMIT_KINDS) counter.inc({ kind }, 0);
    return counter;
  });
  const sessions = metric('session_events_total', (name) => {
    const counter = new client.Counter({
      name,
      help: 'Sessions created, renewed, destroyed, revoked, found expired or found invalid.',
      labelNames: ['event'] as const,
      registers,
    });
    for (const event of SESSION_EVENTS) counter.inc({ event }, 0);
    return counter;
  });
  const errors = metric(
    'errors_total',
    (name) =>
      new client.Counter({
        name,
        help: 'Errors that reached the caller or happened off the request path, by code and where.',
        labelNames: ['code', 'during'] as const,
        registers,
      }),
  );
  const gcRuns = metric(
    'gc_runs_total',
    (name) => new client.Counter({ name, help: 'Finished garbage collection passes.', registers }),
  );
  const gcRemoved = metric(
    'gc_removed_total',
    (name) =>
      new client.Counter({
        name,
        help: 'Expired sessions removed by garbage collection.',
        registers,
      }),
  );
  if (options.activeSessions !== undefined) activeGauge(options.activeSessions);

  function activeGauge(active: ActiveSessionsOptions): void {
    const cacheMs = active.cacheMs ?? 15_000;
    const timeoutMs = active.timeoutMs ?? 1000;
    let last: { value: number; at: number } | undefined;
    let pending: Promise<void> | undefined;
    const refresh = async (): Promise<void> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(resolve, timeoutMs, undefined);
        timer.unref();
      });
      try {
        const value = await Promise.race([active.count(), late]);
        if (value !== undefined) last = { value, at: Date.now() };
      } catch {
        // The failed `count` call shows in the store call metrics; the gauge keeps its last value.
      } finally {
        clearTimeout(timer);
      }
    };
    metric(
      'active_sessions',
      (name) =>
        new client.Gauge({
          name,
          help: 'Live sessions in the store (counted at most every cacheMs; 0 until a first count succeeds).',
          registers,
          async collect() {
            if (last === undefined || Date.now() - last.at >= cacheMs) {
              pending ??= refresh().finally(() => (pending = undefined));
              await pending;
            }
            if (last !== undefined) this.set(last.value);
          },
        }),
    );
  }

  // One set of bound children per store and operation: the hot path neither hashes nor validates labels.
  const children = new Map<string, Map<string, Outcomes>>();
  function outcomesOf(store: string, op: string): Outcomes {
    let ops = children.get(store);
    if (ops === undefined) {
      ops = new Map<string, Outcomes>();
      children.set(store, ops);
    }
    let out = ops.get(op);
    if (out === undefined) {
      const label = boundedLabel(store);
      const bind = (outcome: string): Observe => {
        const child = calls.labels({ store: label, operation: op, outcome });
        return (seconds) => child.observe(seconds);
      };
      out = { ok: bind('ok'), error: bind('error'), timeout: bind('timeout') };
      ops.set(op, out);
    }
    return out;
  }

  return {
    onStoreCall({ store, op }) {
      const outcomes = outcomesOf(store, op);
      return (end) => outcomes[end.outcome](end.durationMs / 1000);
    },
    onCommit: ({ kind }) => commits.inc({ kind }),
    onSession: ({ type, count }) => sessions.inc({ event: type }, count),
    onError: ({ error, during }) => errors.inc({ code: error.code, during: boundedLabel(during) }),
    onGc({ removed }) {
      gcRuns.inc();
      if (removed > 0) gcRemoved.inc(removed);
    },
  };
}
