/**
 * Where a server's time goes: runs one bench server under `node --cpu-prof` (pinned to core 0),
 * loads one route with returning clients (or new visitors) from core 1, and prints the functions
 * with the most self time, and the share of time under each source file of this repository.
 *
 *   npx tsx bench/_profile.ts tessera-node read [seconds]
 *   npx tsx bench/_profile.ts tessera-node new
 *   TOP=200 npx tsx bench/_profile.ts bare-node read   (more functions)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServers } from './_build.js';
import { returningClients } from './_checks.js';
import { closeClient } from './_client.js';
import { CONTENDERS } from './_contenders.js';
import { canPin, pinSelf, startRedis, startServer, type RedisProcess } from './_procs.js';
import { runLoad } from './load.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [id = 'tessera-node', kind = 'read', seconds = '5'] = process.argv.slice(2);
const contender = CONTENDERS.find((c) => c.id === id);
if (!contender) throw new Error(`no contender ${id}`);
const pin = canPin(2);
if (pin) pinSelf();
const dir = mkdtempSync(join(tmpdir(), 'tessera-prof-'));
const port = Number(process.env['BENCH_REDIS_PORT'] ?? 6395);
let redis: RedisProcess | undefined;
if (contender.needsRedis) redis = await startRedis(port, pin);
const built = await buildServers();
const server = await startServer(
  'skipped' in built ? new URL(`./servers/${id}.ts`, import.meta.url).pathname : built.file(id),
  { BENCH_REDIS_URL: `redis://127.0.0.1:${port}` },
  pin,
  ['--cpu-prof', `--cpu-prof-dir=${dir}`],
);
const cookies = kind === 'new' ? [] : await returningClients(contender, server.origin, 10);
const path = kind === 'read' ? '/read' : kind === 'none' ? '/none' : '/write';
const WARM_REQUESTS =
  (await runLoad({ origin: server.origin, path, cookies, duration: 1 })).requests + 20;
const warm = await runLoad({ origin: server.origin, path, cookies, duration: Number(seconds) });
const result = { ...warm, requests: warm.requests + WARM_REQUESTS };
await server.stop();
await redis?.stop();
closeClient();

const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
rmSync(dir, { recursive: true, force: true });

const self = new Map<number, number>();
profile.samples.forEach((node, i) =>
  self.set(node, (self.get(node) ?? 0) + (profile.timeDeltas[i] ?? 0)),
);
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of profile.nodes) {
  const t = self.get(node.id) ?? 0;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url
    .replace(/^file:\/\/.*?node_modules\/\.cache\/tessera-bench\//, '')
    .replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')
    .replace(/^.*node_modules\//, '~/');
  const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + t);
  const fileKey = where.startsWith('src/')
    ? where
    : where.startsWith('~/')
      ? where.split('/').slice(0, 2).join('/')
      : functionName.startsWith('(')
        ? functionName
        : where || '(native)';
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + t);
}
// Profiles include start-up; the load runs dominate them.
const perRequest = (us: number): string => (us / result.requests).toFixed(2).padStart(6);
const top = (m: Map<string, number>, n: number): string[] =>
  [...m.entries()]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)}%  ${perRequest(v)} µs/req  ${k}`,
    );
const busy = total - (byFile.get('(idle)') ?? 0);
console.log(
  `${id} ${kind}: ${Math.round(result.rps)} req/s, ${result.requests} requests, ${(total / 1e6).toFixed(2)} s sampled, busy ${perRequest(busy)} µs/req (counting the warm-up and start-up too)`,
);
let ours = 0;
for (const [k, v] of byFile) if (k.startsWith('src/')) ours += v;
console.log(`self time in src/ (tessera): ${perRequest(ours)} µs/req`);
const TOP = Number(process.env['TOP'] ?? 30);
console.log(`\nself time per function (top ${TOP}):\n${top(byFunction, TOP).join('\n')}`);
console.log(`\nself time per file or package (top 20):\n${top(byFile, 20).join('\n')}`);
