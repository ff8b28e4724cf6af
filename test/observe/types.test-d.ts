import client, * as namespace from 'prom-client';
import { describe, expectTypeOf, it } from 'vitest';
import type { Observer } from '../../src/index.js';
import { debugFromEnv, debugObserver } from '../../src/observe/debug.js';
import { prometheusObserver, type PromClient } from '../../src/observe/metrics.js';
import { diagnosticsObserver, tracingObserver } from '../../src/observe/tracing.js';

describe('observer types', () => {
  it('takes prom-client as a namespace or a default import', () => {
    expectTypeOf(namespace).toExtend<PromClient>();
    expectTypeOf(client).toExtend<PromClient>();
    expectTypeOf(prometheusObserver({ client: namespace })).toEqualTypeOf<Observer>();
    // @ts-expect-error: the client is required, so the metrics use the application's copy
    prometheusObserver({});
    // @ts-expect-error: a Registry is not the module
    prometheusObserver({ client: namespace.register });
  });

  it('builds observers for the observers option', () => {
    expectTypeOf(tracingObserver()).toEqualTypeOf<Observer>();
    expectTypeOf(diagnosticsObserver()).toEqualTypeOf<Observer>();
    expectTypeOf(debugObserver({ topics: ['commit'] })).toEqualTypeOf<Observer>();
    expectTypeOf(debugFromEnv()).toEqualTypeOf<Observer[]>();
    // @ts-expect-error: no such topic
    debugObserver({ topics: ['data'] });
  });
});
