/**
 * @module The cookie store: no server state; each session's record is sealed into its cookies.
 *
 * The whole record is encrypted and authenticated, and travels in the client's cookies.
 *
 * What it promises, and what it cannot:
 * - A cookie that fails any check (tampered, truncated, re-encoded, sealed for another cookie name,
 *   under a removed key, or past its deadline) gives a new empty session, never an error.
 * - Expiry lives inside the seal: a replayed old cookie is refused after its deadline.
 * - Without a `revocations` store, ending a session only clears its cookies in the browser that
 *   made the request: a copy of the cookie taken earlier stays valid until its idle or absolute
 *   deadline, and `revokeUser` cannot reach other devices (it throws `UNSUPPORTED`). With one,
 *   `revokeUser` records a per-user "not before" time, and logging out or renewing a signed-in
 *   session records its key, so copies are refused (one extra store read per signed-in request).
 * - Two requests racing with the same cookie each get their own copy of the record; the response
 *   that arrives last decides what the browser keeps. Server-side stores merge such writes.
 */
import { TesseraError } from '../../core/errors.js';
import { storeKey } from '../../core/id.js';
import { createSealer, type SecretInput, type Sealer } from '../../core/seal.js';
import type { StoreFactory } from '../../core/store-url.js';
import {
  systemClock,
  type Clock,
  type SealedStore,
  type Store,
  type StoreRecord,
} from '../../core/store.js';
import { DAY, checkDuration } from '../../core/time.js';
import { numberParam } from '../_shared/url-params.js';
import { CookieSession, type CookieContext } from './session.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'cookie';

/** Options of {@link cookieStore}. */
export interface CookieStoreOptions {
  /**
   * Secrets of at least 32 random bytes, newest first. The first seals; every listed one opens
   * the seals it made (picked by the key id in the seal). To rotate, put a new secret first and
   * keep the old one until its cookies have expired; removing it turns them into new sessions.
   */
  secrets: SecretInput | readonly SecretInput[];
  /**
   * The most bytes a sealed session may take across all its cookies (`name`, or `name.0`,
   * `name.1`, …). Past it a commit fails with `TOO_LARGE`. Browsers keep about 4 KB per cookie,
   * and proxies limit the request's `Cookie` header (nginx: 8 KB per header line by default;
   * Node: 16 KB for all headers), so keep this well below those. At most 262144.
   * @default 6144
   */
  maxBytes?: number;
  /**
   * Any tessera store, holding per-user "not before" times and the keys of ended signed-in
   * sessions, so `revokeUser`, logout and renewal reach copies of a cookie. Optional; see the
   * module notes for what happens without it.
   */
  revocations?: Store;
  /**
   * How long a per-user "not before" time is kept (ms). Must be at least the manager's
   * `idleTimeout`, or a revoked cookie that is still inside its deadline opens again.
   * @default 2592000000 (30 days)
   */
  revocationTtl?: number;
  /** The clock deciding expiry; tests pass one they can move. @default Date.now */
  clock?: Clock;
}

const MAX_BYTES_LIMIT = 256 * 1024;
const userKey = (userId: string): string => storeKey(`tessera/revoked-user/${userId}`);
const endedKey = (key: string): string => storeKey(`tessera/revoked-session/${key}`);

function unsupported(what: string): TesseraError {
  return new TesseraError('UNSUPPORTED', `The cookie store ${what}`);
}

/**
 * Creates a cookie store. Pass it as the manager's `store`; the manager binds it to each request's
 * cookies. Throws `INSECURE_KEY` for a weak secret and `CONFIG` for a bad option, at start-up.
 *
 * @example
 * const sessions = createSessionManager({
 *   store: cookieStore({ secrets: [process.env.SESSION_SECRET!] }),
 *   cookie: { name: '__Host-s', secure: true },
 * })
 */
