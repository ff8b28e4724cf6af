/**
 * @module The closing notes of BENCHMARKS.md: for a goal that falls short, why (from profiling)
 * and what would close it. Keyed by goal id (see _goals.ts); shown only while that goal falls short.
 */
export const CLOSING_NOTES: Record<string, string> = {};
