/**
 * Nothing lost on any failed step (issue 11, items 1 and 2): every operation that takes several
 * store calls is run with its 1st, 2nd, … nth call failing in each way a store fails (refused,
 * hung, applied but unanswered). Afterwards the client holds the old session or the new one, never
 * nothing, and no session is left bound to the user that no client holds.
 */
import { describe, expect, it } from 'vitest';
import { createSessionManager, memoryStore, type SessionManager } from '../../src/index.js';
import { FAULTS, faultyStore, resilientBrowser, type FaultyStore } from '../support/faults.js';

type Data = { count: number; pref: string };
type Manager = SessionManager<Data>;
type Browser = ReturnType<typeof resilientBrowser<Data>>;

interface World {
  store: FaultyStore;
  manager: Manager;
  /** The client under test: count 3, pref 'old'; logged in as alice when `loggedIn`. */
  client: Browser;
  /** alice's other devices. */
  others: Browser[];
}

async function world(loggedIn: boolean): Promise<World> {
  // A clock that moves on every reading, so logins never tie and the cap always evicts the
  // same (oldest) session.
  let t = Date.now();
  const clock = { now: () => (t += 1) };
  const store = faultyStore(memoryStore({ clock }));
  const manager = createSessionManager<Data>({
    store,
    clock,
    storeTimeout: 40,
    maxSessionsPerUser: 2,
    gcInterval: false,
  });
  const others = [resilientBrowser(manager), resilientBrowser(manager)];
  for (const other of others) await other.visit((s) => s.login('alice'));
  const client = resilientBrowser(manager);
  await client.visit(async (s) => {
    s.set('pref', 'old');
    await s.increment('count', 3);
  });
  if (loggedIn) await client.visit((s) => s.login('alice'));
  return { store, manager, client, others };
}

/** What a client's next request sees. */
async function seen(w: World, b: Browser) {
  const { result } = await b.visit(async (s) => ({
    count: (await s.get('count')) ?? null,
    pref: (await s.get('pref')) ?? null,
    user: s.userId ?? null,
    handle: w.manager.handleOf(s) ?? null,
  }));
  return result!;
}

/** Every session alice's devices list shows is one a client still holds. */
async function expectNoOrphans(w: World): Promise<void> {
  const held = new Set<string>();
  for (const b of [w.client, ...w.others]) {
    const view = await seen(w, b);
    if (view.user === 'alice' && view.handle) held.add(view.handle);
  }
  for (const device of await w.manager.sessionsOf('alice'))
    expect(held, `an orphan in alice's devices`).toContain(device.handle);
}

interface Case {
  name: string;
  loggedIn: boolean;
  run: (w: World) => Promise<unknown>;
  /** The states the client may be in afterwards: before the operation, or after it. */
  allowed: Array<Partial<Awaited<ReturnType<typeof seen>>>>;
}

const before = { count: 3, pref: 'old' };
const CASES: Case[] = [
  {
    name: 'login',
    loggedIn: false,
    run: (w) => w.client.visit((s) => s.login('alice')),
    allowed: [
      { ...before, user: null },
      { ...before, user: 'alice' },
    ],
  },
  {
    name: 'login with a flash and a change in the same request',
    loggedIn: false,
    run: (w) =>
      w.client.visit(async (s) => {
        s.flash('info', 'welcome');
        s.set('pref', 'new');
        await s.login('alice');
      }),
    allowed: [
      { ...before, user: null },
      { count: 3, pref: 'new', user: 'alice' },
      { count: 3, pref: 'new', user: null },
    ],
  },
  {
    name: 'regenerate',
    loggedIn: true,
    run: (w) => w.client.visit((s) => s.regenerate()),
    allowed: [{ ...before, user: 'alice' }],
  },
  {
    name: 'logout',
    loggedIn: true,
    run: (w) => w.client.visit((s) => s.logout()),
    allowed: [
      { ...before, user: 'alice' },
      { count: null, pref: null, user: null },
    ],
  },
  {
    name: 'increment',
    loggedIn: true,
    run: (w) => w.client.visit((s) => s.increment('count')),
    allowed: [
      { ...before, user: 'alice' },
      { count: 4, pref: 'old', user: 'alice' },
    ],
  },
  {
    name: 'a change committed after a read',
    loggedIn: true,
    run: (w) =>
      w.client.visit(async (s) => {
        await s.get('count');
        s.set('pref', 'new');
      }),
    allowed: [
      { ...before, user: 'alice' },
      { count: 3, pref: 'new', user: 'alice' },
    ],
  },
  {
    name: 'revoke every other device',
    loggedIn: true,
    run: (w) =>
      w.client.visit(async (s) => w.manager.revokeUser('alice', { except: w.manager.handleOf(s) })),
    allowed: [{ ...before, user: 'alice' }],
  },
];

describe('nothing lost when any store call of an operation fails', () => {
  for (const c of CASES) {
    it(`${c.name}: each call failing, refused, hung or applied-but-unanswered`, async () => {
      // How many store calls the operation makes when nothing fails.
      const healthy = await world(c.loggedIn);
      const start = healthy.store.calls;
      await c.run(healthy);
      const calls = healthy.store.calls - start;
      expect(calls).toBeGreaterThan(0);
      for (let n = 1; n <= calls; n++) {
        for (const fault of FAULTS) {
          const w = await world(c.loggedIn);
          w.store.arm(n, fault);
          await c.run(w);
          w.store.disarm();
          const view = await seen(w, w.client);
          const { handle: _handle, ...state } = view;
          expect(
            c.allowed,
            `${c.name}: call ${n} ${fault} → ${JSON.stringify(state)}`,
          ).toContainEqual(state);
          await expectNoOrphans(w);
        }
      }
    });
  }
});
