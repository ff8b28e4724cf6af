/**
 * @module The goals of issue 7, each judged from one run's numbers as a ratio with pass or
 * fall-short. Nothing here fails anything: a goal that falls short is reported, not thrown.
 */
import type { CommandsPerRequest, LostUpdates } from './_checks.js';
import { CONTENDERS } from './_contenders.js';
import { kilo, sessionShare } from './_icount-report.js';
import { cellKey, pairedDiff, pairedRatio, type Goal, type Results } from './_results.js';
import { round, type Spread } from './_stats.js';

const x = (s: Spread): string => `${round(s.median, 2)}x (${round(s.min, 2)}–${round(s.max, 2)})`;

function ratioGoal(
  r: Results,
  id: string,
  title: string,
  a: string,
  b: string,
  target: number,
): Goal {
  const ratio = pairedRatio(r.samples, a, b);
  const goal: Goal = { id, title, target: `≥ ${target}x`, measured: '–', pass: null };
  if (!ratio) return { ...goal, note: missing(r, a, b) };
  return { ...goal, measured: x(ratio), pass: ratio.median >= target };
}

/** Why a comparison could not be made: the skip reasons of the contenders involved. */
function missing(r: Results, ...keys: string[]): string {
  const reasons = keys
    .map((k) => k.split('/')[0]!)
    .map((id) => r.contenders.find((c) => c.id === id))
    .map((c) => (c ? (c.skipped ? `${c.id} skipped: ${c.skipped}` : undefined) : undefined))
    .filter((s): s is string => s !== undefined);
  return reasons.length ? reasons.join('; ') : 'not measured in this run';
}

/**
 * Seal+open operations per second of the cookie store and of iron-session, from bench/seal.ts
 * (rows of `{ name, opsPerSec }`; the cookie store's row is the one naming the "cookie store").
 */
export function sealRates(seal: unknown): { tessera?: number; iron?: number } {
  if (!Array.isArray(seal)) return {};
  const rows = seal.filter(
    (row): row is { name: string; opsPerSec: number } =>
      typeof (row as { name?: unknown })?.name === 'string' &&
      typeof (row as { opsPerSec?: unknown }).opsPerSec === 'number',
  );
  const find = (pattern: RegExp): number | undefined =>
    rows.find((row) => pattern.test(row.name))?.opsPerSec;
  const out: { tessera?: number; iron?: number } = {};
  const tessera = find(/cookie store/i) ?? find(/tessera/i);
  const iron = find(/iron/i);
  if (tessera !== undefined) out.tessera = tessera;
  if (iron !== undefined) out.iron = iron;
  return out;
}

/** Judges every goal. */
export function judge(r: Results): Goal[] {
  const goals: Goal[] = [];
  goals.push(
    ratioGoal(
      r,
      'memory-node',
      'memory store on node:http, returning client reading, vs bare node:http',
      cellKey('tessera-node', 'read'),
      cellKey('bare-node', 'read'),
      0.9,
    ),
  );
  const cpu = pairedDiff(
    r.samples,
    cellKey('tessera-node', 'read'),
    cellKey('bare-node', 'read'),
    (s) => s.cpuUs,
  );
  const user = pairedDiff(
    r.samples,
    cellKey('tessera-node', 'read'),
    cellKey('bare-node', 'read'),
    (s) => s.userUs,
  );
  goals.push({
    id: 'memory-node-cpu',
    title: "the session's server CPU per request (tessera node:http read minus bare node:http)",
    target: '≤ 5 µs',
    measured: cpu
      ? `${round(cpu.median, 1)} µs (${round(cpu.min, 1)}–${round(cpu.max, 1)}); user-space part ${round(user?.median ?? NaN, 1)} µs`
      : '–',
    pass: cpu ? cpu.median <= 5 : null,
    ...(cpu ? {} : { note: missing(r, 'tessera-node', 'bare-node') }),
  });
  for (const [id, fw] of [
    ['express', 'Express'],
    ['fastify', 'Fastify'],
  ] as const) {
    goals.push(
      ratioGoal(
        r,
        `memory-${id}`,
        `tessera (memory) on ${fw}, returning client reading, vs bare ${fw}`,
        cellKey(`tessera-${id}`, 'read'),
        cellKey(`bare-${id}`, 'read'),
        0.95,
      ),
    );
  }
  for (const kind of ['read', 'write'] as const) {
    goals.push(
      ratioGoal(
        r,
        `redis-${kind}`,
        `Redis store on Express vs express-session + connect-redis, returning client ${kind === 'read' ? 'reading' : 'writing'}`,
        cellKey('tessera-redis', kind),
        cellKey('express-session-redis', kind),
        1.6,
      ),
    );
  }
  goals.push(
    icountGoal(r, 'icount-node', 'node:http', 'tessera-node', false),
    icountGoal(r, 'icount-express', 'Express', 'tessera-express', true, 'express-session'),
    icountGoal(r, 'icount-fastify', 'Fastify', 'tessera-fastify', true, 'fastify-session'),
  );
  goals.push(redisCommandsGoal(r));
  goals.push(lostUpdatesGoal(r));
  const seal = sealRates(r.seal);
  const sealGoal: Goal = {
    id: 'cookie-seal',
    title: 'cookie store seal+open operations per second vs iron-session',
    target: '≥ 10x',
    measured: '–',
    pass: null,
  };
  if (seal.tessera && seal.iron) {
    const ratio = seal.tessera / seal.iron;
    sealGoal.measured = `${round(ratio, 1)}x (${Math.round(seal.tessera).toLocaleString('en-US')} vs ${Math.round(seal.iron).toLocaleString('en-US')} ops/s)`;
    sealGoal.pass = ratio >= 10;
  } else {
    const skipped = (r.seal as { skipped?: string } | undefined)?.skipped;
    sealGoal.note = skipped ?? 'bench/seal.ts gave no seal+open rates for both';
  }
  goals.push(sealGoal);
  return goals;
}

