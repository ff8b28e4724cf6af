/**
 * @module Sealing: authenticated encryption of small payloads under rotating secrets, for the
 * cookie store.
 *
 * The cipher is XAES-256-GCM (c2sp.org/XAES-256-GCM): AES-256-GCM from node:crypto under a key
 * derived per message from a 192-bit random nonce with the NIST SP 800-108 counter KDF. Plain
 * AES-GCM with random 96-bit nonces must stay well below 2³² seals per key; the extended nonce
 * lifts that bound beyond any session workload (2⁸⁰ seals for a 2⁻³² collision risk), for the cost
 * of one extra AES call per seal on a cipher kept open.
 *
 * Each secret yields, once at start-up, a sub-key per purpose (HKDF-SHA256) and a key id. A seal
 * names the id of the key that made it, so opening picks that one key and never tries others.
 */
import {
  createCipheriv,
  createDecipheriv,
  hkdfSync,
  randomFillSync,
  type Cipher,
} from 'node:crypto';
import { TesseraError } from './errors.js';
import { checkSecret } from './secrets.js';

/** A secret with an explicit key id (shown in seals; 1 to 32 of A-Z, a-z, 0-9, "_" and "-"). */
export interface NamedSecret {
  id: string;
  secret: string | Uint8Array;
}

/** A secret as given: a string or bytes (key id derived from it), or one with an explicit id. */
export type SecretInput = string | Uint8Array | NamedSecret;

/** Options of {@link createSealer}. */
export interface SealerOptions {
  /** The secrets, newest first: the first seals, every one listed opens its own seals. */
  secrets: SecretInput | readonly SecretInput[];
  /**
   * What the keys are for; a different purpose derives unrelated keys from the same secrets, so a
   * seal made for one purpose never opens as another.
   */
  purpose: string;
}

/** Seals and opens payloads. */
export interface Sealer {
  /** The key ids, sealing key first (derived ids as base64url). */
  readonly keyIds: readonly string[];
  /** Encrypts and authenticates `plaintext`, bound to `context`; returns base64url text. */
  seal(plaintext: Uint8Array, context: string): string;
  /**
   * The plaintext of a seal made by {@link Sealer.seal} with the same `context` under a listed key,
   * or `undefined` for anything else. It never throws and never says which check failed.
   */
  open(token: string, context: string): Buffer | undefined;
  /** The length of the text {@link Sealer.seal} returns for a plaintext of `bytes` bytes. */
  sealedLength(bytes: number): number;
}

/** The format version, the first byte of every seal and part of its associated data. */
export const SEAL_VERSION = 1;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const SALT = Buffer.from('tessera/seal');

interface Key {
  /** The id as it appears in seals. */
  kid: Buffer;
  /** The id as shown in {@link Sealer.keyIds}. */
  id: string;
  /** The first bytes of every seal made with this key: format version, id length, id. */
  header: Buffer;
  /** Associated data per context, built once. */
  aads: Map<string, Buffer>;
  /** AES-256-ECB under the sub-key, kept open: ECB has no chaining state, so one cipher serves every derivation. */
  ecb: Cipher;
  /** The CMAC subkey K1 of the KDF (L = AES(0¹²⁸) doubled in GF(2¹²⁸)). */
  k1: Buffer;
}

/** The XAES-256-GCM state of one 32-byte key. */
function xaesKey(raw: Uint8Array, kid: Buffer, id: string): Key {
  const ecb = createCipheriv('aes-256-ecb', raw, null);
  ecb.setAutoPadding(false);
  const l = ecb.update(Buffer.alloc(16));
  const k1 = Buffer.allocUnsafe(16);
  for (let i = 0; i < 15; i++) k1[i] = ((l[i]! << 1) | (l[i + 1]! >> 7)) & 0xff;
  k1[15] = (l[15]! << 1) & 0xff;
  if (l[0]! & 0x80) k1[15] ^= 0x87;
  return {
    kid,
    id,
    ecb,
    k1,
    header: Buffer.from([SEAL_VERSION, kid.length, ...kid]),
    aads: new Map(),
  };
}

