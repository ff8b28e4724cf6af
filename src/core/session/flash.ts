/**
 * @module Flash messages: lists stored under `__flash.<type>` keys, appended in a request and merged
 * with what is stored at commit (so two requests flashing at once keep both lists' messages that
 * each saw), read once.
 */
import { TesseraError } from '../errors.js';
import type { JsonValue } from '../store.js';
import { UNSET, visibleKeys, type Change, type Changes } from './changes.js';

/** The prefix of flash keys. Keys starting with `__` are never handed to handlers as data. */
export const FLASH_PREFIX = '__flash.';

const FLASH_TYPE = /^[A-Za-z0-9_-]{1,32}$/;

/** Checks a flash type and message; throws `INVALID_DATA`. */
export function checkFlash(type: unknown, message: unknown): void {
  if (typeof type !== 'string' || !FLASH_TYPE.test(type) || typeof message !== 'string') {
    throw new TesseraError(
      'INVALID_DATA',
      'A flash type is 1 to 32 letters, digits, "_" or "-", and a message is a string.',
    );
  }
}

/** Queues `message` under `key`, after what this request queued already. */
export function appendFlash(changes: Changes, key: string, message: string): void {
  const pending = changes.changeOf(key);
  changes.setEncoded(key, [...(Array.isArray(pending) ? pending : []), message]);
}

/** The messages under `key`: stored ones, then those queued in this request. */
export function flashList(stored: JsonValue | undefined, change: Change | undefined): string[] {
  if (change === UNSET) return [];
  const merged: unknown[] = [];
  if (Array.isArray(stored)) merged.push(...stored);
  if (Array.isArray(change)) merged.push(...change);
  return merged.filter((m): m is string => typeof m === 'string');
}

/** Every flash list in view, by type: stored messages, then queued ones. */
export function peekFlash(
  changes: Changes,
  stored: Record<string, JsonValue> | undefined,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const key of visibleKeys(changes, stored)) {
    if (!key.startsWith(FLASH_PREFIX)) continue;
    const messages = flashList(stored?.[key], changes.changeOf(key));
    if (messages.length > 0) out[key.slice(FLASH_PREFIX.length)] = messages;
  }
  return out;
}

/** Replaces each queued flash list by the merged one, so the write keeps the stored messages too. */
export function settleFlash(changes: Changes, stored: Record<string, JsonValue> | undefined): void {
  for (const key of [...changes.changedKeys()]) {
    const change = changes.changeOf(key);
    if (!key.startsWith(FLASH_PREFIX) || change === UNSET) continue;
    changes.setEncoded(key, flashList(stored?.[key], change));
  }
}