/** The share of a session read's instructions beyond its bare server: at most 10%. */
const ICOUNT_TARGET = 0.1;

/**
 * A session read's instructions per request beyond the bare server's, as a share of the bare
 * server's (callgrind counts, bench/_icount.ts). Falling short, it says by how many points and
 * how many instructions per read would have to go.
 */
function icountGoal(
  r: Results,
  id: string,
  framework: string,
  contenderId: string,
  informational: boolean,
  peerId?: string,
): Goal {
  const contender = CONTENDERS.find((c) => c.id === contenderId)!;
  const goal: Goal = {
    id,
    title: `a session read adds ≤ ${ICOUNT_TARGET * 100}% of bare ${framework}'s instructions per request (tessera ${framework} read minus bare ${framework} read${informational ? '; informational' : ''})`,
    target: `≤ ${ICOUNT_TARGET * 100}%`,
    measured: '–',
    pass: null,
    ...(informational ? { informational } : {}),
  };
  const session = sessionShare(r.icount, contender, 'read');
  if (!session) {
    const why = r.icount?.skipped[contenderId] ?? r.icount?.skipped[contender.bare!];
    return {
      ...goal,
      note:
        why ??
        (r.icount
          ? missing(r, contenderId, contender.bare!)
          : 'instructions were not counted in this run'),
    };
  }
  const bare = session.added / session.share;
  const pass = session.share <= ICOUNT_TARGET;
  const peer = CONTENDERS.find((c) => c.id === peerId);
  const peerShare = peer ? sessionShare(r.icount, peer, 'read') : undefined;
  const peerText =
    peer && peerShare
      ? `; ${peer.label}: ${round(peerShare.share * 100, 1)}% (${kilo(peerShare.added)})`
      : '';
  const over = session.added - ICOUNT_TARGET * bare;
  return {
    ...goal,
    measured: `${round(session.share * 100, 1)}% (${kilo(session.added)} of ${kilo(bare)} instructions)${pass ? '' : `; short by ${round((session.share - ICOUNT_TARGET) * 100, 1)} points: ${kilo(over)} fewer instructions per read (${Math.round((over / session.added) * 100)}% of the session's)`}${peerText}`,
    pass,
  };
}

function redisCommandsGoal(r: Results): Goal {
  const goal: Goal = {
    id: 'redis-commands',
    title:
      'Redis commands per request, tessera: read / write / route that never touches the session',
    target: '≤ 1 / ≤ 1 / 0',
    measured: '–',
    pass: null,
  };
  const rows = r.redisCommands['tessera-redis'];
  if (!rows || !Array.isArray(rows))
    return { ...goal, note: rows?.skipped ?? missing(r, 'tessera-redis') };
  const of = (route: CommandsPerRequest['route']): number =>
    rows.find((row) => row.route === route)?.sent ?? NaN;
  const [read, write, none] = [of('read'), of('write'), of('none')];
  const peer = r.redisCommands['express-session-redis'];
  const peerText = Array.isArray(peer)
    ? ` (connect-redis: ${['read', 'write', 'none'].map((route) => round(peer.find((p) => p.route === route)?.sent ?? NaN, 2)).join(' / ')})`
    : '';
  return {
    ...goal,
    measured: `${round(read, 2)} / ${round(write, 2)} / ${round(none, 2)}${peerText}`,
    pass: read <= 1 && write <= 1 && none === 0,
  };
}

function lostUpdatesGoal(r: Results): Goal {
  const goal: Goal = {
    id: 'lost-updates',
    title: 'lost updates, 10 connections incrementing one session (tessera contenders)',
    target: '0%',
    measured: '–',
    pass: null,
  };
  const ours = Object.entries(r.lostUpdates).filter(
    (e): e is [string, LostUpdates] => e[0].startsWith('tessera-') && !('skipped' in e[1]),
  );
  if (ours.length === 0) return { ...goal, note: 'no tessera contender was measured' };
  const peers = Object.entries(r.lostUpdates)
    .filter((e): e is [string, LostUpdates] => !e[0].startsWith('tessera-') && !('skipped' in e[1]))
    .map(([id, l]) => `${id} ${round(l.lostPercent, 1)}%`);
  return {
    ...goal,
    measured:
      ours.map(([id, l]) => `${id} ${round(l.lostPercent, 1)}%`).join(', ') +
      (peers.length ? ` (peers: ${peers.join(', ')})` : ''),
    pass: ours.every(([, l]) => l.lost === 0),
  };
}
