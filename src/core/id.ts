/**
 * @module Session ids: generation from the CSPRNG, validation, and the hashed store key.
 */
import { hash, randomFillSync } from 'node:crypto';
import { TesseraError } from './errors.js';

const ID_CHARSET = /^[A-Za-z0-9_-]+$/;
const POOL_IDS = 128;

/** Generates and validates session ids of one fixed shape. */
export interface IdScheme {
  /** A new id. */
  generate(): string;
  /** Whether `value` has exactly the shape of an id this scheme issues. Cheap; no allocation. */
  isValid(value: string): boolean;
}

/** Options that shape ids; see `SessionManagerOptions`. */
export interface IdOptions {
  idBytes?: number | undefined;
  idPrefix?: string | undefined;
  generateId?: (() => string) | undefined;
}

/**
 * Builds the id scheme. Random bytes are drawn from the CSPRNG in batches, so a new id costs one
 * base64url encoding, not one system call.
 */
export function createIdScheme(options: IdOptions): IdScheme {
  const prefix = options.idPrefix ?? '';
  if (prefix !== '' && !ID_CHARSET.test(prefix)) {
    throw new TesseraError(
      'CONFIG',
      `Option \`idPrefix\` may hold only A-Z, a-z, 0-9, "_" and "-"; got ${JSON.stringify(prefix)}.`,
    );
  }
  if (prefix.length > 32)
    throw new TesseraError('CONFIG', 'Option `idPrefix` must be at most 32 characters.');

  let generateBody: () => string;
  if (options.generateId) {
    if (options.idBytes !== undefined) {
      throw new TesseraError(
        'CONFIG',
        'Options `idBytes` and `generateId` exclude each other; pass one.',
      );
    }
    generateBody = options.generateId;
  } else {
    const idBytes = options.idBytes ?? 32;
    if (!Number.isInteger(idBytes) || idBytes < 16 || idBytes > 64) {
      throw new TesseraError(
        'CONFIG',
        `Option \`idBytes\` must be a whole number from 16 (128 bits) to 64; got ${String(idBytes)}.`,
      );
    }
    const pool = Buffer.allocUnsafe(idBytes * POOL_IDS);
    let offset = pool.length;
    generateBody = () => {
      if (offset === pool.length) {
        randomFillSync(pool);
        offset = 0;
      }
      const id = pool.toString('base64url', offset, offset + idBytes);
      pool.fill(0, offset, offset + idBytes);
      offset += idBytes;
      return id;
    };
  }

  const sample = generateBody();
  if (
    typeof sample !== 'string' ||
    sample.length < 22 ||
    sample.length > 256 ||
    !ID_CHARSET.test(sample)
  ) {
    throw new TesseraError(
      'CONFIG',
      'Option `generateId` must return ids of 22 to 256 characters of A-Z, a-z, 0-9, "_" and "-" (at least 128 random bits).',
    );
  }
  const bodyLength = sample.length;
  const length = prefix.length + bodyLength;

  return {
    generate: prefix === '' ? generateBody : () => prefix + generateBody(),
    isValid(value) {
      return value.length === length && value.startsWith(prefix) && ID_CHARSET.test(value);
    },
  };
}

/** The store key of an id: base64url(sha256(id)). Stores never see raw ids. */
export function storeKey(id: string): string {
  return hash('sha256', id, 'base64url');
}

/** How many ids {@link sessionKey} remembers the key of. */
const KEY_CACHE_SIZE = 8192;
const keyCache = new Map<string, string>();

/**
 * {@link storeKey} for the ids of requests: a returning client sends the same id on every request,
 * so its key is hashed once and then found in a bounded map (the oldest entry leaves when it is
 * full, so a stream of made-up ids costs a hash each and never grows the process). The map holds
 * ids this process already holds in its requests, and only their hashes besides.
 */
export function sessionKey(id: string): string {
  let key = keyCache.get(id);
  if (key !== undefined) return key;
  key = storeKey(id);
  if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(id, key);
  return key;
}

/** Whether `value` has the shape of a store key (a device handle). */
export function isStoreKey(value: string): boolean {
  return value.length === 43 && ID_CHARSET.test(value);
}
