/**
 * @module What the contract's cases share: a movable clock, fresh keys, and the opening of stores
 * (closed and disposed after each test), with the rule that decides which ability cases run.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'vitest';
import { storeKey } from '../core/id.js';
import type { Clock, Delta, Store, WriteResult } from '../core/store.js';

/** A clock tests can move. It starts at the real time so native TTLs stay in the future. */
export interface TestClock extends Clock {
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
}

/** A clock that stands still until moved. @default start: `Date.now()` */
export function testClock(start: number = Date.now()): TestClock {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

/** A fresh store key, of the shape the manager passes (the hash of a random id). */
export const newKey = (): string => storeKey(randomBytes(32).toString('base64url'));

/**
 * The optional abilities the suite knows. Each is found by presence: `rename`, `byUser` (with
 * `destroyByUser`), `count`, `scan`, `gc`, `check`, `lock` (with `unlock`), `watch`, and
 * `keyExpiry` (`hasKeyExpiry: true`), `getNow`.
 */
export type Ability =
  | 'rename'
  | 'byUser'
  | 'count'
  | 'scan'
  | 'gc'
  | 'check'
  | 'lock'
  | 'watch'
  | 'keyExpiry'
  | 'getNow';

/** Every ability, in the order the suite reports them. */
export const ABILITIES: readonly Ability[] = [
  'rename',
  'byUser',
  'count',
  'scan',
  'gc',
  'check',
  'lock',
  'watch',
  'keyExpiry',
  'getNow',
];

/** Which of an ability's methods the store has: all, none, or only some (a broken store). */
export function presence(store: Store, ability: Ability): 'all' | 'none' | 'some' {
  const methods: ReadonlyArray<keyof Store> =
    ability === 'byUser'
      ? ['byUser', 'destroyByUser']
      : ability === 'lock'
        ? ['lock', 'unlock']
        : ability === 'keyExpiry'
          ? []
          : [ability];
  if (ability === 'keyExpiry') return store.hasKeyExpiry === true ? 'all' : 'none';
  const present = methods.filter((name) => typeof store[name] === 'function').length;
  return present === methods.length ? 'all' : present === 0 ? 'none' : 'some';
}

/** What the cases use. */
export interface Harness {
  /** The clock of the store opened last. */
  readonly clock: TestClock;
  /** How many times the concurrent-writes case repeats. */
  readonly raceRounds: number;
  /** A fresh, empty store. */
  readonly open: () => Promise<Store>;
  /** A fresh store for a case of `ability`; skips the case, with its reason, when the store lacks it. */
  readonly openFor: (ctx: TestContext, ability: Ability) => Promise<Store>;
  /** Creates a record under `key` (`delta` plus `create`), with an idle deadline `ttl` from now. */
  readonly create: (
    store: Store,
    key: string,
    delta?: Omit<Delta, 'create'>,
    ttl?: number,
  ) => Promise<WriteResult>;
  /** The reason an ability is missing: the declared one, or a default. */
  readonly reasonFor: (ability: Ability) => string;
}
