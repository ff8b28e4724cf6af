/**
 * `npm run bench`: tessera against its peers, side by side in one run (issue 7).
 *
 *   npm run bench                  full run (about 15 minutes on 2 cores, then the instruction
 *                                  counts); writes bench/results/latest.json,
 *                                  bench/results/chart.svg and BENCHMARKS.md
 *   npm run bench -- --quick       load runs in under two minutes: 2 rounds of 1 s, then shorter
 *                                  instruction counts (bench/results/quick.json)
 *   npm run -s bench -- --json     the results as JSON on stdout (progress stays on stderr)
 *   npm run bench -- --only=bare-node,tessera-node   some contenders (bench/results/partial.json)
 *   --rounds=N --duration=S        override the number of rounds and seconds per measurement
 *   npm run bench -- --render      re-write BENCHMARKS.md and the chart from latest.json
 *   npm run bench -- --icount      instructions per request alone (callgrind, bench/_icount.ts):
 *                                  prints the table, writes bench/results/icount.json, never
 *                                  BENCHMARKS.md; full and quick runs count them too, after the
 *                                  load runs. With --only=ID,ID and --kinds=read,write,new it
 *                                  measures one change in about a minute
 *                                  (--only=bare-node,tessera-node --kinds=read);
 *                                  --icount-warmup=W --icount-requests=N set the warm-up and the
 *                                  phases (N, then 2N); --icount-repeat=ID counts ID twice;
 *                                  --keep-dumps=DIR keeps the dumps for callgrind_annotate
 *   npm run bench -- --stores      the store benches instead: near cache on and off (bench/near-cache.ts),
 *                                  the tiered store against each tier (bench/tiered.ts), observers on and
 *                                  off (bench/observers.ts), a lock round trip and a rate-limit check
 *                                  (bench/toolkit.ts); they use the test servers (npm run services);
 *                                  and what one Redis write costs (bench/redis-write.ts, on a
 *                                  redis-server of its own on 127.0.0.1:6397)
 *
 * Every server runs in its own process on 127.0.0.1, pinned to core 0; this process runs
 * autocannon pinned to core 1. Each round measures every contender and kind of traffic once, in
 * the same order, so drift between rounds shows as spread; medians, min and max are reported.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildServers } from './_build.js';
import { lostUpdates, redisCommands, returningClients, verify } from './_checks.js';
import { burst, closeClient } from './_client.js';
import { CONTENDERS, kindsOf, type Contender, type Kind } from './_contenders.js';
import { load, machine } from './_env.js';
import { judge } from './_goals.js';
import {
  countInstructions,
  ICOUNT_CONTENDERS,
  ICOUNT_FULL,
  ICOUNT_QUICK,
  stopCounting,
} from './_icount.js';
import { icountOnly } from './icount.js';
import { measure } from './_measure.js';
import { memoryBench, sealBench, sqlBench } from './_scripts.js';
import { rerender, writeResults } from './_write.js';
import {
  canPin,
  pinSelf,
  pinToServerCore,
  startRedis,
  startServer,
  type RedisProcess,
  type ServerProcess,
} from './_procs.js';
import { renderReport } from './_report.js';
import { cellKey, summarize, type Results, type Sample } from './_results.js';
import { runLoad } from './load.js';
import { thousands } from './_stats.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    render: { type: 'boolean', default: false },
    stores: { type: 'boolean', default: false },
    icount: { type: 'boolean', default: false },
    kinds: { type: 'string' },
    'icount-warmup': { type: 'string' },
    'icount-requests': { type: 'string' },
    'icount-repeat': { type: 'string' },
    'keep-dumps': { type: 'string' },
  },
});

/** The port of the Redis write bench's own server (`--stores`). */
const REDIS_WRITE_PORT = 6397;

if (flags.stores) {
  for (const script of [
    'bench/near-cache.ts',
    'bench/tiered.ts',
    'bench/observers.ts',
    'bench/toolkit.ts',
    'bench/redis-write.ts',
  ]) {
    if (!existsSync(script)) continue;
    process.stderr.write(`\n== ${script}\n`);
    // The Redis write bench resets and counts a server's statistics: it gets one of its own.
    const own =
      script === 'bench/redis-write.ts' ? await startRedis(REDIS_WRITE_PORT, false) : undefined;
    const env =
      own === undefined
        ? process.env
        : { ...process.env, BENCH_REDIS_WRITE_PORT: String(own.port) };
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit', env });
    await own?.stop();
    if (run.status !== 0) process.exitCode = 1;
  }
  process.exit();
}

