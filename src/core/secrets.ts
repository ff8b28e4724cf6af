/**
 * @module Refusing weak secrets at start-up: too short, repetitive, or published as examples.
 */
import { TesseraError } from './errors.js';

const MIN_SECRET_BYTES = 32;
const MAX_SECRET_BYTES = 1024;

// Example secrets published in READMEs, templates and tutorials (iron-session, Next.js examples,
// @fastify/session, @fastify/secure-session, express-session, Supabase). Shipping one lets anyone
// forge sessions (react-awesome-query-builder#1330). Compared after dropping case and punctuation.
const KNOWN_SECRETS = [
  'complex_password_at_least_32_characters_long',
  '2gyZ3GDw3LHZQKDhPmPDL3sjREVRXPr8',
  'a secret with minimum length of 32 characters',
  'averylogphrasebiggerthanthirtytwochars',
  'your-super-secret-jwt-token-with-at-least-32-characters-long',
  'some_not_random_password_that_is_at_least_32_characters',
  'keyboard cat',
];
// Words that mark a placeholder someone forgot to replace.
const PLACEHOLDER_WORDS = [
  'atleast32',
  'minimumlengthof32',
  'min32char',
  '32characters',
  'changeme',
  'replaceme',
  'yoursecret',
  'yourpassword',
  'keyboardcat',
];
const normalize = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]/g, '');
const KNOWN = KNOWN_SECRETS.map(normalize);

function insecure(label: string, why: string): TesseraError {
  return new TesseraError(
    'INSECURE_KEY',
    `${label} ${why} Generate a secret with \`openssl rand -base64 32\` and keep it out of source control.`,
  );
}

/** Throws `INSECURE_KEY` for a secret that is short, repetitive or a published example. */
export function checkSecret(secret: string | Uint8Array, label = 'The secret'): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (bytes.length < MIN_SECRET_BYTES)
    throw insecure(
      label,
      `is ${bytes.length} bytes long; a secret needs at least ${MIN_SECRET_BYTES} random bytes.`,
    );
  if (bytes.length > MAX_SECRET_BYTES)
    throw insecure(
      label,
      `is longer than ${MAX_SECRET_BYTES} bytes; pass a random secret of 32 to 64 bytes.`,
    );
  if (typeof secret === 'string') {
    const text = normalize(secret);
    if (
      KNOWN.some((known) => text.includes(known)) ||
      PLACEHOLDER_WORDS.some((word) => text.includes(word))
    ) {
      throw insecure(
        label,
        'is, or contains, a well-known example value from documentation, so anyone can forge sessions with it.',
      );
    }
  }
  if (isRepetitive(bytes))
    throw insecure(
      label,
      'is repetitive (few distinct characters, a repeated pattern or a run like "abcdef…"), so it holds far less entropy than its length suggests.',
    );
  return bytes;
}

function isRepetitive(bytes: Buffer): boolean {
  if (new Set(bytes).size < 8) return true;
  const n = bytes.length;
  for (let period = 1; period <= n / 2; period++) {
    let i = period;
    while (i < n && bytes[i] === bytes[i - period]) i++;
    if (i === n) return true;
  }
  // Few distinct three-byte windows: a phrase repeated with variations ("word-word-word-1234").
  const windows = new Set<string>();
  for (let i = 0; i + 3 <= n; i++) windows.add(bytes.toString('latin1', i, i + 3));
  if (windows.size * 2 < n - 2) return true;
  // Runs with a constant step ("abcdef…", "13579…"): count where the step repeats.
  let sameStep = 0;
  for (let i = 2; i < n; i++)
    if (bytes[i]! - bytes[i - 1]! === bytes[i - 1]! - bytes[i - 2]!) sameStep++;
  return sameStep * 2 > n - 2;
}
