/** A clock benchmarks can move, starting at the real time. */
export function testClockFor(start: number = Date.now()): {
  now(): number;
  advance(ms: number): void;
} {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}
