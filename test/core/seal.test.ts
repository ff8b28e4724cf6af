import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../../src/core/errors.js';
import { _xaesSeal, createSealer } from '../../src/core/seal.js';
import { checkSecret } from '../../src/core/secrets.js';

const secret = (): string => randomBytes(32).toString('base64url');
const text = (value: string): Buffer => Buffer.from(value, 'utf8');

/** Every way a seal can be altered by flipping one bit of its bytes. */
function* bitFlips(token: string): Generator<string> {
  const bytes = Buffer.from(token, 'base64url');
  for (let i = 0; i < bytes.length * 8; i++) {
    const copy = Buffer.from(bytes);
    copy[i >> 3]! ^= 1 << (i & 7);
    yield copy.toString('base64url');
  }
}

describe('XAES-256-GCM', () => {
  // C2SP test vectors: https://github.com/C2SP/C2SP/blob/main/XAES-256-GCM.md
  it('matches the C2SP test vectors', () => {
    const nonce = text('ABCDEFGHIJKLMNOPQRSTUVWX');
    expect(
      _xaesSeal(Buffer.alloc(32, 1), nonce, text('XAES-256-GCM'), Buffer.alloc(0)).toString('hex'),
    ).toBe('ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271');
    expect(
      _xaesSeal(
        Buffer.alloc(32, 3),
        nonce,
        text('XAES-256-GCM'),
        text('c2sp.org/XAES-256-GCM'),
      ).toString('hex'),
    ).toBe('986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d');
  });
});

