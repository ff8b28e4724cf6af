/**
 * @module tessera-session/testing: the store contract suite, for every tessera store and for yours.
 * It runs under vitest (an optional peer dependency): call {@link runStoreContract} once in a test
 * file, then add your store's own tests below it.
 *
 * @example
 * // test/my-store.test.ts
 * import { runStoreContract } from 'tessera-session/testing'
 * import { myStore } from '../src/my-store.js'
 *
 * runStoreContract({ name: 'my store', create: (clock) => myStore({ clock }) })
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../core/store.js';
import { abilityCases } from './abilities.js';
import {
  ABILITIES,
  presence,
  testClock,
  type Ability,
  type Harness,
  type TestClock,
} from './harness.js';
import { keyExpiryCases } from './key-expiry.js';
import { lockCases } from './lock.js';
import { requiredCases } from './required.js';
import { watchCases } from './watch.js';

export { newKey, testClock, ABILITIES } from './harness.js';
export type { Ability, TestClock } from './harness.js';

/** Options of {@link runStoreContract}. */
export interface StoreContractOptions {
  /** Shown in test names. */
  name: string;
  /**
   * A fresh, empty store whose expiry follows `clock` (pass it to your store as its clock). Called
   * once per test.
   */
  create(clock: TestClock): Store | Promise<Store>;
  /** Drops what `create` made (tables, folders, key prefixes) after each test. */
  dispose?(store: Store): Promise<void>;
  /**
   * Abilities this store lacks on purpose, each with the reason shown where its tests are skipped.
   * The suite fails when a store declared here has the ability after all. Abilities are found by
   * presence: an optional method that exists is tested, whatever this says.
   */
  lacks?: Partial<Record<Ability, string>>;
  /** Set when the whole suite cannot run here (e.g. no server); the reason is shown. */
  skip?: string | false;
  /** How many times the concurrent-writes test repeats. @default 100 */
  raceRounds?: number;
}

const DEFAULT_REASON: Record<Ability, string> = {
  rename: 'the store has no `rename`',
  byUser: 'the store has no user index (`byUser`, `destroyByUser`)',
  count: 'the store has no `count`',
  scan: 'the store has no `scan`',
  gc: 'the store has no `gc`',
  check: 'the store has no `check`',
  lock: 'the store has no leases (`lock`, `unlock`)',
  watch: 'the store has no change feed (`watch`)',
  keyExpiry: 'the store has no per-key expiry (`hasKeyExpiry`)',
  getNow: 'the store reads asynchronously only (no `getNow`)',
};

/**
 * Runs the contract against a store: every required behaviour, and the cases of each optional
 * ability the store has. Every skipped case says why.
 */
export function runStoreContract(options: StoreContractOptions): void {
  const skip = options.skip;
  const title = `store contract: ${options.name}`;
  if (skip) {
    describe(title, () => {
      it(`runs (skipped: ${skip})`, (ctx) => ctx.skip(skip));
    });
    return;
  }
  describe(title, () => {
    let opened: Store[] = [];
    let clock: TestClock = testClock();
    afterEach(async () => {
      for (const store of opened) {
        await options.dispose?.(store);
        await store.close();
      }
      opened = [];
    });
    const reasonFor = (ability: Ability): string =>
      options.lacks?.[ability] ?? DEFAULT_REASON[ability];
    const h: Harness = {
      get clock() {
        return clock;
      },
      raceRounds: options.raceRounds ?? 100,
      open: async () => {
        clock = testClock();
        const store = await options.create(clock);
        opened.push(store);
        return store;
      },
      openFor: async (ctx, ability) => {
        const store = await h.open();
        if (presence(store, ability) !== 'all') ctx.skip(reasonFor(ability));
        return store;
      },
      create: (store, key, delta = {}, ttl = 60_000) =>
        store.write(key, { create: true, createdAt: clock.now(), ...delta }, clock.now() + ttl),
      reasonFor,
    };

    it('declares its abilities truthfully: what it says it lacks, it lacks, and no ability is half there', async () => {
      const store = await h.open();
      const wrong: string[] = [];
      for (const ability of ABILITIES) {
        const has = presence(store, ability);
        if (has === 'some') wrong.push(`${ability}: only some of its methods exist`);
        else if (has === 'all' && options.lacks?.[ability] !== undefined)
          wrong.push(`${ability}: declared as lacking, but the store has it`);
      }
      expect(wrong.join('; ')).toBe('');
    });

    requiredCases(h);
    abilityCases(h);
    lockCases(h);
    watchCases(h);
    keyExpiryCases(h);
  });
}
