/**
 * @module OpenTelemetry tracing for a session manager, as an observer: a span per store call,
 * child of the request's span, and the manager's decisions as events on the request's span.
 */
import {
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import type { Observer } from '../core/observer.js';
import { boundedLabel } from './_shared.js';

export { diagnosticsObserver, CHANNELS, type ChannelName } from './channels.js';

/** Options of {@link tracingObserver}. */
export interface TracingOptions {
  /**
   * The tracer spans come from.
   * @default trace.getTracer('tessera-session')
   */
  tracer?: Tracer;
  /**
   * Whether commits, session events and errors are added as events (`tessera.commit`,
   * `tessera.session`, `tessera.error`) to the span active at the time, the request's.
   * @default true
   */
  hasEvents?: boolean;
}

/** A span's name and options, the same for every call of one operation on one store. */
interface SpanStart {
  name: string;
  options: SpanOptions;
}

/** `db.system.name` (OpenTelemetry semantic conventions) of the stores that talk to a database. */
const DB_SYSTEMS: Readonly<Record<string, string>> = {
  redis: 'redis',
  postgres: 'postgresql',
  mysql: 'mysql',
  sqlite: 'sqlite',
  memcached: 'memcached',
  mongodb: 'mongodb',
};

/**
 * An observer that traces every store call as a span named `tessera.store.<operation>` (child of
 * the active span, the request's), with attributes `tessera.store`, `tessera.operation`,
 * `tessera.outcome` and, on failure, `error.type` (the error code) and an error status. Spans and
 * events carry no id, key, user or data; a failure's status names its code only, never a driver's
 * message.
 *
 * @example
 * import { tracingObserver } from 'tessera-session/tracing'
 *
 * const sessions = createSessionManager({ observers: [tracingObserver()] })
 */
export function tracingObserver(options: TracingOptions = {}): Observer {
  const tracer = options.tracer ?? trace.getTracer('tessera-session');
  // How each store's spans of each operation start, worked out once: the hot path only looks it up.
  const starts = new Map<string, Map<string, SpanStart>>();
  function startOf(store: string, op: string): SpanStart {
    let ops = starts.get(store);
    if (ops === undefined) {
      ops = new Map<string, SpanStart>();
      starts.set(store, ops);
    }
    let start = ops.get(op);
    if (start === undefined) {
      const label = boundedLabel(store);
      const system = DB_SYSTEMS[label];
      const attributes: Attributes = { 'tessera.store': label, 'tessera.operation': op };
      if (system !== undefined) attributes['db.system.name'] = system;
      start = {
        name: `tessera.store.${op}`,
        options: {
          kind: system === undefined ? SpanKind.INTERNAL : SpanKind.CLIENT,
          attributes: Object.freeze(attributes),
        },
      };
      ops.set(op, start);
    }
    return start;
  }
  const observer: Observer = {
    onStoreCall({ store, op }) {
      const { name, options: spanOptions } = startOf(store, op);
      // The SDK copies the attributes into the span, so one frozen object serves every call.
      const span = tracer.startSpan(name, spanOptions);
      // A span nobody records (no SDK, or sampled out) needs no end: the call then reads no clock.
      if (!span.isRecording()) return undefined;
      return (end) => {
        span.setAttribute('tessera.outcome', end.outcome);
        if (end.error !== undefined) {
          span.setAttribute('error.type', end.error.code);
          span.setStatus({ code: SpanStatusCode.ERROR, message: end.error.code });
        }
        span.end();
      };
    },
  };
  if (options.hasEvents === false) return observer;
  observer.onCommit = ({ kind, isIdSent, isCookieCleared }) =>
    trace.getActiveSpan()?.addEvent('tessera.commit', {
      'tessera.commit.kind': kind,
      'tessera.commit.is_id_sent': isIdSent,
      'tessera.commit.is_cookie_cleared': isCookieCleared,
    });
  observer.onSession = ({ type, count }) =>
    trace.getActiveSpan()?.addEvent('tessera.session', {
      'tessera.session.event': type,
      'tessera.session.count': count,
    });
  observer.onError = ({ error, during }) =>
    trace.getActiveSpan()?.addEvent('tessera.error', {
      'error.type': error.code,
      'tessera.during': boundedLabel(during),
    });
  return observer;
}
