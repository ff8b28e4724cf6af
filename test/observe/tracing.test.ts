/**
 * The tracing observer makes one span per store call, child of the request's span, on the real
 * OpenTelemetry SDK; the diagnostics observer publishes on node:diagnostics_channel. Neither
 * carries an id, a user or data.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createSessionManager,
  memoryStore,
  type Observer,
  type SessionManager,
} from '../../src/index.js';
import { CHANNELS, diagnosticsObserver, tracingObserver } from '../../src/observe/tracing.js';
import { sqliteStore } from '../../src/stores/sqlite/index.js';
import { browser } from '../support/requests.js';
import { spyStore } from '../support/spy-store.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();
const tracer = provider.getTracer('test');
const dir = mkdtempSync(join(tmpdir(), 'tessera-tracing-'));
const managers: SessionManager[] = [];

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
});
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
  exporter.reset();
});
afterAll(async () => {
  await provider.shutdown();
  contextManager.disable();
  context.disable();
  trace.disable();
  rmSync(dir, { recursive: true, force: true });
});

function manager(observer: Observer, options: Parameters<typeof createSessionManager>[0] = {}) {
  const m = createSessionManager({ gcInterval: false, ...options, observers: [observer] });
  managers.push(m);
  return m;
}

/** Runs `work` inside an active span named `request`, as an HTTP instrumentation would. */
function inRequest<T>(work: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan('request', async (span) => {
    try {
      return await work();
    } finally {
      span.end();
    }
  });
}

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const named = (name: string): ReadableSpan[] => spans().filter((s) => s.name === name);

describe('tracingObserver', () => {
  it('makes a span per store call, child of the request span, with store, operation and outcome', async () => {
    const b = browser(manager(tracingObserver({ tracer })));
    await inRequest(() => b.visit((s) => s.set('a', 1)));
    await inRequest(() => b.visit((s) => s.get('a')));
    const requests = named('request');
    expect(requests).toHaveLength(2);
    const [write] = named('tessera.store.write');
    const [get] = named('tessera.store.get');
    expect(write!.parentSpanContext?.spanId).toBe(requests[0]!.spanContext().spanId);
    expect(get!.parentSpanContext?.spanId).toBe(requests[1]!.spanContext().spanId);
    expect(get!.spanContext().traceId).toBe(requests[1]!.spanContext().traceId);
    expect(get!.attributes).toEqual({
      'tessera.store': 'memory',
      'tessera.operation': 'get',
      'tessera.outcome': 'ok',
    });
    expect(get!.kind).toBe(SpanKind.INTERNAL);
    expect(get!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('uses the global tracer provider when given no tracer', async () => {
    const b = browser(manager(tracingObserver()));
    await b.visit((s) => s.set('a', 1));
    const [write] = named('tessera.store.write');
    expect(write!.instrumentationScope.name).toBe('tessera-session');
    expect(write!.parentSpanContext).toBeUndefined();
  });

  it('asks for no end of a call whose span is sampled out', () => {
    const sampledOut = new BasicTracerProvider({ sampler: new AlwaysOffSampler() });
    const observer = tracingObserver({ tracer: sampledOut.getTracer('x') });
    expect(observer.onStoreCall!({ store: 'memory', op: 'get' })).toBeUndefined();
    const recording = tracingObserver({ tracer });
    const end = recording.onStoreCall!({ store: 'memory', op: 'get' });
    expect(typeof end).toBe('function');
    end!({ outcome: 'ok', durationMs: 1, error: undefined });
  });

  it('marks a failed call with an error status and its code, never the driver’s message', async () => {
    const store = spyStore(memoryStore());
    const b = browser(manager(tracingObserver({ tracer }), { store }));
    await b.visit((s) => s.set('a', 1));
    store.mode = 'fail';
    await expect(inRequest(() => b.visit((s) => s.get('a')))).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    const [get] = named('tessera.store.get');
    expect(get!.attributes['tessera.outcome']).toBe('error');
    expect(get!.attributes['error.type']).toBe('STORE_UNAVAILABLE');
    expect(get!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'STORE_UNAVAILABLE' });
    expect(JSON.stringify(get!.status)).not.toContain('ECONNREFUSED');
  });

  it('adds commits and session events to the request span, with no id, user or data', async () => {
    const b = browser(manager(tracingObserver({ tracer })));
    await inRequest(() =>
      b.visit(async (s) => {
        s.set('card', '4111 1111 1111 1111');
        await s.login('alice@example.com');
      }),
    );
    const [request] = named('request');
    // The login stored the new session itself: its commit had nothing left to store.
    const events = request!.events.map((e) => [e.name, e.attributes]);
    expect(events).toContainEqual([
      'tessera.commit',
      {
        'tessera.commit.kind': 'none',
        'tessera.commit.is_id_sent': true,
        'tessera.commit.is_cookie_cleared': false,
      },
    ]);
    expect(events).toContainEqual([
      'tessera.session',
      { 'tessera.session.event': 'created', 'tessera.session.count': 1 },
    ]);
    const everything = JSON.stringify(
      spans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })),
    );
    expect(everything).not.toContain(b.cookie!);
    expect(everything).not.toMatch(/alice|4111|card|[A-Za-z0-9_-]{43}/);
  });

  it('adds no events when hasEvents is false', async () => {
    const b = browser(manager(tracingObserver({ tracer, hasEvents: false })));
    await inRequest(() => b.visit((s) => s.set('a', 1)));
    expect(named('request')[0]!.events).toEqual([]);
    expect(named('tessera.store.write')).toHaveLength(1);
  });

  it('marks calls to a database store as client spans with db.system.name', async () => {
    const b = browser(
      manager(tracingObserver({ tracer }), { store: sqliteStore({ path: join(dir, 't.db') }) }),
    );
    await inRequest(() => b.visit((s) => s.set('a', 1)));
    const [write] = named('tessera.store.write');
    expect(write!.kind).toBe(SpanKind.CLIENT);
    expect(write!.attributes).toMatchObject({
      'tessera.store': 'sqlite',
      'db.system.name': 'sqlite',
      'tessera.outcome': 'ok',
    });
    expect(write!.parentSpanContext?.spanId).toBe(named('request')[0]!.spanContext().spanId);
  });
});

