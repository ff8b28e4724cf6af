import { parseCookie, parseSetCookie } from 'cookie';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCookieCodec } from '../../src/core/transport/cookie.js';

describe('session cookie', () => {
  it('sets secure defaults and clears with an expired cookie', () => {
    const c = createCookieCodec();
    expect(c.serialize('abc', false)).toBe('sid=abc; Path=/; HttpOnly; SameSite=Lax');
    expect(c.serialize('abc', true)).toBe('sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax');
    expect(c.clear(false)).toBe(
      'sid=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
    );
  });

  it('honours secure: false even over https, and secure: true over http', () => {
    expect(createCookieCodec({ secure: false }).serialize('a', true)).not.toContain('Secure');
    expect(createCookieCodec({ secure: true }).serialize('a', false)).toContain('Secure');
  });

  it('reads its cookie among others and refuses ambiguous duplicates', () => {
    const c = createCookieCodec();
    expect(c.read('a=1; sid=xyz; b=2')).toBe('xyz');
    expect(c.read('xsid=nope')).toBeUndefined();
    expect(c.read('sid=one; sid=one')).toBe('one');
    expect(c.read('sid=one; other=1; sid=two')).toBeNull();
    expect(c.read(undefined)).toBeUndefined();
  });

  it('reads its cookie as the `cookie` package parses the header, without parsing the others (property)', () => {
    const c = createCookieCodec();
    // The reference: the whole header parsed by `cookie`, and two different values refused.
    const reference = (header: string): string | undefined | null => {
      const value = parseCookie(header)['sid'];
      if (value === undefined) return undefined;
      for (const part of header.split(';')) {
        const eq = part.indexOf('=');
        if (eq !== -1 && part.slice(0, eq).trim() === 'sid') {
          const raw = part.slice(eq + 1).trim();
          let decoded = raw;
          try {
            decoded = raw.includes('%') ? decodeURIComponent(raw) : raw;
          } catch {
            // Kept as it is, as `cookie` keeps it.
          }
          if (decoded !== value) return null;
        }
      }
      return value;
    };
    const name = fc.constantFrom('sid', ' sid', 'sid ', 'xsid', 'a', 'sidx', '');
    const value = fc.stringMatching(/^[A-Za-z0-9_% =-]{0,12}$/);
    const pair = fc.oneof(
      fc.tuple(name, value).map(([n, v]) => `${n}=${v}`),
      fc.constantFrom('junk', ' ', 'sid', '=x'),
    );
    fc.assert(
      fc.property(
        fc.array(pair, { maxLength: 6 }),
        fc.constantFrom('; ', ';', ' ; '),
        (pairs, sep) => {
          const header = pairs.join(sep);
          if (header === '') return;
          expect(c.read(header)).toBe(reference(header));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('parses a 16 KB header with 4,000 pairs quickly', () => {
    const c = createCookieCodec();
    const header = Array.from({ length: 4000 }, (_, i) => `k${i}=v`).join('; ') + '; sid=last';
    const started = performance.now();
    expect(c.read(header)).toBe('last');
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('either refuses an option at start-up or emits exactly the attributes asked for (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        fc.string({ maxLength: 20 }),
        fc.string({ maxLength: 20 }),
        (name, path, domain) => {
          let codec;
          try {
            codec = createCookieCodec({
              name: name || 'x',
              path: `/${path}`,
              domain: domain || undefined,
            });
          } catch (error) {
            expect(error).toMatchObject({ code: 'CONFIG' });
            return;
          }
          const parsed = parseSetCookie(codec.serialize('v', false));
          expect(parsed.name).toBe(name || 'x');
          expect(parsed.path).toBe(`/${path}`);
          expect(parsed.domain).toBe(domain || undefined);
          expect(parsed.httpOnly).toBe(true);
          expect(parsed.sameSite).toBe('lax');
        },
      ),
      { numRuns: 1000 },
    );
  });
});
