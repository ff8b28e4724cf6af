/**
 * Instructions per request alone (`npm run bench -- --icount`): counts the chosen contenders
 * under callgrind (bench/_icount.ts), prints the table and writes bench/results/icount.json.
 * It never rewrites BENCHMARKS.md (only a full `npm run bench` does).
 *
 *   npm run bench -- --icount                                   every counted contender, every kind
 *   npm run bench -- --icount --only=tessera-node,bare-node --kinds=read    one change, in a minute
 *   --icount-warmup=W --icount-requests=N   warm-up requests per kind, and N (phases of N and 2N)
 *   --icount-repeat=ID                      count ID twice, in two processes (repeatability)
 *   --keep-dumps=DIR                        keep the callgrind dumps, for `callgrind_annotate`
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { buildServers } from './_build.js';
import { closeClient } from './_client.js';
import { CONTENDERS, KINDS, type Contender, type Kind } from './_contenders.js';
import { countInstructions, ICOUNT_CONTENDERS, stopCounting, type ICountRun } from './_icount.js';
import { icountTable } from './_icount-report.js';
import { startRedis, type RedisProcess } from './_procs.js';

/** What `--icount` was asked for. */
export interface ICountOnlyOptions {
  only?: readonly string[] | undefined;
  kinds?: readonly string[] | undefined;
  warmup: number;
  requests: number;
  repeat?: string | undefined;
  keepDumps?: string | undefined;
  redisPort: number;
  log(line: string): void;
}

/** Runs the counts alone and writes bench/results/icount.json; returns what it counted. */
export async function icountOnly(options: ICountOnlyOptions): Promise<ICountRun> {
  const ids = options.only ?? ICOUNT_CONTENDERS;
  const contenders = ids.map((id) => {
    const found = CONTENDERS.find((c) => c.id === id);
    if (!found)
      throw new Error(`no contender ${id} (one of: ${CONTENDERS.map((c) => c.id).join(', ')})`);
    return found;
  });
  const kinds = options.kinds?.map((k) => {
    if (!(KINDS as readonly string[]).includes(k))
      throw new Error(`no kind ${k} (read, write, new)`);
    return k as Kind;
  });
  const root = new URL('..', import.meta.url).pathname;
  const built = await buildServers();
  const fileOf = (c: Contender): string =>
    'skipped' in built ? `${root}bench/servers/${c.id}.ts` : built.file(c.id);
  if ('skipped' in built) options.log(`warning: servers run under tsx: ${built.skipped}`);
  let redis: RedisProcess | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(
      signal,
      () =>
        void stopCounting()
          .then(() => redis?.stop())
          .finally(() => process.exit(130)),
    );
  const skipped: Record<string, string> = {};
  let counted = contenders;
  if (contenders.some((c) => c.needsRedis)) {
    try {
      redis = await startRedis(options.redisPort, false);
    } catch (error) {
      for (const c of contenders)
        if (c.needsRedis) skipped[c.id] = `no Redis server: ${(error as Error).message}`;
      counted = contenders.filter((c) => !c.needsRedis);
    }
  }
  try {
    const run = await countInstructions({
      contenders: counted,
      kinds,
      fileOf,
      env: {
        BENCH_SECRET: randomBytes(32).toString('base64url'),
        BENCH_REDIS_URL: `redis://127.0.0.1:${options.redisPort}`,
      },
      warmup: options.warmup,
      requests: options.requests,
      repeat: options.repeat,
      keepDumps: options.keepDumps,
      cores: availableParallelism(),
      log: options.log,
    });
    Object.assign(run.skipped, skipped);
    const results = new URL('./results/', import.meta.url);
    mkdirSync(results, { recursive: true });
    writeFileSync(new URL('icount.json', results), JSON.stringify(run, null, 2) + '\n');
    process.stdout.write(icountTable(run, CONTENDERS) + '\n');
    options.log(`wrote bench/results/icount.json in ${Math.round(run.elapsedSeconds)} s`);
    return run;
  } finally {
    await redis?.stop();
    closeClient();
  }
}