export function cookieStore(options: CookieStoreOptions): SealedStore {
  const clock = options.clock ?? systemClock;
  const maxBytes = options.maxBytes ?? 6144;
  if (!Number.isInteger(maxBytes) || maxBytes < 512 || maxBytes > MAX_BYTES_LIMIT) {
    throw new TesseraError(
      'CONFIG',
      `cookieStore: \`maxBytes\` must be a whole number from 512 to ${MAX_BYTES_LIMIT}; got ${String(maxBytes)}.`,
    );
  }
  const revocationTtl = checkDuration(
    'revocationTtl',
    options.revocationTtl,
    30 * DAY,
    'the cookie store',
  );
  const sealer: Sealer = createSealer({ secrets: options.secrets, purpose: 'cookie-store' });
  const revocations = options.revocations;

  /** Whether a record opened from a cookie was ended by `revokeUser`, logout or renewal; `'exempt'` for the `except` session. */
  async function verdict(
    record: StoreRecord,
    key: string,
    exemptAt: number | undefined,
  ): Promise<'ok' | 'revoked' | 'exempt'> {
    if (record.userId === undefined) return 'ok';
    const [user, ended] = await Promise.all([
      revocations!.get(userKey(record.userId)),
      revocations!.get(endedKey(key)),
    ]);
    if (ended !== undefined) return 'revoked';
    const notBefore = user?.data['notBefore'];
    if (typeof notBefore !== 'number') return 'ok';
    const issuedAt = Math.max(record.meta?.loggedInAt ?? record.createdAt, exemptAt ?? 0);
    if (issuedAt >= notBefore) return 'ok';
    return user?.data['except'] === key ? 'exempt' : 'revoked';
  }

  async function end(key: string, until: number): Promise<void> {
    await revocations!.write(endedKey(key), { create: true, set: { ended: true } }, until);
  }

  const context: CookieContext = {
    sealer,
    clock,
    maxBytes,
    verdict: revocations === undefined ? undefined : verdict,
    end: revocations === undefined ? undefined : end,
  };

  const needRevocations = (what: string): TesseraError =>
    unsupported(
      `keeps no sessions on the server, so it cannot ${what} without a revocation store: pass \`revocations\` (any tessera store) to cookieStore().`,
    );
  const perRequest = (): Promise<never> =>
    Promise.reject(
      unsupported(
        'keeps each session in its own cookies: use it as the `store` of createSessionManager, which binds it to each request.',
      ),
    );

  return {
    name: STORE_NAME,
    isSealed: true,
    isLocal: revocations === undefined || revocations.isLocal === true,
    // Calls outside a request are calls of the revocation store: its own bound is theirs.
    ...(revocations?.timeoutMs === undefined ? {} : { timeoutMs: revocations.timeoutMs }),
    bind: (request) => new CookieSession(context, request),
    get: perRequest,
    write: perRequest,
    touch: perRequest,
    async destroy(key) {
      if (revocations === undefined) throw needRevocations('end a session outside its own request');
      await end(key, clock.now() + revocationTtl);
    },
    async destroyByUser(userId, exceptKey) {
      if (revocations === undefined)
        throw needRevocations("end a user's sessions on other devices");
      const now = clock.now();
      await revocations.write(
        userKey(userId),
        {
          create: true,
          replace: true,
          set: exceptKey === undefined ? { notBefore: now } : { notBefore: now, except: exceptKey },
        },
        now + revocationTtl,
      );
      // Sealed sessions cannot be counted: the number of cookies out there is unknown.
      return 0;
    },
    async check() {
      const probe = Buffer.from(`probe ${clock.now()}`);
      const back = sealer.open(sealer.seal(probe, 'probe'), 'probe');
      if (back === undefined || !back.equals(probe))
        throw new TesseraError(
          'STORE_UNAVAILABLE',
          'The cookie store could not open a seal it just made.',
        );
      if (revocations?.check) await revocations.check();
    },
    async close() {
      if (revocations !== undefined && ownsRevocations.has(revocations)) await revocations.close();
    },
  };
}

const ownsRevocations = new WeakSet<object>();
const secretsOf = (secret: string | readonly string[] | undefined): readonly string[] =>
  secret === undefined ? [] : typeof secret === 'string' ? [secret] : secret;

/**
 * `cookie:` URLs for `createStore`. Secrets come from the `secret` option (the demo reads
 * `TESSERA_SECRET`), never from the URL. Parameters: `maxBytes`, `revocationTtl` (ms), and
 * `revocations`, the URL of a store for revocations (e.g. `cookie:?revocations=redis://127.0.0.1:6390/0`).
 */
export const storeFromUrl: StoreFactory = async (url, options) => {
  const secrets = secretsOf(options.secret);
  if (secrets.length === 0)
    throw new TesseraError(
      'CONFIG',
      'The cookie store needs secrets: pass `secret` to createStore (one string, or a list with the newest first).',
    );
  const revocationsUrl = url.searchParams.get('revocations');
  let revocations: Store | undefined;
  if (revocationsUrl !== null) {
    if (options.createStore === undefined)
      throw new TesseraError(
        'CONFIG',
        'The cookie store URL names a `revocations` store, which only `createStore` can make: call createStore() with the URL, or pass `revocations` to cookieStore().',
      );
    revocations = await options.createStore(
      revocationsUrl,
      options.clock === undefined ? {} : { clock: options.clock },
    );
    ownsRevocations.add(revocations);
  }
  const maxBytes = numberParam(url, 'maxBytes');
  const revocationTtl = numberParam(url, 'revocationTtl');
  return cookieStore({
    secrets,
    ...(maxBytes === undefined ? {} : { maxBytes }),
    ...(revocationTtl === undefined ? {} : { revocationTtl }),
    ...(revocations === undefined ? {} : { revocations }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
};
