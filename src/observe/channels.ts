/**
 * @module The manager's events on `node:diagnostics_channel`, so an APM or a test can subscribe
 * without the application wiring anything but this observer. A channel nobody subscribes to costs
 * one check per event (and a store call then reads no clock).
 */
import { channel, type Channel } from 'node:diagnostics_channel';
import type { Observer } from '../core/observer.js';

/**
 * The channels and what each publishes: `tessera:store-call` a finished store call
 * (`{ store, op, outcome, durationMs, error }`), `tessera:commit` a {@link CommitEvent},
 * `tessera:session` a {@link SessionEvent}, `tessera:error` an {@link ErrorEvent} and `tessera:gc`
 * a {@link GcEvent}. No message carries an id, a key, a user or data.
 */
export const CHANNELS: {
  readonly storeCall: 'tessera:store-call';
  readonly commit: 'tessera:commit';
  readonly session: 'tessera:session';
  readonly error: 'tessera:error';
  readonly gc: 'tessera:gc';
} = {
  storeCall: 'tessera:store-call',
  commit: 'tessera:commit',
  session: 'tessera:session',
  error: 'tessera:error',
  gc: 'tessera:gc',
};

/** The name of one of tessera's channels. */
export type ChannelName = (typeof CHANNELS)[keyof typeof CHANNELS];

function publisher<E>(ch: Channel): (event: E) => void {
  return (event) => {
    if (ch.hasSubscribers) ch.publish(event);
  };
}

/**
 * An observer that publishes what the manager does on the {@link CHANNELS}.
 *
 * @example
 * import { subscribe } from 'node:diagnostics_channel'
 * import { diagnosticsObserver } from 'tessera-session/tracing'
 *
 * const sessions = createSessionManager({ observers: [diagnosticsObserver()] })
 * subscribe('tessera:store-call', (call) => console.log(call))
 */
export function diagnosticsObserver(): Observer {
  const storeCall = channel(CHANNELS.storeCall);
  return {
    onStoreCall({ store, op }) {
      if (!storeCall.hasSubscribers) return undefined;
      return ({ outcome, durationMs, error }) =>
        storeCall.publish({ store, op, outcome, durationMs, error });
    },
    onCommit: publisher(channel(CHANNELS.commit)),
    onSession: publisher(channel(CHANNELS.session)),
    onError: publisher(channel(CHANNELS.error)),
    onGc: publisher(channel(CHANNELS.gc)),
  };
}
