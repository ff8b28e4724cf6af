/**
 * @module How the MongoDB store keeps session keys and values inside one document.
 *
 * A session key becomes one field of the document's `data` object. MongoDB gives `.` and a
 * leading `$` meaning in field paths, so key names are escaped (`%` → `%25`, `.` → `%2E`, `$` →
 * `%24`, NUL → `%00`, and the empty key → `%`): every key, however odd, names exactly one field,
 * and no key can reach another field. Numbers are kept as BSON numbers, so `$add` can increment
 * them on the server; every other value is kept as its JSON text, so nested objects with any
 * member names (`a.b`, `$x`) are stored as they are on every server version.
 */
import type { JsonValue } from '../../core/store.js';

/** What one `data` field holds: a number, or the JSON text of any other value. */
export type StoredValue = number | string;

/** The field name of session key `key` inside `data`. */
export function fieldName(key: string): string {
  if (key === '') return '%';
  return key.replace(
    /[%.$\0]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`,
  );
}

/** The session key of a field name made by {@link fieldName}. */
export function keyOfField(field: string): string {
  if (field === '%') return '';
  return field.replace(/%([0-9A-F]{2})/g, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}

/** The path of session key `key` in the document: `data.<field name>`. */
export function dataPath(key: string): string {
  return `data.${fieldName(key)}`;
}

/** A value as one `data` field holds it. */
export function storedValue(value: JsonValue): StoredValue {
  return typeof value === 'number' ? value : JSON.stringify(value);
}

/** A value read back from one `data` field. */
export function readValue(stored: unknown): JsonValue {
  if (typeof stored === 'number') return stored;
  if (typeof stored === 'string') return JSON.parse(stored) as JsonValue;
  // Anything else was written by something other than this store: pass it through as JSON.
  return (stored ?? null) as JsonValue;
}

/** The session data of a document's `data` object. */
export function readData(data: Record<string, unknown> | undefined): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  if (data === undefined || data === null) return out;
  for (const [field, stored] of Object.entries(data)) out[keyOfField(field)] = readValue(stored);
  return out;
}
