/**
 * The Prometheus observer records store calls, commits, session events, errors, GC passes and
 * (opt-in) live sessions in a real prom-client registry, with bounded labels and no ids.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSessionManager, memoryStore, type SessionManager } from '../../src/index.js';
import { prometheusObserver, type MetricsOptions } from '../../src/observe/metrics.js';
import { sqliteStore } from '../../src/stores/sqlite/index.js';
import { testClock } from '../contract/store.js';
import { browser } from '../support/requests.js';
import { spyStore } from '../support/spy-store.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-metrics-'));
const managers: SessionManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup(
  options: Parameters<typeof createSessionManager>[0] = {},
  metrics: Partial<MetricsOptions> = {},
) {
  const registry = new client.Registry();
  const observer = prometheusObserver({ client, registry, ...metrics });
  const manager = createSessionManager({ gcInterval: false, ...options, observers: [observer] });
  managers.push(manager);
  return { registry, manager };
}

/** The value of one sample line of the exposition text, or undefined when absent. */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

const calls = (op: string, outcome = 'ok', store = 'memory'): string =>
  `tessera_store_call_duration_seconds_count{store="${store}",operation="${op}",outcome="${outcome}"}`;

describe('prometheusObserver', () => {
  it('counts store calls by store, operation and outcome, commits by kind and session events', async () => {
    const { registry, manager } = setup();
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    await b.visit((s) => s.get('a'));
    await b.visit((s) => s.login('alice'));
    await b.visit((s) => s.logout());
    const text = await registry.metrics();
    expect(sample(text, calls('write'))).toBe(2);
    expect(sample(text, calls('get'))).toBe(1);
    expect(sample(text, calls('rename'))).toBe(1);
    expect(sample(text, calls('destroy'))).toBe(1);
    expect(text).toContain('# TYPE tessera_store_call_duration_seconds histogram');
    expect(text).toMatch(
      /tessera_store_call_duration_seconds_bucket\{le="0\.0005",store="memory",operation="get",outcome="ok"\} \d/,
    );
    expect(sample(text, 'tessera_commits_total{kind="create"}')).toBe(1);
    // The read-only visit needed no commit: the manager reports none for it.
    expect(sample(text, 'tessera_commits_total{kind="none"}')).toBe(2);
    // Known label values start at 0, so rate() works from the first scrape.
    expect(sample(text, 'tessera_commits_total{kind="touch"}')).toBe(0);
    expect(sample(text, 'tessera_session_events_total{event="created"}')).toBe(1);
    expect(sample(text, 'tessera_session_events_total{event="renewed"}')).toBe(1);
    expect(sample(text, 'tessera_session_events_total{event="destroyed"}')).toBe(1);
    expect(sample(text, 'tessera_session_events_total{event="revoked"}')).toBe(0);
  });

  it('never puts an id, a user or data into a label', async () => {
    const { registry, manager } = setup();
    const b = browser(manager);
    await b.visit(async (s) => {
      s.set('secret-value', 'hunter2');
      await s.login('alice@example.com');
    });
    const text = await registry.metrics();
    expect(b.cookie).toBeDefined();
    expect(text).not.toContain(b.cookie!);
    expect(text).not.toMatch(/alice|hunter2|secret-value|[A-Za-z0-9_-]{43}/);
  });

  it('labels a failed store call outcome="error" and counts the error by code', async () => {
    const store = spyStore(memoryStore());
    const { registry, manager } = setup({ store });
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    store.mode = 'fail';
    await expect(b.visit((s) => s.get('a'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(b.visit((s) => s.set('a', 2))).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    const text = await registry.metrics();
    expect(sample(text, calls('get', 'error'))).toBe(1);
    expect(sample(text, calls('write', 'error'))).toBe(1);
    expect(sample(text, calls('write', 'ok'))).toBe(1);
    // The failed read inside a handler is reported as it reaches the caller; the second visit
    // fails in its commit, reported too.
    expect(sample(text, 'tessera_errors_total{code="STORE_UNAVAILABLE",during="load"}')).toBe(1);
    expect(sample(text, 'tessera_errors_total{code="STORE_UNAVAILABLE",during="commit"}')).toBe(1);
  });

  it('labels a timed-out store call outcome="timeout"', async () => {
    const inner = spyStore(memoryStore());
    const { registry, manager } = setup({
      store: { ...inner, name: 'remote', isLocal: false },
      storeTimeout: 20,
    });
    inner.mode = 'hang';
    await expect(browser(manager).visit((s) => s.set('a', 1))).rejects.toMatchObject({
      code: 'STORE_TIMEOUT',
    });
    const text = await registry.metrics();
    expect(sample(text, calls('write', 'timeout', 'remote'))).toBe(1);
    expect(sample(text, 'tessera_errors_total{code="STORE_TIMEOUT",during="commit"}')).toBe(1);
  });

  it('counts expired sessions, GC passes and the records they removed', async () => {
    const clock = testClock();
    const { registry, manager } = setup({
      store: memoryStore({ clock }),
      clock,
      idleTimeout: 1000,
    });
    const stale = browser(manager);
    await stale.visit((s) => s.set('x', 1));
    await browser(manager).visit((s) => s.set('y', 1));
    clock.advance(2000);
    await stale.visit((s) => s.get('x'));
    await manager.gc();
    const text = await registry.metrics();
    expect(sample(text, 'tessera_session_events_total{event="expired"}')).toBe(1);
    expect(sample(text, 'tessera_gc_runs_total')).toBe(1);
    expect(sample(text, 'tessera_gc_removed_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, calls('gc'))).toBe(1);
  });

  it('reports live sessions only when asked, cached for cacheMs', async () => {
    const off = setup();
    expect(await off.registry.metrics()).not.toContain('tessera_active_sessions');

    // The observer exists before its manager: the count reaches it through a closure.
    const on = setup(
      {},
      { activeSessions: { count: () => on.manager.activeCount(), cacheMs: 60_000 } },
    );
    const manager = on.manager;
    await browser(manager).visit((s) => s.set('a', 1));
    await browser(manager).visit((s) => s.set('a', 1));
    const gauge = 'tessera_active_sessions';
    expect(sample(await on.registry.metrics(), gauge)).toBe(2);
    await browser(manager).visit((s) => s.set('a', 1));
    // Within cacheMs a scrape reuses the count: no second `count` call.
    const text = await on.registry.metrics();
    expect(sample(text, gauge)).toBe(2);
    expect(sample(text, calls('count'))).toBe(1);
  });

  it('keeps the last count when counting outlasts timeoutMs', async () => {
    let counts = 0;
    const { registry } = setup(
      {},
      {
        activeSessions: {
          count: () => (++counts === 1 ? Promise.resolve(5) : new Promise<number>(() => {})),
          cacheMs: 0,
          timeoutMs: 30,
        },
      },
    );
    expect(sample(await registry.metrics(), 'tessera_active_sessions')).toBe(5);
    const started = Date.now();
    expect(sample(await registry.metrics(), 'tessera_active_sessions')).toBe(5);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(counts).toBe(2);
  });

  it('labels calls of a SQLite store store="sqlite"', async () => {
    const { registry, manager } = setup({ store: sqliteStore({ path: join(dir, 'm.db') }) });
    const b = browser(manager);
    await b.visit((s) => s.set('a', 1));
    await b.visit((s) => s.get('a'));
    const text = await registry.metrics();
    expect(sample(text, calls('write', 'ok', 'sqlite'))).toBe(1);
    expect(sample(text, calls('get', 'ok', 'sqlite'))).toBe(1);
  });

  it('takes a prefix, and shares a registry between managers without clashing', async () => {
    const registry = new client.Registry();
    for (let i = 0; i < 2; i++) {
      const manager = createSessionManager({
        gcInterval: false,
        observers: [prometheusObserver({ client, registry, prefix: 'app_sessions_' })],
      });
      managers.push(manager);
      await browser(manager).visit((s) => s.set('a', 1));
    }
    const metric = await registry.getSingleMetricAsString('app_sessions_commits_total');
    expect(metric).toContain('app_sessions_commits_total{kind="create"} 2');
    expect(await registry.metrics()).not.toContain('tessera_');
  });

  it('registers in prom-client’s default registry when given none', async () => {
    const manager = createSessionManager({
      gcInterval: false,
      observers: [prometheusObserver({ client, prefix: 'tessera_default_' })],
    });
    managers.push(manager);
    await browser(manager).visit((s) => s.set('a', 1));
    try {
      expect(
        await client.register.getSingleMetricAsString('tessera_default_commits_total'),
      ).toContain('kind="create"} 1');
    } finally {
      client.register.clear();
    }
  });
});
