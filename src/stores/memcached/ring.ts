/**
 * @module Consistent hashing of keys onto memcached servers, with libketama's point layout.
 *
 * A server gets 160 points, from MD5 of `host:port-<n>`, and a key goes to the first point at or
 * after the first four bytes of its own MD5. Adding or removing one of N servers moves about 1/N of
 * the keys, where `hash % N` would move nearly all of them.
 */
import { createHash } from 'node:crypto';

/** Maps keys to one of a fixed list of servers. */
export interface HashRing<T> {
  /** The server holding `key`. */
  pick(key: string): T;
}

const POINTS_PER_HASH = 4;
const HASHES_PER_SERVER = 40;

const md5 = (text: string): Buffer => createHash('md5').update(text).digest();
/** The `index`-th 32-bit little-endian point of an MD5 digest (libketama's byte order). */
const pointOf = (digest: Buffer, index: number): number => digest.readUInt32LE(index * 4);

/** Builds the ring of `servers`, each named by `nameOf` (`host:port`). */
export function hashRing<T>(servers: readonly T[], nameOf: (server: T) => string): HashRing<T> {
  if (servers.length === 0) throw new Error('a hash ring needs at least one server');
  if (servers.length === 1) {
    const only = servers[0]!;
    return { pick: () => only };
  }
  const points: { at: number; server: T }[] = [];
  for (const server of servers) {
    for (let i = 0; i < HASHES_PER_SERVER; i++) {
      const digest = md5(`${nameOf(server)}-${i}`);
      for (let h = 0; h < POINTS_PER_HASH; h++) points.push({ at: pointOf(digest, h), server });
    }
  }
  points.sort((a, b) => a.at - b.at);
  const at = Uint32Array.from(points, (p) => p.at);
  return {
    pick(key) {
      const hash = pointOf(md5(key), 0);
      let lo = 0;
      let hi = at.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (at[mid]! < hash) lo = mid + 1;
        else hi = mid;
      }
      return points[lo === at.length ? 0 : lo]!.server;
    },
  };
}