const REDIS_PORT = Number(process.env['BENCH_REDIS_PORT'] ?? 6395);
const list = (value: string | undefined): string[] | undefined =>
  value?.split(',').map((s) => s.trim());
/** Warm-up requests per kind and N for the instruction counts (see bench/_icount.ts). */
const icountWarmup = Number(
  flags['icount-warmup'] ?? (flags.quick ? ICOUNT_QUICK.warmup : ICOUNT_FULL.warmup),
);
const icountRequests = Number(
  flags['icount-requests'] ?? (flags.quick ? ICOUNT_QUICK.requests : ICOUNT_FULL.requests),
);

if (flags.icount) {
  const t0 = performance.now();
  await icountOnly({
    only: list(flags.only),
    kinds: list(flags.kinds),
    warmup: icountWarmup,
    requests: icountRequests,
    repeat: flags['icount-repeat'],
    keepDumps: flags['keep-dumps'],
    redisPort: REDIS_PORT,
    log: (line) =>
      void process.stderr.write(
        `[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`,
      ),
  });
  process.exit();
}

if (flags.render) {
  rerender();
  process.stderr.write('re-rendered BENCHMARKS.md and bench/results/chart.svg from latest.json\n');
  process.exit(0);
}
const started = performance.now();
const log = (line: string): void =>
  void process.stderr.write(
    `[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`,
  );
const root = new URL('..', import.meta.url).pathname;
const quick = flags.quick;
const only = list(flags.only);
const mode: Results['mode'] =
  only || flags.rounds || flags.duration ? 'partial' : quick ? 'quick' : 'full';
const rounds = Number(flags.rounds ?? (quick ? 2 : 5));
const duration = Number(flags.duration ?? (quick ? 1 : 4));
// autocannon stops on whole seconds: a quick warm-up sends a number of requests instead.
const warmup = quick ? 0 : 2;
const WARMUP_REQUESTS = 500;
const CONNECTIONS = 10;
const CLIENTS = 10;
const LOST_UPDATE_REQUESTS = quick ? 300 : 2000;
const REDIS_COUNT_REQUESTS = quick ? 50 : 500;
/** A measurement during which other processes took more of the server core than this is retried. */
const MAX_OTHER_LOAD = 0.15;
const RETRIES = quick ? 0 : 2;
/** Each round's new visitors meet a fresh server (not in --quick runs: it costs ~2 s each). */
const RENEW = !quick;
const pct = (v: number): string => `${Math.round(v * 100)}%`;

const env = machine();
const loadBefore = load();
const pin = canPin(env.cores);
if (pin) pinSelf();
else log('warning: fewer than 2 cores or no taskset (util-linux): servers and load are NOT pinned');

const contenders: Array<Contender & { skipped?: string }> = CONTENDERS.filter(
  (c) => !only || only.includes(c.id),
).map((c) => ({ ...c }));
if (only && contenders.length === 0) throw new Error(`--only matched no contender`);
for (const c of contenders) {
  const missing = (c.needsFiles ?? []).filter((f) => !existsSync(root + f));
  if (missing.length) c.skipped = `${missing.join(' and ')} does not exist yet`;
}
const active = (): Array<Contender & { skipped?: string }> => contenders.filter((c) => !c.skipped);

const servers = new Map<string, ServerProcess>();
let redis: RedisProcess | undefined;
async function cleanUp(): Promise<void> {
  await stopCounting();
  await Promise.all([...servers.values()].map((s) => s.stop()));
  servers.clear();
  await redis?.stop();
  redis = undefined;
  closeClient();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));

const results: Omit<Results, 'elapsedSeconds' | 'loadAfter' | 'cells' | 'goals'> = {
  version: 1,
  date: new Date().toISOString(),
  mode,
  settings: {
    rounds,
    duration,
    warmup,
    connections: CONNECTIONS,
    clients: CLIENTS,
    pinned: pin,
    redisPort: REDIS_PORT,
    compiled: '',
  },
  machine: env,
  loadBefore,
  contenders,
  samples: {},
  redisCommands: {},
  lostUpdates: {},
  memory: undefined,
  seal: undefined,
  sql: undefined,
  icount: undefined,
};

