/**
 * @module Opening a request's session (no store call) and loading its record when first read:
 * one store read, then the checks a record must pass to be used (live, well formed, the schema).
 */
import { storeFailure, TesseraError } from '../errors.js';
import { isLive } from '../expiry.js';
import { SessionState, type SessionHost } from '../session/session.js';
import type { SessionData } from '../session/types.js';
import { isSealedStore, type SealedStore, type StoreRecord } from '../store.js';
import { createIdReader } from '../transport/read.js';
import type { SessionRequest } from '../transport/index.js';
import type { ManagerContext } from './context.js';

/** Builds the function that opens a request's session: the id is read, nothing is loaded yet. */
export function createOpener<Data extends SessionData>(
  ctx: ManagerContext,
  host: SessionHost,
): (request: SessionRequest) => SessionState<Data> {
  const { cookie, transports, ids } = ctx.o;
  const store = ctx.store;
  if (isSealedStore(store)) {
    if (!transports.cookie || transports.header !== undefined || transports.query !== undefined) {
      throw new TesseraError(
        'CONFIG',
        `The ${store.name} store carries sessions in cookies only: keep \`transport: { cookie: true }\` and switch off \`header\` and \`query\`.`,
      );
    }
    return openSealed<Data>(ctx, store, host);
  }
  return createIdReader(
    transports,
    cookie,
    ids,
    (request, id, source, hadCookie) =>
      new SessionState<Data>(host, request, id, source, hadCookie),
  );
}

/** A request's session with a sealed store: its record comes from, and goes back to, its cookies. */
function openSealed<Data extends SessionData>(
  ctx: ManagerContext,
  sealed: SealedStore,
  host: SessionHost,
): (request: SessionRequest) => SessionState<Data> {
  const { cookie, ids } = ctx.o;
  // The longest `name=value` a sealed cookie may take so the whole Set-Cookie stays within 4096 bytes.
  const maxCookieBytes = 4096 - (cookie.serializeNamed('', '', true).length - 1);
  const isValidId = (id: string): boolean => ids.isValid(id);
  return (request) => {
    const header = request.header('cookie');
    // Two different values under the cookie's name: refuse both rather than guess (as for ids).
    const isAmbiguous = cookie.read(header) === null;
    const cookies = isAmbiguous ? {} : cookie.parse(header);
    const backend = sealed.bind({
      name: cookie.name,
      read: (name) => cookies[name],
      maxCookieBytes,
      isValidId,
    });
    const id = backend.sessionId;
    return new SessionState<Data>(
      host,
      request,
      id,
      id === undefined ? undefined : 'cookie',
      isAmbiguous || backend.hadCookie,
      backend,
    );
  };
}

/**
 * Builds the loader: a session's first read. Not async: from a store that answers at once
 * (`getNow`) the record is accepted in the same step, with no promise at all; from any other store
 * a read costs the store's promise and one `then`.
 */
export function createLoader(
  ctx: ManagerContext,
): (s: SessionState) => StoreRecord | undefined | Promise<StoreRecord | undefined> {
  const { o, call } = ctx;
  // Observed store calls are timed around a promise: they take the asynchronous path.
  const isObserved = o.observers.onStoreCall !== undefined;
  const { clock, codec, schema } = o;

  function accept(
    s: SessionState,
    record: StoreRecord | undefined,
  ): StoreRecord | undefined | Promise<StoreRecord | undefined> {
    if (record === undefined) {
      ctx.event('expired');
      return s.accept(undefined);
    }
    if (!isLive(record, clock.now())) {
      ctx.event('expired');
      return dropRecord(s);
    }
    if (!isWellFormed(record)) {
      ctx.event('invalid');
      return dropRecord(s);
    }
    if (schema === undefined) return s.accept(record);
    return matchesSchema(record).then((matches) =>
      matches ? s.accept(record) : s.accept(undefined),
    );
  }

  /** A record that may not be used is deleted (in the background) and the session starts afresh. */
  function dropRecord(s: SessionState): StoreRecord | undefined {
    // A read-only session writes nothing, not even this clean-up: the next writer does it.
    if (s.isReadOnly) return s.accept(undefined);
    const key = s.key!;
    ctx
      .storeOf(s)
      .destroy(key)
      .catch((error: unknown) => ctx.report(error, 'destroy'));
    return s.accept(undefined);
  }

  async function matchesSchema(record: StoreRecord): Promise<boolean> {
    const data: Record<string, unknown> = {};
    try {
      for (const [key, value] of Object.entries(record.data))
        if (!key.startsWith('__')) data[key] = codec.decode(value);
      const result = await schema!['~standard'].validate(data);
      if (!result.issues) return true;
      ctx.event('invalid');
      ctx.report(
        new TesseraError(
          'INVALID_DATA',
          `A stored session failed the schema (${result.issues.length} issue(s)); it was treated as a new session.`,
        ),
        'schema',
      );
    } catch (error) {
      ctx.report(error, 'schema');
    }
    return false;
  }

  return (s) => {
    const key = s.key!;
    const target = ctx.storeOf(s);
    if (target.getNow !== undefined && !isObserved) {
      let record: StoreRecord | undefined | PromiseLike<StoreRecord | undefined>;
      try {
        record = target.getNow(key);
      } catch (error) {
        return Promise.reject(storeFailure(target.name, 'get', error));
      }
      // A wrapper that made `getNow` asynchronous (a Proxy around every method): its promise is
      // waited for as `get`'s would be, never taken for a malformed record.
      if (!isThenable(record)) return accept(s, record);
      const pending = record;
      return call(
        'get',
        () => Promise.resolve(pending),
        (found) => accept(s, found),
      );
    }
    return call(
      'get',
      () => target.get(key),
      (record) => accept(s, record),
    );
  };
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

function isWellFormed(record: StoreRecord): boolean {
  return (
    typeof record.data === 'object' &&
    record.data !== null &&
    !Array.isArray(record.data) &&
    typeof record.expiresAt === 'number' &&
    typeof record.createdAt === 'number'
  );
}
