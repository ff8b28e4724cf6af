/**
 * @module One request's session in the cookie store: the record its cookies carry.
 *
 * The record is changed in memory and sealed back into cookies at commit. Internal to the cookie
 * store.
 *
 * A class rather than closures: one is made per request, and prototype methods cost nothing to
 * create.
 */
import { applyDelta } from '../../core/delta.js';
import { capExpiry, isLive } from '../../core/expiry.js';
import { storeKey } from '../../core/id.js';
import type { Sealer } from '../../core/seal.js';
import {
  type Clock,
  type Delta,
  type SealedRequest,
  type SealedSession,
  type StoreRecord,
  type WriteResult,
} from '../../core/store.js';
import { readChunks, writeChunks } from './chunks.js';
import { decodePlaintext, encodePlaintext } from './plaintext.js';

/** What the sessions of one cookie store share. */
export interface CookieContext {
  readonly sealer: Sealer;
  readonly clock: Clock;
  readonly maxBytes: number;
  /** Present with a revocation store: whether an opened record was revoked (or kept by `except`). */
  readonly verdict:
    | ((
        record: StoreRecord,
        key: string,
        exemptAt: number | undefined,
      ) => Promise<'ok' | 'revoked' | 'exempt'>)
    | undefined;
  /** Present with a revocation store: records that copies of `key` must be refused until `until`. */
  readonly end: ((key: string, until: number) => Promise<void>) | undefined;
}

/** The sealed session of one request. */
export class CookieSession implements SealedSession {
  readonly name = 'cookie';
  readonly isLocal = true;
  readonly sessionId: string | undefined;
  readonly hadCookie: boolean;
  private readonly context: CookieContext;
  private readonly request: SealedRequest;
  private record: StoreRecord | undefined;
  /** The key of the record held; hashed from the sealed id only when first needed. */
  private key: string | undefined;
  private isKeyKnown: boolean;
  private exemptAt: number | undefined;
  private present: string[];
  private changed = false;
  /**
   * Whether the revocation store must be asked about this record before the first call (a
   * signed-in session with a revocation store). Asked lazily, inside the manager's store call, so
   * a request that never touches its session costs no lookup.
   */
  private isCheckDue: boolean;
  private checking: Promise<void> | undefined;

  constructor(context: CookieContext, request: SealedRequest) {
    this.context = context;
    this.request = request;
    const found = readChunks(request, context.maxBytes);
    const opened =
      found.token === undefined ? undefined : context.sealer.open(found.token, request.name);
    const sealed = opened === undefined ? undefined : decodePlaintext(opened);
    const isUsable =
      sealed !== undefined &&
      sealed.id !== undefined &&
      isLive(sealed.record, context.clock.now()) &&
      request.isValidId(sealed.id);
    this.sessionId = isUsable ? sealed.id : undefined;
    this.record = isUsable ? sealed.record : undefined;
    this.isKeyKnown = this.sessionId === undefined;
    this.exemptAt = sealed?.exemptAt;
    this.present = found.present;
    this.hadCookie = found.present.length > 0;
    this.isCheckDue = context.verdict !== undefined && this.record?.userId !== undefined;
  }

  get isChanged(): boolean {
    return this.changed;
  }

  private keyOfRecord(): string | undefined {
    if (!this.isKeyKnown) {
      this.key = storeKey(this.sessionId!);
      this.isKeyKnown = true;
    }
    return this.key;
  }

  /** Settles the revocation lookup when one is due; `undefined` when none is. */
  private ready(): Promise<void> | undefined {
    return this.isCheckDue ? (this.checking ??= this.verify(this.record!)) : undefined;
  }

  private async verify(opened: StoreRecord): Promise<void> {
    try {
      const result = await this.context.verdict!(opened, this.keyOfRecord()!, this.exemptAt);
      this.isCheckDue = false;
      if (result === 'revoked') {
        this.hold(undefined, undefined);
      } else if (result === 'exempt') {
        this.exemptAt = this.context.clock.now();
        this.changed = true;
      }
    } finally {
      // After a failure (revocation store down) the next call asks again.
      this.checking = undefined;
    }
  }

  private hold(record: StoreRecord | undefined, key: string | undefined): void {
    this.record = record;
    this.key = key;
    this.isKeyKnown = true;
    this.changed = true;
  }

  private live(key: string, now: number): StoreRecord | undefined {
    const record = this.record;
    return record !== undefined && key === this.keyOfRecord() && isLive(record, now)
      ? record
      : undefined;
  }

  async get(key: string): Promise<StoreRecord | undefined> {
    const due = this.ready();
    if (due) await due;
    const record = this.live(key, this.context.clock.now());
    return record === undefined ? undefined : { ...record, data: { ...record.data } };
  }

  async write(key: string, delta: Delta, expiresAt: number): Promise<WriteResult> {
    const due = this.ready();
    if (due) await due;
    const now = this.context.clock.now();
    const current = this.live(key, now);
    const result = applyDelta(current, delta, expiresAt, now);
    if (result === undefined) return { existed: false };
    if (result.record === undefined)
      return { existed: current !== undefined, nonNumeric: result.nonNumeric };
    if (current === undefined) this.exemptAt = undefined;
    this.hold(result.record, key);
    const existed = current !== undefined;
    return result.counters === undefined ? { existed } : { existed, counters: result.counters };
  }

  async touch(key: string, expiresAt: number): Promise<void> {
    const due = this.ready();
    if (due) await due;
    const current = this.live(key, this.context.clock.now());
    if (current !== undefined)
      this.hold({ ...current, expiresAt: capExpiry(expiresAt, current.absoluteExpiresAt) }, key);
  }

  async destroy(key: string): Promise<void> {
    const due = this.ready();
    if (due) await due;
    const current = this.live(key, this.context.clock.now());
    if (current === undefined) return;
    if (this.context.end !== undefined && current.userId !== undefined)
      await this.context.end(key, current.expiresAt);
    this.hold(undefined, undefined);
  }

  async rename(oldKey: string, newKey: string): Promise<boolean> {
    const due = this.ready();
    if (due) await due;
    const current = this.live(oldKey, this.context.clock.now());
    if (current === undefined) return false;
    if (this.context.end !== undefined && current.userId !== undefined)
      await this.context.end(oldKey, current.expiresAt);
    this.hold(current, newKey);
    return true;
  }

  async close(): Promise<void> {}

  cookies(id: string | undefined): ReadonlyArray<readonly [string, string | undefined]> {
    const record = this.record;
    const kept =
      record !== undefined && id !== undefined && isLive(record, this.context.clock.now())
        ? record
        : undefined;
    if (kept !== undefined && !this.changed && id === this.sessionId) return [];
    const { name, maxCookieBytes } = this.request;
    const out =
      kept === undefined
        ? this.present.map((n) => [n, undefined] as const)
        : writeChunks(
            name,
            this.context.sealer.seal(encodePlaintext(kept, id!, this.exemptAt), name),
            maxCookieBytes,
            this.context.maxBytes,
            this.present,
          );
    this.present = out.filter(([, value]) => value !== undefined).map(([n]) => n);
    this.changed = false;
    return out;
  }
}