function deriveKey(secret: Buffer, kid: Buffer, id: string, purpose: string): Key {
  const raw = Buffer.from(
    hkdfSync('sha256', secret, SALT, `tessera/v${SEAL_VERSION}/${purpose}`, 32),
  );
  const key = xaesKey(raw, kid, id);
  raw.fill(0);
  return key;
}

const block = Buffer.alloc(32);
/** XAES-256-GCM: the per-message AES-256-GCM key for the first 12 bytes of the nonce. */
function messageKey(key: Key, nonce: Buffer): Buffer {
  block.fill(0);
  block[1] = 1;
  block[2] = 0x58;
  block[17] = 2;
  block[18] = 0x58;
  nonce.copy(block, 4, 0, 12);
  nonce.copy(block, 20, 0, 12);
  for (let i = 0; i < 16; i++) {
    block[i]! ^= key.k1[i]!;
    block[16 + i]! ^= key.k1[i]!;
  }
  return key.ecb.update(block);
}

// Nonces come from the CSPRNG in batches: one system call per 256 seals rather than per seal.
const noncePool = Buffer.allocUnsafe(NONCE_BYTES * 256);
let nonceOffset = noncePool.length;
function nextNonce(target: Buffer): void {
  if (nonceOffset === noncePool.length) {
    randomFillSync(noncePool);
    nonceOffset = 0;
  }
  noncePool.copy(target, 0, nonceOffset, nonceOffset + NONCE_BYTES);
  noncePool.fill(0, nonceOffset, nonceOffset + NONCE_BYTES);
  nonceOffset += NONCE_BYTES;
}

const b64Length = (bytes: number): number => Math.ceil((bytes * 4) / 3);

/** Normalizes secrets to `[kid, bytes]`, checking each one. */
function readSecrets(
  input: SealerOptions['secrets'],
): Array<{ kid: Buffer; id: string; bytes: Buffer }> {
  const list: readonly SecretInput[] =
    typeof input === 'string' || input instanceof Uint8Array || !Array.isArray(input)
      ? [input as SecretInput]
      : input;
  if (list.length === 0)
    throw new TesseraError(
      'CONFIG',
      'Give at least one secret (option `secrets`); the first one seals.',
    );
  const seen = new Set<string>();
  return list.map((item, index) => {
    const named = typeof item === 'object' && !(item instanceof Uint8Array) ? item : undefined;
    const label = named ? `Secret "${named.id}"` : `Secret #${index + 1}`;
    if (named && (typeof named.id !== 'string' || !KEY_ID.test(named.id))) {
      throw new TesseraError(
        'CONFIG',
        `Secret #${index + 1}: a key id is 1 to 32 of A-Z, a-z, 0-9, "_" and "-".`,
      );
    }
    const raw = named ? named.secret : (item as string | Uint8Array);
    if (typeof raw !== 'string' && !(raw instanceof Uint8Array))
      throw new TesseraError('CONFIG', `${label} must be a string or bytes.`);
    const bytes = checkSecret(raw, label);
    const kid = named
      ? Buffer.from(named.id, 'latin1')
      : Buffer.from(hkdfSync('sha256', bytes, SALT, 'tessera/key-id', 6));
    const tag = kid.toString('latin1');
    if (seen.has(tag))
      throw new TesseraError(
        'CONFIG',
        `${label} has the same key id as an earlier secret; give each secret its own id, and list each secret once.`,
      );
    seen.add(tag);
    return { kid, id: named ? named.id : kid.toString('base64url'), bytes };
  });
}