describe('sealer', () => {
  const sealer = createSealer({ secrets: secret(), purpose: 'test' });

  it('opens what it sealed, and a new random nonce makes every seal different', () => {
    const a = sealer.seal(text('{"a":1}'), 'sid');
    const b = sealer.seal(text('{"a":1}'), 'sid');
    expect(a).not.toBe(b);
    expect(sealer.open(a, 'sid')?.toString()).toBe('{"a":1}');
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(a.length).toBe(sealer.sealedLength(7));
  });

  it('round-trips any payload (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.string(), (payload, context) => {
        const opened = sealer.open(sealer.seal(payload, context), context);
        expect(opened?.equals(Buffer.from(payload))).toBe(true);
      }),
    );
  });

  it('refuses a seal opened under another context (cookie name) or purpose', () => {
    const s = secret();
    const a = createSealer({ secrets: s, purpose: 'cookie-store' });
    const token = a.seal(text('x'), 'sid');
    expect(a.open(token, 'other')).toBeUndefined();
    expect(a.open(token, 'sid ')).toBeUndefined();
    expect(createSealer({ secrets: s, purpose: 'csrf' }).open(token, 'sid')).toBeUndefined();
  });

  it('refuses every single-bit flip of a seal (exhaustive)', () => {
    const token = sealer.seal(text('{"user":"alice","cart":[1,2,3]}'), 'sid');
    let count = 0;
    for (const flipped of bitFlips(token)) {
      expect(sealer.open(flipped, 'sid')).toBeUndefined();
      count++;
    }
    expect(count).toBe(Buffer.from(token, 'base64url').length * 8);
  });

  it('refuses a seal truncated at every length, or extended', () => {
    const token = sealer.seal(text('{"user":"alice"}'), 'sid');
    for (let n = 0; n < token.length; n++)
      expect(sealer.open(token.slice(0, n), 'sid')).toBeUndefined();
    for (const extra of ['A', 'AA', 'AAAA', '.', '=', '=='])
      expect(sealer.open(token + extra, 'sid')).toBeUndefined();
  });

  it('refuses re-encoded seals: padding, the standard alphabet, other case, percent-encoding, spaces', () => {
    // Find a seal whose standard base64 differs from base64url, and whose length needs padding.
    let token = '';
    let bytes = Buffer.alloc(0);
    for (let size = 0; ; size++) {
      token = sealer.seal(Buffer.alloc(size, 0xfb), 'sid');
      bytes = Buffer.from(token, 'base64url');
      if (bytes.length % 3 !== 0 && /[+/]/.test(bytes.toString('base64'))) break;
    }
    const variants = [
      bytes.toString('base64'),
      `${token}=`,
      `${token}==`,
      token.toUpperCase(),
      encodeURIComponent(token).replace(/[A-Za-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`),
      ` ${token}`,
      `${token}\n`,
      `${token.slice(0, 10)}.${token.slice(10)}`,
    ];
    for (const variant of variants) {
      expect(variant).not.toBe(token);
      expect(sealer.open(variant, 'sid')).toBeUndefined();
    }
    // A different final character that decodes to the same bytes (non-zero padding bits).
    const last = token.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sameBytes = [...alphabet]
      .map((c) => token.slice(0, -1) + c)
      .filter((t) => t !== token && Buffer.from(t, 'base64url').equals(bytes));
    expect(sameBytes.length).toBeGreaterThan(0);
    for (const t of sameBytes) expect(sealer.open(t, 'sid')).toBeUndefined();
    expect(last).toMatch(/[A-Za-z0-9_-]/);
  });

  it('never throws and never opens arbitrary input (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.base64String(),
          fc.uint8Array().map((b) => Buffer.from(b).toString('base64url')),
        ),
        (input) => {
          expect(sealer.open(input, 'sid')).toBeUndefined();
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses any random mutation of a real seal (property)', () => {
    const token = sealer.seal(text('{"role":"user"}'), 'sid');
    fc.assert(
      fc.property(
        fc.nat(token.length - 1),
        fc.string({ minLength: 0, maxLength: 3 }),
        fc.nat(3),
        (at, insert, cut) => {
          const mutated = token.slice(0, at) + insert + token.slice(at + cut);
          fc.pre(mutated !== token);
          expect(sealer.open(mutated, 'sid')).toBeUndefined();
        },
      ),
      { numRuns: 3000 },
    );
  });

  describe('keys', () => {
    it('seals with the first key; any listed key opens its own seals', () => {
      const [oldSecret, newSecret] = [secret(), secret()];
      const before = createSealer({ secrets: [oldSecret], purpose: 'p' });
      const during = createSealer({ secrets: [newSecret, oldSecret], purpose: 'p' });
      const after = createSealer({ secrets: [newSecret], purpose: 'p' });
      const oldSeal = before.seal(text('old'), 'c');
      const newSeal = during.seal(text('new'), 'c');
      expect(during.open(oldSeal, 'c')?.toString()).toBe('old');
      expect(after.open(newSeal, 'c')?.toString()).toBe('new');
      expect(before.open(newSeal, 'c')).toBeUndefined();
      // Removing the old key: its seals no longer open, quietly.
      expect(after.open(oldSeal, 'c')).toBeUndefined();
      expect(during.keyIds).toEqual([...after.keyIds, ...before.keyIds]);
    });

    it('picks the key by the id in the seal: the same secret under another id does not open it', () => {
      const s = secret();
      const a = createSealer({ secrets: [{ id: 'k1', secret: s }], purpose: 'p' });
      const b = createSealer({ secrets: [{ id: 'k2', secret: s }], purpose: 'p' });
      expect(b.open(a.seal(text('x'), 'c'), 'c')).toBeUndefined();
      const both = createSealer({
        secrets: [
          { id: 'k2', secret: secret() },
          { id: 'k1', secret: s },
        ],
        purpose: 'p',
      });
      expect(both.open(a.seal(text('x'), 'c'), 'c')?.toString()).toBe('x');
      expect(both.keyIds).toEqual(['k2', 'k1']);
    });

    it('refuses short, repetitive and well-known secrets at start-up with INSECURE_KEY, never echoing them', () => {
      const refused = [
        'short',
        'x'.repeat(31),
        'a'.repeat(64),
        'ab'.repeat(20),
        'passwordpasswordpasswordpassword',
        'bench-secret-bench-secret-bench-secret-0123',
        'mysecretkey12345mysecretkey12345',
        '0123456789abcdef0123456789abcdef',
        'abcdefghijklmnopqrstuvwxyz0123456789',
        'complex_password_at_least_32_characters_long',
        'COMPLEX-PASSWORD-AT-LEAST-32-CHARACTERS-LONG_for_prod',
        '2gyZ3GDw3LHZQKDhPmPDL3sjREVRXPr8',
        'a secret with minimum length of 32 characters',
        'averylogphrasebiggerthanthirtytwochars',
        'please-change-me-to-something-random-and-long',
        Buffer.alloc(32, 7),
        new Uint8Array(16),
      ];
      for (const value of refused) {
        let error: unknown;
        try {
          createSealer({ secrets: [secret(), value], purpose: 'p' });
        } catch (e) {
          error = e;
        }
        expect(isTesseraError(error) && error.code).toBe('INSECURE_KEY');
        if (typeof value === 'string') expect((error as Error).message).not.toContain(value);
        expect((error as Error).message).toMatch(/Secret #2/);
      }
    });

    it('accepts random secrets as base64, hex or bytes', () => {
      for (let i = 0; i < 200; i++) {
        expect(() => checkSecret(randomBytes(32).toString('base64'))).not.toThrow();
        expect(() => checkSecret(randomBytes(32).toString('hex'))).not.toThrow();
        expect(() => checkSecret(randomBytes(32))).not.toThrow();
      }
    });

    it('refuses malformed key options with CONFIG', () => {
      const s = secret();
      expect(() => createSealer({ secrets: [], purpose: 'p' })).toThrow(
        expect.objectContaining({ code: 'CONFIG' }),
      );
      expect(() => createSealer({ secrets: [{ id: 'bad id', secret: s }], purpose: 'p' })).toThrow(
        expect.objectContaining({ code: 'CONFIG' }),
      );
      expect(() => createSealer({ secrets: [s, s], purpose: 'p' })).toThrow(
        expect.objectContaining({ code: 'CONFIG' }),
      );
      expect(() =>
        createSealer({
          secrets: [
            { id: 'a', secret: s },
            { id: 'a', secret: secret() },
          ],
          purpose: 'p',
        }),
      ).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    });
  });
});