try {
  // The memory bench measures heap bytes, not time: in a quick run it overlaps the start-up.
  const memoryEarly = quick
    ? memoryBench().then((value) => {
        log('memory bench done');
        return value;
      })
    : undefined;

  if (active().some((c) => c.needsRedis)) {
    try {
      redis = await startRedis(REDIS_PORT, pin);
      log(`redis-server up on 127.0.0.1:${REDIS_PORT}`);
    } catch (error) {
      for (const c of active())
        if (c.needsRedis) c.skipped = `no Redis server: ${(error as Error).message}`;
    }
  }

  const secret = randomBytes(32).toString('base64url');
  const serverEnv = { BENCH_SECRET: secret, BENCH_REDIS_URL: `redis://127.0.0.1:${REDIS_PORT}` };
  const built = await buildServers();
  if ('skipped' in built)
    log(`warning: servers run under tsx (keepNames adds cost): ${built.skipped}`);
  results.settings.compiled = 'skipped' in built ? `tsx (${built.skipped})` : 'esbuild';
  const fileOf = (c: Contender): string =>
    'skipped' in built ? `${root}bench/servers/${c.id}.ts` : built.file(c.id);
  // Started unpinned (faster: they load on both cores), then pinned to the server core.
  const launch = async (c: Contender, key: string): Promise<ServerProcess> => {
    const server = await startServer(fileOf(c), serverEnv, false);
    servers.set(key, server);
    if (pin) pinToServerCore(server.pid);
    return server;
  };
  // New visitors get a server of their own: the sessions they pile up (hundreds of thousands in a
  // full run) must not slow the returning clients' measurements of the same contender down.
  const newKey = (c: Contender): string => `${c.id}#new`;
  await Promise.all(
    active().map(async (c) => {
      try {
        await launch(c, c.id);
        if (kindsOf(c).includes('new')) await launch(c, newKey(c));
      } catch (error) {
        c.skipped = `its server did not start: ${(error as Error).message}`;
      }
    }),
  );

  const clients = new Map<string, string[]>();
  for (const c of active()) {
    const server = servers.get(c.id)!;
    try {
      await verify(c, server.origin);
      clients.set(c.id, await returningClients(c, server.origin, CLIENTS));
    } catch (error) {
      c.skipped = `its server misbehaved: ${(error as Error).message}`;
      for (const key of [c.id, newKey(c)]) {
        await servers.get(key)?.stop();
        servers.delete(key);
      }
    }
  }
  log(`${servers.size} servers up and checked`);
  for (const c of contenders) if (c.skipped) log(`skipped ${c.id}: ${c.skipped}`);

  const cells: Array<{ contender: Contender; kind: Kind }> = active().flatMap((contender) =>
    kindsOf(contender).map((kind) => ({ contender, kind })),
  );
  const serverOf = (contender: Contender, kind: Kind): ServerProcess =>
    servers.get(kind === 'new' ? newKey(contender) : contender.id)!;
  const loadOf = (contender: Contender, kind: Kind, seconds: number) =>
    runLoad({
      origin: serverOf(contender, kind).origin,
      path: kind === 'read' ? '/read' : '/write',
      cookies: kind === 'new' ? [] : clients.get(contender.id)!,
      duration: seconds,
      connections: CONNECTIONS,
    });
  const warm = async (contender: Contender, kind: Kind): Promise<void> => {
    if (warmup) await loadOf(contender, kind, warmup);
    else
      await burst(
        serverOf(contender, kind).origin,
        kind === 'read' ? '/read' : '/write',
        kind === 'new' ? [] : clients.get(contender.id)!,
        WARMUP_REQUESTS,
      );
  };
  /** A fresh new-visitor server, warmed as in the first round, so every round starts equal. */
  const renew = async (contender: Contender): Promise<void> => {
    await servers.get(newKey(contender))?.stop();
    await launch(contender, newKey(contender));
    await warm(contender, 'new');
  };

  log(`warm-up: ${cells.length} × ${warmup ? `${warmup} s` : `${WARMUP_REQUESTS} requests`}`);
  for (const { contender, kind } of cells) await warm(contender, kind);
  if (memoryEarly) {
    log('waiting for the memory bench');
    results.memory = await memoryEarly;
  }
  log(`measuring: ${rounds} rounds of ${cells.length} measurements of ${duration} s`);

  const measureCell = (contender: Contender, kind: Kind, round: number): Promise<Sample> =>
    measure(
      serverOf(contender, kind).pid,
      round,
      () => loadOf(contender, kind, duration),
      redis?.pid,
    );
  for (let round = 1; round <= rounds; round++) {
    for (const { contender, kind } of cells) {
      if (kind === 'new' && round > 1 && RENEW) await renew(contender);
      // Another process took the server's core: measure again (a full run only), keep the cleanest.
      let sample = await measureCell(contender, kind, round);
      const noise = (s: Sample): number => Math.max(s.otherLoad, s.loadCoreOther);
      for (let retry = 1; retry <= RETRIES && noise(sample) > MAX_OTHER_LOAD; retry++) {
        const again = await measureCell(contender, kind, round);
        sample = noise(again) < noise(sample) ? again : sample;
        sample.retries = retry;
      }
      (results.samples[cellKey(contender.id, kind)] ??= []).push(sample);
      const errors = sample.non2xx + sample.errors;
      log(
        `round ${round}/${rounds}  ${contender.id.padEnd(22)} ${kind.padEnd(5)} ${thousands(sample.rps).padStart(7)} req/s  ${sample.cpuUs.toFixed(1).padStart(6)} µs/req  busy ${pct(sample.busy)}  other load ${pct(sample.otherLoad)}/${pct(sample.loadCoreOther)}${sample.retries ? `  (${sample.retries} retries)` : ''}${errors ? `  ERRORS ${errors}` : ''}`,
      );
    }
  }

  log('Redis commands per request, lost updates…');
  if (redis?.exited) {
    for (const c of active().filter((x) => x.needsRedis)) {
      c.skipped = `${redis.exited}; its numbers were dropped`;
      for (const kind of kindsOf(c)) delete results.samples[cellKey(c.id, kind)];
    }
  }
  for (const c of active().filter((x) => x.redisCommands)) {
    try {
      results.redisCommands[c.id] = await redisCommands(
        servers.get(c.id)!.origin,
        REDIS_PORT,
        REDIS_COUNT_REQUESTS,
      );
    } catch (error) {
      results.redisCommands[c.id] = { skipped: (error as Error).message };
    }
  }
  for (const c of contenders.filter((x) => x.redisCommands && x.skipped))
    results.redisCommands[c.id] = { skipped: c.skipped! };
  for (const c of contenders.filter((x) => x.lostUpdates)) {
    if (c.skipped) {
      results.lostUpdates[c.id] = { skipped: c.skipped };
      continue;
    }
    try {
      results.lostUpdates[c.id] = await lostUpdates(
        servers.get(c.id)!.origin,
        LOST_UPDATE_REQUESTS,
      );
    } catch (error) {
      results.lostUpdates[c.id] = { skipped: (error as Error).message };
    }
  }
  // Counted after the load runs, so valgrind's servers never share a core with a timed one.
  await Promise.all([...servers.values()].map((s) => s.stop()));
  servers.clear();
  const counted = active().filter((c) => ICOUNT_CONTENDERS.includes(c.id));
  if (counted.length) {
    log(`instructions per request (callgrind): ${counted.length} contenders…`);
    results.icount = await countInstructions({
      contenders: counted,
      fileOf,
      env: serverEnv,
      warmup: icountWarmup,
      requests: icountRequests,
      repeat: counted.some((c) => c.id === 'tessera-node') ? 'tessera-node' : counted[0]?.id,
      cores: env.cores,
      log,
    });
  }
} finally {
  await cleanUp();
}

log('memory per session and seal+open…');
results.memory ??= await memoryBench();
results.seal = await sealBench(quick);
log('SQL statements per request…');
results.sql = await sqlBench();

const elapsedSeconds = (performance.now() - started) / 1000;
const final: Results = {
  ...results,
  elapsedSeconds,
  loadAfter: load(),
  cells: Object.entries(results.samples).map(([key, samples]) => {
    const [contender, kind] = key.split('/') as [string, Kind];
    return summarize(contender, kind, samples);
  }),
  goals: [],
};
final.goals = judge(final);

log(`wrote ${writeResults(final)}`);
if (flags.json) process.stdout.write(JSON.stringify(final, null, 2) + '\n');
else process.stdout.write(renderReport(final, { document: false }) + '\n');
const m = Math.floor(elapsedSeconds / 60);
log(`elapsed ${m ? `${m} min ` : ''}${Math.round(elapsedSeconds - m * 60)} s`);
