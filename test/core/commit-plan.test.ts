/**
 * planCommit: the one decision of what a commit does, as a table of situations a user meets.
 */
import { describe, expect, it } from 'vitest';
import {
  NOTHING,
  planCommit,
  type CommitFacts,
  type CommitPolicy,
} from '../../src/core/manager/commit.js';
import type { SealedSession, StoreRecord } from '../../src/core/store.js';

const NOW = 1_700_000_000_000;
const policy: CommitPolicy = {
  expiry: { idleTimeout: 60_000, absoluteTimeout: undefined, touchWithin: 54_000 },
  saveNew: false,
  isPersistentCookie: false,
};
const record = (expiresAt: number): StoreRecord => ({ data: {}, createdAt: NOW - 1000, expiresAt });

/** A returning session, loaded, its deadline far away. */
const returning: CommitFacts = {
  id: 'id',
  isIdChanged: false,
  isDestroyed: false,
  isMissing: false,
  isLoaded: true,
  record: record(NOW + 59_000),
  source: 'cookie',
  hadCookie: true,
  backend: undefined,
  lifetime: undefined,
  isTouchRequested: false,
};
/** A new visitor: no id, nothing loaded. */
const visitor: CommitFacts = {
  ...returning,
  id: undefined,
  isMissing: true,
  isLoaded: false,
  record: undefined,
  source: undefined,
  hadCookie: false,
};
const sealed = (isChanged: boolean): SealedSession => ({ isChanged }) as unknown as SealedSession;

const cases: Array<[string, CommitFacts, boolean, Partial<CommitPolicy>, string]> = [
  ['a returning read, deadline far away', returning, false, {}, 'none/keep'],
  [
    'an untouched request (nothing loaded)',
    { ...returning, isLoaded: false },
    false,
    {},
    'none/keep',
  ],
  [
    'a read once the deadline came near',
    { ...returning, record: record(NOW + 50_000) },
    false,
    {},
    'touch/keep',
  ],
  [
    'a near read with a persistent cookie',
    { ...returning, record: record(NOW + 50_000) },
    false,
    { isPersistentCookie: true },
    'touch/set',
  ],
  ['a changed returning session', returning, true, {}, 'write/keep'],
  [
    'a changed session with a persistent cookie',
    returning,
    true,
    { isPersistentCookie: true },
    'write/set',
  ],
  ['a new visitor that wrote', visitor, true, {}, 'create/set'],
  ['a new visitor that wrote nothing', visitor, false, {}, 'none/keep'],
  ['a new visitor with saveNew', visitor, false, { saveNew: true }, 'create/set'],
  [
    'a destroyed session with saveNew',
    { ...visitor, isDestroyed: true, isLoaded: true },
    false,
    { saveNew: true },
    'none/keep',
  ],
  ['a renewed id, nothing else', { ...returning, isIdChanged: true }, false, {}, 'none/set'],
  [
    'a destroyed session that came with a cookie',
    { ...visitor, isDestroyed: true, isLoaded: true, hadCookie: true },
    false,
    {},
    'none/clear',
  ],
  [
    'an unknown cookie, once read',
    { ...visitor, isLoaded: true, hadCookie: true },
    false,
    {},
    'none/clear',
  ],
  ['an unknown cookie, never read', { ...visitor, hadCookie: true }, false, {}, 'none/keep'],
  [
    'a query-borne id that was read',
    { ...returning, source: 'query' },
    false,
    {},
    'none/set/renew',
  ],
  [
    'a query-borne id never read',
    { ...returning, source: 'query', isLoaded: false },
    false,
    {},
    'none/keep',
  ],
  ['a sealed session unchanged', { ...returning, backend: sealed(false) }, false, {}, 'none/keep'],
  [
    'a sealed session changed at once (increment)',
    { ...returning, backend: sealed(true) },
    false,
    {},
    'none/sealed',
  ],
  ['a sealed session written', { ...returning, backend: sealed(false) }, true, {}, 'write/sealed'],
];

describe('planCommit', () => {
  it.each(cases)('%s → %s', (_name, facts, hasDelta, overrides, expected) => {
    const plan = planCommit(facts, hasDelta, NOW, { ...policy, ...overrides });
    expect(`${plan.store}/${plan.cookie}${plan.renewFirst ? '/renew' : ''}`).toBe(expected);
  });

  it('answers with shared, frozen plans: planning allocates nothing', () => {
    const a = planCommit(returning, true, NOW, policy);
    const b = planCommit({ ...returning }, true, NOW + 1, policy);
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(planCommit(returning, false, NOW, policy)).toBe(NOTHING);
  });
});
