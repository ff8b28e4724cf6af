/**
 * @module One measurement: a load run, with the server's CPU time and how much of the server's
 * and the load generator's cores other processes took meanwhile.
 */
import { coreTicks } from './_env.js';
import { cpuSeconds, cpuTimes, LOAD_CORE, SERVER_CORE } from './_procs.js';
import type { Sample } from './_results.js';
import type { LoadResult } from './load.js';

type Ticks = { busy: number; total: number };
const share = (a: Ticks, b: Ticks): number =>
  b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;

/**
 * Runs `load` against the server `pid` and returns the sample of round `round`. `redisPid` is a
 * Redis server sharing the load generator's core: its work is the bench's own, not interference.
 */
export async function measure(
  pid: number,
  round: number,
  load: () => Promise<LoadResult>,
  redisPid?: number,
): Promise<Sample> {
  const own = (): number => {
    const self = process.cpuUsage();
    return (self.user + self.system) / 1e6 + (redisPid ? cpuSeconds(redisPid) : 0);
  };
  const server = Number(SERVER_CORE);
  const loader = Number(LOAD_CORE);
  const cpu0 = cpuTimes(pid);
  const ticks0 = coreTicks(server);
  const own0 = own();
  const load0 = coreTicks(loader);
  const t0 = performance.now();
  const r = await load();
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = cpuTimes(pid);
  const ticks1 = coreTicks(server);
  const own1 = own();
  const load1 = coreTicks(loader);
  const user = cpu1.user - cpu0.user;
  const cpu = user + cpu1.system - cpu0.system;
  return {
    round,
    rps: r.rps,
    p50: r.p50,
    p99: r.p99,
    requests: r.requests,
    non2xx: r.non2xx,
    errors: r.errors,
    cpuUs: r.requests > 0 ? (cpu * 1e6) / r.requests : NaN,
    userUs: r.requests > 0 ? (user * 1e6) / r.requests : NaN,
    busy: cpu / wall,
    otherLoad: Math.max(0, share(ticks0, ticks1) - cpu / wall),
    loadCoreOther: Math.max(0, share(load0, load1) - (own1 - own0) / wall),
    retries: 0,
  };
}
