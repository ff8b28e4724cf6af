import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_STATUS, TesseraError, isTesseraError } from '../../src/core/errors.js';
import { createStore, register } from '../../src/stores/registry.js';
import { memoryStore } from '../../src/stores/memory/index.js';

describe('errors', () => {
  it('documents every error code in the README, with the status adapters answer it with', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const code of Object.keys(ERROR_CODES) as Array<keyof typeof ERROR_CODES>) {
      expect(readme).toMatch(
        new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${ERROR_STATUS[code]}\\s*\\|`),
      );
      expect(new TesseraError(code, 'x').status).toBe(ERROR_STATUS[code]);
    }
    // Client errors are 4xx, store trouble 503, the server's own mistakes 5xx (issue 11, item 10).
    expect(ERROR_STATUS).toMatchObject({ TOO_LARGE: 413, INVALID_DATA: 422, UNSUPPORTED: 501 });
    // Every documented code is one that exists (BAD_COOKIE was documented but never thrown).
    const documented = [...readme.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*\d{3}\s*\|/gm)].map(
      (m) => m[1],
    );
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('recognises tessera errors across realms, and nothing else', () => {
    const error = new TesseraError('STORE_UNAVAILABLE', 'down');
    expect(isTesseraError(error)).toBe(true);
    expect(error.status).toBe(503);
    expect(error.name).toBe('TesseraError');
    expect(isTesseraError({ name: 'TesseraError', code: 'STORE_TIMEOUT', message: 'x' })).toBe(
      true,
    );
    expect(isTesseraError({ name: 'TesseraError', code: 'MADE_UP' })).toBe(false);
    expect(isTesseraError(new Error('x'))).toBe(false);
    expect(isTesseraError(null)).toBe(false);
  });
});

describe('store registry', () => {
  it('creates the memory store from its URL', async () => {
    const store = await createStore('memory:');
    expect(store.name).toBe('memory');
    await store.close();
  });

  it('uses a registered scheme, and names the known ones for an unknown scheme', async () => {
    register('own', () => ({ ...memoryStore(), name: 'own' }));
    expect((await createStore('own://anything')).name).toBe('own');
    await expect(createStore('nope://x')).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('memory'),
    });
    await expect(createStore('not a url')).rejects.toMatchObject({ code: 'CONFIG' });
    expect(() => register('Bad Scheme', () => memoryStore())).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
  });

  it('hides passwords of URLs in its messages', async () => {
    await expect(createStore('nope://user:hunter2@host/db')).rejects.not.toMatchObject({
      message: expect.stringContaining('hunter2'),
    });
  });
});