/**
 * Creates a sealer. Keys are derived here, once; sealing and opening then cost two AES calls and
 * one AES-GCM pass. Throws `INSECURE_KEY` for a weak secret and `CONFIG` for malformed options.
 *
 * @example
 * const sealer = createSealer({ secrets: [process.env.SECRET_NEW!, process.env.SECRET_OLD!], purpose: 'cookie-store' })
 * const text = sealer.seal(Buffer.from('{"a":1}'), 'sid')
 * sealer.open(text, 'sid') // Buffer '{"a":1}'
 */
export function createSealer(options: SealerOptions): Sealer {
  if (typeof options.purpose !== 'string' || options.purpose === '')
    throw new TesseraError('CONFIG', 'A sealer needs a `purpose`.');
  const keys = readSecrets(options.secrets).map(({ kid, id, bytes }) =>
    deriveKey(bytes, kid, id, options.purpose),
  );
  const byKid = new Map(keys.map((key) => [key.kid.toString('latin1'), key]));
  const sealing = keys[0]!;
  const header = sealing.header;
  const overhead = header.length + NONCE_BYTES + TAG_BYTES;
  const minLength = b64Length(3 + NONCE_BYTES + TAG_BYTES);

  // Associated data: the seal's header (format version and key id) and the caller's context.
  // Contexts are few (cookie names), so each key keeps its own up to a small bound.
  const aad = (key: Key, context: string): Buffer => {
    let value = key.aads.get(context);
    if (value === undefined) {
      value = Buffer.concat([key.header, Buffer.from(context, 'utf8')]);
      if (key.aads.size < 64) key.aads.set(context, value);
    }
    return value;
  };

  return {
    keyIds: keys.map((key) => key.id),
    sealedLength: (bytes) => b64Length(overhead + bytes),
    seal(plaintext, context) {
      const out = Buffer.allocUnsafe(overhead + plaintext.length);
      header.copy(out, 0);
      const nonce = out.subarray(header.length, header.length + NONCE_BYTES);
      nextNonce(nonce);
      const cipher = createCipheriv('aes-256-gcm', messageKey(sealing, nonce), nonce.subarray(12), {
        authTagLength: TAG_BYTES,
      });
      cipher.setAAD(aad(sealing, context));
      const body = cipher.update(plaintext);
      body.copy(out, header.length + NONCE_BYTES);
      cipher.final();
      cipher.getAuthTag().copy(out, out.length - TAG_BYTES);
      return out.toString('base64url');
    },
    open(token, context) {
      if (typeof token !== 'string' || token.length < minLength || !BASE64URL.test(token))
        return undefined;
      const bytes = Buffer.from(token, 'base64url');
      // One encoding per seal: padded, standard-alphabet or otherwise re-encoded text is refused.
      if (bytes.toString('base64url') !== token || bytes[0] !== SEAL_VERSION) return undefined;
      const kidLength = bytes[1]!;
      const bodyStart = 2 + kidLength + NONCE_BYTES;
      if (kidLength === 0 || bytes.length < bodyStart + TAG_BYTES) return undefined;
      const key = byKid.get(bytes.toString('latin1', 2, 2 + kidLength));
      if (key === undefined) return undefined;
      const nonce = bytes.subarray(2 + kidLength, bodyStart);
      try {
        const decipher = createDecipheriv(
          'aes-256-gcm',
          messageKey(key, nonce),
          nonce.subarray(12),
          { authTagLength: TAG_BYTES },
        );
        decipher.setAAD(aad(key, context));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        const plain = decipher.update(bytes.subarray(bodyStart, bytes.length - TAG_BYTES));
        decipher.final();
        return plain;
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * XAES-256-GCM itself, for the C2SP test vectors: encrypts with a given 32-byte key and 24-byte
 * nonce and returns ciphertext and tag. Internal; {@link createSealer} is the API.
 */
export function _xaesSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Buffer {
  const n = Buffer.from(nonce);
  const cipher = createCipheriv(
    'aes-256-gcm',
    messageKey(xaesKey(key, Buffer.alloc(0), ''), n),
    n.subarray(12),
  );
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}
