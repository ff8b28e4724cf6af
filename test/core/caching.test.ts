/**
 * An answer that read session data must not be served to someone else by a shared cache (issue 11,
 * item 11): it says `Vary: Cookie` and, unless the handler set its own, `Cache-Control: private,
 * no-store`; an answer that never touched the session says nothing.
 */
import { describe, expect, it } from 'vitest';
import { createSessionManager } from '../../src/index.js';
import { browser, header, withCookie } from '../support/requests.js';

describe('caching headers', () => {
  it('marks an answer that read the session, even when nothing is written', async () => {
    const manager = createSessionManager({ gcInterval: false });
    const b = browser(manager);
    await b.visit((s) => s.set('name', 'ada'));
    const read = manager.load(withCookie(b.cookie));
    expect(await read.get('name')).toBe('ada');
    expect(manager.needsCommit(read)).toBe(false);
    const headers = manager.discard(read);
    expect(header(headers, 'cache-control')).toEqual(['private, no-store']);
    expect(header(headers, 'vary')).toEqual(['Cookie']);
  });

  it('says nothing for an answer that never touched the session', () => {
    const manager = createSessionManager({ gcInterval: false });
    const untouched = manager.load(withCookie('A'.repeat(43)));
    expect(manager.discard(untouched)).toEqual([]);
  });

  it('varies on the header that carries ids when that transport is on', async () => {
    const manager = createSessionManager({
      transport: { cookie: false, header: 'x-session' },
      gcInterval: false,
    });
    const s = manager.load(withCookie(undefined));
    await s.get('anything');
    expect(header(manager.discard(s), 'vary')).toEqual(['x-session']);
  });

  it('forbids storing an answer that sets the session cookie', async () => {
    const manager = createSessionManager({ gcInterval: false });
    const { headers } = await browser(manager).visit((s) => s.set('a', 1));
    expect(header(headers, 'cache-control')).toEqual(['no-store']);
    expect(header(headers, 'vary')).toEqual(['Cookie']);
  });
});