describe('diagnosticsObserver', () => {
  it('publishes store calls, commits and session events to their channels', async () => {
    const seen: Array<[string, unknown]> = [];
    const listeners = Object.values(CHANNELS).map((name) => {
      const listener = (message: unknown) => seen.push([name, message]);
      subscribe(name, listener);
      return [name, listener] as const;
    });
    try {
      const b = browser(manager(diagnosticsObserver()));
      await b.visit((s) => s.set('a', 1));
      await b.visit((s) => s.login('alice'));
    } finally {
      for (const [name, listener] of listeners) unsubscribe(name, listener);
    }
    expect(seen.map(([name]) => name)).toEqual([
      'tessera:store-call',
      'tessera:session',
      'tessera:commit',
      'tessera:store-call',
      'tessera:session',
      'tessera:store-call',
      'tessera:commit',
    ]);
    expect(seen[0]![1]).toMatchObject({
      store: 'memory',
      op: 'write',
      outcome: 'ok',
      error: undefined,
    });
    expect(seen[2]![1]).toEqual({ kind: 'create', isIdSent: true, isCookieCleared: false });
    expect(JSON.stringify(seen)).not.toMatch(/alice|[A-Za-z0-9_-]{43}/);
  });

  it('publishes failures with their code on tessera:store-call and tessera:error', async () => {
    const store = spyStore(memoryStore());
    const seen: Array<{ name: string; code: unknown }> = [];
    const onCall = (m: unknown) =>
      seen.push({ name: 'call', code: (m as { error?: { code: string } }).error?.code });
    const onError = (m: unknown) =>
      seen.push({ name: 'error', code: (m as { error: { code: string } }).error.code });
    subscribe(CHANNELS.storeCall, onCall);
    subscribe(CHANNELS.error, onError);
    try {
      store.mode = 'fail';
      await expect(
        browser(manager(diagnosticsObserver(), { store })).visit((s) => s.set('a', 1)),
      ).rejects.toThrow();
    } finally {
      unsubscribe(CHANNELS.storeCall, onCall);
      unsubscribe(CHANNELS.error, onError);
    }
    expect(seen).toEqual([
      { name: 'call', code: 'STORE_UNAVAILABLE' },
      { name: 'error', code: 'STORE_UNAVAILABLE' },
    ]);
  });

  it('costs a store call no clock read while nobody subscribes', () => {
    const observer = diagnosticsObserver();
    expect(observer.onStoreCall!({ store: 'memory', op: 'get' })).toBeUndefined();
    const listener = () => undefined;
    subscribe(CHANNELS.storeCall, listener);
    try {
      expect(typeof observer.onStoreCall!({ store: 'memory', op: 'get' })).toBe('function');
    } finally {
      unsubscribe(CHANNELS.storeCall, listener);
    }
  });
});
