/**
 * Seal + open operations per second: tessera's cookie store against iron-session 8, on the same
 * payload, in one process, in interleaved rounds (medians reported).
 *
 * Run: npx tsx bench/seal.ts [--json]
 *
 * - "tessera cookie store": what a request costs the cookie store: bind a request with no cookie,
 *   write the record, seal it into its cookie(s); then bind a request carrying that cookie and
 *   read the record back (XAES-256-GCM, keys derived once at start-up).
 * - "tessera sealer": the sealer alone on the same JSON (no record handling).
 * - "iron-session": `sealData` + `unsealData` with a 32+ character password (iron: AES-256-CBC +
 *   HMAC-SHA256, deriving both keys with PBKDF2 on every seal and every unseal).
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { sealData, unsealData } from 'iron-session';
import { storeKey } from '../src/core/id.js';
import { createSealer } from '../src/core/seal.js';
import type { SealedRequest } from '../src/core/store.js';
import { cookieStore } from '../src/stores/cookie/index.js';

const ROUNDS = Number(process.env['BENCH_SEAL_ROUNDS'] ?? 7);
const ROUND_MS = Number(process.env['BENCH_SEAL_MS'] ?? 400);
const password = randomBytes(32).toString('base64url');

/** A typical signed-in session. */
const data = {
  userId: 'user-4711',
  roles: ['reader', 'editor'],
  cart: [
    { sku: 'A-100', qty: 2 },
    { sku: 'B-220', qty: 1 },
  ],
  csrf: randomBytes(24).toString('base64url'),
  theme: 'dark',
  visits: 42,
};

/** Operations per second of `run` over one round of ROUND_MS. */
async function round(run: () => unknown): Promise<number> {
  let ops = 0;
  const started = performance.now();
  let now = started;
  while (now - started < ROUND_MS) {
    for (let i = 0; i < 50; i++) await run();
    ops += 50;
    now = performance.now();
  }
  return (ops * 1000) / (now - started);
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/**
 * Runs the contenders in interleaved rounds (A, B, C, A, B, C, …) after a warm-up round each, and
 * keeps each one's median, so a change in machine load during the run hits all of them alike.
 */
async function rates(runs: ReadonlyArray<() => unknown>): Promise<number[]> {
  for (const run of runs) await round(run);
  const samples = runs.map((): number[] => []);
  for (let r = 0; r < ROUNDS; r++)
    for (const [i, run] of runs.entries()) samples[i]!.push(await round(run));
  return samples.map(median);
}

function tesseraStore(): () => Promise<void> {
  const store = cookieStore({ secrets: password });
  const id = randomBytes(32).toString('base64url');
  const key = storeKey(id);
  const base = { name: 'sid', maxCookieBytes: 4000, isValidId: () => true } satisfies Omit<
    SealedRequest,
    'read'
  >;
  return async () => {
    const now = Date.now();
    const fresh = store.bind({ ...base, read: () => undefined });
    await fresh.write(key, { create: true, createdAt: now, set: data }, now + 1_800_000);
    const [[name, value]] = fresh.cookies(id) as [[string, string]];
    const next = store.bind({ ...base, read: (n) => (n === name ? value : undefined) });
    const record = await next.get(key);
    if (record?.data['visits'] !== 42)
      throw new Error('the cookie store did not open its own seal');
  };
}

function tesseraSealer(): () => void {
  const sealer = createSealer({ secrets: password, purpose: 'bench' });
  return () => {
    const token = sealer.seal(Buffer.from(JSON.stringify(data)), 'sid');
    const back = JSON.parse(sealer.open(token, 'sid')!.toString()) as typeof data;
    if (back.visits !== 42) throw new Error('the sealer did not open its own seal');
  };
}

function iron(): () => Promise<void> {
  return async () => {
    const token = await sealData(data, { password });
    const back = await unsealData<typeof data>(token, { password });
    if (back.visits !== 42) throw new Error('iron-session did not open its own seal');
  };
}

export interface SealRow {
  name: string;
  opsPerSec: number;
  /** ops/s divided by iron-session's. */
  timesIron: number;
}

/** Measures the three contenders (medians of interleaved rounds). */
export async function runSealBench(): Promise<SealRow[]> {
  const [store, sealer, ironRate] = (await rates([tesseraStore(), tesseraSealer(), iron()])) as [
    number,
    number,
    number,
  ];
  const row = (name: string, ops: number): SealRow => ({
    name,
    opsPerSec: Math.round(ops),
    timesIron: Math.round((ops / ironRate) * 10) / 10,
  });
  return [
    row('tessera cookie store: seal+open (bind, write, seal; bind, open, read)', store),
    row('tessera sealer alone: seal+open (XAES-256-GCM)', sealer),
    row('iron-session 8: seal+open (sealData + unsealData)', ironRate),
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runSealBench();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(rows));
  } else {
    console.log(
      `node ${process.version}; median of ${ROUNDS} interleaved rounds of ${ROUND_MS} ms; same payload (${JSON.stringify(data).length} bytes of JSON)\n`,
    );
    console.log('| implementation | seal+open ops/s | × iron-session |');
    console.log('|---|--:|--:|');
    for (const r of rows)
      console.log(`| ${r.name} | ${r.opsPerSec.toLocaleString('en-US')} | ${r.timesIron}x |`);
  }
}
