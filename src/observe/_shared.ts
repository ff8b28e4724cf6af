/**
 * @module What the observers in `src/observe` share: bounded label values and the redaction of
 * anything in a message that could be an id, a key or a token.
 */
import { createHash } from 'node:crypto';

/** A label value of at most 64 characters from a small alphabet, so a custom store cannot blow up cardinality with a long name. */
export function boundedLabel(value: string): string {
  const clean = value.replace(/[^A-Za-z0-9_.:-]/g, '_');
  return clean.length <= 64 ? clean : clean.slice(0, 64);
}

/** Eight characters of a SHA-256 of `token`: enough to tell two ids apart in a log, useless to replay. */
export function shortHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 8);
}

/**
 * Replaces every run of 20 or more id-like characters (a session id, a store key, a device handle,
 * a token in a driver's message) with `#` and its {@link shortHash}.
 */
export function redact(text: string): string {
  return text.replace(/[A-Za-z0-9_-]{20,}/g, (token) => `#${shortHash(token)}`);
}
